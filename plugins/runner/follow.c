/*
 * follow.c - --import: follow a legacy plugin's own log file.
 *
 * The directory holding the file is watched with inotify, so that a new file
 * at the path (rotation: rename, then create) is seen as well as writes.
 * Every event, and a periodic tick from the runner, reads all files this
 * follower has open to their end: the current one, and those rotated away,
 * which a plugin may still write until it reopens its log. A current file
 * that became shorter than what was read was truncated (copytruncate): it is
 * read again from its start.
 *
 * Lines go to logs/by-source/SOURCE as they were written, so the mount's line
 * protocol applies ("[ERROR] …", JSON lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner.h"

#define READ_CHUNK  65536
#define ROTATED_MAX 8

struct source_file {
	int fd; /* -1 when closed */
	dev_t dev;
	ino_t ino;
	off_t pos;
	char *partial; /* an unfinished last line */
	size_t partial_len;
};

struct follower {
	char *path;
	char *dir;
	const char *base;      /* the file's name in dir */
	int wd;		       /* dir's inotify watch */
	uint32_t moved_cookie; /* of the last rename away from the path */
	int out;	       /* TASK/logs/by-source/SOURCE */
	struct source_file current;
	struct source_file rotated[ROTATED_MAX];
	size_t rotated_count;
	unsigned long lines;
	int error; /* the first write error */
};

static void source_file_close(struct source_file *sf)
{
	if (sf->fd >= 0)
		close(sf->fd);
	free(sf->partial);
	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
}

/* Appends complete lines; keeps an unfinished one for later. */
static void emit(struct follower *f, struct source_file *sf, const char *data,
		 size_t len)
{
	const char *last_nl = memrchr(data, '\n', len);
	size_t whole;

	if (!last_nl) {
		sf->partial = realloc(sf->partial, sf->partial_len + len);
		if (!sf->partial)
			abort();
		memcpy(sf->partial + sf->partial_len, data, len);
		sf->partial_len += len;
		return;
	}
	whole = (size_t)(last_nl - data) + 1;
	for (const char *p = data; p < data + whole; p++)
		f->lines += *p == '\n';
	if (f->error == 0 && sf->partial_len > 0)
		f->error =
		    runner_write_all(f->out, sf->partial, sf->partial_len);
	if (f->error == 0)
		f->error = runner_write_all(f->out, data, whole);
	sf->partial_len = 0;
	if (whole < len)
		emit(f, sf, data + whole, len - whole);
}

/* An unfinished line whose file will not grow: it ends here. */
static void emit_partial(struct follower *f, struct source_file *sf)
{
	if (sf->partial_len > 0)
		emit(f, sf, "\n", 1);
}

static void drain(struct follower *f, struct source_file *sf)
{
	char *buf;

	if (sf->fd < 0)
		return;
	buf = malloc(READ_CHUNK);
	if (!buf)
		abort();
	for (;;) {
		ssize_t n = pread(sf->fd, buf, READ_CHUNK, sf->pos);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sf->pos += n;
		emit(f, sf, buf, (size_t)n);
	}
	free(buf);
}

static int open_current(struct follower *f, bool from_end)
{
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	f->current.fd = fd;
	f->current.dev = st.st_dev;
	f->current.ino = st.st_ino;
	f->current.pos = from_end ? st.st_size : 0;
	return 0;
}

/* The file at the path is not the one open: it was rotated. */
static void rotate(struct follower *f)
{
	drain(f, &f->current);
	if (f->rotated_count == ROTATED_MAX) {
		/* Rotated eight times within one poll: finish the oldest. */
		emit_partial(f, &f->rotated[0]);
		source_file_close(&f->rotated[0]);
		memmove(f->rotated, f->rotated + 1,
			(ROTATED_MAX - 1) * sizeof(f->rotated[0]));
		f->rotated_count--;
	}
	f->rotated[f->rotated_count++] = f->current;
	memset(&f->current, 0, sizeof(f->current));
	f->current.fd = -1;
}

int follower_poll(struct follower *f)
{
	struct stat st;

	for (size_t i = 0; i < f->rotated_count; i++)
		drain(f, &f->rotated[i]);
	if (f->current.fd >= 0 && fstat(f->current.fd, &st) == 0 &&
	    st.st_size < f->current.pos) {
		emit_partial(f, &f->current);
		f->current.pos = 0; /* truncated */
	}
	drain(f, &f->current);
	if (stat(f->path, &st) == 0 &&
	    (f->current.fd < 0 || st.st_ino != f->current.ino ||
	     st.st_dev != f->current.dev)) {
		if (f->current.fd >= 0)
			rotate(f);
		if (open_current(f, false) == 0)
			drain(f, &f->current);
	}
	return f->error;
}

static bool tracked(const struct follower *f, const struct stat *st)
{
	if (f->current.fd >= 0 && f->current.ino == st->st_ino &&
	    f->current.dev == st->st_dev)
		return true;
	for (size_t i = 0; i < f->rotated_count; i++)
		if (f->rotated[i].ino == st->st_ino &&
		    f->rotated[i].dev == st->st_dev)
			return true;
	return false;
}

/*
 * A file may be created, written and renamed away before a poll looks at
 * the path: follow a rename from the path to where it went, and read the
 * file there if it is not one already open.
 */
void follower_event(struct follower *f, const struct inotify_event *ev)
{
	char path[PATH_MAX];
	struct source_file *sf;
	struct stat st;

	if (ev->wd != f->wd || !ev->len)
		return;
	if ((ev->mask & IN_MOVED_FROM) && strcmp(ev->name, f->base) == 0) {
		f->moved_cookie = ev->cookie;
		return;
	}
	if (!(ev->mask & IN_MOVED_TO) || ev->cookie != f->moved_cookie ||
	    f->rotated_count == ROTATED_MAX)
		return;
	f->moved_cookie = 0;
	snprintf(path, sizeof(path), "%s/%s", f->dir, ev->name);
	sf = &f->rotated[f->rotated_count];
	sf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sf->fd < 0)
		return;
	if (fstat(sf->fd, &st) < 0 || tracked(f, &st)) {
		close(sf->fd);
		sf->fd = -1;
		return;
	}
	sf->dev = st.st_dev;
	sf->ino = st.st_ino;
	sf->pos = 0;
	f->rotated_count++;
}

int follower_finish(struct follower *f)
{
	follower_poll(f);
	for (size_t i = 0; i < f->rotated_count; i++) {
		drain(f, &f->rotated[i]);
		emit_partial(f, &f->rotated[i]);
		source_file_close(&f->rotated[i]);
	}
	f->rotated_count = 0;
	emit_partial(f, &f->current);
	source_file_close(&f->current);
	return f->error;
}

unsigned long follower_lines(const struct follower *f)
{
	return f->lines;
}

/* Splits "FILE:SOURCE"; a suffix that is no valid source is part of FILE. */
static void split_spec(const char *spec, char **path, char **source)
{
	const char *colon = strrchr(spec, ':');

	if (colon && runner_name_valid(colon + 1)) {
		*path = strndup(spec, (size_t)(colon - spec));
		*source = strdup(colon + 1);
	} else {
		*path = strdup(spec);
		*source = strdup("plugin");
	}
	if (!*path || !*source)
		abort();
}

int follower_new(const char *spec, const char *task_dir, int inotify_fd,
		 struct follower **out)
{
	struct follower *f = calloc(1, sizeof(*f));
	char *source, *slash, out_path[PATH_MAX];
	int rc = 0;

	if (!f)
		abort();
	f->current.fd = -1;
	f->out = -1;
	split_spec(spec, &f->path, &source);
	slash = strrchr(f->path, '/');
	if (!*f->path || (slash && !slash[1])) {
		runner_warn("--import %s: not a file name", spec);
		rc = -EINVAL;
		goto out;
	}
	if (!slash)
		f->dir = strdup(".");
	else if (slash == f->path)
		f->dir = strdup("/");
	else
		f->dir = strndup(f->path, (size_t)(slash - f->path));
	if (!f->dir)
		abort();
	f->base = slash ? slash + 1 : f->path;
	f->wd = inotify_add_watch(inotify_fd, f->dir,
				  IN_MODIFY | IN_CREATE | IN_MOVED_TO |
				      IN_MOVED_FROM | IN_DELETE |
				      IN_CLOSE_WRITE | IN_ATTRIB);
	if (f->wd < 0) {
		rc = -errno;
		runner_warn("--import %s: cannot watch %s: %s", spec, f->dir,
			    strerror(errno));
		goto out;
	}
	snprintf(out_path, sizeof(out_path), "%s/logs/by-source/%s", task_dir,
		 source);
	f->out =
	    open(out_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (f->out < 0) {
		rc = -errno;
		runner_warn("--import %s: cannot open %s: %s", spec, out_path,
			    strerror(errno));
		goto out;
	}
	rc = open_current(f, true);
	if (rc == -ENOENT)
		rc = 0; /* the plugin will create it */
	else if (rc < 0)
		runner_warn("--import %s: %s", spec, strerror(-rc));
out:
	free(source);
	if (rc < 0) {
		follower_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void follower_free(struct follower *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->rotated_count; i++)
		source_file_close(&f->rotated[i]);
	source_file_close(&f->current);
	if (f->out >= 0)
		close(f->out);
	free(f->path);
	free(f->dir);
	free(f);
}
