/*
 * fs.h - the FUSE side of tasklogfs: what the fs/ files share.
 *
 * A path resolves to a node (tree.c); a log file's bytes come from a view
 * (view.c), which renders the entries of one task that match one filter and
 * keeps an index from byte offset to entry; writes go through the line
 * protocol (lines.c); ops.c answers the kernel; poll.c wakes pollers.
 *
 * THREAD SAFETY: FUSE runs its multi-threaded loop, so every function here
 * may be called from several threads at once unless it says otherwise.
 * Locks: a view's lock, then fs->views_lock; poll.c's lock is taken alone.
 */
#ifndef TL_FS_H
#define TL_FS_H

/* 3.12: the loop configuration API (max_threads). */
#define FUSE_USE_VERSION 312

#include <fuse.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"

enum node_kind {
	NODE_ROOT,
	NODE_README,
	NODE_STATS, /* /stats and tasks/<id>/logs/stats */
	NODE_TASKS,
	NODE_TASK,
	NODE_STATUS,
	NODE_TASK_JSON,
	NODE_LOGS, /* logs/ and logs/stream/ */
	NODE_BY_SOURCE,
	NODE_LEVELS,
	NODE_SEARCH,
	NODE_META,
	NODE_META_KEY,
	NODE_VIEWS,
	NODE_LOG /* a log file: a view of entries */
};

#define FS_FILTER_MAX 4096

struct node {
	enum node_kind kind;
	char task[TL_TASK_ID_MAX + 1];	/* "" above tasks/<id> */
	bool stream;			/* under logs/stream/ */
	bool jsonl;			/* all.jsonl */
	char source[TL_SOURCE_MAX + 1]; /* appends go to this source; "" if
					 * the file is not appendable */
	char meta_key[NAME_MAX + 1];	/* NODE_META_KEY */
	char filter[FS_FILTER_MAX];	/* NODE_LOG: filter text */
};

/*
 * Resolves a path (as FUSE gives it) to a node, by its shape alone: whether
 * the task exists is the caller's to check. -ENOENT for a path that is not
 * in the tree, -EINVAL for a bad task id, source, level or filter, with the
 * reason logged.
 */
int fs_resolve(const char *path, struct node *out);

/* A stable inode number for a path. */
ino_t fs_inode(const char *path);

struct fs {
	struct tl_engine *engine;
	const char *db_path;
	int64_t started_ms;

	pthread_mutex_t views_lock;
	struct view *views; /* most recently used first */
	size_t n_views;
	size_t views_text; /* bytes views keep rendered; views_lock */

	pthread_mutex_t stats_lock;
	uint64_t bad_json;     /* JSON lines stored as plain text */
	uint64_t cut_lines;    /* lines over 1 MiB cut in parts */
	uint64_t bad_requests; /* EINVAL answers */

	pthread_mutex_t files_lock;
	struct open_file *files; /* every open handle; files_lock */

	pthread_mutex_t sources_lock;
	struct declared_source *declared; /* created by-source/<s> files */

	int epoll_fd; /* poll.c */
	int stop_fd;
	pthread_t poll_thread;
	bool poll_running;
};

/* fs logs through one function: stderr in the foreground, syslog else. */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fs_log_to_syslog(void);

/* Counts one bad request and logs why. */
void fs_bad_request(struct fs *fs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- views (view.c) -------------------------------------------------------
 */

struct view;

/*
 * The view of node (a NODE_LOG) for its task, shared by every reader of the
 * same task, filter and format; created on first use. -ENOENT if the task
 * does not exist, -EINVAL for a bad filter. The fs owns views.
 */
int view_get(struct fs *fs, const struct node *node, struct view **out);

/*
 * Brings the view up to date with the task; writes its size in bytes and
 * the time of its newest entry. -ENOENT once the task is gone.
 */
int view_refresh(struct fs *fs, struct view *view, uint64_t *size,
		 int64_t *mtime_ms);

/*
 * Copies up to size bytes from offset off into buf (the view is refreshed
 * first when off is past what it knows). Returns the byte count, 0 at the
 * end, or a negative errno.
 */
ssize_t view_read(struct fs *fs, struct view *view, char *buf, size_t size,
		  off_t off);

/* Gives back a view from view_get. */
void view_put(struct fs *fs, struct view *view);

/* The newest seq the view has examined: waits start after it. */
uint64_t view_scanned(struct view *view);
const char *view_task(const struct view *view);

/* Drops every view of a task (on rmdir). */
void view_forget_task(struct fs *fs, const char *task);
void view_free_all(struct fs *fs);

/* ---- writes (lines.c) -----------------------------------------------------
 */

/* The unfinished line of one open file. */
struct line_buffer {
	char *data;
	size_t len, cap;
	unsigned cut_part; /* parts of an over-long line written so far */
};

/*
 * Appends data to the task as entries, one a line; a final unfinished line
 * waits in lb. source is the file's default source. Returns 0 or the
 * engine's error; on an error no further line of data is appended.
 */
int lines_write(struct fs *fs, const char *task, const char *source,
		struct line_buffer *lb, const char *data, size_t len);

/* Appends the unfinished line, if any, as an entry. */
int lines_finish(struct fs *fs, const char *task, const char *source,
		 struct line_buffer *lb);

/* Adds bytes to the buffer as they are. */
void line_buffer_add(struct line_buffer *lb, const char *data, size_t len);
void line_buffer_release(struct line_buffer *lb);

/* ---- declared sources
 * --------------------------------------------------------- */

/* Records that tasks/<task>/logs/by-source/<source> was created. */
void sources_declare(struct fs *fs, const char *task, const char *source);
bool sources_declared(struct fs *fs, const char *task, const char *source);
/* Calls fn for each declared source of task. */
void sources_each(struct fs *fs, const char *task,
		  void (*fn)(const char *source, void *ctx), void *ctx);
void sources_forget_task(struct fs *fs, const char *task);
void sources_free_all(struct fs *fs);

/* ---- poll (poll.c)
 * ------------------------------------------------------------ */

struct open_file;

int poll_start(struct fs *fs);
void poll_stop(struct fs *fs);
/* Arms a wake-up of ph when the file's task has entries after `after`. */
int poll_arm(struct fs *fs, struct open_file *file, struct fuse_pollhandle *ph,
	     uint64_t after);
void poll_forget(struct fs *fs, struct open_file *file);

/* ---- the operations (ops.c)
 * --------------------------------------------------- */

/* What one open() of a file holds. */
struct open_file {
	struct node node;
	struct view *view; /* NODE_LOG */
	char *text;	   /* small files: their bytes at open */
	size_t text_len;
	struct line_buffer lines;      /* writes */
	pthread_mutex_t lock;	       /* lines, pos */
	off_t pos;		       /* end of the last read, for poll */
	struct tl_watch *watch;	       /* poll.c, fs->poll_lock */
	struct fuse_pollhandle *ph;    /* poll.c, fs->poll_lock */
	bool in_epoll;		       /* poll.c, fs->poll_lock */
	struct open_file *prev, *next; /* fs->files, fs->files_lock */
};

/*
 * Closes the handles still open when the loop has ended (at unmount the
 * kernel sends no release for them): their unfinished lines become entries,
 * like on close, and they are freed.
 */
void fs_files_close_all(struct fs *fs);

extern const struct fuse_operations fs_operations;

/* ops.c: helpers the operations share. */
struct fs *fs_this(void);
/* fs_resolve, counting EINVAL answers in stats. */
int fs_resolve_counted(struct fs *fs, const char *path, struct node *n);
/* Whether a source exists in a task: seen in an entry, or declared. */
bool fs_source_exists(struct fs *fs, const char *task, const char *source);
/* The bytes of a small file (README, stats, task.json, status). */
int fs_small_file(struct fs *fs, const struct node *n, char **text,
		  size_t *len);

/* io.c: the operations on open files. */
int fs_open(const char *path, struct fuse_file_info *fi);
int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int fs_read(const char *path, char *buf, size_t size, off_t off,
	    struct fuse_file_info *fi);
int fs_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi);
int fs_flush(const char *path, struct fuse_file_info *fi);
int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi);
int fs_release(const char *path, struct fuse_file_info *fi);
int fs_poll(const char *path, struct fuse_file_info *fi,
	    struct fuse_pollhandle *ph, unsigned *revents);

/* The text of the small files. */
char *fs_render_readme(size_t *len);
char *fs_render_stats(struct fs *fs, const char *task, size_t *len);
char *fs_render_task_json(struct fs *fs, const char *task, size_t *len);
char *fs_render_status(struct fs *fs, const char *task, size_t *len);

#endif /* TL_FS_H */
