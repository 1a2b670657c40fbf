/*
 * store.c - the SQLite side: schema and its upgrades, the writer's batched
 * statements, and reader connections.
 *
 * Rows of task_logs are grouped by task: id = task key << 32 | seq. A task's
 * reads and filters are then range scans of the primary key and deleting a
 * task is a range delete, with no secondary index to slow ingest down (see
 * DESIGN.md, "Engine"). SQLite result codes never leave this file's callers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

struct store {
	sqlite3 *db;
	sqlite3_stmt *begin, *commit, *rollback;
	sqlite3_stmt *put_entry, *put_task, *delete_logs, *delete_task;
};

/*
 * Each step upgrades the schema by one version, in place; user_version
 * records how many steps a database has had.
 */
static const char *const migrations[] = {
    /* 1: the tables of FR-001 / FR-002. */
    "CREATE TABLE tasks ("
    " key INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL DEFAULT 'running',"
    " created TEXT NOT NULL,"
    " finished TEXT);"
    "CREATE TABLE task_logs ("
    " id INTEGER PRIMARY KEY," /* task key << 32 | seq */
    " task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,"
    " timestamp TEXT NOT NULL,"
    " level TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " message TEXT NOT NULL,"
    " metadata TEXT);",
    /* 2: exit codes, and a view that shows each entry's seq. */
    "ALTER TABLE tasks ADD COLUMN exit_code INTEGER;"
    "CREATE VIEW task_log_entries AS"
    " SELECT task_id, id & 4294967295 AS seq, timestamp, level, source,"
    " message, metadata FROM task_logs;",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int user_version(sqlite3 *db, int *version)
{
	sqlite3_stmt *st;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL))
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*version = sqlite3_column_int(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
	int version;
	char sql[64];

	if (exec(db, "BEGIN IMMEDIATE") < 0)
		goto fail;
	if (user_version(db, &version) < 0)
		goto rollback;
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "the database has schema version %d; this tasklogfs "
			 "knows up to %d",
			 version, SCHEMA_VERSION);
		exec(db, "ROLLBACK");
		return -EPROTONOSUPPORT;
	}
	for (; version < SCHEMA_VERSION; version++) {
		if (exec(db, migrations[version]) < 0)
			goto rollback;
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (exec(db, sql) < 0 || exec(db, "COMMIT") < 0)
		goto rollback;
	return 0;
rollback:
	snprintf(err, errlen, "upgrading the schema: %s", sqlite3_errmsg(db));
	exec(db, "ROLLBACK");
	return -EIO;
fail:
	snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	return -EIO;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
				  NULL) == SQLITE_OK
		   ? 0
		   : -EIO;
}

static int open_db(const char *path, int busy_ms, sqlite3 **out)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, busy_ms);
	*out = db;
	return 0;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc = -EIO;

	if (!s)
		abort();
	if (open_db(path, 200, &s->db) < 0) {
		snprintf(err, errlen, "cannot open %s", path);
		free(s);
		return -EIO;
	}
	/* WAL lets readers run while the writer commits; FULL makes a
	 * commit (and so fsync on the mount) survive power loss, which costs
	 * one fsync a batch. */
	if (exec(s->db, "PRAGMA journal_mode=WAL") < 0 ||
	    exec(s->db, "PRAGMA synchronous=FULL") < 0) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	rc = migrate(s->db, err, errlen);
	if (rc < 0)
		goto fail;
	rc = -EIO;
	if (prepare(s->db, "BEGIN IMMEDIATE", &s->begin) ||
	    prepare(s->db, "COMMIT", &s->commit) ||
	    prepare(s->db, "ROLLBACK", &s->rollback) ||
	    prepare(s->db,
		    "INSERT INTO task_logs(id, task_id, timestamp, level,"
		    " source, message, metadata) VALUES(?,?,?,?,?,?,?)",
		    &s->put_entry) ||
	    prepare(s->db,
		    "INSERT INTO tasks(key, id, status, exit_code, created,"
		    " finished) VALUES(?1,?2,?3,?4,?5,?6)"
		    " ON CONFLICT(key) DO UPDATE SET status=?3, exit_code=?4,"
		    " finished=?6",
		    &s->put_task) ||
	    prepare(s->db, "DELETE FROM task_logs WHERE id BETWEEN ? AND ?",
		    &s->delete_logs) ||
	    prepare(s->db, "DELETE FROM tasks WHERE key = ?",
		    &s->delete_task)) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->rollback);
	sqlite3_finalize(s->put_entry);
	sqlite3_finalize(s->put_task);
	sqlite3_finalize(s->delete_logs);
	sqlite3_finalize(s->delete_task);
	sqlite3_close(s->db);
	free(s);
}

const char *store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

static int64_t column_time(sqlite3_stmt *st, int col)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	int64_t ms = 0;

	if (text)
		tl_time_parse(text, (size_t)sqlite3_column_bytes(st, col), &ms);
	return ms;
}

int store_load(struct store *s, int64_t *next_key, store_task_fn *fn, void *ctx)
{
	sqlite3_stmt *tasks = NULL, *last = NULL, *seqs = NULL;
	int64_t max_key = 0;
	int rc = -EIO, step;

	if (prepare(s->db,
		    "SELECT key, id, status, exit_code, created, finished"
		    " FROM tasks ORDER BY key",
		    &tasks) ||
	    prepare(s->db,
		    "SELECT max(id) FROM task_logs WHERE id BETWEEN ? AND ?",
		    &last) ||
	    prepare(s->db,
		    "SELECT seq FROM sqlite_sequence WHERE name = 'tasks'",
		    &seqs))
		goto out;
	while ((step = sqlite3_step(tasks)) == SQLITE_ROW) {
		const char *status =
		    (const char *)sqlite3_column_text(tasks, 2);
		struct store_task t = {
		    .key = sqlite3_column_int64(tasks, 0),
		    .id = (const char *)sqlite3_column_text(tasks, 1),
		    .exit_code = sqlite3_column_int(tasks, 3),
		    .created_ms = column_time(tasks, 4),
		    .finished_ms = column_time(tasks, 5),
		};
		int st = status ? tl_status_parse(status, strlen(status)) : 0;
		uint32_t last_seq = 0;

		t.status = st < 0 ? TL_FAILED : (enum tl_status)st;
		sqlite3_bind_int64(last, 1, row_id(t.key, 0));
		sqlite3_bind_int64(last, 2, row_id(t.key, UINT32_MAX));
		if (sqlite3_step(last) == SQLITE_ROW &&
		    sqlite3_column_type(last, 0) != SQLITE_NULL)
			last_seq = (uint32_t)sqlite3_column_int64(last, 0);
		sqlite3_reset(last);
		if (t.key > max_key)
			max_key = t.key;
		if (t.id && fn(&t, last_seq, ctx) < 0)
			goto out;
	}
	if (step != SQLITE_DONE)
		goto out;
	if (sqlite3_step(seqs) == SQLITE_ROW &&
	    sqlite3_column_int64(seqs, 0) > max_key)
		max_key = sqlite3_column_int64(seqs, 0);
	*next_key = max_key + 1;
	rc = 0;
out:
	sqlite3_finalize(tasks);
	sqlite3_finalize(last);
	sqlite3_finalize(seqs);
	return rc;
}

/* Runs a statement that returns no rows and resets it. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_begin(struct store *s)
{
	return run(s->begin);
}

int store_commit(struct store *s)
{
	return run(s->commit);
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		run(s->rollback);
}

int store_put_entry(struct store *s, const struct pending *e)
{
	sqlite3_stmt *st = s->put_entry;
	char ts[TL_TIME_LEN];

	tl_time_format(e->ts_ms, ts);
	sqlite3_bind_int64(st, 1, row_id(e->task->key, e->seq));
	sqlite3_bind_text(st, 2, e->task->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ts, TL_TIME_LEN - 1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, tl_level_name(e->level), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, e->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, e->message, (int)e->message_len,
			  SQLITE_STATIC);
	if (e->metadata)
		sqlite3_bind_text(st, 7, e->metadata, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	return run(st);
}

int store_put_task(struct store *s, const struct store_task *t)
{
	sqlite3_stmt *st = s->put_task;
	char created[TL_TIME_LEN], finished[TL_TIME_LEN];

	tl_time_format(t->created_ms, created);
	sqlite3_bind_int64(st, 1, t->key);
	sqlite3_bind_text(st, 2, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tl_status_name(t->status), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, created, -1, SQLITE_STATIC);
	if (t->status != TL_RUNNING) {
		tl_time_format(t->finished_ms, finished);
		sqlite3_bind_int(st, 4, t->exit_code);
		sqlite3_bind_text(st, 6, finished, -1, SQLITE_STATIC);
	}
	return run(st);
}

int store_delete_task(struct store *s, int64_t key)
{
	sqlite3_bind_int64(s->delete_logs, 1, row_id(key, 0));
	sqlite3_bind_int64(s->delete_logs, 2, row_id(key, UINT32_MAX));
	if (run(s->delete_logs) < 0)
		return -EIO;
	sqlite3_bind_int64(s->delete_task, 1, key);
	return run(s->delete_task);
}

int reader_open(const char *path, struct reader *r)
{
	if (open_db(path, 5000, &r->db) < 0)
		return -EIO;
	if (prepare(r->db,
		    "SELECT id, timestamp, level, source, message, metadata"
		    " FROM task_logs WHERE id > ?1 AND id <= ?2 ORDER BY id",
		    &r->range) ||
	    prepare(r->db,
		    "SELECT level, source, metadata FROM task_logs"
		    " WHERE id > ?1 AND id <= ?2",
		    &r->tally)) {
		reader_close(r);
		return -EIO;
	}
	return 0;
}

void reader_close(struct reader *r)
{
	sqlite3_finalize(r->range);
	sqlite3_finalize(r->tally);
	sqlite3_close(r->db);
	memset(r, 0, sizeof(*r));
}
