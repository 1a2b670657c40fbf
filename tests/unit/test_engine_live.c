/* test_engine_live.c - waiting for new entries: tl_wait and watches. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

struct later {
	struct fixture *fx;
	int delay_ms;
	int what; /* 0 append, 1 finish, 2 delete */
};

static void *do_later(void *p)
{
	struct later *l = p;

	usleep((useconds_t)l->delay_ms * 1000);
	if (l->what == 0)
		fx_append(l->fx, "t", TL_INFO, NULL, NULL, "news");
	else if (l->what == 1)
		tl_task_set_status(l->fx->engine, "t", TL_SUCCEEDED, 0);
	else
		tl_task_delete(l->fx->engine, "t");
	return NULL;
}

static int wait_with(struct fixture *fx, int what, uint64_t after)
{
	struct later l = {fx, 100, what};
	pthread_t thread;
	int rc;

	assert_int_equal(pthread_create(&thread, NULL, do_later, &l), 0);
	rc = tl_wait(fx->engine, "t", after, 5000);
	pthread_join(thread, NULL);
	return rc;
}

static void test_wait_wakes_on_append_finish_and_delete(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(tl_task_create(fx->engine, "t"), 0);
	assert_int_equal(tl_wait(fx->engine, "t", 0, 50), -ETIMEDOUT);
	assert_int_equal(wait_with(fx, 0, 0), 0);
	assert_int_equal(tl_wait(fx->engine, "t", 0, 0), 0); /* seq 1 > 0 */
	assert_int_equal(wait_with(fx, 1, 1), -ENODATA);
	/* A finished task with unread entries still returns them first. */
	assert_int_equal(tl_wait(fx->engine, "t", 0, 0), 0);
	assert_int_equal(tl_task_set_status(fx->engine, "t", TL_RUNNING, 0), 0);
	assert_int_equal(wait_with(fx, 2, 1), -ENOENT);
	assert_int_equal(tl_wait(fx->engine, "missing", 0, 10), -ENOENT);
}

static uint64_t drain(int fd)
{
	uint64_t count = 0;

	if (read(fd, &count, sizeof(count)) != sizeof(count))
		return 0;
	return count;
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void test_watch_fires_once_per_arm(void **state)
{
	struct fixture *fx = *state;
	struct tl_watch *w;
	int fd;

	assert_int_equal(tl_task_create(fx->engine, "t"), 0);
	assert_int_equal(tl_watch_new(fx->engine, "t", &w), 0);
	fd = tl_watch_fd(w);
	assert_int_equal(tl_watch_arm(w, 0), 0);
	assert_false(readable(fd, 50));
	for (int i = 0; i < 1000; i++)
		fx_append(fx, "t", TL_INFO, NULL, NULL, "n %d", i);
	assert_true(readable(fd, 1000));
	assert_int_equal(drain(fd), 1); /* coalesced: one wake-up */

	/* Armed behind the newest entry: quiet until the next one. */
	assert_int_equal(tl_watch_arm(w, 1000), 0);
	assert_false(readable(fd, 50));
	fx_append(fx, "t", TL_INFO, NULL, NULL, "one more");
	assert_true(readable(fd, 1000));

	/* Armed behind older entries: fires at once. */
	assert_int_equal(tl_watch_arm(w, 10), 0);
	assert_true(readable(fd, 0));

	/* Finishing and deleting fire too. */
	assert_int_equal(tl_watch_arm(w, 1001), 0);
	assert_int_equal(tl_task_set_status(fx->engine, "t", TL_FAILED, 2), 0);
	assert_true(readable(fd, 1000));
	assert_int_equal(tl_task_set_status(fx->engine, "t", TL_RUNNING, 0), 0);
	assert_int_equal(tl_watch_arm(w, 1001), 0);
	assert_false(readable(fd, 20));
	assert_int_equal(tl_task_delete(fx->engine, "t"), 0);
	assert_true(readable(fd, 1000));
	assert_int_equal(tl_watch_arm(w, 1001), -ENOENT);
	tl_watch_free(w);
	tl_watch_free(NULL);
}

static void test_watch_on_many_tasks_stays_separate(void **state)
{
	struct fixture *fx = *state;
	struct tl_watch *a, *b;

	assert_int_equal(tl_task_create(fx->engine, "a"), 0);
	assert_int_equal(tl_task_create(fx->engine, "b"), 0);
	assert_int_equal(tl_watch_new(fx->engine, "a", &a), 0);
	assert_int_equal(tl_watch_new(fx->engine, "b", &b), 0);
	assert_int_equal(tl_watch_arm(a, 0), 0);
	assert_int_equal(tl_watch_arm(b, 0), 0);
	fx_append(fx, "b", TL_INFO, NULL, NULL, "for b");
	assert_true(readable(tl_watch_fd(b), 1000));
	assert_false(readable(tl_watch_fd(a), 50));
	tl_watch_free(a);
	tl_watch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_wait_wakes_on_append_finish_and_delete, fx_setup,
		fx_teardown),
	    cmocka_unit_test_setup_teardown(test_watch_fires_once_per_arm,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_watch_on_many_tasks_stays_separate, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
