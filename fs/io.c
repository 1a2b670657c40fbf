/*
 * io.c - open files: open and create, read (waiting on stream/ files),
 * write through the line protocol, flush and fsync, poll, release.
 *
 * Every log file is opened with direct_io: reads come to us (the size keeps
 * growing) and one write() is one request, so lines are never torn.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define STREAM_WAIT_MS 200

static bool wants_write(const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) != O_RDONLY;
}

static int open_node(struct fs *fs, const char *path, struct fuse_file_info *fi,
		     bool creating)
{
	struct open_file *file;
	struct tl_task_info info;
	struct node n;
	int rc = fs_resolve_counted(fs, path, &n);

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
		   !fs_source_exists(fs, n.task, n.source)) {
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
		rc = fs_small_file(fs, &n, &file->text, &file->text_len);
	}
	if (rc < 0) {
		pthread_mutex_destroy(&file->lock);
		free(file);
		return rc;
	}
	pthread_mutex_lock(&fs->files_lock);
	file->next = fs->files;
	if (fs->files)
		fs->files->prev = file;
	fs->files = file;
	pthread_mutex_unlock(&fs->files_lock);
	fi->fh = (uint64_t)(uintptr_t)file;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

int fs_open(const char *path, struct fuse_file_info *fi)
{
	return open_node(fs_this(), path, fi, false);
}

int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	return open_node(fs_this(), path, fi, true);
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
		if (fuse_session_exited(
			fuse_get_session(fuse_get_context()->fuse)))
			return 1;
	}
}

int fs_read(const char *path, char *buf, size_t size, off_t off,
	    struct fuse_file_info *fi)
{
	struct fs *fs = fs_this();
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
		int status =
		    fields >= 1 ? tl_status_parse(word, strlen(word)) : -EINVAL;

		if (status < 0) {
			fs_bad_request(fs,
				       "tasks/%s/status: '%.40s' is not "
				       "running, succeeded or failed [CODE]",
				       file->node.task, text);
			rc = -EINVAL;
		} else {
			rc = tl_task_set_status(
			    fs->engine, file->node.task, (enum tl_status)status,
			    status == TL_SUCCEEDED ? 0 : code);
		}
		text = nl + 1;
	}
	memmove(lb->data, text, (size_t)(end - text));
	lb->len = (size_t)(end - text);
	return rc;
}

int fs_write(const char *path, const char *buf, size_t size, off_t off,
	     struct fuse_file_info *fi)
{
	struct fs *fs = fs_this();
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

int fs_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return finish_lines(fs_this(), (struct open_file *)fi->fh);
}

int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct fs *fs = fs_this();
	int rc = finish_lines(fs, (struct open_file *)fi->fh);

	(void)path;
	(void)datasync;
	if (rc < 0)
		return rc;
	rc = tl_flush(fs->engine, 30000);
	return rc == -ETIMEDOUT ? -EIO : rc;
}

static void close_file(struct fs *fs, struct open_file *file)
{
	pthread_mutex_lock(&fs->files_lock);
	if (file->prev)
		file->prev->next = file->next;
	else
		fs->files = file->next;
	if (file->next)
		file->next->prev = file->prev;
	pthread_mutex_unlock(&fs->files_lock);
	finish_lines(fs, file);
	poll_forget(fs, file);
	view_put(fs, file->view);
	free(file->text);
	line_buffer_release(&file->lines);
	pthread_mutex_destroy(&file->lock);
	free(file);
}

int fs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close_file(fs_this(), (struct open_file *)fi->fh);
	return 0;
}

void fs_files_close_all(struct fs *fs)
{
	while (fs->files)
		close_file(fs, fs->files);
}

int fs_poll(const char *path, struct fuse_file_info *fi,
	    struct fuse_pollhandle *ph, unsigned *revents)
{
	struct fs *fs = fs_this();
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
