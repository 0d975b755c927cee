// SPDX-License-Identifier: GPL-2.0
/*
 * refprobe-agent: the QEMU guest's command agent, the C twin of
 * vm/guest/agent.sh (same wire format: src/backend/agent/framing.ts).
 *
 * Why C: under TCG every fork, every read(2) and every line the shell echoes
 * costs tens of microseconds to milliseconds, and busybox's read built-in
 * takes its input one byte per system call. A scenario step is a write to
 * the module's ctl and a read of its devices file; here that is one read of
 * the request, one open+write or open+read, and one write of the whole
 * answer. Scripts (the rare command that needs a shell) still run in sh.
 *
 * Usage: refprobe-agent IDLE DIR, serving requests on stdin, answering on
 * stdout. DIR holds a script and its output while it runs. Exits 0 when
 * told @@QUIT, 1 after IDLE seconds without a request or at end of input,
 * 2 on bad usage or when it cannot go on (out of memory, stdout gone).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_FILE (16 << 20)	/* a debugfs or /proc text: far less */

struct buf {
	char *p;
	size_t len, cap;
};

static void die(const char *what)
{
	dprintf(2, "refprobe-agent: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void reserve(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;

	while (cap < b->len + more + 1)
		cap *= 2;
	if (cap != b->cap) {
		b->p = realloc(b->p, cap);
		if (!b->p)
			die("out of memory");
		b->cap = cap;
	}
}

static void put(struct buf *b, const char *s, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put_str(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_num(struct buf *b, long n)
{
	char tmp[24];

	put(b, tmp, snprintf(tmp, sizeof(tmp), "%ld", n));
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("writing the answer");
		p += w;
		n -= w;
	}
}

/* Reads a whole file (at most MAX_FILE bytes); -1 with errno on failure. */
static int slurp(const char *file, struct buf *b)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	for (;;) {
		reserve(b, 4096);
		r = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0 && b->len + r > MAX_FILE) {
			errno = EFBIG;
			r = -1;
		}
		if (r <= 0)
			break;
		b->len += r;
	}
	if (r < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	b->p[b->len] = '\0';
	return 0;
}

/* Each line of text as "@@RP <tag> <id> <line>"; a last line without a newline too. */
static void put_lines(struct buf *out, const char *tag, const char *id, const char *text, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - text) : n;

		put_str(out, "@@RP ");
		put_str(out, tag);
		put_str(out, " ");
		put_str(out, id);
		put_str(out, " ");
		put(out, text + i, end - i);
		put(out, "\n", 1);
		i = end + 1;
	}
}

static void put_error(struct buf *out, const char *id, const char *what, const char *file)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "refprobe-agent: %s%s%s: %s", what,
			 file ? " " : "", file ? file : "", strerror(errno));

	put_lines(out, "E", id, msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* "ID W FILE TEXT": TEXT and a newline in one write(2), as echo does. */
static int do_write(struct buf *out, const char *id, const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	size_t n = strlen(text);
	char *line;
	ssize_t w;

	if (fd < 0) {
		put_error(out, id, "can't create", file);
		return 1;
	}
	line = malloc(n + 1);
	if (!line)
		die("out of memory");
	memcpy(line, text, n);
	line[n] = '\n';
	do
		w = write(fd, line, n + 1);
	while (w < 0 && errno == EINTR);
	if (w >= 0 && (size_t)w != n + 1)
		errno = EIO;
	free(line);
	if (w < 0 || (size_t)w != n + 1) {
		/* The words the client looks for: "write error: <errno text>". */
		put_error(out, id, "write error", NULL);
		close(fd);
		return 1;
	}
	if (close(fd) < 0) {
		put_error(out, id, "write error", NULL);
		return 1;
	}
	return 0;
}

/* "ID R FILE": its lines. */
static int do_read(struct buf *out, const char *id, const char *file)
{
	struct buf text = { 0 };
	int rc = 0;

	if (slurp(file, &text) < 0) {
		put_error(out, id, "can't read", file);
		rc = 1;
	} else {
		put_lines(out, "O", id, text.p, text.len);
	}
	free(text.p);
	return rc;
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(struct buf *out, const unsigned char *s, size_t n)
{
	size_t i;

	if (!n) {
		put(out, "-", 1);
		return;
	}
	reserve(out, (n + 2) / 3 * 4);
	for (i = 0; i < n; i += 3) {
		unsigned int v = s[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = b64chars[v >> 18 & 63];
		q[1] = b64chars[v >> 12 & 63];
		q[2] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? b64chars[v & 63] : '=';
		put(out, q, 4);
	}
}

/* Decodes base64 in place; returns the length, or -1 on a bad character. */
static long base64_decode(char *s)
{
	long n = 0;
	unsigned int v = 0;
	int bits = 0;
	char *p;

	for (p = s; *p && *p != '='; p++) {
		const char *c = strchr(b64chars, *p);

		if (!c)
			return -1;
		v = v << 6 | (unsigned int)(c - b64chars);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[n++] = (char)(v >> bits & 0xff);
		}
	}
	return n;
}

static int spill(const char *path, const char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		n -= w;
	}
	return close(fd);
}

static void redirect(const char *path, int to, int flags)
{
	int fd = open(path, flags, 0600);

	if (fd < 0 || dup2(fd, to) < 0)
		_exit(126);
	close(fd);
}

/* Runs the script with sh, stdin /dev/null, stdout and stderr to DIR/out and DIR/err. */
static int run_script(const char *dir, const char *script, size_t n)
{
	char cmd[4096], out[4096], err[4096];
	int status;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "%s/cmd.sh", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	if (spill(cmd, script, n) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		redirect("/dev/null", 0, O_RDONLY);
		redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
		redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
		execlp("sh", "sh", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* "ID BASE64-SCRIPT": "@@RP DONE ID RC B64-OUT B64-ERR". */
static void do_script(struct buf *out, const char *dir, const char *id, char *b64)
{
	struct buf o = { 0 }, e = { 0 };
	char path[4096];
	long n = base64_decode(b64);
	int rc = n < 0 ? -1 : run_script(dir, b64, n);

	if (rc < 0) {
		const char *why = n < 0 ? "a request that is not base64" : strerror(errno);

		put_str(&e, "refprobe-agent: cannot run the script: ");
		put_str(&e, why);
		put_str(&e, "\n");
		rc = 126;
	} else {
		snprintf(path, sizeof(path), "%s/out", dir);
		slurp(path, &o);
		snprintf(path, sizeof(path), "%s/err", dir);
		slurp(path, &e);
	}
	put_str(out, "@@RP DONE ");
	put_str(out, id);
	put_str(out, " ");
	put_num(out, rc);
	put_str(out, " ");
	put_base64(out, (unsigned char *)o.p, o.len);
	put_str(out, " ");
	put_base64(out, (unsigned char *)e.p, e.len);
	put_str(out, "\n");
	free(o.p);
	free(e.p);
}

/* The next blank-separated word of *s, NUL-terminated in place. */
static char *word(char **s)
{
	char *w = *s + strspn(*s, " \t");
	char *end = w + strcspn(w, " \t");

	*s = *end ? end + 1 : end;
	if (*end)
		*end = '\0';
	return w;
}

/* One request line; returns 1 on @@QUIT. */
static int serve(char *line, const char *dir)
{
	struct buf out = { 0 };
	char *id, *op, *file, *text, *end;
	int rc;

	id = word(&line);
	if (!strcmp(id, "@@QUIT"))
		return 1;
	if (!*id)
		return 0;
	op = word(&line);
	if (!strcmp(op, "W") || !strcmp(op, "R")) {
		file = word(&line);
		/* The rest, trimmed, as the shell's read gives its last variable. */
		text = line + strspn(line, " \t");
		end = text + strlen(text);
		while (end > text && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		rc = *op == 'W' ? do_write(&out, id, file, text) : do_read(&out, id, file);
		put_str(&out, "@@RP END ");
		put_str(&out, id);
		put_str(&out, " ");
		put_num(&out, rc);
		put_str(&out, "\n");
	} else {
		do_script(&out, dir, id, op);
	}
	write_all(1, out.p, out.len);
	free(out.p);
	return 0;
}

int main(int argc, char **argv)
{
	struct buf in = { 0 };
	struct pollfd pfd = { .fd = 0, .events = POLLIN };
	long idle;
	char *nl;

	idle = argc == 3 ? strtol(argv[1], &nl, 10) : 0;
	if (idle <= 0 || *nl) {
		dprintf(2, "usage: refprobe-agent IDLE-SECONDS DIR\n");
		return 2;
	}
	write_all(1, "@@RP READY\n", 11);
	for (;;) {
		size_t start = 0;
		ssize_t r;
		int p = poll(&pfd, 1, idle > INT_MAX / 1000 ? -1 : (int)idle * 1000);

		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			die("poll");
		if (p == 0)
			return 1;
		reserve(&in, 4096);
		r = read(0, in.p + in.len, in.cap - in.len - 1);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return 1;
		in.len += r;
		in.p[in.len] = '\0';
		while ((nl = memchr(in.p + start, '\n', in.len - start))) {
			*nl = '\0';
			if (serve(in.p + start, argv[2]))
				return 0;
			start = nl + 1 - in.p;
		}
		memmove(in.p, in.p + start, in.len - start);
		in.len -= start;
	}
}
