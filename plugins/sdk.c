/*
 * sdk.c - the TaskContext and its loggers; see tasklog.h. How their lines
 * are buffered and written is buffer.c.
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
#define SOURCE_MAX	 128
#define CONFIG_PREFIX	 "TASKLOG_CONFIG_"

extern char **environ;

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR",
					  "CRITICAL"};

const char *tasklog_level_name(enum tasklog_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return NULL;
	return level_names[level];
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

	sdk_register(ctx);
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
	rc = sdk_flush_locked(ctx);
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

int tasklog_context_close(struct tasklog_context *pub)
{
	struct sdk_context *ctx = (struct sdk_context *)pub;
	int rc;

	if (!ctx)
		return 0;
	rc = sdk_unregister(ctx);
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
	rc = sdk_submit(logger->ctx, &line);
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
