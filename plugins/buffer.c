/*
 * buffer.c - the SDK's buffer of finished lines and the thread that writes it.
 *
 * Each context owns one descriptor on $TASKLOG_DIR/logs/all and one buffer of
 * finished JSON lines. A flusher thread, started with the first buffered
 * line, writes the buffer once its oldest line is flush_ms old or it holds
 * 64 KiB; tasklog_flush(), close and exit() write it at once. A write takes
 * the whole buffer and runs with the lock released, so that loggers go on
 * filling a fresh one meanwhile (into the mount, a write returns only once
 * the daemon has taken its lines: the plugin should not wait for that).
 * Loggers wait only when 4 MiB are buffered.
 *
 * THREAD SAFETY: ctx->lock protects everything in struct sdk_context below
 * it. contexts_lock protects the list of open contexts (walked at exit and
 * fork); lock order: contexts_lock, then each ctx->lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdk_int.h"

#define WRITE_AT    65536 /* bytes buffered that the flusher writes at once */
#define PENDING_MAX (4 << 20) /* bytes buffered that make loggers wait */

static pthread_mutex_t contexts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sdk_context *contexts;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

int64_t sdk_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes len bytes; returns how many went, and the error in *rc. */
static size_t write_out(int fd, const char *data, size_t len, int *rc)
{
	size_t done = 0;

	*rc = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*rc = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	return done;
}

static size_t count_lines(const char *data, size_t len)
{
	size_t n = 0;

	for (const char *p = data;
	     (p = memchr(p, '\n', len - (size_t)(p - data))); p++)
		n++;
	return n;
}

/*
 * Writes every pending line. Called with ctx->lock held, which it releases
 * during the write (one write in flight at a time keeps lines in order).
 * On failure the unwritten bytes go back in front of the pending ones and
 * ctx->error says why.
 */
int sdk_flush_locked(struct sdk_context *ctx)
{
	struct sdk_buf batch;
	size_t done;
	int rc;

	while (ctx->writing)
		pthread_cond_wait(&ctx->written, &ctx->lock);
	if (ctx->pending.len == 0)
		return ctx->error = 0;
	batch = ctx->pending;
	ctx->pending = ctx->spare;
	ctx->spare = (struct sdk_buf){0};
	ctx->pending_lines = 0;
	ctx->writing = true;
	pthread_mutex_unlock(&ctx->lock);
	done = write_out(ctx->fd, batch.data, batch.len, &rc);
	pthread_mutex_lock(&ctx->lock);
	ctx->writing = false;
	if (done < batch.len) {
		/* Partly written: the mount keeps the torn line's start. */
		struct sdk_buf rest = {0};

		sdk_buf_add(&rest, batch.data + done, batch.len - done);
		sdk_buf_add(&rest, ctx->pending.data, ctx->pending.len);
		sdk_buf_release(&ctx->pending);
		ctx->pending = rest;
		ctx->pending_lines = count_lines(rest.data, rest.len);
	}
	batch.len = 0;
	if (!ctx->spare.data)
		ctx->spare = batch;
	else
		sdk_buf_release(&batch);
	ctx->error = rc;
	ctx->oldest_ms = sdk_monotonic_ms();
	pthread_cond_broadcast(&ctx->written);
	return rc;
}

static void *flusher_main(void *arg)
{
	struct sdk_context *ctx = arg;

	pthread_mutex_lock(&ctx->lock);
	while (!ctx->closing) {
		if (ctx->pending.len == 0) {
			pthread_cond_wait(&ctx->wake, &ctx->lock);
			continue;
		}
		int64_t due = ctx->oldest_ms + ctx->flush_ms;
		int64_t now = sdk_monotonic_ms();

		/* After a failure, the next try waits flush_ms. */
		if (now >= due ||
		    (ctx->pending.len >= WRITE_AT && !ctx->error)) {
			sdk_flush_locked(ctx);
			continue;
		}
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (due - now) / 1000;
		until.tv_nsec += (long)((due - now) % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ctx->wake, &ctx->lock, &until);
	}
	pthread_mutex_unlock(&ctx->lock);
	return NULL;
}

/* At exit(): write what every open context still holds. */
static void flush_all_at_exit(void)
{
	pthread_mutex_lock(&contexts_lock);
	for (struct sdk_context *ctx = contexts; ctx; ctx = ctx->next_open) {
		pthread_mutex_lock(&ctx->lock);
		sdk_flush_locked(ctx);
		pthread_mutex_unlock(&ctx->lock);
	}
	pthread_mutex_unlock(&contexts_lock);
}

/*
 * fork(): hold every lock across it, so the child gets them consistent. The
 * child drops the lines it inherited - the parent writes them - and has no
 * flusher thread until it logs.
 */
static void before_fork(void)
{
	pthread_mutex_lock(&contexts_lock);
	for (struct sdk_context *ctx = contexts; ctx; ctx = ctx->next_open)
		pthread_mutex_lock(&ctx->lock);
}

static void after_fork_parent(void)
{
	for (struct sdk_context *ctx = contexts; ctx; ctx = ctx->next_open)
		pthread_mutex_unlock(&ctx->lock);
	pthread_mutex_unlock(&contexts_lock);
}

static void after_fork_child(void)
{
	for (struct sdk_context *ctx = contexts; ctx; ctx = ctx->next_open) {
		ctx->pending.len = 0;
		ctx->pending_lines = 0;
		ctx->flusher_started = false;
		ctx->writing = false; /* the parent's write, not ours */
		pthread_cond_init(&ctx->wake, NULL);
		pthread_cond_init(&ctx->written, NULL);
		pthread_mutex_unlock(&ctx->lock);
	}
	pthread_mutex_unlock(&contexts_lock);
}

static void install_hooks(void)
{
	atexit(flush_all_at_exit);
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void sdk_register(struct sdk_context *ctx)
{
	pthread_once(&hooks_once, install_hooks);
	pthread_mutex_lock(&contexts_lock);
	ctx->next_open = contexts;
	contexts = ctx;
	pthread_mutex_unlock(&contexts_lock);
}

int sdk_unregister(struct sdk_context *ctx)
{
	struct sdk_context **p;
	int rc;

	pthread_mutex_lock(&contexts_lock);
	for (p = &contexts; *p && *p != ctx; p = &(*p)->next_open)
		;
	if (*p)
		*p = ctx->next_open;
	pthread_mutex_unlock(&contexts_lock);

	pthread_mutex_lock(&ctx->lock);
	ctx->closing = true;
	pthread_cond_signal(&ctx->wake);
	pthread_mutex_unlock(&ctx->lock);
	if (ctx->flusher_started)
		pthread_join(ctx->flusher, NULL);

	pthread_mutex_lock(&ctx->lock);
	rc = sdk_flush_locked(ctx);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

/*
 * Appends one finished line to the context's buffer, or writes it at once
 * when flush_ms is 0. While writes fail, a new line is first used to retry
 * them and is refused if that fails too; in the unbuffered mode a line whose
 * own write fails is refused as well. So 0 always means "accepted", and the
 * buffer cannot grow while the sink fails.
 */
int sdk_submit(struct sdk_context *ctx, const struct sdk_buf *line)
{
	int rc = 0;

	pthread_mutex_lock(&ctx->lock);
	while (ctx->pending.len >= PENDING_MAX && !ctx->error) {
		pthread_cond_signal(&ctx->wake);
		pthread_cond_wait(&ctx->written, &ctx->lock);
	}
	if (ctx->error && (rc = sdk_flush_locked(ctx)) < 0)
		goto out;
	if (ctx->flush_ms == 0) {
		size_t done;

		if ((rc = sdk_flush_locked(ctx)) < 0)
			goto out;
		/* Nothing is pending or in flight: write in place, in order. */
		done = write_out(ctx->fd, line->data, line->len, &rc);
		if (done > 0 && done < line->len) {
			sdk_buf_add(&ctx->pending, line->data + done,
				    line->len - done);
			ctx->pending_lines++;
		}
		ctx->error = done > 0 ? rc : 0;
		goto out;
	}
	if (ctx->pending.len == 0)
		ctx->oldest_ms = sdk_monotonic_ms();
	sdk_buf_add(&ctx->pending, line->data, line->len);
	ctx->pending_lines++;
	if (!ctx->flusher_started) {
		if (pthread_create(&ctx->flusher, NULL, flusher_main, ctx) != 0)
			abort();
		ctx->flusher_started = true;
	}
	if (ctx->pending.len == line->len || ctx->pending.len >= WRITE_AT)
		pthread_cond_signal(&ctx->wake);
out:
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}
