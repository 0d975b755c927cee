/** The QEMU machine types the harness boots (pc: ACPI, hot-pluggable sockets; microvm: no ACPI, possible_cpus=). */
export type Machine = 'microvm' | 'pc';
