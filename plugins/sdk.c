/*
 * sdk.c - the TaskContext and its loggers; see tasklog.h.
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
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdk_int.h"
#include "tasklog.h"

#define FLUSH_MS_DEFAULT 100
#define WRITE_AT	 65536 /* bytes buffered that the flusher writes at once */
#define PENDING_MAX	 (4 << 20) /* bytes buffered that make loggers wait */
#define SOURCE_MAX	 128
#define CONFIG_PREFIX	 "TASKLOG_CONFIG_"

extern char **environ;

struct tasklog_logger {
	struct sdk_context *ctx;
	char *source;
	struct tasklog_logger *next;
};

struct sdk_context {
	struct tasklog_context pub; /* first: the public view */
	char *task_id;
	char *path; /* .../logs/all */
	struct tasklog_config_item *config;
	struct sdk_context *next_open; /* protected by contexts_lock */

	pthread_mutex_t lock;
	pthread_cond_t wake;	/* the flusher: lines came, or closing */
	pthread_cond_t written; /* a write in flight ended */
	int fd;
	int flush_ms;
	struct sdk_buf pending; /* whole lines not yet written */
	struct sdk_buf spare;	/* an empty buffer to swap in */
	bool writing;		/* a write runs with the lock released */
	size_t pending_lines;
	int64_t oldest_ms; /* monotonic time the oldest pending line came */
	int error;	   /* of the last write, 0 once one succeeded */
	bool flusher_started, closing;
	pthread_t flusher;
	struct tasklog_logger *loggers; /* every logger; pub.logger is last */
};

static pthread_mutex_t contexts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sdk_context *contexts;
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR",
					  "CRITICAL"};

const char *tasklog_level_name(enum tasklog_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return NULL;
	return level_names[level];
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dup_or_abort(const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		abort();
	return copy;
}

static bool source_valid(const char *source)
{
	size_t len = strlen(source);

	if (len == 0 || len > SOURCE_MAX || source[0] == '.')
		return false;
	return strspn(source, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
			      "WXYZ0123456789._-") == len;
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
static int flush_locked(struct sdk_context *ctx)
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
	ctx->oldest_ms = monotonic_ms();
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
		int64_t now = monotonic_ms();

		/* After a failure, the next try waits flush_ms. */
		if (now >= due ||
		    (ctx->pending.len >= WRITE_AT && !ctx->error)) {
			flush_locked(ctx);
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
		flush_locked(ctx);
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

static struct tasklog_logger *logger_new(struct sdk_context *ctx,
					 const char *source)
{
	struct tasklog_logger *logger = calloc(1, sizeof(*logger));

	if (!logger)
		abort();
	logger->ctx = ctx;
	logger->source = dup_or_abort(source);
	return logger;
}

static int flush_ms_from_env(void)
{
	const char *text = getenv("TASKLOG_FLUSH_MS");
	char *end;
	long ms;

	if (!text || !*text)
		return FLUSH_MS_DEFAULT;
	errno = 0;
	ms = strtol(text, &end, 10);
	if (errno || *end || ms < 0 || ms > 3600000)
		return FLUSH_MS_DEFAULT;
	return (int)ms;
}

static struct tasklog_config_item *config_from_env(size_t *count);

/* A new context on dir; its config from the environment if with_config. */
static int context_new(const char *dir, const char *task_id, bool with_config,
		       struct tasklog_context **out)
{
	struct sdk_context *ctx;
	size_t len = strlen(dir) + sizeof("/logs/all");
	char *path = malloc(len);
	int fd;

	if (!path)
		abort();
	snprintf(path, len, "%s/logs/all", dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;

		free(path);
		return rc;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		abort();
	ctx->task_id = dup_or_abort(task_id);
	ctx->path = path;
	ctx->fd = fd;
	ctx->flush_ms = flush_ms_from_env();
	if (with_config)
		ctx->config = config_from_env(&ctx->pub.config_count);
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_cond_init(&ctx->wake, NULL);
	pthread_cond_init(&ctx->written, NULL);
	ctx->loggers = logger_new(ctx, "plugin");
	ctx->pub.task_id = ctx->task_id;
	ctx->pub.logger = ctx->loggers;
	ctx->pub.config = ctx->config;

	pthread_once(&hooks_once, install_hooks);
	pthread_mutex_lock(&contexts_lock);
	ctx->next_open = contexts;
	contexts = ctx;
	pthread_mutex_unlock(&contexts_lock);
	*out = &ctx->pub;
	return 0;
}

int tasklog_context_open(const char *dir, const char *task_id,
			 struct tasklog_context **out)
{
	if (!dir || !*dir || !task_id || !*task_id)
		return -EINVAL;
	return context_new(dir, task_id, false, out);
}

/* Every TASKLOG_CONFIG_<key>=value of the environment. */
static struct tasklog_config_item *config_from_env(size_t *count)
{
	const size_t prefix = strlen(CONFIG_PREFIX);
	struct tasklog_config_item *items;
	size_t n = 0;

	for (char **e = environ; *e; e++)
		n += strncmp(*e, CONFIG_PREFIX, prefix) == 0;
	items = calloc(n + 1, sizeof(*items));
	if (!items)
		abort();
	n = 0;
	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');

		if (strncmp(*e, CONFIG_PREFIX, prefix) != 0 || !eq ||
		    eq == *e + prefix)
			continue;
		items[n].key = strndup(*e + prefix, (size_t)(eq - *e) - prefix);
		items[n].value = dup_or_abort(eq + 1);
		if (!items[n].key)
			abort();
		n++;
	}
	*count = n;
	return items;
}

static void config_free(struct tasklog_config_item *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free((char *)items[i].key);
		free((char *)items[i].value);
	}
	free(items);
}

int tasklog_context_from_env(struct tasklog_context **out)
{
	const char *id = getenv("TASKLOG_TASK_ID");
	const char *dir = getenv("TASKLOG_DIR");

	if (!id || !*id || !dir || !*dir)
		return -ENOENT;
	return context_new(dir, id, true, out);
}

void tasklog_context_set_flush_ms(struct tasklog_context *pub, int flush_ms)
{
	struct sdk_context *ctx = (struct sdk_context *)pub;

	pthread_mutex_lock(&ctx->lock);
	ctx->flush_ms = flush_ms < 0 ? 0 : flush_ms;
	pthread_cond_signal(&ctx->wake);
	pthread_mutex_unlock(&ctx->lock);
}

const char *tasklog_config_get(const struct tasklog_context *ctx,
			       const char *key)
{
	for (size_t i = 0; i < ctx->config_count; i++)
		if (strcmp(ctx->config[i].key, key) == 0)
			return ctx->config[i].value;
	return NULL;
}

int tasklog_flush(struct tasklog_context *pub)
{
	struct sdk_context *ctx = (struct sdk_context *)pub;
	int rc;

	pthread_mutex_lock(&ctx->lock);
	rc = flush_locked(ctx);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

int tasklog_context_close(struct tasklog_context *pub)
{
	struct sdk_context *ctx = (struct sdk_context *)pub;
	struct sdk_context **p;
	int rc;

	if (!ctx)
		return 0;
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
	rc = flush_locked(ctx);
	pthread_mutex_unlock(&ctx->lock);
	if (rc < 0)
		fprintf(stderr,
			"tasklog: %zu log lines of task %s could not be "
			"written to %s: %s\n",
			ctx->pending_lines, ctx->task_id, ctx->path,
			strerror(-rc));
	close(ctx->fd);
	for (struct tasklog_logger *l = ctx->loggers, *next; l; l = next) {
		next = l->next;
		free(l->source);
		free(l);
	}
	sdk_buf_release(&ctx->pending);
	sdk_buf_release(&ctx->spare);
	config_free(ctx->config, ctx->pub.config_count);
	pthread_cond_destroy(&ctx->wake);
	pthread_cond_destroy(&ctx->written);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx->task_id);
	free(ctx->path);
	free(ctx);
	return rc;
}

struct tasklog_logger *tasklog_logger_with_source(struct tasklog_logger *logger,
						  const char *source)
{
	struct sdk_context *ctx;
	struct tasklog_logger *l;

	if (!logger || !source || !source_valid(source)) {
		errno = EINVAL;
		return NULL;
	}
	ctx = logger->ctx;
	pthread_mutex_lock(&ctx->lock);
	for (l = ctx->loggers; l; l = l->next)
		if (strcmp(l->source, source) == 0)
			break;
	if (!l) {
		l = logger_new(ctx, source);
		l->next = ctx->loggers;
		ctx->loggers = l;
	}
	pthread_mutex_unlock(&ctx->lock);
	return l;
}

const char *tasklog_logger_source(const struct tasklog_logger *logger)
{
	return logger->source;
}

static void add_timestamp(struct sdk_buf *line)
{
	/* gmtime_r once a second per thread, not once a line. */
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char cached[64];
	struct timespec ts;
	char ms[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		snprintf(cached, sizeof(cached),
			 "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec);
		cached_sec = ts.tv_sec;
	}
	sdk_buf_adds(line, cached);
	snprintf(ms, sizeof(ms), ".%03dZ", (int)(ts.tv_nsec / 1000000));
	sdk_buf_adds(line, ms);
}

/*
 * Appends one finished line to the context's buffer, or writes it at once
 * when flush_ms is 0. While writes fail, a new line is first used to retry
 * them and is refused if that fails too; in the unbuffered mode a line whose
 * own write fails is refused as well. So 0 always means "accepted", and the
 * buffer cannot grow while the sink fails.
 */
static int submit(struct sdk_context *ctx, const struct sdk_buf *line)
{
	int rc = 0;

	pthread_mutex_lock(&ctx->lock);
	while (ctx->pending.len >= PENDING_MAX && !ctx->error) {
		pthread_cond_signal(&ctx->wake);
		pthread_cond_wait(&ctx->written, &ctx->lock);
	}
	if (ctx->error && (rc = flush_locked(ctx)) < 0)
		goto out;
	if (ctx->flush_ms == 0) {
		size_t done;

		if ((rc = flush_locked(ctx)) < 0)
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
		ctx->oldest_ms = monotonic_ms();
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

/* Builds the JSON line of one entry; the message is len bytes. */
static int log_message(struct tasklog_logger *logger, enum tasklog_level level,
		       const char *metadata, const char *message, size_t len)
{
	struct sdk_buf line = {0};
	int rc;

	if (!logger || !tasklog_level_name(level))
		return -EINVAL;
	if (metadata && !sdk_json_is_object(metadata))
		return -EINVAL;
	sdk_buf_adds(&line, "{\"timestamp\":\"");
	add_timestamp(&line);
	sdk_buf_adds(&line, "\",\"level\":\"");
	sdk_buf_adds(&line, tasklog_level_name(level));
	sdk_buf_adds(&line, "\",\"source\":\"");
	sdk_buf_adds(&line, logger->source);
	sdk_buf_adds(&line, "\",\"message\":\"");
	sdk_json_add_string(&line, message, len);
	sdk_buf_add(&line, "\"", 1);
	if (metadata) {
		sdk_buf_adds(&line, ",\"metadata\":");
		sdk_json_add_object(&line, metadata);
	}
	sdk_buf_add(&line, "}\n", 2);
	rc = submit(logger->ctx, &line);
	sdk_buf_release(&line);
	return rc;
}

int tasklog_write(struct tasklog_logger *logger, enum tasklog_level level,
		  const char *metadata, const char *message, size_t len)
{
	return log_message(logger, level, metadata, message, len);
}

int tasklog_logv(struct tasklog_logger *logger, enum tasklog_level level,
		 const char *metadata, const char *fmt, va_list ap)
{
	char small[512];
	char *text = small;
	va_list copy;
	int n, rc;

	va_copy(copy, ap);
	n = vsnprintf(small, sizeof(small), fmt, copy);
	va_end(copy);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(small)) {
		text = malloc((size_t)n + 1);
		if (!text)
			abort();
		vsnprintf(text, (size_t)n + 1, fmt, ap);
	}
	rc = log_message(logger, level, metadata, text, (size_t)n);
	if (text != small)
		free(text);
	return rc;
}

int tasklog_log(struct tasklog_logger *logger, enum tasklog_level level,
		const char *metadata, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = tasklog_logv(logger, level, metadata, fmt, ap);
	va_end(ap);
	return rc;
}

int tasklog_log_kv(struct tasklog_logger *logger, enum tasklog_level level,
		   const char *const *pairs, const char *fmt, ...)
{
	struct sdk_buf meta = {0};
	va_list ap;
	int rc;

	sdk_buf_add(&meta, "{", 1);
	for (size_t i = 0; pairs && pairs[i]; i += 2) {
		if (!pairs[i + 1]) {
			sdk_buf_release(&meta);
			return -EINVAL; /* a key without a value */
		}
		if (i > 0)
			sdk_buf_add(&meta, ",", 1);
		sdk_buf_add(&meta, "\"", 1);
		sdk_json_add_string(&meta, pairs[i], strlen(pairs[i]));
		sdk_buf_add(&meta, "\":\"", 3);
		sdk_json_add_string(&meta, pairs[i + 1], strlen(pairs[i + 1]));
		sdk_buf_add(&meta, "\"", 1);
	}
	sdk_buf_add(&meta, "}", 1);
	va_start(ap, fmt);
	rc = tasklog_logv(logger, level, meta.data, fmt, ap);
	va_end(ap);
	sdk_buf_release(&meta);
	return rc;
}

#define LEVEL_FUNCTION(name, level)                                            \
	int name(struct tasklog_logger *logger, const char *fmt, ...)          \
	{                                                                      \
		va_list ap;                                                    \
		int rc;                                                        \
                                                                               \
		va_start(ap, fmt);                                             \
		rc = tasklog_logv(logger, level, NULL, fmt, ap);               \
		va_end(ap);                                                    \
		return rc;                                                     \
	}

LEVEL_FUNCTION(tasklog_debug, TASKLOG_DEBUG)
LEVEL_FUNCTION(tasklog_info, TASKLOG_INFO)
LEVEL_FUNCTION(tasklog_warning, TASKLOG_WARNING)
LEVEL_FUNCTION(tasklog_error, TASKLOG_ERROR)
LEVEL_FUNCTION(tasklog_critical, TASKLOG_CRITICAL)
