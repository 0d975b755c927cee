/** vm-test --help: the reference for every option (the README links it, never copies it). */
export const HELP = `Usage: vm-test [options]      (make vm-test ARGS="...")

Boots the kernel under test in QEMU, loads the refprobe module, runs the
scenarios and checks every reading against the reference model.
TAP on stdout, progress on stderr; console log, JSON report and TAP are
kept in OUT/runs/<time>-<pid>/ (with several kernels or topologies, one
directory per run inside it, named <kernel>-smpS-possibleP, and a merged
report.json).

Kernel:
  --kernel NAME|IMAGE   stock (default: the newest /boot/vmlinuz-* with a
                        kbuild tree); one of Debian's archive: debian-6.1,
                        debian-6.12, debian-6.12-rt (the newest apt knows) or
                        one ABI (debian-6.12.107, debian-6.1.0-57), fetched
                        with apt-get download into the cache, never installed;
                        a variant built from linux-source-6.1 (pcpu,
                        refcount, tracker) or linux-source-6.12 (pcpu-6.12,
                        refcount-6.12, tracker-6.12; built on first use,
                        about 6 minutes, then cached; make kernels builds
                        them all); an arm64 variant cross-built from
                        linux-source-6.1 (pcpu-arm64, refcount-arm64), run
                        under qemu-system-aarch64 on virt;
                        or the path of a bzImage or an arm64 Image
  --kdir DIR            the kbuild tree of --kernel IMAGE
                        (default: /lib/modules/<release>/build)
  --kernel-tree DIR     your kernel tree, built before the run (make -j
                        bzImage modules: only what changed since the last run
                        is rebuilt). A configured tree (DIR/.config, or a make
                        O= directory) builds in place with its own config,
                        checked for what the suite needs; a clean source tree
                        builds in DIR/.refprobe-build with the suite's pcpu
                        config (started from the cached pcpu or pcpu-6.12
                        kernel's objects when DIR is that release: 6.1.192
                        or 6.12.118). A build that fails exits 125
  --kernels A,B,...     several kernels (names or bzImage paths): every
                        kernel runs on every topology, in parallel VMs

Verify a patch:
  --patch FILE          apply FILE to --base's source (git diff, git
                        format-patch or diff -u output, -p1; repeatable,
                        applied in order), build it starting from the base's
                        objects (only what the patch reaches is rebuilt;
                        cached by the patches' text) and run the suite on the
                        base and on the patched kernel, side by side
  --base VARIANT        the kernel the patch applies to: pcpu (default),
                        refcount or tracker from linux-source-6.1, or
                        pcpu-6.12, refcount-6.12, tracker-6.12 from
                        linux-source-6.12, or pcpu-arm64, refcount-arm64;
                        never modified (the patched
                        kernel is a copy)
  --kernel-tree DIR     with --patch: your tree is the base instead, built as
                        above; the patched kernel is a copy of it (sources
                        linked, objects copied, .git left out), never DIR

Bisect (git bisect run):
  --bisect              with --kernel-tree: one topology (default 2:4), and
                        the exit status git bisect run reads: 0 good, 1 bad
                        (a reading differs, the kernel complained or died),
                        125 skip (the tree or the module does not build, the
                        kernel refuses the module, or it dies before the
                        first scenario with no reference count complaint),
                        255 stop (a set-up error would mark every commit bad).
                        In the tree: git bisect run node
                        /path/to/refprobe/dist/harness/vm-test.js
                        --kernel-tree "$PWD" --bisect [--scenario NAME...]

A running machine (SSH) instead of QEMU:
  --target ssh://[USER@]HOST[:PORT]
                        run the suite on that machine's running kernel, as
                        root, through the system's ssh (one master
                        connection; BatchMode, so a key, never a prompt;
                        host keys checked as your ssh config says). The
                        module is built there against
                        /lib/modules/$(uname -r)/build (needs gcc, make and
                        the headers), or here with --kdir; loaded, and
                        unloaded at the end whatever happens (on a new
                        connection if the first was lost). The kernel log
                        (/dev/kmsg) is the console. Scenarios that need
                        what a running machine cannot give (absent possible
                        CPUs, QEMU's CPU unplug) skip and say why
  --kdir DIR            with --target: build the module here against DIR,
                        the kbuild tree of the machine's kernel (its
                        vermagic is checked against uname -r there)
  --identity FILE       ssh -i FILE
  --ssh-option K=V      ssh -o K=V (repeatable), e.g.
                        UserKnownHostsFile=/path/known_hosts
  --connect-timeout S   ssh's ConnectTimeout (default 10)
  --allow-cpu-offline   let scenarios take a CPU offline (cpu-hotplug,
                        unregister-offline-cpu); it is brought back online,
                        also on failure, Ctrl-C or a lost connection
  --allow-tainted       run on a kernel an oops already tainted

Guest:
  --accel auto|kvm|tcg  accelerator (default auto: KVM only if a probe guest
                        really runs under it, else TCG; an arm64 kernel
                        always runs under TCG)
  --singlestep auto|on|off
                        TCG with one instruction per translation block
                        (default auto: on for an arm64 kernel). Without it an
                        interrupt lands only between blocks, never inside
                        arm64's load/add/store; with it between any two
                        instructions (the arm64 suite: 12 s -> 33 s)
  --machine pc|microvm  QEMU machine for an x86-64 kernel (default pc;
                        microvm boots no faster under TCG here and hangs in
                        about 1 boot in 5: it has no HPET or PM timer when
                        TSC calibration fails). An arm64 kernel (pcpu-arm64,
                        refcount-arm64, an arm64 Image) boots on virt with
                        qemu-system-aarch64 (--qemu is the x86-64 one)
  --present-as auto|qemu|vmware
                        how the machine presents itself to the guest. qemu:
                        as QEMU is (under TCG the kernel sees no hypervisor).
                        vmware: QEMU's VMware backdoor port, a VMware DMI
                        serial and no CPUID hypervisor bit, so the kernel
                        knows it is a guest: 6.12 then counts the empty CPU
                        sockets as possible and cpu-unplug can hot-add there
                        (pc only; the kernel needs CONFIG_HYPERVISOR_GUEST and
                        CONFIG_DMI to see it). auto (default): vmware where
                        the kernel's rule then makes more CPUs possible (6.12
                        under TCG, or under KVM without CONFIG_KVM_GUEST, as
                        the variants), else qemu. The model predicts each
  --boot auto|pvh|bzimage
                        how QEMU loads the kernel (default auto: the
                        uncompressed vmlinux through its PVH entry when the
                        kernel has one, which halves a TCG boot; else bzImage)
  --topology S:P,...    topologies to run, S online CPUs and P possible
                        (P - S empty hot-pluggable sockets on pc,
                        possible_cpus=P on microvm; P >= S, 1-64); default 2:4,4:64:
                        hotplug and possible-but-absent CPUs on 2, three CPUs
                        for the racing reader and 64 possible for the
                        memory claim on 4. E.g. --topology 1:1,2:4,4:64
  --smp N               one topology with N online CPUs, 1-64
  --possible-cpus P     with --smp: possible CPUs (default N + 2)
  --jobs N              VMs at once (default: the host's cores)
  --shard K/N           run only the Kth of N shares of the kernels x
                        topologies matrix (every Nth run from the Kth), for N
                        CI jobs; make merge ARGS="DIR..." joins their runs
  --memory MB           guest memory, 128-16384 (default 256)

Scenarios:
  --scenario NAME       run only NAME, or the scenarios a glob matches
                        (unregister-*, quote it from the shell); repeatable;
                        default: all
  --list                list the scenarios and exit
  --fault hold-twice    load the module with a deliberate kernel-side error
                        (every hold counts twice): the run must fail; this is
                        how the harness shows it catches a wrong kernel
  --seed N              seed of the stress streams, 0-4294967295 (default:
                        random; every run prints it, pass it to replay)

Limits (seconds):
  --boot-timeout S      until the guest agent answers (default 120)
  --command-timeout S   per command in the guest (default 60)
  --timeout S           the whole run (default 900)

Output:
  --out DIR             where runs are kept (default ./out)
  --junit FILE          also write JUnit XML: a testsuite per run (kernel x
                        topology), a testcase per scenario, failures with
                        their diffs, the scenario's console lines
  --kcidb FILE          also write KernelCI's KCIDB v5.3 JSON: the kernels as
                        checkouts and builds, a test per run and scenario at
                        path refprobe.<scenario>
  --kcidb-origin NAME   KCIDB's origin, [a-z0-9_]+ (default refprobe): the
                        one KernelCI gave your CI system
  --artifacts-url URL   where your CI publishes --out: the KCIDB logs' URLs
                        are URL/<run dir>/console.log instead of file://
  --baseline DIR        compare with an earlier run (its directory or
                        report.json) as this one finishes: the table of
                        make compare on stderr, and the exit status says
                        whether anything regressed: 0 no scenario fails that
                        passed in DIR or is new (known differing readings
                        tolerated), 1 one does, or one that passed in DIR
                        was not judged here (an error, never reached); a kernel complaint or dead
                        guest (3), set-up error (2), interrupt (130) as below
  --verbose             echo the guest console to stderr
  --append "PARAMS"     kernel parameters after the harness's (repeatable): e.g.
                        --append loglevel=8 keeps the whole boot log in
                        console.log (quiet is the default); those the harness
                        relies on (console=, panic=, oops=, possible_cpus=,
                        init=, refprobe.*) are refused
  --qemu-arg="ARGS"     QEMU options after the harness's (repeatable; the =
                        form, as the value starts with a dash): e.g.
                        --qemu-arg="-d guest_errors -D /tmp/qemu.log"; those
                        the harness builds (-M, -cpu, -smp, -m, -kernel,
                        -append, -serial, -chardev, -qmp...) are refused
  --qemu PATH           qemu-system-x86_64 to use
  --busybox PATH        static busybox for the guest (default /bin/busybox)
  --version             the harness's version and commit
  -h, --help            this text

Exit status: 0 every reading matched the model; 1 a reading differed;
3 the kernel crashed or the guest died or hung; 2 bad usage or set-up error
(with --patch also: a patch that does not apply or does not build);
4 (--patch) the base kernel itself fails, so the suite cannot judge the
patch; 125 the kernel under test (--kernel-tree) or the module does not
build, or the kernel refuses the module: it cannot be judged; 130
interrupted by SIGINT (Ctrl-C), 143 by SIGTERM (a CI timeout), 129 by
SIGHUP. With --patch, 0/1/3 are the patched kernel's; with --bisect,
see above.
`;
