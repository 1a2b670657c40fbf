/*
 * tasklog.h - the plugin SDK: a TaskContext with a TaskLogger.
 *
 * A plugin logs by appending lines to its task's files in the tasklogfs
 * mount; this SDK does that for C plugins. Each call becomes one structured
 * JSON line ({"timestamp","level","source","message","metadata"}) appended to
 * $TASKLOG_DIR/logs/all. Lines are buffered and written at the latest
 * flush_ms (default 100 ms) after they were logged, when the buffer fills, on
 * tasklog_flush(), on tasklog_context_close() and at exit().
 *
 * Needs libc only; link with -ltasklog (static or shared).
 *
 * Conventions: functions return 0 on success or a negative errno; out
 * parameters are written only on success.
 *
 * Errors: a logging call returns 0 once its line is accepted, or the error
 * of the write that failed (-ENOTCONN when the mount is gone, -ECONNABORTED
 * for a write in flight when its daemon died, -ENOSPC, ...).
 * If a background write fails, the lines it held stay buffered and are
 * retried; until a write succeeds again, each logging call retries them
 * first and refuses its own line with the error. tasklog_flush() and
 * tasklog_context_close() return the error too, and close reports on stderr
 * how many lines could not be written. Nothing is dropped without a caller
 * being told.
 *
 * fork(): a child starts with an empty buffer (the parent writes what it
 * held) and may go on logging through the same context.
 *
 * THREAD SAFETY: a context and its loggers may be used from any number of
 * threads at once; every line is written whole.
 */
#ifndef TASKLOG_H
#define TASKLOG_H

#include <stdarg.h>
#include <stddef.h>

enum tasklog_level {
	TASKLOG_DEBUG,
	TASKLOG_INFO,
	TASKLOG_WARNING,
	TASKLOG_ERROR,
	TASKLOG_CRITICAL
};

struct tasklog_logger;

/* One key=value of the task's configuration, from `tasklog run --config`. */
struct tasklog_config_item {
	const char *key;
	const char *value;
};

/* The TaskContext: what a plugin is given. Fields are read-only. */
struct tasklog_context {
	const char *task_id;
	struct tasklog_logger *logger; /* source "plugin" */
	const struct tasklog_config_item *config;
	size_t config_count;
};

/* The entry point of a shared-object plugin of the new kind. */
typedef int tasklog_execute_fn(struct tasklog_context *ctx, int argc,
			       char **argv);
#define TASKLOG_ENTRY "tasklog_execute"

/* The old entry point, still run by `tasklog run` (FR-007). */
typedef int tasklog_legacy_execute_fn(int argc, char **argv);
#define TASKLOG_LEGACY_ENTRY "execute"

/*
 * Opens the context of the task the runner started: the task id from
 * $TASKLOG_TASK_ID, its directory from $TASKLOG_DIR, the configuration from
 * every $TASKLOG_CONFIG_<key>. Returns -ENOENT when those are not set, or the
 * error of opening $TASKLOG_DIR/logs/all (-ENOTCONN when the mount is gone).
 * *out is freed by tasklog_context_close().
 */
int tasklog_context_from_env(struct tasklog_context **out);

/*
 * Opens the context of task task_id whose directory is dir (MOUNT/tasks/ID),
 * with no configuration.
 */
int tasklog_context_open(const char *dir, const char *task_id,
			 struct tasklog_context **out);

/*
 * Sets how long a line may wait in the buffer, in milliseconds; 0 writes
 * every line at once. Default 100, or $TASKLOG_FLUSH_MS.
 */
void tasklog_context_set_flush_ms(struct tasklog_context *ctx, int flush_ms);

/* The value of configuration key, or NULL. Valid as long as ctx. */
const char *tasklog_config_get(const struct tasklog_context *ctx,
			       const char *key);

/*
 * Writes every buffered line. Returns 0 once all are written, or the error
 * that keeps them buffered.
 */
int tasklog_flush(struct tasklog_context *ctx);

/*
 * Flushes, closes and frees ctx and all its loggers. Returns the flush's
 * error; lines that could not be written are counted on stderr. NULL is a
 * no-op.
 */
int tasklog_context_close(struct tasklog_context *ctx);

/*
 * A logger for source (US3): [A-Za-z0-9._-], 1 to 128 bytes, not starting
 * with '.'. Returns NULL for an invalid name (errno EINVAL). The logger
 * belongs to logger's context and lives as long as it; asking twice for a
 * source returns the same logger.
 */
struct tasklog_logger *tasklog_logger_with_source(struct tasklog_logger *logger,
						  const char *source);

/* The source this logger writes. */
const char *tasklog_logger_source(const struct tasklog_logger *logger);

/* printf-style logging at each level. */
int tasklog_debug(struct tasklog_logger *logger, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tasklog_info(struct tasklog_logger *logger, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tasklog_warning(struct tasklog_logger *logger, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tasklog_error(struct tasklog_logger *logger, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tasklog_critical(struct tasklog_logger *logger, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Logs with metadata given as the text of a JSON object
 * ("{\"dashboard_id\": 42}") or NULL. Returns -EINVAL if metadata is not an
 * object.
 */
int tasklog_log(struct tasklog_logger *logger, enum tasklog_level level,
		const char *metadata, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int tasklog_logv(struct tasklog_logger *logger, enum tasklog_level level,
		 const char *metadata, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/*
 * Logs with metadata given as key/value string pairs ending with NULL:
 * (const char *[]){"dashboard_id", "42", NULL}. Values are stored as JSON
 * strings; meta/dashboard_id/42 finds them either way.
 */
int tasklog_log_kv(struct tasklog_logger *logger, enum tasklog_level level,
		   const char *const *pairs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Logs len bytes of message as they are (no format): what the runner uses
 * for captured output. NUL bytes become U+FFFD.
 */
int tasklog_write(struct tasklog_logger *logger, enum tasklog_level level,
		  const char *metadata, const char *message, size_t len);

/* The level's name ("DEBUG" ... "CRITICAL"), or NULL. */
const char *tasklog_level_name(enum tasklog_level level);

#endif
