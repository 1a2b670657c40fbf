/*
 * ops.c - the answers to the kernel: attributes, listings, open, read,
 * write, fsync, poll, and mkdir/rmdir of tasks.
 *
 * FUSE runs its multi-threaded loop, so a slow query or a read that waits
 * for new entries holds one thread while the others keep serving. Every log
 * file is opened with direct_io: reads come to us (the size keeps growing)
 * and one write() is one request, so lines are never torn.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

#define STREAM_WAIT_MS 200

static struct fs *this_fs(void)
{
	return fuse_get_context()->private_data;
}

void fs_bad_request(struct fs *fs, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fs_log("%s", text);
	pthread_mutex_lock(&fs->stats_lock);
	fs->bad_requests++;
	pthread_mutex_unlock(&fs->stats_lock);
}

/* Resolves path, counting EINVAL answers as bad requests. */
static int resolve(struct fs *fs, const char *path, struct node *n)
{
	int rc = fs_resolve(path, n);

	if (rc == -EINVAL) {
		pthread_mutex_lock(&fs->stats_lock);
		fs->bad_requests++;
		pthread_mutex_unlock(&fs->stats_lock);
	}
	return rc;
}

static void set_time(struct timespec *ts, int64_t ms)
{
	ts->tv_sec = ms / 1000;
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* With async direct I/O the kernel waits for a read without letting
	 * a signal through, so Ctrl-C could not end a blocked `cat`. */
	conn->want &= ~FUSE_CAP_ASYNC_DIO;
	cfg->use_ino = 1;
	/* Sizes grow all the time: let every stat ask us. */
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->hard_remove = 1;
	return this_fs();
}

/* Does the source exist in the task: seen in an entry, or declared? */
static bool source_exists(struct fs *fs, const char *task, const char *source)
{
	struct tl_task_summary sum;
	bool found = sources_declared(fs, task, source);

	if (!found && tl_task_summary(fs->engine, task, &sum) == 0) {
		for (size_t i = 0; i < sum.n_sources && !found; i++)
			found = strcmp(sum.sources[i].name, source) == 0;
		tl_task_summary_release(&sum);
	}
	return found;
}

static int small_file(struct fs *fs, const struct node *n, char **text,
		      size_t *len)
{
	switch (n->kind) {
	case NODE_README:
		*text = fs_render_readme(len);
		break;
	case NODE_STATS:
		*text = fs_render_stats(fs, n->task, len);
		break;
	case NODE_TASK_JSON:
		*text = fs_render_task_json(fs, n->task, len);
		break;
	case NODE_STATUS:
		*text = fs_render_status(fs, n->task, len);
		break;
	default:
		return -EISDIR;
	}
	return *text ? 0 : -ENOENT;
}

static int log_attr(struct fs *fs, struct view *v, struct stat *st)
{
	uint64_t size;
	int64_t mtime;
	int rc = view_refresh(fs, v, &size, &mtime);

	if (rc < 0)
		return rc;
	st->st_size = (off_t)size;
	set_time(&st->st_mtim, mtime);
	set_time(&st->st_ctim, mtime);
	return 0;
}

static int fs_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	struct fs *fs = this_fs();
	struct tl_task_info info;
	struct node n;
	int rc = resolve(fs, path, &n);

	if (rc < 0)
		return rc;
	memset(st, 0, sizeof(*st));
	st->st_ino = fs_inode(path);
	st->st_uid = getuid();
	st->st_gid = getgid();
	set_time(&st->st_mtim, fs->started_ms);
	if (n.task[0]) {
		if (tl_task_get(fs->engine, n.task, &info) < 0)
			return -ENOENT;
		set_time(&st->st_mtim, info.last_ts_ms);
	}
	st->st_ctim = st->st_atim = st->st_mtim;

	switch (n.kind) {
	case NODE_ROOT:
	case NODE_TASKS:
	case NODE_TASK:
	case NODE_LOGS:
	case NODE_BY_SOURCE:
	case NODE_LEVELS:
	case NODE_SEARCH:
	case NODE_META:
	case NODE_META_KEY:
	case NODE_VIEWS:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	case NODE_LOG: {
		struct open_file *file = fi ? (struct open_file *)fi->fh : NULL;
		struct view *v;

		if (n.source[0] && strncmp(n.filter, "source=", 7) == 0 &&
		    !source_exists(fs, n.task, n.source))
			return -ENOENT;
		st->st_mode = S_IFREG | (n.source[0] ? 0644 : 0444);
		st->st_nlink = 1;
		if (file && file->view)
			return log_attr(fs, file->view, st);
		rc = view_get(fs, &n, &v);
		if (rc < 0)
			return rc;
		rc = log_attr(fs, v, st);
		view_put(fs, v);
		return rc;
	}
	default: {
		char *text;
		size_t len;

		rc = small_file(fs, &n, &text, &len);
		if (rc < 0)
			return rc;
		free(text);
		st->st_mode = S_IFREG | (n.kind == NODE_STATUS ? 0644 : 0444);
		st->st_nlink = 1;
		st->st_size = (off_t)len;
		return 0;
	}
	}
}

struct listing {
	void *buf;
	fuse_fill_dir_t fill;
};

static void list(struct listing *l, const char *name)
{
	l->fill(l->buf, name, NULL, 0, 0);
}

static void list_source(const char *source, void *ctx)
{
	list(ctx, source);
}

static int list_task_dir(struct fs *fs, const struct node *n,
			 struct listing *l)
{
	struct tl_task_summary sum;
	int rc = 0;

	switch (n->kind) {
	case NODE_TASK:
		list(l, "status");
		list(l, "task.json");
		list(l, "logs");
		break;
	case NODE_LOGS:
		list(l, "all");
		list(l, "all.jsonl");
		list(l, "by-source");
		list(l, "level");
		list(l, "search");
		list(l, "meta");
		list(l, "view");
		if (!n->stream) {
			list(l, "stats");
			list(l, "stream");
		}
		break;
	case NODE_LEVELS:
		for (int i = 0; i < TL_LEVEL_COUNT; i++) {
			char name[16];

			snprintf(name, sizeof(name), "%s+", tl_level_name(i));
			list(l, name);
			list(l, tl_level_name(i));
		}
		break;
	case NODE_BY_SOURCE:
	case NODE_META:
		rc = tl_task_summary(fs->engine, n->task, &sum);
		if (rc < 0)
			return rc;
		if (n->kind == NODE_BY_SOURCE) {
			for (size_t i = 0; i < sum.n_sources; i++)
				if (!sources_declared(fs, n->task,
						      sum.sources[i].name))
					list(l, sum.sources[i].name);
			sources_each(fs, n->task, list_source, l);
		} else {
			for (size_t i = 0; i < sum.n_meta_keys; i++)
				if (!strchr(sum.meta_keys[i], '/') &&
				    sum.meta_keys[i][0])
					list(l, sum.meta_keys[i]);
		}
		tl_task_summary_release(&sum);
		break;
	case NODE_META_KEY: {
		char **values;

		rc = tl_task_meta_values(fs->engine, n->task, n->meta_key,
					 &values);
		if (rc < 0)
			return rc;
		for (char **v = values; *v; v++)
			if (!strchr(*v, '/') && **v && strlen(*v) <= NAME_MAX)
				list(l, *v);
		tl_strv_free(values);
		break;
	}
	default: /* search/ and view/ list nothing: any name works */
		break;
	}
	return rc;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct fs *fs = this_fs();
	struct listing l = { buf, fill };
	struct tl_task_info *tasks, info;
	size_t n_tasks;
	struct node n;
	int rc = resolve(fs, path, &n);

	(void)off;
	(void)fi;
	(void)flags;
	if (rc < 0)
		return rc;
	if (n.task[0] && tl_task_get(fs->engine, n.task, &info) < 0)
		return -ENOENT;
	list(&l, ".");
	list(&l, "..");
	switch (n.kind) {
	case NODE_ROOT:
		list(&l, "README");
		list(&l, "stats");
		list(&l, "tasks");
		return 0;
	case NODE_TASKS:
		tl_task_list(fs->engine, &tasks, &n_tasks);
		for (size_t i = 0; i < n_tasks; i++)
			list(&l, tasks[i].id);
		free(tasks);
		return 0;
	case NODE_LOG:
	case NODE_README:
	case NODE_STATS:
	case NODE_STATUS:
	case NODE_TASK_JSON:
		return -ENOTDIR;
	default:
		return list_task_dir(fs, &n, &l);
	}
}

static int fs_mkdir(const char *path, mode_t mode)
{
	struct fs *fs = this_fs();
	struct node n;
	int rc = resolve(fs, path, &n);

	(void)mode;
	if (rc < 0)
		return rc;
	if (n.kind != NODE_TASK)
		return -EPERM;
	rc = tl_task_create(fs->engine, n.task);
	if (rc == 0)
		fs_log("task %s created", n.task);
	return rc;
}

static int fs_rmdir(const char *path)
{
	struct fs *fs = this_fs();
	struct node n;
	int rc = resolve(fs, path, &n);

	if (rc < 0)
		return rc;
	if (n.kind != NODE_TASK)
		return -EPERM;
	rc = tl_task_delete(fs->engine, n.task);
	if (rc < 0)
		return rc;
	view_forget_task(fs, n.task);
	sources_forget_task(fs, n.task);
	/* The rows are gone once committed; wait for that, within reason. */
	if (tl_flush(fs->engine, 10000) < 0)
		fs_log("task %s deleted; its rows go once the database "
		       "can be written",
		       n.task);
	return 0;
}

static int fs_unlink(const char *path)
{
	(void)path;
	return -EPERM;
}

static bool wants_write(const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) != O_RDONLY;
}

static int open_node(struct fs *fs, const char *path,
		     struct fuse_file_info *fi, bool creating)
{
	struct open_file *file;
	struct tl_task_info info;
	struct node n;
	int rc = resolve(fs, path, &n);

	if (rc < 0)
		return rc;
	if (n.task[0] && tl_task_get(fs->engine, n.task, &info) < 0)
		return -ENOENT;
	if (n.kind < NODE_LOG && n.kind != NODE_README &&
	    n.kind != NODE_STATS && n.kind != NODE_STATUS &&
	    n.kind != NODE_TASK_JSON)
		return -EISDIR;
	if (wants_write(fi) && !n.source[0] && n.kind != NODE_STATUS)
		return -EACCES;
	if (creating) {
		if (!n.source[0] || strncmp(n.filter, "source=", 7) != 0) {
			if (!n.source[0])
				return -EACCES;
		} else {
			sources_declare(fs, n.task, n.source);
		}
	} else if (n.kind == NODE_LOG && n.source[0] &&
		   strncmp(n.filter, "source=", 7) == 0 &&
		   !source_exists(fs, n.task, n.source)) {
		return -ENOENT;
	}

	file = calloc(1, sizeof(*file));
	if (!file)
		abort();
	file->node = n;
	pthread_mutex_init(&file->lock, NULL);
	if (n.kind == NODE_LOG) {
		rc = view_get(fs, &n, &file->view);
	} else if (n.kind != NODE_STATUS || !wants_write(fi)) {
		rc = small_file(fs, &n, &file->text, &file->text_len);
	}
	if (rc < 0) {
		pthread_mutex_destroy(&file->lock);
		free(file);
		return rc;
	}
	fi->fh = (uint64_t)(uintptr_t)file;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	return open_node(this_fs(), path, fi, false);
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	return open_node(this_fs(), path, fi, true);
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct node n;
	int rc = resolve(this_fs(), path, &n);

	(void)size;
	(void)fi;
	if (rc < 0)
		return rc;
	/* Log files only grow: `>` opens them like `>>`. */
	return n.source[0] || n.kind == NODE_STATUS ? 0 : -EACCES;
}

static int fs_utimens(const char *path, const struct timespec tv[2],
		      struct fuse_file_info *fi)
{
	(void)path;
	(void)tv;
	(void)fi;
	return 0;
}

/* Waits for the stream's next entries; 0 when there may be some, 1 at the
 * end of the stream, or a negative errno. */
static int stream_wait(struct fs *fs, struct open_file *file)
{
	for (;;) {
		int rc = tl_wait(fs->engine, file->node.task,
				 view_scanned(file->view), STREAM_WAIT_MS);

		if (rc == 0)
			return 0;
		if (rc == -ENODATA || rc == -ENOENT || rc == -ESHUTDOWN)
			return 1;
		if (fuse_interrupted())
			return -EINTR;
		/* Unmounting: let the loop's threads finish. */
		if (fuse_session_exited(fuse_get_session(fuse_get_context()->fuse)))
			return 1;
	}
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	struct fs *fs = this_fs();
	struct open_file *file = (struct open_file *)fi->fh;
	ssize_t n;

	(void)path;
	if (!file->view) {
		if (!file->text)
			return -EBADF;
		if ((size_t)off >= file->text_len)
			return 0;
		n = (ssize_t)(file->text_len - (size_t)off);
		if ((size_t)n > size)
			n = (ssize_t)size;
		memcpy(buf, file->text + off, (size_t)n);
		return (int)n;
	}
	for (;;) {
		n = view_read(fs, file->view, buf, size, off);
		if (n != 0 || !file->node.stream)
			break;
		int rc = stream_wait(fs, file);

		if (rc < 0)
			return rc;
		if (rc == 1) {
			n = view_read(fs, file->view, buf, size, off);
			break;
		}
	}
	if (n > 0) {
		pthread_mutex_lock(&file->lock);
		file->pos = off + n;
		pthread_mutex_unlock(&file->lock);
	}
	return n == -ENOENT ? 0 : (int)n;
}

/* "succeeded", "failed [CODE]" or "running", one a line. */
static int write_status(struct fs *fs, struct open_file *file)
{
	struct line_buffer *lb = &file->lines;
	char *text = lb->data, *end = text + lb->len, *nl;
	int rc = 0;

	while (rc == 0 && text < end &&
	       (nl = memchr(text, '\n', (size_t)(end - text)))) {
		char word[16] = "";
		int code = 1, fields;

		*nl = '\0';
		fields = sscanf(text, "%15s %d", word, &code);
		int status = fields >= 1 ?
				     tl_status_parse(word, strlen(word)) :
				     -EINVAL;

		if (status < 0) {
			fs_bad_request(fs,
				       "tasks/%s/status: '%.40s' is not "
				       "running, succeeded or failed [CODE]",
				       file->node.task, text);
			rc = -EINVAL;
		} else {
			rc = tl_task_set_status(fs->engine, file->node.task,
						(enum tl_status)status,
						status == TL_SUCCEEDED ? 0 :
									 code);
		}
		text = nl + 1;
	}
	memmove(lb->data, text, (size_t)(end - text));
	lb->len = (size_t)(end - text);
	return rc;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = this_fs();
	struct open_file *file = (struct open_file *)fi->fh;
	int rc;

	(void)path;
	(void)off; /* appends: O_APPEND offsets are stale on FUSE */
	pthread_mutex_lock(&file->lock);
	if (file->node.kind == NODE_STATUS) {
		struct line_buffer *lb = &file->lines;

		if (lb->len + size > 4096) {
			rc = -EFBIG;
		} else {
			line_buffer_add(lb, buf, size);
			rc = write_status(fs, file);
		}
	} else if (file->node.source[0]) {
		rc = lines_write(fs, file->node.task, file->node.source,
				 &file->lines, buf, size);
	} else {
		rc = -EBADF;
	}
	pthread_mutex_unlock(&file->lock);
	return rc < 0 ? rc : (int)size;
}

/* The unfinished line becomes an entry (close, fsync). */
static int finish_lines(struct fs *fs, struct open_file *file)
{
	int rc = 0;

	pthread_mutex_lock(&file->lock);
	if (file->node.kind == NODE_STATUS && file->lines.len) {
		line_buffer_add(&file->lines, "\n", 1);
		rc = write_status(fs, file);
	} else if (file->node.source[0]) {
		rc = lines_finish(fs, file->node.task, file->node.source,
				  &file->lines);
	}
	pthread_mutex_unlock(&file->lock);
	return rc;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return finish_lines(this_fs(), (struct open_file *)fi->fh);
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fs *fs = this_fs();
	int rc = finish_lines(fs, (struct open_file *)fi->fh);

	(void)path;
	(void)datasync;
	if (rc < 0)
		return rc;
	rc = tl_flush(fs->engine, 30000);
	return rc == -ETIMEDOUT ? -EIO : rc;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fs *fs = this_fs();
	struct open_file *file = (struct open_file *)fi->fh;

	(void)path;
	finish_lines(fs, file);
	poll_forget(fs, file);
	view_put(fs, file->view);
	free(file->text);
	line_buffer_release(&file->lines);
	pthread_mutex_destroy(&file->lock);
	free(file);
	return 0;
}

static int fs_poll(const char *path, struct fuse_file_info *fi,
		   struct fuse_pollhandle *ph, unsigned *revents)
{
	struct fs *fs = this_fs();
	struct open_file *file = (struct open_file *)fi->fh;
	struct tl_task_info info;
	uint64_t size;
	int64_t mtime;
	off_t pos;
	int rc;

	(void)path;
	*revents = POLLOUT | POLLWRNORM;
	if (!file->view || !file->node.stream) {
		*revents |= POLLIN | POLLRDNORM;
		if (ph)
			fuse_pollhandle_destroy(ph);
		return 0;
	}
	rc = view_refresh(fs, file->view, &size, &mtime);
	pthread_mutex_lock(&file->lock);
	pos = file->pos;
	pthread_mutex_unlock(&file->lock);
	if (rc < 0 || size > (uint64_t)pos ||
	    tl_task_get(fs->engine, file->node.task, &info) < 0 ||
	    info.status != TL_RUNNING) {
		*revents |= POLLIN | POLLRDNORM;
		if (ph)
			fuse_pollhandle_destroy(ph);
		return 0;
	}
	if (ph)
		return poll_arm(fs, file, ph, view_scanned(file->view));
	return 0;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)path;
	(void)mode;
	(void)fi;
	return -EPERM;
}

const struct fuse_operations fs_operations = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.mkdir = fs_mkdir,
	.rmdir = fs_rmdir,
	.unlink = fs_unlink,
	.open = fs_open,
	.create = fs_create,
	.truncate = fs_truncate,
	.utimens = fs_utimens,
	.chmod = fs_chmod,
	.read = fs_read,
	.write = fs_write,
	.flush = fs_flush,
	.fsync = fs_fsync,
	.release = fs_release,
	.poll = fs_poll,
};
