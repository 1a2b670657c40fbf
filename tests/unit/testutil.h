/*
 * testutil.h - what the unit tests share: a fresh engine in a mkdtemp
 * directory, entries collected from queries, a second SQLite connection.
 */
#ifndef TL_TESTUTIL_H
#define TL_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "engine.h"

struct fixture {
	char dir[64];
	char db[128];
	struct tl_config config;
	struct tl_engine *engine;
};

/* A new temporary directory and config (flush_ms 50); the engine opened. */
struct fixture *fx_new(void);
/* Opens fx->engine with fx->config. */
void fx_open(struct fixture *fx);
/* Closes (asserting success) and opens again. */
void fx_reopen(struct fixture *fx);
/* Closes the engine and removes the directory. */
void fx_free(struct fixture *fx);

/* cmocka setup/teardown that put a fixture in *state. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Appends a message at a level from a source, with optional metadata. */
uint64_t fx_append(struct fixture *fx, const char *task, enum tl_level level,
		   const char *source, const char *metadata, const char *fmt,
		   ...) __attribute__((format(printf, 6, 7)));

/* Entries copied out of a query. */
struct got_entry {
	uint64_t seq;
	int64_t ts_ms;
	enum tl_level level;
	char source[TL_SOURCE_MAX + 1];
	char *message; /* NUL-terminated copy */
	size_t message_len;
	char *metadata;
};

struct got {
	struct got_entry *items;
	size_t n;
};

/* Runs tl_query with the filter text (NULL: none); asserts rc == 0. */
void fx_query(struct fixture *fx, const char *task, const char *filter,
	      uint64_t after, size_t limit, struct got *out);
void got_release(struct got *got);

/* A second connection to the database file, as a user's sqlite3 shell. */
sqlite3 *fx_sql(struct fixture *fx);
/* The single integer a query returns. */
int64_t sql_int(sqlite3 *db, const char *sql);

#endif /* TL_TESTUTIL_H */
