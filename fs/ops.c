/*
 * ops.c - the answers to the kernel about the tree: attributes, listings,
 * mkdir/rmdir of tasks; and the table of all operations.
 *
 * FUSE runs its multi-threaded loop, so a slow query or a read that waits
 * for new entries holds one thread while the others keep serving. Open
 * files are io.c's.
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

struct fs *fs_this(void)
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
int fs_resolve_counted(struct fs *fs, const char *path, struct node *n)
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
	return fs_this();
}

/* Does the source exist in the task: seen in an entry, or declared? */
bool fs_source_exists(struct fs *fs, const char *task, const char *source)
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

int fs_small_file(struct fs *fs, const struct node *n, char **text, size_t *len)
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
	struct fs *fs = fs_this();
	struct tl_task_info info;
	struct node n;
	int rc = fs_resolve_counted(fs, path, &n);

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
		    !fs_source_exists(fs, n.task, n.source))
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

		rc = fs_small_file(fs, &n, &text, &len);
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

static int list_task_dir(struct fs *fs, const struct node *n, struct listing *l)
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
	struct fs *fs = fs_this();
	struct listing l = {buf, fill};
	struct tl_task_info *tasks, info;
	size_t n_tasks;
	struct node n;
	int rc = fs_resolve_counted(fs, path, &n);

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
	struct fs *fs = fs_this();
	struct node n;
	int rc = fs_resolve_counted(fs, path, &n);

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
	struct fs *fs = fs_this();
	struct node n;
	int rc = fs_resolve_counted(fs, path, &n);

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

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct node n;
	int rc = fs_resolve_counted(fs_this(), path, &n);

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
