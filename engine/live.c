/*
 * live.c - telling readers that a task has news: tl_wait for threads that
 * may block, eventfd watches for event loops that may not.
 *
 * Wake-ups are coalesced by construction: waiters are only signalled while
 * some are waiting, and a watch fires once per arm, so a writer producing
 * 100k lines a second does not make 100k wake-ups.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine_int.h"
#include "util.h"

struct tl_watch {
	struct tl_engine *engine;
	char id[TL_TASK_ID_MAX + 1];
	int fd;
	uint64_t after;
	struct task *armed_on; /* engine->lock */
	struct tl_watch *next; /* in armed_on->watches */
};

static void fire(struct tl_watch *w)
{
	uint64_t one = 1;
	/* Fails only when the counter is full, and then it is readable. */
	ssize_t n = write(w->fd, &one, sizeof(one));

	(void)n;
}

static void unlink_watch(struct tl_watch *w)
{
	struct tl_watch **p = &w->armed_on->watches;

	for (; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	w->armed_on = NULL;
	w->next = NULL;
}

static bool has_news(const struct task *t, uint64_t after)
{
	return t->deleted || t->last_seq > after || t->status != TL_RUNNING;
}

void live_notify(struct tl_engine *engine, struct task *t)
{
	struct tl_watch **p = &t->watches;

	if (engine->n_waiters)
		pthread_cond_broadcast(&engine->live_cond);
	while (*p) {
		struct tl_watch *w = *p;

		if (has_news(t, w->after)) {
			*p = w->next;
			w->armed_on = NULL;
			w->next = NULL;
			fire(w);
		} else {
			p = &w->next;
		}
	}
}

void live_release_task(struct task *t)
{
	while (t->watches) {
		struct tl_watch *w = t->watches;

		unlink_watch(w);
		fire(w);
	}
}

int tl_wait(struct tl_engine *engine, const char *id, uint64_t after,
	    int timeout_ms)
{
	struct timespec deadline;
	int rc;

	if (timeout_ms >= 0)
		engine_deadline(&deadline, timeout_ms);
	pthread_mutex_lock(&engine->lock);
	engine->n_waiters++;
	for (;;) {
		struct task *t = engine_find_task(engine, id);

		if (!t) {
			rc = -ENOENT;
		} else if (t->last_seq > after) {
			rc = 0;
		} else if (t->status != TL_RUNNING) {
			rc = -ENODATA;
		} else if (engine->closing) {
			rc = -ESHUTDOWN;
		} else if (timeout_ms < 0) {
			pthread_cond_wait(&engine->live_cond, &engine->lock);
			continue;
		} else if (pthread_cond_timedwait(&engine->live_cond,
						  &engine->lock,
						  &deadline) == ETIMEDOUT) {
			rc = -ETIMEDOUT;
			t = engine_find_task(engine, id);
			if (t && t->last_seq > after)
				rc = 0;
		} else {
			continue;
		}
		break;
	}
	engine->n_waiters--;
	pthread_mutex_unlock(&engine->lock);
	return rc;
}

int tl_watch_new(struct tl_engine *engine, const char *id,
		 struct tl_watch **out)
{
	struct tl_watch *w;

	if (!tl_task_id_valid(id))
		return -EINVAL;
	w = xcalloc(1, sizeof(*w));
	w->engine = engine;
	memcpy(w->id, id, strlen(id) + 1);
	w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->fd < 0) {
		int rc = -errno;

		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int tl_watch_fd(const struct tl_watch *w)
{
	return w->fd;
}

int tl_watch_arm(struct tl_watch *w, uint64_t after)
{
	struct tl_engine *engine = w->engine;
	uint64_t count;
	struct task *t;
	int rc = 0;

	if (read(w->fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&engine->lock);
	if (w->armed_on)
		unlink_watch(w);
	t = engine_find_task(engine, w->id);
	w->after = after;
	if (!t) {
		fire(w);
		rc = -ENOENT;
	} else if (has_news(t, after)) {
		fire(w);
	} else {
		w->armed_on = t;
		w->next = t->watches;
		t->watches = w;
	}
	pthread_mutex_unlock(&engine->lock);
	return rc;
}

void tl_watch_free(struct tl_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->engine->lock);
	if (w->armed_on)
		unlink_watch(w);
	pthread_mutex_unlock(&w->engine->lock);
	close(w->fd);
	free(w);
}
