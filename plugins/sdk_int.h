/*
 * sdk_int.h - what the SDK's files share; not installed.
 */
#ifndef TASKLOG_SDK_INT_H
#define TASKLOG_SDK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tasklog.h"

/* A growing byte buffer; allocation failure aborts. */
struct sdk_buf {
	char *data;
	size_t len, cap;
};

void sdk_buf_add(struct sdk_buf *b, const void *data, size_t len);
void sdk_buf_adds(struct sdk_buf *b, const char *s);
void sdk_buf_release(struct sdk_buf *b);

/*
 * Appends len bytes of s as the body of a JSON string (no quotes): quotes,
 * backslashes and control bytes escaped, NUL as U+FFFD, other bytes kept.
 */
void sdk_json_add_string(struct sdk_buf *b, const char *s, size_t len);

/*
 * True if text is one JSON object and nothing else but white space. Nesting
 * deeper than 64 is refused.
 */
bool sdk_json_is_object(const char *text);

/*
 * Appends the JSON object text with its line breaks made spaces, so that it
 * stays on one line (raw line breaks are only legal between tokens).
 */
void sdk_json_add_object(struct sdk_buf *b, const char *text);

/* ---- contexts and their buffers (sdk.c, buffer.c) ---------------------- */

struct tasklog_logger {
	struct sdk_context *ctx;
	char *source;
	struct tasklog_logger *next;
};

/*
 * One open context. THREAD SAFETY: lock protects every field below it;
 * next_open belongs to buffer.c's list of contexts (its contexts_lock).
 */
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

/* CLOCK_MONOTONIC in milliseconds. */
int64_t sdk_monotonic_ms(void);

/* Adds ctx to the contexts written at exit() and kept sane across fork(). */
void sdk_register(struct sdk_context *ctx);

/*
 * Takes ctx off that list, stops its flusher thread and writes what is
 * left. Returns 0 or the error that kept lines unwritten.
 */
int sdk_unregister(struct sdk_context *ctx);

/* Writes every pending line; called with ctx->lock held. 0 or -errno. */
int sdk_flush_locked(struct sdk_context *ctx);

/* Buffers (or writes) one finished line; see tasklog.h for what 0 means. */
int sdk_submit(struct sdk_context *ctx, const struct sdk_buf *line);

#endif
