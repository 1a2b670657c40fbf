/*
 * bench_engine.c - the engine against baselines run in the same process:
 * ingest next to a raw SQLite batched insert of the same rows, reads next to
 * grep over the same lines in a plain file. Prints ratios, since absolute
 * times on a shared machine say little.
 *
 * usage: bench_engine [DIR] [ENTRIES] [ingest]
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"

#define BATCH 50000
#define RARE  "zebra-unicorn"

struct row {
	int64_t ts_ms;
	enum tl_level level;
	const char *source;
	char message[128];
	size_t message_len;
	char metadata[64];
	bool has_metadata;
};

static const char *const sources[] = {"plugin", "superset_api", "system", "db",
				      "scheduler"};
static const char *const words[] = {
    "migrating", "dashboard", "chart",	   "dataset",  "connection", "retry",
    "exported",	 "imported",  "validated", "skipped",  "uploading",  "batch",
    "complete",	 "latency",   "request",   "response", "cache",	     "refresh"};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Rows shaped like real logs: ~100-byte messages, 30/55/10/5 % levels,
 * five sources, a fifth with metadata, and a rare term in ten of them. */
static struct row *make_rows(size_t n)
{
	struct row *rows = calloc(n, sizeof(*rows));
	int64_t t0 = tl_now_ms() - (int64_t)n;

	if (!rows)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct row *r = &rows[i];
		unsigned p = (unsigned)(rng() % 100);
		size_t len = 0;

		r->ts_ms = t0 + (int64_t)i;
		r->level = p < 30   ? TL_DEBUG
			   : p < 85 ? TL_INFO
			   : p < 95 ? TL_WARNING
				    : TL_ERROR;
		r->source = sources[rng() % 5];
		len += (size_t)snprintf(r->message, sizeof(r->message),
					"step %zu:", i);
		while (len < 92) {
			const char *w = i % (n / 10 + 1) == 7 && len > 40
					    ? RARE
					    : words[rng() % 18];

			len += (size_t)snprintf(r->message + len,
						sizeof(r->message) - len, " %s",
						w);
		}
		r->message_len = len;
		if (rng() % 5 == 0) {
			snprintf(r->metadata, sizeof(r->metadata),
				 "{\"dashboard_id\":%u}",
				 (unsigned)(rng() % 500));
			r->has_metadata = true;
		}
	}
	return rows;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(-rc));
	exit(1);
}

static void fresh_db(const char *dir, const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", dir, name);
	for (const char *ext = ""; ext; ext = *ext ? NULL : "-wal") {
		char p[600];

		snprintf(p, sizeof(p), "%s%s", path, ext);
		unlink(p);
	}
	char shm[600];

	snprintf(shm, sizeof(shm), "%s-shm", path);
	unlink(shm);
}

static struct tl_engine *open_engine(const char *path, size_t mem_max)
{
	struct tl_config config;
	struct tl_engine *engine;
	int rc;

	tl_config_init(&config);
	config.db_path = path;
	if (mem_max)
		config.mem_max = mem_max;
	rc = tl_engine_open(&config, &engine);
	if (rc < 0)
		die("open", rc);
	return engine;
}

static int64_t task_key_of(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st;
	int64_t key = 0;

	sqlite3_prepare_v2(db, "SELECT key FROM tasks WHERE id = ?", -1, &st,
			   NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		key = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return key;
}

/* The baseline: the same rows into the same schema, 50k per transaction,
 * one reused statement, WAL, synchronous=FULL, as the engine does. */
static double raw_insert(const char *dir, const struct row *rows, size_t n)
{
	char path[512];
	struct tl_engine *engine;
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t key;
	double t0;

	fresh_db(dir, "raw.db", path, sizeof(path));
	engine = open_engine(path, 0); /* creates the schema and the task */
	tl_task_create(engine, "raw");
	tl_engine_close(engine, -1);

	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
		     NULL, NULL, NULL);
	key = task_key_of(db, "raw");
	sqlite3_prepare_v2(
	    db,
	    "INSERT INTO task_logs(id, task_id, timestamp, level,"
	    " source, message, metadata) VALUES(?,?,?,?,?,?,?)",
	    -1, &st, NULL);
	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char ts[TL_TIME_LEN];

		if (i % BATCH == 0)
			sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
		tl_time_format(r->ts_ms, ts);
		sqlite3_bind_int64(st, 1,
				   (int64_t)((uint64_t)key << 32 | (i + 1)));
		sqlite3_bind_text(st, 2, "raw", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ts, TL_TIME_LEN - 1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, tl_level_name(r->level), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 5, r->source, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, r->message, (int)r->message_len,
				  SQLITE_STATIC);
		if (r->has_metadata)
			sqlite3_bind_text(st, 7, r->metadata, -1,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 7);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("raw insert", -EIO);
		sqlite3_reset(st);
		if (i % BATCH == BATCH - 1 || i == n - 1)
			sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	double t = now_s() - t0;

	sqlite3_finalize(st);
	sqlite3_close(db);
	return t;
}

struct ingest {
	double seconds;
	uint64_t max_pending_bytes;
	uint64_t waits;
};

/* Appends every row and returns once all are committed. */
static struct ingest engine_insert(const char *dir, const char *name,
				   const struct row *rows, size_t n,
				   size_t mem_max, bool keep_open,
				   struct tl_engine **out)
{
	char path[512];
	struct tl_engine *engine;
	struct ingest result = {0};
	struct tl_stats stats;
	double t0;
	int rc;

	fresh_db(dir, name, path, sizeof(path));
	engine = open_engine(path, mem_max);
	tl_task_create(engine, "big");
	t0 = now_s();
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		struct tl_new_entry e = {
		    .ts_ms = r->ts_ms,
		    .level = r->level,
		    .source = r->source,
		    .message = r->message,
		    .message_len = r->message_len,
		    .metadata = r->has_metadata ? r->metadata : NULL,
		};

		rc = tl_append(engine, "big", &e, NULL);
		if (rc < 0)
			die("append", rc);
		if (i % 4096 == 0) {
			tl_engine_stats(engine, &stats);
			if (stats.pending_bytes > result.max_pending_bytes)
				result.max_pending_bytes = stats.pending_bytes;
		}
	}
	rc = tl_flush(engine, -1);
	if (rc < 0)
		die("flush", rc);
	result.seconds = now_s() - t0;
	tl_engine_stats(engine, &stats);
	result.waits = stats.waits;
	if (keep_open)
		*out = engine;
	else
		tl_engine_close(engine, -1);
	return result;
}

static int count_entry(const struct tl_entry *e, void *ctx)
{
	(void)e;
	(*(size_t *)ctx)++;
	return 0;
}

static double query_ms(struct tl_engine *engine, const char *task,
		       const char *filter, size_t *count)
{
	struct tl_filter *f = NULL;
	double t0;
	int rc;

	if (filter && tl_filter_parse(filter, strlen(filter), &f, NULL) < 0)
		die("filter", -EINVAL);
	*count = 0;
	t0 = now_s();
	rc = tl_query(engine, task, f, 0, 0, count_entry, count, NULL);
	if (rc < 0)
		die("query", rc);
	double ms = (now_s() - t0) * 1000;

	tl_filter_free(f);
	return ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The same entries as text lines, as the mount renders them. */
static void write_plain(const char *path, const struct row *rows, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		die(path, -errno);
	for (size_t i = 0; i < n; i++) {
		char ts[TL_TIME_LEN];

		tl_time_format(rows[i].ts_ms, ts);
		fprintf(f, "%s %s %s %.*s%s%s\n", ts,
			tl_level_name(rows[i].level), rows[i].source,
			(int)rows[i].message_len, rows[i].message,
			rows[i].has_metadata ? " " : "",
			rows[i].has_metadata ? rows[i].metadata : "");
	}
	fclose(f);
}

/* Runs a shell command, returns its wall time; *count gets its output. */
static double shell_ms(const char *cmd, size_t *count)
{
	double t0 = now_s();
	FILE *p = popen(cmd, "r");
	unsigned long long c = 0;

	if (!p || fscanf(p, "%llu", &c) != 1)
		die(cmd, -EIO);
	pclose(p);
	*count = (size_t)c;
	return (now_s() - t0) * 1000;
}

static double best_of(double a, double b)
{
	return a < b ? a : b;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000000;
	struct row *rows = make_rows(n);
	struct tl_engine *engine;
	struct ingest ing, ing2, small;
	double raw, raw2, reads[200], plain_ms, engine_ms;
	char plain[512], cmd[1024];
	size_t got, want;

	if (argc > 3 && strcmp(argv[3], "ingest") == 0) {
		/* For other benches: the engine's own rate, best of two. */
		ing = engine_insert(dir, "engine.db", rows, n, 0, false, NULL);
		ing2 = engine_insert(dir, "engine.db", rows, n, 0, false, NULL);
		printf("%.0f\n", n / best_of(ing.seconds, ing2.seconds));
		free(rows);
		return 0;
	}
	printf("tasklogfs engine bench: %zu entries (~100-byte messages, "
	       "levels 30/55/10/5 %%, 5 sources, 20 %% metadata)\n\n",
	       n);

	/* Alternate baseline and engine twice; keep the best of each. */
	raw = raw_insert(dir, rows, n);
	ing = engine_insert(dir, "engine.db", rows, n, 0, false, NULL);
	raw2 = raw_insert(dir, rows, n);
	ing2 = engine_insert(dir, "engine.db", rows, n, 0, true, &engine);
	raw = best_of(raw, raw2);
	ing.seconds = best_of(ing.seconds, ing2.seconds);
	small =
	    engine_insert(dir, "small-mem.db", rows, n, 16u << 20, false, NULL);

	printf("%-44s %12s %12s %8s\n", "measure", "tasklogfs", "baseline",
	       "ratio");
	printf("%-44s %10.0f/s %10.0f/s %7.2fx\n",
	       "ingest until committed (rate, vs raw SQLite)", n / ing.seconds,
	       n / raw, raw / ing.seconds);
	printf("%-44s %10.0f/s %10.0f/s %7.2fx\n",
	       "ingest with mem_max=16 MiB (back-pressure)", n / small.seconds,
	       n / raw, raw / small.seconds);
	printf("%-44s %9.1f MiB %8.1f MiB %8s\n",
	       "  peak uncommitted memory / high-water mark",
	       small.max_pending_bytes / 1048576.0, 16.0, "");
	printf("%-44s %12" PRIu64 "\n", "  appends that waited", small.waits);

	/* One task's 1,000 entries, committed. */
	tl_task_create(engine, "small");
	for (size_t i = 0; i < 1000 && i < n; i++) {
		struct tl_new_entry e = {.ts_ms = rows[i].ts_ms,
					 .level = rows[i].level,
					 .source = rows[i].source,
					 .message = rows[i].message,
					 .message_len = rows[i].message_len};

		tl_append(engine, "small", &e, NULL);
	}
	tl_flush(engine, -1);
	for (int i = 0; i < 200; i++)
		reads[i] = query_ms(engine, "small", NULL, &got);
	qsort(reads, 200, sizeof(double), cmp_double);
	printf("%-44s %9.2f ms %12s %8s\n",
	       "read one task's 1,000 entries (p50)", reads[100], "(<= 2 ms)",
	       "");
	printf("%-44s %9.2f ms\n", "read one task's 1,000 entries (p99)",
	       reads[198]);

	snprintf(plain, sizeof(plain), "%s/plain.log", dir);
	write_plain(plain, rows, n);

	snprintf(cmd, sizeof(cmd), "grep -c -E ' (WARNING|ERROR|CRITICAL) ' %s",
		 plain);
	plain_ms = best_of(shell_ms(cmd, &want), shell_ms(cmd, &want));
	engine_ms = best_of(query_ms(engine, "big", "level=WARNING+", &got),
			    query_ms(engine, "big", "level=WARNING+", &got));
	if (got != want)
		fprintf(stderr, "bench: level=WARNING+ found %zu, grep %zu\n",
			got, want);
	printf("%-44s %9.1f ms %9.1f ms %7.2fx\n",
	       "level=WARNING+, 1M-entry task (time, vs grep)", engine_ms,
	       plain_ms, engine_ms / plain_ms);

	snprintf(cmd, sizeof(cmd), "grep -c -i -F '%s' %s", RARE, plain);
	plain_ms = best_of(shell_ms(cmd, &want), shell_ms(cmd, &want));
	engine_ms = best_of(query_ms(engine, "big", "q=" RARE, &got),
			    query_ms(engine, "big", "q=" RARE, &got));
	if (got != want)
		fprintf(stderr, "bench: q=%s found %zu, grep %zu\n", RARE, got,
			want);
	printf("%-44s %9.1f ms %9.1f ms %7.2fx\n",
	       "q=" RARE ", 1M task (time, vs grep -i)", engine_ms, plain_ms,
	       engine_ms / plain_ms);

	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("\npeak RSS of the whole bench: %ld MiB\n", ru.ru_maxrss / 1024);
	tl_engine_close(engine, -1);
	unlink(plain);
	free(rows);
	return 0;
}
