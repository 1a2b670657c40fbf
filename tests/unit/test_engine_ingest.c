/*
 * test_engine_ingest.c - many writers, batching, and the faults of FR-004:
 * a database that cannot be written keeps entries in memory, readers still
 * see them, and the memory high-water mark makes writers wait, never drop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define THREADS	   8
#define PER_THREAD 4000

struct writer_arg {
	struct fixture *fx;
	int thread;
	int count;
	int failures;
};

static void *concurrent_writer(void *p)
{
	struct writer_arg *a = p;
	char task[16], message[64];

	for (int j = 0; j < a->count; j++) {
		int t = (a->thread + j) % THREADS;
		struct tl_new_entry e = {.level = TL_INFO, .message = message};

		snprintf(task, sizeof(task), "task%d", t);
		e.message_len =
		    (size_t)snprintf(message, sizeof(message),
				     "task=%d thread=%d n=%d", t, a->thread, j);
		if (tl_append(a->fx->engine, task, &e, NULL) != 0)
			a->failures++;
	}
	return NULL;
}

static void check_tasks_unmixed(struct fixture *fx)
{
	int total = 0;

	for (int t = 0; t < THREADS; t++) {
		char task[16];
		int last_n[THREADS];
		struct got got;

		for (int i = 0; i < THREADS; i++)
			last_n[i] = -1;
		snprintf(task, sizeof(task), "task%d", t);
		fx_query(fx, task, NULL, 0, 0, &got);
		for (size_t i = 0; i < got.n; i++) {
			int tt, th, n;

			assert_int_equal(got.items[i].seq, i + 1); /* no gap */
			assert_int_equal(sscanf(got.items[i].message,
						"task=%d thread=%d n=%d", &tt,
						&th, &n),
					 3);
			assert_int_equal(tt, t);     /* never the wrong task */
			assert_true(n > last_n[th]); /* each writer's order */
			last_n[th] = n;
		}
		total += (int)got.n;
		got_release(&got);
	}
	assert_int_equal(total, THREADS * PER_THREAD);
}

static void test_ingest_concurrent_writers_never_mix_tasks(void **state)
{
	struct fixture *fx = *state;
	struct writer_arg args[THREADS];
	pthread_t threads[THREADS];
	sqlite3 *db;

	/* Small batches, so commits interleave with the writers. */
	fx->config.batch_max = 1000;
	fx->config.flush_ms = 10;
	fx_reopen(fx);
	for (int t = 0; t < THREADS; t++) {
		char task[16];

		snprintf(task, sizeof(task), "task%d", t);
		assert_int_equal(tl_task_create(fx->engine, task), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct writer_arg){fx, i, PER_THREAD, 0};
		assert_int_equal(pthread_create(&threads[i], NULL,
						concurrent_writer, &args[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	check_tasks_unmixed(fx);
	assert_int_equal(tl_flush(fx->engine, 10000), 0);
	db = fx_sql(fx);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"),
			 THREADS * PER_THREAD);
	/* Every row's task_id agrees with the task the id range belongs to. */
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs l JOIN"
				     " tasks t ON t.key = l.id >> 32"
				     " WHERE t.id <> l.task_id"),
			 0);
	sqlite3_close(db);
	fx_reopen(fx);
	check_tasks_unmixed(fx);
}

/* Another connection holds the write lock: the engine cannot commit. */
static sqlite3 *lock_database(struct fixture *fx)
{
	sqlite3 *db = fx_sql(fx);

	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	return db;
}

static void unlock_database(sqlite3 *db)
{
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

static void test_ingest_unwritable_database_keeps_entries(void **state)
{
	struct fixture *fx = *state;
	struct tl_stats stats;
	struct got got;
	sqlite3 *lock, *db;

	assert_int_equal(tl_task_create(fx->engine, "t"), 0);
	fx_append(fx, "t", TL_INFO, NULL, NULL, "before");
	assert_int_equal(tl_flush(fx->engine, 5000), 0);

	lock = lock_database(fx);
	for (int i = 0; i < 300; i++)
		fx_append(fx, "t", TL_WARNING, "api", NULL, "while locked %d",
			  i);
	assert_int_equal(tl_task_set_status(fx->engine, "t", TL_SUCCEEDED, 0),
			 0);
	assert_int_equal(tl_flush(fx->engine, 600), -ETIMEDOUT);

	tl_engine_stats(fx->engine, &stats);
	assert_true(stats.flush_errors >= 1);
	assert_true(stats.retries >= 1);
	assert_int_equal(stats.pending, 300);
	assert_int_equal(stats.stored, 1);
	/* Readers still see everything, from memory. */
	fx_query(fx, "t", NULL, 0, 0, &got);
	assert_int_equal(got.n, 301);
	assert_string_equal(got.items[300].message, "while locked 299");
	got_release(&got);
	fx_query(fx, "t", "level=WARNING&q=LOCKED%2029", 0, 0, &got);
	assert_int_equal(got.n, 11); /* 29 and 290..299 */
	got_release(&got);

	unlock_database(lock);
	assert_int_equal(tl_flush(fx->engine, 10000), 0);
	tl_engine_stats(fx->engine, &stats);
	assert_int_equal(stats.pending, 0);
	assert_int_equal(stats.stored, 301);
	db = fx_sql(fx);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"), 301);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM tasks"
				     " WHERE status = 'succeeded'"),
			 1);
	sqlite3_close(db);
}

static void test_ingest_close_waits_out_a_short_fault(void **state)
{
	struct fixture *fx = *state;
	sqlite3 *lock;
	struct got got;

	assert_int_equal(tl_task_create(fx->engine, "t"), 0);
	lock = lock_database(fx);
	for (int i = 0; i < 50; i++)
		fx_append(fx, "t", TL_INFO, NULL, NULL, "line %d", i);
	usleep(300 * 1000);
	unlock_database(lock);
	fx_reopen(fx); /* close retries until the lock is gone */
	fx_query(fx, "t", NULL, 0, 0, &got);
	assert_int_equal(got.n, 50);
	got_release(&got);
}

struct bulk_arg {
	struct fixture *fx;
	int count;
	int done;
	int failures;
};

static void *bulk_writer(void *p)
{
	struct bulk_arg *a = p;
	char message[128];

	memset(message, 'x', sizeof(message));
	for (int i = 0; i < a->count; i++) {
		struct tl_new_entry e = {
		    .level = TL_INFO, .message = message, .message_len = 100};

		if (tl_append(a->fx->engine, "big", &e, NULL) != 0)
			a->failures++;
		__atomic_store_n(&a->done, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_ingest_memory_limit_makes_writers_wait(void **state)
{
	struct fixture *fx = *state;
	struct bulk_arg arg = {fx, 20000, 0, 0};
	struct tl_stats stats;
	pthread_t thread;
	sqlite3 *lock, *db;
	int stalled;

	fx->config.mem_max = 256 << 10;
	fx_reopen(fx);
	assert_int_equal(tl_task_create(fx->engine, "big"), 0);
	lock = lock_database(fx);
	assert_int_equal(pthread_create(&thread, NULL, bulk_writer, &arg), 0);
	usleep(500 * 1000);
	stalled = __atomic_load_n(&arg.done, __ATOMIC_ACQUIRE);
	usleep(300 * 1000);
	/* The writer is held at the mark: no progress, memory bounded. */
	assert_int_equal(__atomic_load_n(&arg.done, __ATOMIC_ACQUIRE), stalled);
	assert_true(stalled < arg.count);
	tl_engine_stats(fx->engine, &stats);
	assert_true(stats.waits >= 1);
	assert_true(stats.pending_bytes <= fx->config.mem_max);
	assert_int_equal(stats.received, (uint64_t)stalled);

	unlock_database(lock);
	pthread_join(thread, NULL);
	assert_int_equal(arg.failures, 0);
	assert_int_equal(tl_flush(fx->engine, 10000), 0);
	db = fx_sql(fx);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"),
			 arg.count);
	sqlite3_close(db);
}

static void test_ingest_batches_by_size(void **state)
{
	struct fixture *fx = *state;
	struct tl_stats stats;
	sqlite3 *db;

	/* Only the size cap can trigger these commits. */
	fx->config.flush_ms = 60000;
	fx->config.batch_max = 100;
	fx_reopen(fx);
	assert_int_equal(tl_task_create(fx->engine, "t"), 0);
	for (int i = 0; i < 1000; i++)
		fx_append(fx, "t", TL_INFO, NULL, NULL, "n %d", i);
	db = fx_sql(fx);
	for (int tries = 0; tries < 200; tries++) {
		if (sql_int(db, "SELECT count(*) FROM task_logs") == 1000)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(sql_int(db, "SELECT count(*) FROM task_logs"), 1000);
	sqlite3_close(db);
	tl_engine_stats(fx->engine, &stats);
	assert_true(stats.batches >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_ingest_concurrent_writers_never_mix_tasks, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_ingest_unwritable_database_keeps_entries, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_ingest_close_waits_out_a_short_fault, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_ingest_memory_limit_makes_writers_wait, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(test_ingest_batches_by_size,
					    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
