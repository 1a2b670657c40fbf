/* testutil.c - see testutil.h. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void quiet_log(void *ctx, const char *message)
{
	(void)ctx;
	(void)message;
}

struct fixture *fx_new(void)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/tl-unit-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->db, sizeof(fx->db), "%s/tasklog.db", fx->dir);
	tl_config_init(&fx->config);
	fx->config.db_path = fx->db;
	fx->config.flush_ms = 50;
	fx->config.retry_max_ms = 100;
	if (!getenv("TL_TEST_VERBOSE"))
		fx->config.log = quiet_log;
	fx_open(fx);
	return fx;
}

void fx_open(struct fixture *fx)
{
	assert_int_equal(tl_engine_open(&fx->config, &fx->engine), 0);
}

void fx_reopen(struct fixture *fx)
{
	assert_int_equal(tl_engine_close(fx->engine, 5000), 0);
	fx->engine = NULL;
	fx_open(fx);
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void fx_free(struct fixture *fx)
{
	if (!fx)
		return;
	tl_engine_close(fx->engine, 1000);
	nftw(fx->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
}

int fx_setup(void **state)
{
	*state = fx_new();
	return 0;
}

int fx_teardown(void **state)
{
	fx_free(*state);
	return 0;
}

uint64_t fx_append(struct fixture *fx, const char *task, enum tl_level level,
		   const char *source, const char *metadata, const char *fmt,
		   ...)
{
	char message[4096];
	va_list ap;
	uint64_t seq = 0;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	struct tl_new_entry e = {
	    .level = level,
	    .source = source,
	    .message = message,
	    .message_len = strlen(message),
	    .metadata = metadata,
	};
	assert_int_equal(tl_append(fx->engine, task, &e, &seq), 0);
	return seq;
}

static int collect(const struct tl_entry *e, void *ctx)
{
	struct got *got = ctx;
	struct got_entry *g;

	got->items = realloc(got->items, (got->n + 1) * sizeof(*got->items));
	assert_non_null(got->items);
	g = &got->items[got->n++];
	g->seq = e->seq;
	g->ts_ms = e->ts_ms;
	g->level = e->level;
	snprintf(g->source, sizeof(g->source), "%s", e->source);
	g->message = malloc(e->message_len + 1);
	assert_non_null(g->message);
	memcpy(g->message, e->message, e->message_len);
	g->message[e->message_len] = '\0';
	g->message_len = e->message_len;
	g->metadata = e->metadata ? strdup(e->metadata) : NULL;
	return 0;
}

void fx_query(struct fixture *fx, const char *task, const char *filter,
	      uint64_t after, size_t limit, struct got *out)
{
	struct tl_filter *f = NULL;
	char err[TL_FILTER_ERR_LEN];

	memset(out, 0, sizeof(*out));
	if (filter)
		assert_int_equal(
		    tl_filter_parse(filter, strlen(filter), &f, err), 0);
	assert_int_equal(
	    tl_query(fx->engine, task, f, after, limit, collect, out, NULL), 0);
	tl_filter_free(f);
}

void got_release(struct got *got)
{
	for (size_t i = 0; i < got->n; i++) {
		free(got->items[i].message);
		free(got->items[i].metadata);
	}
	free(got->items);
	memset(got, 0, sizeof(*got));
}

sqlite3 *fx_sql(struct fixture *fx)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(fx->db, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

int64_t sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}
