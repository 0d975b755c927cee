/*
 * The guest's UDP flood, in the spirit of the 2010 patch's test: THREADS
 * processes, one pinned to each of the first THREADS CPUs, each send PACKETS
 * limited-broadcast UDP datagrams (255.255.255.255) from an unconnected
 * socket bound to SRC. In 6.1 each such sendto() builds a fresh, uncached
 * route (net/ipv4/route.c __mkroute_output: fi = NULL for a limited
 * broadcast), so each packet allocates a dst that takes, and later puts, one
 * reference on the output device (net/core/dst.c dst_init/dst_destroy).
 *
 * Prints one line: threads T packets P wall_ns W sys_us S user_us U failed F
 * (sys and user are the children's, from getrusage(RUSAGE_CHILDREN)).
 * Built static by the harness (src/bench/images.ts, buildFlood) and run inside the guest.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int child(int cpu, long packets, const char *src)
{
	struct sockaddr_in from = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	char payload[64] = "refprobe flood";
	cpu_set_t set;
	long i, errors = 0;
	int one = 1;
	int fd;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one))) {
		perror("socket");
		return 2;
	}
	inet_pton(AF_INET, src, &from.sin_addr);
	inet_pton(AF_INET, "255.255.255.255", &to.sin_addr);
	if (bind(fd, (struct sockaddr *)&from, sizeof(from))) {
		perror("bind");
		return 2;
	}
	for (i = 0; i < packets; i++)
		if (sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			errors++;
	/* The exit status carries whether any send failed (ENOBUFS under load is possible). */
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	long packets;
	int threads, i, status, failed = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: flood THREADS PACKETS SRC_ADDR\n");
		return 2;
	}
	threads = atoi(argv[1]);
	packets = atol(argv[2]);
	if (threads < 1 || threads > 1024 || packets < 1) {
		fprintf(stderr, "flood: bad THREADS or PACKETS\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < threads; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0)
			_exit(child(i, packets, argv[3]));
	}
	for (i = 0; i < threads; i++) {
		if (wait(&status) < 0)
			break;
		if (!WIFEXITED(status) || WEXITSTATUS(status) == 2)
			failed = 1;
		else if (WEXITSTATUS(status) == 1)
			fprintf(stderr, "flood: a child saw send errors\n");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_CHILDREN, &ru);
	printf("threads %d packets %ld wall_ns %lld sys_us %lld user_us %lld failed %d\n",
	       threads, packets,
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec),
	       (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec,
	       (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec, failed);
	return failed ? 2 : 0;
}
