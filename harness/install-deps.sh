#!/bin/bash
# Installs what `make vm-test` and `make test` need (with the argument
# `kernels`: what `make kernels` and `make mutants` need too, the arm64
# cross compiler and QEMU among them; with
# `debian-image`: what building the Debian image of the SSH tests needs;
# with `tests`: the consumers the unit tests check the CI formats with),
# and nothing when it is all there already: Debian packages with apt-get,
# npm packages with npm ci from the committed package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# dwarves: pahole, for the BTF step of a module build against Debian's 6.12
# headers (make vm-test runs debian-6.12); zstd: its vmlinuz is zstd-packed,
# and the PVH boot needs the vmlinux inside.
PACKAGES=(qemu-system-x86 busybox-static linux-image-amd64 linux-headers-amd64
	gcc make libc6-dev kmod cpio xz-utils openssh-client dwarves zstd)
for arg in "$@"; do
	case $arg in
	# What building kernels from source needs; the arm64 variants are
	# cross-built (gcc-aarch64-linux-gnu, with its static libc for the
	# agent) and run under qemu-system-aarch64 (qemu-system-arm).
	kernels) PACKAGES+=(linux-source-6.1 linux-source-6.12 flex bison bc libelf-dev libssl-dev patch
		gcc-aarch64-linux-gnu qemu-system-arm) ;;
	# A Debian system from Debian's packages, as an ext4 image.
	debian-image) PACKAGES+=(mmdebstrap e2fsprogs) ;;
	# The CI formats checked by their consumers: Jenkins' JUnit schema (xmllint), python3-junitparser.
	tests) PACKAGES+=(libxml2-utils python3-junitparser) ;;
	*) echo "install-deps: unknown argument $arg (kernels, debian-image, tests)" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing Debian packages: ${missing[*]}" >&2
		echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	echo "install-deps: apt-get install ${missing[*]} (the kernel image takes a few minutes)" >&2
	# Another install (a second make, unattended-upgrades) may hold the lock: wait for it.
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.installed-from-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
	echo "install-deps: npm ci" >&2
	npm ci --no-audit --no-fund --loglevel=error
	cp package-lock.json "$stamp"
fi
