/*
 * test_engine_store.c - what reaches SQLite: visibility before the flush,
 * persistence across reopen (SC-003), deletion (FR-008), the schema and its
 * in-place upgrade, summaries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void test_store_entry_is_queryable_before_the_flush(void **state)
{
	struct fixture *fx = *state;
	struct got got;
	sqlite3 *db;

	/* A long flush interval: the entry can only come from memory. */
	fx->config.flush_ms = 60000;
	fx_reopen(fx);
	assert_int_equal(tl_task_create(fx->engine, "t1"), 0);
	assert_int_equal(fx_append(fx, "t1", TL_INFO, NULL, NULL, "hello"), 1);

	fx_query(fx, "t1", NULL, 0, 0, &got);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.items[0].message, "hello");
	assert_string_equal(got.items[0].source, "plugin");
	got_release(&got);

	db = fx_sql(fx);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"), 0);
	assert_int_equal(tl_flush(fx->engine, 5000), 0);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"), 1);
	sqlite3_close(db);
}

static void test_store_reopen_returns_every_entry(void **state)
{
	struct fixture *fx = *state;
	char message[64];
	struct got got;

	assert_int_equal(tl_task_create(fx->engine, "job-1"), 0);
	for (int i = 1; i <= 1000; i++)
		fx_append(fx, "job-1", (enum tl_level)(i % TL_LEVEL_COUNT),
			  i % 2 ? "plugin" : "superset_api",
			  i % 10 ? NULL : "{\"dashboard_id\": 7}", "entry %d",
			  i);
	assert_int_equal(tl_task_set_status(fx->engine, "job-1", TL_FAILED, 3),
			 0);
	fx_reopen(fx); /* close commits, without an explicit flush */

	struct tl_task_info info;

	assert_int_equal(tl_task_get(fx->engine, "job-1", &info), 0);
	assert_int_equal(info.status, TL_FAILED);
	assert_int_equal(info.exit_code, 3);
	assert_int_equal(info.last_seq, 1000);
	fx_query(fx, "job-1", NULL, 0, 0, &got);
	assert_int_equal(got.n, 1000);
	for (size_t i = 0; i < got.n; i++) {
		snprintf(message, sizeof(message), "entry %zu", i + 1);
		assert_int_equal(got.items[i].seq, i + 1);
		assert_string_equal(got.items[i].message, message);
		assert_int_equal(got.items[i].level, (i + 1) % TL_LEVEL_COUNT);
		assert_string_equal(got.items[i].source,
				    (i + 1) % 2 ? "plugin" : "superset_api");
		if ((i + 1) % 10 == 0)
			assert_string_equal(got.items[i].metadata,
					    "{\"dashboard_id\":7}");
		else
			assert_null(got.items[i].metadata);
	}
	got_release(&got);

	/* New entries continue the sequence. */
	assert_int_equal(fx_append(fx, "job-1", TL_INFO, NULL, NULL, "more"),
			 1001);
}

static void test_store_bytes_are_kept_as_written(void **state)
{
	struct fixture *fx = *state;
	const char raw[] = "bad utf-8 \xff\xfe, a tab\t, a NUL \0 inside";
	struct tl_new_entry e = {
	    .level = TL_ERROR,
	    .message = raw,
	    .message_len = sizeof(raw) - 1,
	};
	struct got got;

	assert_int_equal(tl_task_create(fx->engine, "bytes"), 0);
	assert_int_equal(tl_append(fx->engine, "bytes", &e, NULL), 0);
	fx_reopen(fx);
	fx_query(fx, "bytes", NULL, 0, 0, &got);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.items[0].level, TL_ERROR);
	assert_int_equal(got.items[0].message_len, sizeof(raw) - 1);
	assert_memory_equal(got.items[0].message, raw, sizeof(raw) - 1);
	got_release(&got);
}

static void test_store_delete_removes_task_and_rows(void **state)
{
	struct fixture *fx = *state;
	struct tl_task_info info;
	struct got got;
	sqlite3 *db = fx_sql(fx);

	/* Only tl_flush commits here, so "late" stays in memory. */
	fx->config.flush_ms = 60000;
	fx_reopen(fx);
	assert_int_equal(tl_task_create(fx->engine, "keep"), 0);
	assert_int_equal(tl_task_create(fx->engine, "doomed"), 0);
	for (int i = 0; i < 500; i++) {
		fx_append(fx, "keep", TL_INFO, NULL, NULL, "k %d", i);
		fx_append(fx, "doomed", TL_INFO, NULL, NULL, "d %d", i);
	}
	assert_int_equal(tl_flush(fx->engine, 5000), 0);
	/* Some rows committed, some still only in memory. */
	for (int i = 0; i < 100; i++)
		fx_append(fx, "doomed", TL_INFO, NULL, NULL, "late %d", i);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"
				     " WHERE task_id = 'doomed'"),
			 500);

	assert_int_equal(tl_task_delete(fx->engine, "doomed"), 0);
	assert_int_equal(tl_task_get(fx->engine, "doomed", &info), -ENOENT);
	assert_int_equal(
	    tl_query(fx->engine, "doomed", NULL, 0, 0, NULL, NULL, NULL),
	    -ENOENT);
	assert_int_equal(
	    tl_append(fx->engine, "doomed",
		      &(struct tl_new_entry){.message = "x", .message_len = 1},
		      NULL),
	    -ENOENT);
	assert_int_equal(tl_task_delete(fx->engine, "doomed"), -ENOENT);
	assert_int_equal(tl_flush(fx->engine, 5000), 0);

	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"
				     " WHERE task_id = 'doomed'"),
			 0);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM tasks"
				     " WHERE id = 'doomed'"),
			 0);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"
				     " WHERE task_id = 'keep'"),
			 500);
	sqlite3_close(db);

	/* The id can be used again, and starts afresh. */
	assert_int_equal(tl_task_create(fx->engine, "doomed"), 0);
	assert_int_equal(fx_append(fx, "doomed", TL_INFO, NULL, NULL, "new"),
			 1);
	fx_reopen(fx);
	fx_query(fx, "doomed", NULL, 0, 0, &got);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.items[0].message, "new");
	got_release(&got);
	fx_query(fx, "keep", NULL, 0, 0, &got);
	assert_int_equal(got.n, 500);
	got_release(&got);
}

static void test_store_schema_has_the_spec_columns(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *db;

	assert_int_equal(tl_task_create(fx->engine, "s"), 0);
	fx_append(fx, "s", TL_WARNING, "api", "{\"k\":\"v\"}", "m");
	assert_int_equal(tl_flush(fx->engine, 5000), 0);
	db = fx_sql(fx);
	/* FR-002: one query a user could type in the sqlite3 shell. */
	assert_int_equal(sql_int(db,
				 "SELECT count(*) FROM task_logs WHERE"
				 " task_id='s' AND level='WARNING' AND"
				 " source='api' AND message='m' AND"
				 " json_extract(metadata,'$.k')='v' AND"
				 " timestamp LIKE '20__-__-__T__:__:__.___Z'"
				 " AND id > 0"),
			 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM"
				     " pragma_foreign_key_list('task_logs')"
				     " WHERE \"table\"='tasks' AND"
				     " \"from\"='task_id' AND"
				     " on_delete='CASCADE'"),
			 1);
	assert_int_equal(sql_int(db, "SELECT seq FROM task_log_entries"), 1);
	assert_int_equal(sql_int(db, "PRAGMA user_version"), 2);
	sqlite3_close(db);
}

static void test_store_upgrades_an_older_schema_in_place(void **state)
{
	struct fixture *fx = *state;
	struct tl_task_info info;
	struct got got;
	sqlite3 *db;

	tl_engine_close(fx->engine, 1000);
	fx->engine = NULL;
	remove(fx->db);
	db = fx_sql(fx);
	/* What version 1 of the schema wrote. */
	assert_int_equal(
	    sqlite3_exec(db,
			 "CREATE TABLE tasks (key INTEGER PRIMARY KEY"
			 " AUTOINCREMENT, id TEXT NOT NULL UNIQUE, status"
			 " TEXT NOT NULL DEFAULT 'running', created TEXT"
			 " NOT NULL, finished TEXT);"
			 "CREATE TABLE task_logs (id INTEGER PRIMARY KEY,"
			 " task_id TEXT NOT NULL REFERENCES tasks(id) ON"
			 " DELETE CASCADE, timestamp TEXT NOT NULL, level"
			 " TEXT NOT NULL, source TEXT NOT NULL, message"
			 " TEXT NOT NULL, metadata TEXT);"
			 "INSERT INTO tasks VALUES(1, 'old', 'succeeded',"
			 " '2026-01-01T00:00:00.000Z',"
			 " '2026-01-01T00:01:00.000Z');"
			 "INSERT INTO task_logs VALUES(4294967297, 'old',"
			 " '2026-01-01T00:00:30.000Z', 'INFO', 'plugin',"
			 " 'from v1', NULL);"
			 "PRAGMA user_version = 1;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	fx_open(fx);
	assert_int_equal(tl_task_get(fx->engine, "old", &info), 0);
	assert_int_equal(info.status, TL_SUCCEEDED);
	assert_int_equal(info.last_seq, 1);
	fx_query(fx, "old", NULL, 0, 0, &got);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.items[0].message, "from v1");
	got_release(&got);
	assert_int_equal(tl_task_set_status(fx->engine, "old", TL_FAILED, 9),
			 0);
	assert_int_equal(tl_flush(fx->engine, 5000), 0);
	db = fx_sql(fx);
	assert_int_equal(sql_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(sql_int(db, "SELECT exit_code FROM tasks"), 9);
	sqlite3_close(db);
}

static void test_store_refuses_a_newer_schema(void **state)
{
	struct fixture *fx = *state;
	struct tl_engine *engine = NULL;
	sqlite3 *db = fx_sql(fx);

	assert_int_equal(
	    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(tl_engine_open(&fx->config, &engine),
			 -EPROTONOSUPPORT);
	assert_null(engine);
}

static void test_store_summary_counts_stored_and_live(void **state)
{
	struct fixture *fx = *state;
	struct tl_task_summary s;
	char **values;

	assert_int_equal(tl_task_create(fx->engine, "sum"), 0);
	fx_append(fx, "sum", TL_INFO, "plugin", "{\"dashboard_id\":1}", "a");
	fx_append(fx, "sum", TL_ERROR, "api", "{\"dashboard_id\":2}", "b");
	fx_reopen(fx);
	fx_append(fx, "sum", TL_ERROR, "api",
		  "{\"dashboard_id\":2,\"database_uuid\":\"u-1\"}", "c");
	fx_append(fx, "sum", TL_DEBUG, "system", NULL, "d");

	assert_int_equal(tl_task_summary(fx->engine, "sum", &s), 0);
	assert_int_equal(s.total, 4);
	assert_int_equal(s.levels[TL_DEBUG], 1);
	assert_int_equal(s.levels[TL_INFO], 1);
	assert_int_equal(s.levels[TL_ERROR], 2);
	assert_int_equal(s.n_sources, 3);
	assert_string_equal(s.sources[0].name, "api");
	assert_int_equal(s.sources[0].count, 2);
	assert_string_equal(s.sources[2].name, "system");
	assert_int_equal(s.n_meta_keys, 2);
	assert_string_equal(s.meta_keys[0], "dashboard_id");
	assert_string_equal(s.meta_keys[1], "database_uuid");
	tl_task_summary_release(&s);

	assert_int_equal(
	    tl_task_meta_values(fx->engine, "sum", "dashboard_id", &values), 0);
	assert_string_equal(values[0], "1");
	assert_string_equal(values[1], "2");
	assert_null(values[2]);
	tl_strv_free(values);
	assert_int_equal(tl_task_summary(fx->engine, "nope", &s), -ENOENT);
}

static void test_store_rejects_bad_input(void **state)
{
	struct fixture *fx = *state;
	struct tl_new_entry e = {.message = "m", .message_len = 1};

	assert_int_equal(tl_task_create(fx->engine, ".hidden"), -EINVAL);
	assert_int_equal(tl_task_create(fx->engine, "a/b"), -EINVAL);
	assert_int_equal(tl_task_create(fx->engine, ""), -EINVAL);
	assert_int_equal(tl_task_create(fx->engine, "ok"), 0);
	assert_int_equal(tl_task_create(fx->engine, "ok"), -EEXIST);
	e.metadata = "[1,2]";
	assert_int_equal(tl_append(fx->engine, "ok", &e, NULL), -EINVAL);
	e.metadata = "{not json";
	assert_int_equal(tl_append(fx->engine, "ok", &e, NULL), -EINVAL);
	e.metadata = NULL;
	e.source = "bad/source";
	assert_int_equal(tl_append(fx->engine, "ok", &e, NULL), -EINVAL);
	e.source = NULL;
	e.level = TL_LEVEL_COUNT;
	assert_int_equal(tl_append(fx->engine, "ok", &e, NULL), -EINVAL);
	e.level = TL_INFO;
	e.message_len = TL_MESSAGE_MAX + 1;
	assert_int_equal(tl_append(fx->engine, "ok", &e, NULL), -EMSGSIZE);
	assert_int_equal(tl_task_set_status(fx->engine, "none", TL_FAILED, 1),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_store_entry_is_queryable_before_the_flush, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_reopen_returns_every_entry, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_bytes_are_kept_as_written, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_delete_removes_task_and_rows, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_schema_has_the_spec_columns, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_upgrades_an_older_schema_in_place, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_refuses_a_newer_schema,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_summary_counts_stored_and_live, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_rejects_bad_input,
					    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
