# The two commands a new user needs:
#   make vm-test   boot Debian's 6.1 and 6.12 under QEMU and check every reading (ARGS="--help" for options)
#   make test      unit tests (no VM) and the VM suite: stock kernel, variants, mutants
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
NODE := node
TAP := node_modules/.bin/tap --disable-coverage --allow-empty-coverage -R tap

.PHONY: all deps build vm-test test test-unit test-vm kernels mutants bench compare merge debian-vm prune clean

all: build

deps:
	@harness/install-deps.sh

# dist/ is rebuilt whole (tsc compiles everything anyway): a file moved or
# removed in the source leaves no stale copy behind to run, or to test.
build: deps
	@rm -rf dist && node_modules/.bin/tsc -p .

# Without ARGS: the installed kernel (Debian 12's 6.1) and Debian's 6.12 (fetched
# into the cache, never installed), on both default topologies each. With ARGS,
# exactly what they say (a bare vm-test.js runs the installed kernel).
VM_TEST_ARGS := $(if $(ARGS),$(ARGS),--kernels stock,debian-6.12)
vm-test: build
	$(NODE) dist/harness/vm-test.js $(VM_TEST_ARGS)

# The kernel variants from linux-source-6.1 (pcpu, refcount, tracker) and
# linux-source-6.12 (pcpu-6.12, refcount-6.12, tracker-6.12), cached.
kernels: build
	@harness/install-deps.sh kernels
	$(NODE) dist/harness/kernels.js $(ARGS)

# Mutant kernels (vm/mutants/*.patch): each must be killed by a named scenario.
mutants: build
	@harness/install-deps.sh kernels
	$(NODE) dist/harness/mutants.js $(ARGS)

# Two finished runs side by side: what regressed, what was fixed (ARGS="A B", --help).
compare: build
	$(NODE) dist/harness/compare.js $(ARGS)

# The runs of vm-test --shard 1/N .. N/N joined into one report (ARGS="DIR...", --help).
merge: build
	$(NODE) dist/harness/merge.js $(ARGS)

# What the per-CPU counter buys: microbenchmark, packet flood, harness floor (ARGS="--help").
bench: build
	$(NODE) dist/harness/bench.js $(ARGS)

# A Debian 12 machine in QEMU, reachable over SSH only, to try --target on (ARGS="--help").
debian-vm: build
	@harness/install-deps.sh debian-image
	$(NODE) dist/test/ssh-host/main.js $(ARGS)

# The VM suite builds the kernel variants and the mutants (cached after the
# first time), so it needs the kernel build packages too, and the SSH suite
# builds a Debian image.
test: build
	@harness/install-deps.sh kernels debian-image tests
	@# The SSH suite's Debian image downloads while the other suites compute; the suite waits for it.
	@mkdir -p out && ( $(NODE) dist/test/ssh-host/main.js --build-only > out/debian-image.log 2>&1 & )
	@( $(TAP) --jobs 2 dist/test/unit && $(TAP) --jobs 1 --timeout 5000 dist/test/vm ) 2>&1 | $(NODE) dist/harness/tap-summary.js

test-unit: build
	@harness/install-deps.sh tests
	@$(TAP) dist/test/unit 2>&1 | $(NODE) dist/harness/tap-summary.js

test-vm: build
	@harness/install-deps.sh kernels debian-image
	@$(TAP) --jobs 1 --timeout 5000 dist/test/vm 2>&1 | $(NODE) dist/harness/tap-summary.js

# Removes what killed runs left: cache temp entries, $TMPDIR scratch, half-made trees (ARGS="--help").
prune: build
	$(NODE) dist/harness/prune.js $(ARGS)

clean:
	rm -rf dist .tap
