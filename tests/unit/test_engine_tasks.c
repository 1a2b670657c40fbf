/*
 * test_engine_tasks.c - the task lifecycle and retention (FR-009), and
 * paging through a task's entries with a cursor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void test_tasks_list_and_status(void **state)
{
	struct fixture *fx = *state;
	struct tl_task_info *list, info;
	size_t n;

	assert_int_equal(tl_task_list(fx->engine, &list, &n), 0);
	assert_int_equal(n, 0);
	assert_null(list);
	assert_int_equal(tl_task_create(fx->engine, "first"), 0);
	assert_int_equal(tl_task_create(fx->engine, "second"), 0);
	assert_int_equal(
	    tl_task_set_status(fx->engine, "first", TL_SUCCEEDED, 0), 0);
	assert_int_equal(tl_task_get(fx->engine, "first", &info), 0);
	assert_int_equal(info.status, TL_SUCCEEDED);
	assert_true(info.finished_ms >= info.created_ms);
	fx_reopen(fx);
	assert_int_equal(tl_task_list(fx->engine, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "first");
	assert_int_equal(list[0].status, TL_SUCCEEDED);
	assert_string_equal(list[1].id, "second");
	assert_int_equal(list[1].status, TL_RUNNING);
	assert_int_equal(list[1].finished_ms, 0);
	free(list);
}

static void test_retention_deletes_only_old_finished_tasks(void **state)
{
	struct fixture *fx = *state;
	struct tl_task_info info;
	int64_t cutoff;
	sqlite3 *db;

	assert_int_equal(tl_task_create(fx->engine, "old-done"), 0);
	assert_int_equal(tl_task_create(fx->engine, "old-running"), 0);
	assert_int_equal(tl_task_create(fx->engine, "new-done"), 0);
	fx_append(fx, "old-done", TL_INFO, NULL, NULL, "x");
	fx_append(fx, "old-running", TL_INFO, NULL, NULL, "y");
	assert_int_equal(
	    tl_task_set_status(fx->engine, "old-done", TL_SUCCEEDED, 0), 0);
	usleep(30 * 1000);
	cutoff = tl_now_ms();
	usleep(30 * 1000);
	assert_int_equal(
	    tl_task_set_status(fx->engine, "new-done", TL_FAILED, 1), 0);
	assert_int_equal(tl_flush(fx->engine, 5000), 0);

	assert_int_equal(tl_retention_apply(fx->engine, cutoff), 1);
	assert_int_equal(tl_flush(fx->engine, 5000), 0);
	assert_int_equal(tl_task_get(fx->engine, "old-done", &info), -ENOENT);
	assert_int_equal(tl_task_get(fx->engine, "old-running", &info), 0);
	assert_int_equal(tl_task_get(fx->engine, "new-done", &info), 0);
	db = fx_sql(fx);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"
				     " WHERE task_id = 'old-done'"),
			 0);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM tasks"), 2);
	sqlite3_close(db);
}

static void test_retention_runs_by_itself_when_configured(void **state)
{
	struct fixture *fx = *state;
	struct tl_task_info info;
	int tries;

	assert_int_equal(tl_task_create(fx->engine, "done"), 0);
	assert_int_equal(tl_task_create(fx->engine, "running"), 0);
	assert_int_equal(
	    tl_task_set_status(fx->engine, "done", TL_SUCCEEDED, 0), 0);
	usleep(20 * 1000);
	fx->config.retention_ms = 10;
	fx_reopen(fx);
	for (tries = 0; tries < 200; tries++) {
		if (tl_task_get(fx->engine, "done", &info) == -ENOENT)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(tl_task_get(fx->engine, "done", &info), -ENOENT);
	assert_int_equal(tl_task_get(fx->engine, "running", &info), 0);
}

struct page {
	int n;
};

static int count_entry(const struct tl_entry *e, void *ctx)
{
	(void)e;
	((struct page *)ctx)->n++;
	return 0;
}

static void test_query_pages_across_memory_and_disk(void **state)
{
	struct fixture *fx = *state;
	struct tl_filter *f;
	uint64_t after = 0, next;
	int pages = 0, seen = 0;
	struct got got;

	fx->config.flush_ms = 60000;
	fx_reopen(fx);
	assert_int_equal(tl_task_create(fx->engine, "p"), 0);
	for (int i = 1; i <= 250; i++)
		fx_append(fx, "p", i % 5 == 0 ? TL_ERROR : TL_INFO, NULL, NULL,
			  "line %d", i);
	assert_int_equal(tl_flush(fx->engine, 5000), 0);
	for (int i = 251; i <= 400; i++) /* these stay in memory */
		fx_append(fx, "p", i % 5 == 0 ? TL_ERROR : TL_INFO, NULL, NULL,
			  "line %d", i);

	assert_int_equal(tl_filter_parse("level=ERROR+", 12, &f, NULL), 0);
	do {
		struct page page = {0};

		assert_int_equal(tl_query(fx->engine, "p", f, after, 7,
					  count_entry, &page, &next),
				 0);
		assert_true(next >= after);
		seen += page.n;
		pages++;
		if (next == after)
			break;
		after = next;
	} while (pages < 100);
	assert_int_equal(seen, 80);
	assert_int_equal(after, 400);
	tl_filter_free(f);

	/* The filter's own after= and limit= terms work the same way. */
	fx_query(fx, "p", "after=245&limit=3", 0, 0, &got);
	assert_int_equal(got.n, 3);
	assert_int_equal(got.items[0].seq, 246);
	assert_int_equal(got.items[2].seq, 248);
	got_release(&got);
	fx_query(fx, "p", "q=line%20399", 0, 0, &got);
	assert_int_equal(got.n, 1);
	got_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tasks_list_and_status,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_retention_deletes_only_old_finished_tasks, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_retention_runs_by_itself_when_configured, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_query_pages_across_memory_and_disk, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
