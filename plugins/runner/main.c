/*
 * main.c - the `tasklog` command: run plugins, and small conveniences over
 * the mount (ls, rm, tail). Everything goes through the mount's files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define TAIL_CHUNK 65536

void runner_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("tasklog: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool runner_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 128 && name[0] != '.' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"
			    "XYZ0123456789._-") == len;
}

int runner_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

const char *runner_mount(const char *dir)
{
	char tasks[PATH_MAX];
	struct stat st;

	if (!dir)
		dir = getenv("TASKLOG_MOUNT");
	if (!dir || !*dir)
		dir = "mnt";
	snprintf(tasks, sizeof(tasks), "%s/tasks", dir);
	if (stat(tasks, &st) == 0 && S_ISDIR(st.st_mode))
		return dir;
	if (errno == ENOTCONN)
		runner_warn("%s: the tasklogfs daemon of this mount is gone "
			    "(%s); mount it again",
			    dir, strerror(errno));
	else
		runner_warn("%s is not a tasklogfs mount (%s: %s); give "
			    "--mount DIR or set TASKLOG_MOUNT",
			    dir, tasks,
			    errno ? strerror(errno) : "not a folder");
	return NULL;
}

/* Reads the small file path into buf; returns its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* Takes "--mount DIR" off the front of the arguments, if it is there. */
static const char *mount_option(int *argc, char ***argv)
{
	if (*argc >= 3 && strcmp((*argv)[1], "--mount") == 0) {
		const char *dir = (*argv)[2];

		(*argv)[2] = (*argv)[0];
		*argv += 2;
		*argc -= 2;
		return dir;
	}
	return NULL;
}

int runner_ls(int argc, char **argv)
{
	const char *mount = mount_option(&argc, &argv);
	char path[PATH_MAX], status[64];
	struct dirent *d;
	DIR *dir;

	if (argc != 1) {
		fprintf(stderr, "usage: tasklog ls [--mount DIR]\n");
		return 2;
	}
	if (!(mount = runner_mount(mount)))
		return 2;
	snprintf(path, sizeof(path), "%s/tasks", mount);
	if (!(dir = opendir(path))) {
		runner_warn("%s: %s", path, strerror(errno));
		return 1;
	}
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/tasks/%s/status", mount,
			 d->d_name);
		if (read_small(path, status, sizeof(status)) < 0)
			continue; /* removed meanwhile */
		status[strcspn(status, "\n")] = '\0';
		printf("%-40s %s\n", d->d_name, status);
	}
	closedir(dir);
	return fflush(stdout) == 0 ? 0 : 1;
}

int runner_rm(int argc, char **argv)
{
	const char *mount = mount_option(&argc, &argv);
	char path[PATH_MAX];
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: tasklog rm [--mount DIR] ID...\n");
		return 2;
	}
	if (!(mount = runner_mount(mount)))
		return 2;
	for (int i = 1; i < argc; i++) {
		if (!runner_name_valid(argv[i])) {
			runner_warn("rm: '%s' is not a task id", argv[i]);
			failed = 1;
			continue;
		}
		snprintf(path, sizeof(path), "%s/tasks/%s", mount, argv[i]);
		if (rmdir(path) < 0) {
			runner_warn("rm: %s: %s", argv[i],
				    errno == ENOENT ? "no such task"
						    : strerror(errno));
			failed = 1;
		}
	}
	return failed;
}

/* The offset where the last n lines of the file fd (size bytes) start. */
static off_t last_lines(int fd, off_t size, long n)
{
	char buf[TAIL_CHUNK];
	off_t end = size;
	long seen = 0;

	if (n <= 0)
		return size;
	while (end > 0) {
		size_t len = end < TAIL_CHUNK ? (size_t)end : TAIL_CHUNK;
		ssize_t got = pread(fd, buf, len, end - (off_t)len);

		if (got != (ssize_t)len)
			return 0;
		for (size_t i = len; i-- > 0;) {
			/* The file's last newline ends the last line. */
			if (buf[i] == '\n' &&
			    end - (off_t)len + (off_t)i != size - 1 &&
			    ++seen == n)
				return end - (off_t)len + (off_t)i + 1;
		}
		end -= (off_t)len;
	}
	return 0;
}

/* Copies fd from offset to stdout until end of file. */
static int copy_out(int fd, off_t offset, const char *path)
{
	char buf[TAIL_CHUNK];

	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			runner_warn("tail: %s: %s", path, strerror(errno));
			return 1;
		}
		if (n == 0)
			return 0;
		if (runner_write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
			return 1; /* the reader went away (less, head) */
		offset += n;
	}
}

/* logs/FILE for a filter: view/<filter, '/' and '%' kept apart>, or all. */
static void view_path(char *out, size_t size, const char *mount, const char *id,
		      bool stream, const char *filter)
{
	int n = snprintf(out, size, "%s/tasks/%s/logs/%s%s", mount, id,
			 stream ? "stream/" : "", filter ? "view/" : "all");

	for (const char *p = filter; p && *p && (size_t)n + 4 < size; p++) {
		if (*p == '/')
			n += snprintf(out + n, size - (size_t)n, "%%2F");
		else
			out[n++] = *p;
	}
	out[n] = '\0';
}

int runner_tail(int argc, char **argv)
{
	const char *mount = mount_option(&argc, &argv);
	const char *id = NULL, *filter = NULL;
	char path[PATH_MAX];
	bool follow = false;
	long lines = 10;
	struct stat st;
	off_t from;
	int fd, rc;

	for (int i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "-f") == 0) {
			follow = true;
		} else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			lines = strtol(argv[++i], &end, 10);
			if (*end || lines < 0) {
				runner_warn("tail: -n wants a count");
				return 2;
			}
		} else if (!id) {
			id = argv[i];
		} else if (!filter) {
			filter = argv[i];
		} else {
			id = NULL;
			break;
		}
	}
	if (!id) {
		fprintf(stderr, "usage: tasklog tail [--mount DIR] [-f] "
				"[-n LINES] ID [FILTER]\n"
				"  FILTER: level=WARNING+&source=api&q=text&"
				"meta.KEY=VALUE\n");
		return 2;
	}
	if (!(mount = runner_mount(mount)))
		return 2;
	if (!runner_name_valid(id)) {
		runner_warn("tail: '%s' is not a task id", id);
		return 2;
	}
	view_path(path, sizeof(path), mount, id, false, filter);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		runner_warn("tail: %s: %s", path,
			    errno == EINVAL ? "bad filter (see the daemon's "
					      "log for why)"
					    : strerror(errno));
		return 1;
	}
	from = last_lines(fd, st.st_size, lines);
	if (!follow) {
		rc = copy_out(fd, from, path);
		close(fd);
		return rc;
	}
	close(fd);
	/* The stream twin holds the same bytes and waits at its end. */
	view_path(path, sizeof(path), mount, id, true, filter);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		runner_warn("tail: %s: %s", path, strerror(errno));
		return 1;
	}
	rc = copy_out(fd, from, path);
	close(fd);
	return rc;
}

static void usage(FILE *to)
{
	fprintf(
	    to,
	    "usage: tasklog COMMAND [ARGS...]\n"
	    "  run [--id ID] [--config K=V]... [--import FILE[:SOURCE]]... "
	    "PLUGIN [ARGS...]\n"
	    "                  run a plugin as a task, see `tasklog run "
	    "--help`\n"
	    "  ls              list tasks and their status\n"
	    "  rm ID...        delete tasks and all their entries\n"
	    "  tail [-f] [-n LINES] ID [FILTER]\n"
	    "                  a task's last entries; -f follows until it "
	    "ends\n"
	    "Every command takes --mount DIR first (default $TASKLOG_MOUNT, "
	    "else ./mnt).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	argc--;
	argv++;
	if (strcmp(argv[0], "run") == 0)
		return runner_run(argc, argv);
	if (strcmp(argv[0], "ls") == 0)
		return runner_ls(argc, argv);
	if (strcmp(argv[0], "rm") == 0)
		return runner_rm(argc, argv);
	if (strcmp(argv[0], "tail") == 0)
		return runner_tail(argc, argv);
	if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	runner_warn("unknown command '%s'", argv[0]);
	usage(stderr);
	return 2;
}
