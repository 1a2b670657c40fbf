/*
 * engine_int.h - what the engine's files share and nobody else sees.
 *
 * LOCKING: one mutex, engine->lock, protects every field marked
 * "engine->lock" below: the task table, the pending queue, counters and
 * watches. The writer thread owns engine->store (its SQLite connection) and
 * touches it without the lock. Reader connections come from engine->readers,
 * protected by engine->readers_lock. Lock order: engine->lock may be taken
 * while holding nothing, or before readers_lock; never the other way.
 */
#ifndef TL_ENGINE_INT_H
#define TL_ENGINE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "engine.h"
#include "strmap.h"

struct task;

/*
 * An entry waiting in memory for the database. Immutable once queued except
 * for the links. One allocation: the struct, then source\0, message, \0,
 * then metadata\0 when there is some.
 */
struct pending {
	struct pending *next;	   /* engine queue; engine->lock */
	struct pending *task_next; /* task's queue; engine->lock */
	struct task *task;
	uint64_t gen; /* engine-wide acceptance order */
	uint32_t seq;
	uint8_t level;
	int64_t ts_ms;
	size_t message_len;
	const char *source;
	const char *message;
	const char *metadata; /* NULL if none */
	size_t bytes;	      /* accounted against mem_max */
	char data[];
};

/* What a task's entries hold: counts and the distinct metadata seen. */
struct tally {
	uint64_t total;
	uint64_t levels[TL_LEVEL_COUNT];
	struct strmap sources; /* name -> count */
	struct strmap meta;    /* key -> (value -> count) */
};

struct watch_list {
	struct tl_watch *head;
};

struct task {
	struct task *hash_next; /* engine->lock */
	struct task *list_next; /* all tasks incl. deleted ones */
	struct task **list_prev;
	int64_t key; /* rows are key << 32 | seq */
	char id[TL_TASK_ID_MAX + 1];
	enum tl_status status;
	int exit_code;
	int64_t created_ms;
	int64_t finished_ms;
	uint32_t last_seq;	/* newest seq handed out */
	uint32_t committed_seq; /* rows 1..committed_seq are stored */
	uint32_t open_seq;	/* last seq stored before this open */
	int64_t last_ts_ms;
	struct pending *pend_head, *pend_tail;
	size_t n_pending;
	unsigned version;	  /* bumped on each change of the record */
	unsigned saved_version;	  /* version last committed */
	bool deleted;		  /* gone for readers; rows to delete */
	bool delete_done;	  /* rows deleted and committed */
	struct tally live;	  /* entries appended since open */
	struct tally *stored;	  /* entries 1..open_seq; NULL until read */
	struct tl_watch *watches; /* armed watches */
};

struct reader {
	sqlite3 *db;
	sqlite3_stmt *range;
	sqlite3_stmt *tally;
	bool busy;
};

#define TL_READERS 4

struct tl_engine {
	struct tl_config config;
	char *db_path;

	pthread_mutex_t lock;
	pthread_cond_t writer_cond; /* wakes the writer */
	pthread_cond_t done_cond;   /* commits happened, memory freed */
	pthread_cond_t live_cond;   /* new entries or task changes */

	/* engine->lock */
	struct task **buckets;
	size_t n_buckets;
	size_t n_tasks;
	struct task *tasks; /* every task struct, oldest first */
	struct task **tasks_tail;
	int64_t next_key;
	struct pending *head, *tail;
	uint64_t gen;		/* last gen handed out */
	uint64_t committed_gen; /* everything up to it is stored */
	uint64_t flush_wanted;	/* a flusher waits for this gen */
	size_t pending_bytes;
	unsigned n_waiters;
	bool closing;
	bool writer_done;	   /* the writer thread has ended */
	int64_t close_deadline_ms; /* monotonic; -1: no deadline */
	bool writer_failing;
	struct tl_stats stats;

	pthread_t writer;
	struct store *store; /* writer thread only */

	pthread_mutex_t readers_lock;
	pthread_cond_t readers_cond;
	struct reader readers[TL_READERS];
};

/* engine.c */
void engine_log(struct tl_engine *engine, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct task *engine_find_task(struct tl_engine *engine, const char *id);
/* A new task in the table and the list; engine->lock held. */
struct task *engine_task_new(struct tl_engine *engine, int64_t key,
			     const char *id);
/* Takes the task out of the table (not the list); engine->lock held. */
void engine_task_unhash(struct tl_engine *engine, struct task *task);
void engine_release_task(struct tl_engine *engine, struct task *task);
int64_t engine_monotonic_ms(void);
void engine_deadline(struct timespec *ts, int timeout_ms);

/* filter.c: the part of tl_filter_match that needs no message or time. */
bool filter_match_level_source(const struct tl_filter *filter,
			       enum tl_level level, const char *source);
/* The q= part alone. */
bool filter_match_text(const struct tl_filter *filter, const char *message,
		       size_t len);

/* percent.c: %XX decoding (NULL if malformed or it would hold a NUL). */
char *percent_decode(const char *s, size_t len);

/* writer.c */
void *writer_main(void *arg);

/* live.c: wake waiters and armed watches of a task; engine->lock held. */
void live_notify(struct tl_engine *engine, struct task *task);
void live_release_task(struct task *task);

/* tally.c */
void tally_init(struct tally *tally);
void tally_release(struct tally *tally);
/* The metadata key/value pairs of one entry, parsed outside the lock. */
struct tally_pair {
	char *key;
	char *value; /* NULL: not a listable value */
};

struct tally_pairs {
	struct tally_pair *items;
	size_t n;
};

void tally_pairs_collect(struct tally_pairs *pairs, const char *metadata);
/* A meta_fn that adds one pair to the struct tally_pairs at ctx. */
void tally_pair_collect(const char *key, const char *value, void *ctx);
void tally_pairs_release(struct tally_pairs *pairs);
void tally_add(struct tally *tally, enum tl_level level, const char *source,
	       const struct tally_pairs *pairs);

/* store.c: the SQLite side, used by the writer and by readers. */
struct store_task {
	int64_t key;
	const char *id;
	enum tl_status status;
	int exit_code;
	int64_t created_ms;
	int64_t finished_ms;
};

typedef int store_task_fn(const struct store_task *task, uint32_t last_seq,
			  void *ctx);

int store_open(const char *path, struct store **out, char *err, size_t errlen);
void store_close(struct store *store);
int store_load(struct store *store, int64_t *next_key, store_task_fn *fn,
	       void *ctx);
int store_begin(struct store *store);
int store_commit(struct store *store);
void store_rollback(struct store *store);
int store_put_entry(struct store *store, const struct pending *entry);
int store_put_task(struct store *store, const struct store_task *task);
int store_delete_task(struct store *store, int64_t key);
const char *store_errmsg(struct store *store);

int reader_open(const char *path, struct reader *reader);
void reader_close(struct reader *reader);
struct reader *reader_get(struct tl_engine *engine);
void reader_put(struct tl_engine *engine, struct reader *reader);

/* Row ids: a task's rows are one contiguous range. */
static inline int64_t row_id(int64_t key, uint64_t seq)
{
	return (int64_t)(((uint64_t)key << 32) | seq);
}

#endif /* TL_ENGINE_INT_H */
