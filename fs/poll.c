/*
 * poll.c - poll/select/epoll on stream files.
 *
 * When a stream has nothing new, fs_poll arms an engine watch (an eventfd)
 * for the file and keeps the kernel's poll handle. One thread waits on all
 * the eventfds with epoll and tells the kernel when a stream has news.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fs.h"

static pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;

static void *poll_main(void *arg)
{
	struct fs *fs = arg;
	struct epoll_event events[32];

	for (;;) {
		int n = epoll_wait(fs->epoll_fd, events, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		for (int i = 0; i < n; i++) {
			struct open_file *file = events[i].data.ptr;

			if (!file)
				return NULL; /* the stop eventfd */
			pthread_mutex_lock(&poll_lock);
			if (file->ph) {
				fuse_notify_poll(file->ph);
				fuse_pollhandle_destroy(file->ph);
				file->ph = NULL;
			}
			pthread_mutex_unlock(&poll_lock);
		}
	}
}

int poll_start(struct fs *fs)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	fs->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	fs->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (fs->epoll_fd < 0 || fs->stop_fd < 0 ||
	    epoll_ctl(fs->epoll_fd, EPOLL_CTL_ADD, fs->stop_fd, &ev) < 0)
		return -errno;
	if (pthread_create(&fs->poll_thread, NULL, poll_main, fs) != 0)
		return -EAGAIN;
	fs->poll_running = true;
	return 0;
}

void poll_stop(struct fs *fs)
{
	uint64_t one = 1;

	if (fs->poll_running) {
		if (write(fs->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(fs->poll_thread, NULL);
		fs->poll_running = false;
	}
	if (fs->epoll_fd >= 0)
		close(fs->epoll_fd);
	if (fs->stop_fd >= 0)
		close(fs->stop_fd);
}

int poll_arm(struct fs *fs, struct open_file *file, struct fuse_pollhandle *ph,
	     uint64_t after)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.ptr = file};
	int rc = 0;

	pthread_mutex_lock(&poll_lock);
	if (!file->watch)
		rc = tl_watch_new(fs->engine, file->node.task, &file->watch);
	if (rc == 0) {
		if (file->ph)
			fuse_pollhandle_destroy(file->ph);
		file->ph = ph;
		rc = tl_watch_arm(file->watch, after);
	}
	if (rc == 0 || rc == -ENOENT) {
		/* -ENOENT fired the watch: the task is gone, which is news. */
		int op = file->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

		rc = epoll_ctl(fs->epoll_fd, op, tl_watch_fd(file->watch),
			       &ev) < 0
			 ? -errno
			 : 0;
		file->in_epoll = rc == 0;
	}
	pthread_mutex_unlock(&poll_lock);
	return rc;
}

void poll_forget(struct fs *fs, struct open_file *file)
{
	pthread_mutex_lock(&poll_lock);
	if (file->in_epoll)
		epoll_ctl(fs->epoll_fd, EPOLL_CTL_DEL, tl_watch_fd(file->watch),
			  NULL);
	file->in_epoll = false;
	if (file->ph)
		fuse_pollhandle_destroy(file->ph);
	file->ph = NULL;
	tl_watch_free(file->watch);
	file->watch = NULL;
	pthread_mutex_unlock(&poll_lock);
}
