/*
 * engine.h - the tasklogfs store: tasks, log entries, filters, live waits.
 *
 * The engine keeps the log entries of tasks. Entries are appended from any
 * thread, are visible to readers at once, and are committed to SQLite in
 * batches by one writer thread. It knows nothing of FUSE or HTTP; the mount
 * and the web view use only this header.
 *
 * Conventions: functions return 0 on success or a negative errno; out
 * parameters are written only on success; *_release frees what a caller-owned
 * struct holds, *_free(NULL) is a no-op.
 *
 * THREAD SAFETY: struct tl_engine may be used from any number of threads at
 * once. A struct tl_filter is immutable once parsed and may be shared. A
 * struct tl_watch belongs to one thread at a time.
 */
#ifndef TL_ENGINE_H
#define TL_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- levels -------------------------------------------------------------- */

enum tl_level {
	TL_DEBUG,
	TL_INFO,
	TL_WARNING,
	TL_ERROR,
	TL_CRITICAL,
	TL_LEVEL_COUNT
};

/* The canonical name ("DEBUG" ... "CRITICAL"); NULL if out of range. */
const char *tl_level_name(enum tl_level level);

/*
 * Parses a level name of len bytes, case-insensitively; "WARN" and "FATAL"
 * are aliases of WARNING and CRITICAL. Returns the level or -EINVAL.
 */
int tl_level_parse(const char *name, size_t len);

/* ---- time ---------------------------------------------------------------- */

/* Milliseconds since the epoch, from CLOCK_REALTIME. */
int64_t tl_now_ms(void);

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes + NUL) to buf[TL_TIME_LEN]. */
#define TL_TIME_LEN 25
void tl_time_format(int64_t ms, char buf[TL_TIME_LEN]);

/*
 * Parses RFC 3339 ("2026-12-04T10:00:00Z", fractions and "+02:00" offsets,
 * a space for the T, or a bare date) into *ms. Returns 0 or -EINVAL.
 */
int tl_time_parse(const char *text, size_t len, int64_t *ms);

/* ---- filters ---------------------------------------------------------------
 */

/*
 * A filter, in the grammar of DESIGN.md: "term(&term)*" where a term is
 * level=INFO+ | level=ERROR | source=a,b | q=text | meta.KEY=VALUE |
 * since=T | until=T | after=SEQ | limit=N. Values are percent-decoded after
 * the split. The same parser serves mount paths, REST and WebSocket.
 */
struct tl_filter;

#define TL_FILTER_ERR_LEN 160

/*
 * Parses len bytes of text into a new filter (*out, freed with
 * tl_filter_free). An empty text matches everything. On a malformed filter
 * returns -EINVAL and, when err is not NULL, writes a sentence naming the
 * bad term to err[TL_FILTER_ERR_LEN].
 */
int tl_filter_parse(const char *text, size_t len, struct tl_filter **out,
		    char *err);

void tl_filter_free(struct tl_filter *filter);

/*
 * Prints the filter in canonical form (fixed term order, sorted sources and
 * metadata keys, canonical level names, minimal percent-encoding). Returns a
 * malloc'd string the caller owns.
 */
char *tl_filter_print(const struct tl_filter *filter);

/*
 * Turns relative since=/until= bounds into absolute ones, as of now_ms, so
 * that what the filter matches no longer changes with the clock.
 */
void tl_filter_resolve(struct tl_filter *filter, int64_t now_ms);

/* The filter's after= cursor (0 if none) and limit= (0 if none). */
uint64_t tl_filter_after(const struct tl_filter *filter);
size_t tl_filter_limit(const struct tl_filter *filter);

/* ---- entries ---------------------------------------------------------------
 */

/*
 * One log entry as a reader sees it. The pointers are valid only during the
 * callback that receives the entry. message holds message_len bytes as
 * written (not NUL-terminated in general; may contain any byte); metadata is
 * a compact JSON object or NULL.
 */
struct tl_entry {
	uint64_t seq; /* per task, 1-based, gap-free */
	int64_t ts_ms;
	enum tl_level level;
	const char *source;
	const char *message;
	size_t message_len;
	const char *metadata;
};

/*
 * True if entry matches filter at time now_ms (relative since=/until= are
 * resolved against it). A NULL filter matches everything. after= and limit=
 * are cursor controls, not match criteria, and are ignored here.
 */
bool tl_filter_match(const struct tl_filter *filter,
		     const struct tl_entry *entry, int64_t now_ms);

/* ---- the engine ------------------------------------------------------------
 */

struct tl_engine;

/* Called from any engine thread; must not call back into the engine. */
typedef void tl_log_fn(void *ctx, const char *message);

struct tl_config {
	const char *db_path;   /* the SQLite file; created if missing */
	unsigned flush_ms;     /* commit at least this often; default 2000 */
	unsigned batch_max;    /* or when this many entries wait; 50000 */
	size_t mem_max;	       /* bytes of uncommitted entries before
				* appenders wait; default 256 MiB */
	int64_t retention_ms;  /* delete finished tasks older than this;
				* 0 keeps them forever */
	unsigned retry_max_ms; /* cap of the retry backoff; default 5000 */
	tl_log_fn *log;	       /* NULL logs to stderr */
	void *log_ctx;
};

/* Fills the defaults above. */
void tl_config_init(struct tl_config *config);

/*
 * Opens (creating or upgrading in place) the store at config->db_path and
 * starts its writer thread. Returns -EPROTONOSUPPORT for a database written
 * by a newer tasklogfs, -EIO when SQLite cannot open it.
 */
int tl_engine_open(const struct tl_config *config, struct tl_engine **out);

/*
 * Commits every accepted entry and closes. If the database stays unwritable
 * for close_timeout_ms (negative: wait forever), gives up, logs how many
 * entries were not stored and returns -EIO; the engine is freed either way.
 * tl_engine_close(NULL) returns 0.
 */
int tl_engine_close(struct tl_engine *engine, int close_timeout_ms);

/* ---- tasks -----------------------------------------------------------------
 */

enum tl_status { TL_RUNNING, TL_SUCCEEDED, TL_FAILED };

const char *tl_status_name(enum tl_status status);
/* Parses "running" | "succeeded" | "failed"; returns the status or -EINVAL. */
int tl_status_parse(const char *name, size_t len);

#define TL_TASK_ID_MAX 128

/* True if id matches [A-Za-z0-9._-]{1,128} and does not start with '.'. */
bool tl_task_id_valid(const char *id);

/* Source names follow the same rule, so each can be a file name. */
bool tl_source_valid(const char *source);

struct tl_task_info {
	char id[TL_TASK_ID_MAX + 1];
	enum tl_status status;
	int exit_code; /* meaningful once finished */
	int64_t created_ms;
	int64_t finished_ms; /* 0 while running */
	uint64_t last_seq;   /* seq of the newest entry; 0 if none */
	int64_t last_ts_ms;  /* time of the newest entry; created if none */
};

/* Creates a running task. -EINVAL for a bad id, -EEXIST if it exists. */
int tl_task_create(struct tl_engine *engine, const char *id);

/* Fills *out. -ENOENT if there is no such task. */
int tl_task_get(struct tl_engine *engine, const char *id,
		struct tl_task_info *out);

/*
 * Lists every task, oldest first, into a malloc'd array the caller frees
 * with free(). *out is NULL when there are none.
 */
int tl_task_list(struct tl_engine *engine, struct tl_task_info **out,
		 size_t *count);

/*
 * Sets the status; a finished status records the finish time and exit code,
 * TL_RUNNING clears them. Wakes live readers. -ENOENT if no such task.
 */
int tl_task_set_status(struct tl_engine *engine, const char *id,
		       enum tl_status status, int exit_code);

/*
 * Deletes the task and all its entries, committed or not (FR-008). The task
 * disappears for readers at once; the rows go in one transaction with the
 * next batch (tl_flush waits for it). -ENOENT if no such task.
 */
int tl_task_delete(struct tl_engine *engine, const char *id);

/*
 * Deletes every finished task whose finish time is before cutoff_ms, with
 * its entries (FR-009). Returns how many tasks were deleted. The engine runs
 * this by itself when config.retention_ms is set.
 */
int tl_retention_apply(struct tl_engine *engine, int64_t cutoff_ms);

/* ---- appending
 * --------------------------------------------------------------- */

#define TL_SOURCE_MAX	128
#define TL_MESSAGE_MAX	(1u << 20)
#define TL_METADATA_MAX (64u << 10)

struct tl_new_entry {
	int64_t ts_ms; /* 0: now */
	enum tl_level level;
	const char *source; /* NULL or "": "plugin" */
	const char *message;
	size_t message_len;   /* at most TL_MESSAGE_MAX */
	const char *metadata; /* NULL, or the text of a JSON object */
};

/*
 * Appends one entry to a task. It gets the task's next seq (written to *seq
 * when seq is not NULL) and is visible to readers before this returns. If
 * more than config.mem_max bytes wait for the database, blocks until the
 * writer catches up (back-pressure; nothing is dropped).
 * Errors: -ENOENT no such task, -EINVAL bad level/source/metadata JSON,
 * -EMSGSIZE message or metadata too long, -ESHUTDOWN engine closing.
 */
int tl_append(struct tl_engine *engine, const char *task_id,
	      const struct tl_new_entry *entry, uint64_t *seq);

/*
 * Returns once everything accepted before the call (entries, task changes,
 * deletions) is committed. timeout_ms < 0 waits forever; on expiry returns
 * -ETIMEDOUT (the data stays in memory and is still retried).
 */
int tl_flush(struct tl_engine *engine, int timeout_ms);

/* ---- reading
 * ----------------------------------------------------------------- */

/* Receives entries in seq order; returns nonzero to stop the query. */
typedef int tl_entry_fn(const struct tl_entry *entry, void *ctx);

/*
 * Calls fn for each entry of task_id with after < seq, matching filter (NULL
 * matches all), in seq order, at most limit entries (0: no limit), merging
 * committed rows and entries still in memory seamlessly. When next is not
 * NULL it receives the cursor to continue from: the seq of the last entry
 * examined. Returns 0, -ENOENT for no such task, -EIO on a database error.
 */
int tl_query(struct tl_engine *engine, const char *task_id,
	     const struct tl_filter *filter, uint64_t after, size_t limit,
	     tl_entry_fn *fn, void *ctx, uint64_t *next);

struct tl_count {
	char *name;
	uint64_t count;
};

/* What a task holds: counts by level and source, the metadata keys seen. */
struct tl_task_summary {
	uint64_t total;
	uint64_t levels[TL_LEVEL_COUNT];
	struct tl_count *sources; /* sorted by name */
	size_t n_sources;
	char **meta_keys; /* sorted */
	size_t n_meta_keys;
};

/* Fills *out (release it with tl_task_summary_release). -ENOENT, -EIO. */
int tl_task_summary(struct tl_engine *engine, const char *task_id,
		    struct tl_task_summary *out);
void tl_task_summary_release(struct tl_task_summary *summary);

/*
 * The distinct values seen for metadata key in a task (scalar values as
 * text, sorted; at most TL_META_VALUES_MAX of them), as a NULL-terminated
 * malloc'd vector the caller frees with tl_strv_free. -ENOENT, -EIO.
 */
#define TL_META_VALUES_MAX 10000
int tl_task_meta_values(struct tl_engine *engine, const char *task_id,
			const char *key, char ***values);
void tl_strv_free(char **values);

/* ---- live notification
 * ------------------------------------------------------- */

/*
 * Waits until task_id has an entry with seq > after, up to timeout_ms
 * (negative: forever). Returns 0 when there is one, -ENODATA when the task
 * is finished and has none, -ENOENT when the task does not exist or was
 * deleted, -ETIMEDOUT, -ESHUTDOWN when the engine closes.
 */
int tl_wait(struct tl_engine *engine, const char *task_id, uint64_t after,
	    int timeout_ms);

/*
 * A watch is an eventfd that becomes readable when a task changes, for event
 * loops that cannot block in tl_wait. Wake-ups are coalesced: one per arm,
 * however many entries arrive.
 */
struct tl_watch;

int tl_watch_new(struct tl_engine *engine, const char *task_id,
		 struct tl_watch **out);

/* The eventfd to poll for POLLIN. Valid until tl_watch_free. */
int tl_watch_fd(const struct tl_watch *watch);

/*
 * Clears the eventfd and arms the watch: it fires once there is an entry
 * with seq > after, or the task finishes or is deleted (at once if that is
 * already so). Returns 0, or -ENOENT if the task is gone.
 */
int tl_watch_arm(struct tl_watch *watch, uint64_t after);

void tl_watch_free(struct tl_watch *watch);

/* ---- entry formats
 * ------------------------------------------------------------ */

/* A growable byte buffer, NUL-terminated once anything was added. */
struct tl_buf {
	char *data;
	size_t len, cap;
};

void tl_buf_add(struct tl_buf *buf, const void *data, size_t len);

/*
 * Appends s percent-encoded: all but letters, digits, "-._~" and the
 * characters in keep become %XX (the way filter values are printed).
 */
void tl_buf_add_encoded(struct tl_buf *buf, const char *s, const char *keep);
void tl_buf_release(struct tl_buf *buf);

/*
 * Appends the entry as one text line, the way the mount shows it:
 * "2026-12-04T10:00:00.000Z INFO plugin message key=value\n". The lines of a
 * multi-line message after the first start with a tab. The bytes depend only
 * on the entry, so a rendering never changes once shown.
 */
void tl_entry_format_text(const struct tl_entry *entry, struct tl_buf *out);

/*
 * Appends the entry as one JSON object and a newline: task_id, seq,
 * timestamp, level, source, message, metadata. Invalid UTF-8 in the message
 * is replaced with U+FFFD here, and only here.
 */
void tl_entry_format_json(const char *task_id, const struct tl_entry *entry,
			  struct tl_buf *out);

/* A line written as a JSON object: {"message": …, "level": …, …}. */
struct tl_json_line {
	int level;    /* -1 if not given */
	char *source; /* NULL if not given */
	char *message;
	size_t message_len;
	char *metadata; /* compact JSON object, NULL if none */
	int64_t ts_ms;	/* 0 if not given */
};

/*
 * Parses a JSON line. Returns 0 and fills *out (release it with
 * tl_json_line_release), or -EINVAL when the line is not a JSON object with
 * a string "message" or a field has the wrong type or value.
 */
int tl_json_line_parse(const char *line, size_t len, struct tl_json_line *out);
void tl_json_line_release(struct tl_json_line *line);

/*
 * Appends the task record as one JSON object: id, status, exit_code,
 * created, finished, entries, levels {LEVEL: n}, sources {name: n},
 * meta_keys [...]. -ENOENT if there is no such task.
 */
int tl_task_format_json(struct tl_engine *engine, const char *task_id,
			struct tl_buf *out);

/* ---- stats
 * ------------------------------------------------------------------- */

struct tl_stats {
	uint64_t received; /* entries accepted since open */
	uint64_t stored;   /* of those, committed */
	uint64_t pending;  /* waiting in memory */
	uint64_t pending_bytes;
	uint64_t discarded;    /* pending entries of deleted tasks */
	uint64_t batches;      /* committed transactions */
	uint64_t flush_errors; /* failed commits */
	uint64_t retries;      /* commits tried again after a failure */
	uint64_t waits;	       /* appends that waited for memory */
	uint64_t tasks;
};

void tl_engine_stats(struct tl_engine *engine, struct tl_stats *out);

#endif /* TL_ENGINE_H */
