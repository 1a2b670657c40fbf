/*
 * test_sdk_logger.c - the plugin SDK (plugins/tasklog.h) writing to a task
 * folder on disk. Every line it writes is parsed back with the engine's own
 * JSON-line parser, the one the mount uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tasklog.h"
#include "testutil.h"

struct sdk_fixture {
	char dir[64];
	char all[96];
};

static int sdk_setup(void **state)
{
	struct sdk_fixture *f = calloc(1, sizeof(*f));
	char logs[80];

	snprintf(f->dir, sizeof(f->dir), "/tmp/tl-sdk-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(logs, sizeof(logs), "%s/logs", f->dir);
	assert_int_equal(mkdir(logs, 0755), 0);
	snprintf(f->all, sizeof(f->all), "%s/logs/all", f->dir);
	close(open(f->all, O_CREAT | O_WRONLY, 0644));
	*state = f;
	return 0;
}

static int sdk_teardown(void **state)
{
	struct sdk_fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The file's lines, parsed as the mount parses them. */
static size_t read_lines(const char *path, struct tl_json_line *out, size_t max)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	assert_non_null(fp);
	while ((len = getline(&line, &cap, fp)) > 0) {
		assert_int_equal(line[len - 1], '\n');
		if (n < max)
			assert_int_equal(
			    tl_json_line_parse(line, (size_t)len - 1, &out[n]),
			    0);
		n++;
	}
	free(line);
	fclose(fp);
	return n;
}

static void release_lines(struct tl_json_line *lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tl_json_line_release(&lines[i]);
}

static void test_sdk_logs_levels_sources_and_metadata(void **state)
{
	struct sdk_fixture *f = *state;
	struct tasklog_context *ctx;
	struct tasklog_logger *api;
	struct tl_json_line l[8];

	assert_int_equal(tasklog_context_open(f->dir, "t1", &ctx), 0);
	assert_string_equal(ctx->task_id, "t1");
	assert_string_equal(tasklog_logger_source(ctx->logger), "plugin");
	api = tasklog_logger_with_source(ctx->logger, "api");
	assert_non_null(api);
	assert_ptr_equal(tasklog_logger_with_source(ctx->logger, "api"), api);

	assert_int_equal(tasklog_info(ctx->logger, "hello %d", 42), 0);
	assert_int_equal(tasklog_warning(api, "quote \" tab \t nl \n end"), 0);
	assert_int_equal(tasklog_log(api, TASKLOG_ERROR,
				     "{\"dashboard_id\": 7,\n \"ok\": [true]}",
				     "with %s", "metadata"),
			 0);
	assert_int_equal(
	    tasklog_log_kv(ctx->logger, TASKLOG_DEBUG,
			   (const char *[]){"database_uuid", "u-\"1", NULL},
			   "kv"),
	    0);
	assert_int_equal(tasklog_write(ctx->logger, TASKLOG_CRITICAL, NULL,
				       "raw\0bytes \xff", 11),
			 0);
	assert_int_equal(tasklog_context_close(ctx), 0);

	assert_int_equal(read_lines(f->all, l, 8), 5);
	assert_string_equal(l[0].message, "hello 42");
	assert_int_equal(l[0].level, TL_INFO);
	assert_string_equal(l[0].source, "plugin");
	assert_true(l[0].ts_ms > 0);
	assert_null(l[0].metadata);
	assert_string_equal(l[1].message, "quote \" tab \t nl \n end");
	assert_string_equal(l[1].source, "api");
	assert_int_equal(l[1].level, TL_WARNING);
	assert_string_equal(l[2].metadata,
			    "{\"dashboard_id\":7,\"ok\":[true]}");
	assert_int_equal(l[2].level, TL_ERROR);
	assert_string_equal(l[3].metadata, "{\"database_uuid\":\"u-\\\"1\"}");
	assert_int_equal(l[3].level, TL_DEBUG);
	/* NUL becomes U+FFFD; other bytes are kept as written. */
	assert_string_equal(l[4].message, "raw\xef\xbf\xbd"
					  "bytes \xff");
	assert_int_equal(l[4].level, TL_CRITICAL);
	release_lines(l, 5);
}

static void test_sdk_refuses_bad_input(void **state)
{
	struct sdk_fixture *f = *state;
	struct tasklog_context *ctx;

	assert_int_equal(tasklog_context_open(f->dir, "t1", &ctx), 0);
	assert_null(tasklog_logger_with_source(ctx->logger, ".hidden"));
	assert_int_equal(errno, EINVAL);
	assert_null(tasklog_logger_with_source(ctx->logger, "a/b"));
	assert_null(tasklog_logger_with_source(ctx->logger, ""));
	assert_int_equal(tasklog_log(ctx->logger, TASKLOG_INFO, "[1]", "x"),
			 -EINVAL);
	assert_int_equal(
	    tasklog_log(ctx->logger, TASKLOG_INFO, "{\"a\":}", "x"), -EINVAL);
	assert_int_equal(tasklog_log(ctx->logger, TASKLOG_INFO, "{} {}", "x"),
			 -EINVAL);
	assert_int_equal(
	    tasklog_log(ctx->logger, (enum tasklog_level)9, NULL, "x"),
	    -EINVAL);
	assert_int_equal(
	    tasklog_log_kv(ctx->logger, TASKLOG_INFO,
			   (const char *[]){"key_without_value", NULL}, "x"),
	    -EINVAL);
	assert_int_equal(tasklog_context_close(ctx), 0);
	assert_int_equal(read_lines(f->all, NULL, 0), 0);

	assert_int_equal(tasklog_context_open("/nonexistent/task", "t", &ctx),
			 -ENOENT);
}

static void test_sdk_buffers_until_flush_or_interval(void **state)
{
	struct sdk_fixture *f = *state;
	struct tasklog_context *ctx;
	struct stat st;

	assert_int_equal(tasklog_context_open(f->dir, "t1", &ctx), 0);
	tasklog_context_set_flush_ms(ctx, 60000);
	for (int i = 0; i < 10; i++)
		assert_int_equal(tasklog_info(ctx->logger, "line %d", i), 0);
	assert_int_equal(stat(f->all, &st), 0);
	assert_int_equal(st.st_size, 0); /* held: the interval is a minute */
	assert_int_equal(tasklog_flush(ctx), 0);
	assert_int_equal(read_lines(f->all, NULL, 0), 10);

	/* With a short interval the flusher thread writes on its own. */
	tasklog_context_set_flush_ms(ctx, 20);
	assert_int_equal(tasklog_info(ctx->logger, "by the thread"), 0);
	for (int i = 0; i < 500 && read_lines(f->all, NULL, 0) < 11; i++)
		usleep(10000);
	assert_int_equal(read_lines(f->all, NULL, 0), 11);
	assert_int_equal(tasklog_context_close(ctx), 0);
}

static void test_sdk_config_from_env(void **state)
{
	struct sdk_fixture *f = *state;
	struct tasklog_context *ctx;

	unsetenv("TASKLOG_TASK_ID");
	assert_int_equal(tasklog_context_from_env(&ctx), -ENOENT);
	setenv("TASKLOG_TASK_ID", "envtask", 1);
	setenv("TASKLOG_DIR", f->dir, 1);
	setenv("TASKLOG_CONFIG_dashboards", "12", 1);
	setenv("TASKLOG_CONFIG_target", "a=b", 1);
	assert_int_equal(tasklog_context_from_env(&ctx), 0);
	assert_string_equal(ctx->task_id, "envtask");
	assert_string_equal(tasklog_config_get(ctx, "dashboards"), "12");
	assert_string_equal(tasklog_config_get(ctx, "target"), "a=b");
	assert_null(tasklog_config_get(ctx, "missing"));
	assert_int_equal(ctx->config_count, 2);
	assert_int_equal(tasklog_context_close(ctx), 0);
	unsetenv("TASKLOG_CONFIG_dashboards");
	unsetenv("TASKLOG_CONFIG_target");
}

/* A write error reaches the caller; a failing sink never grows memory. */
static void test_sdk_reports_write_errors(void **state)
{
	struct sdk_fixture *f = *state;
	struct tasklog_context *ctx;

	assert_int_equal(unlink(f->all), 0);
	assert_int_equal(symlink("/dev/full", f->all), 0);
	assert_int_equal(tasklog_context_open(f->dir, "t1", &ctx), 0);

	tasklog_context_set_flush_ms(ctx, 0);
	assert_int_equal(tasklog_info(ctx->logger, "at once"), -ENOSPC);

	/* Buffered: accepted, then the background write fails... */
	tasklog_context_set_flush_ms(ctx, 10);
	assert_int_equal(tasklog_info(ctx->logger, "buffered"), 0);
	usleep(200000);
	/* ...and from then on each call is refused with the error. */
	for (int i = 0; i < 100000; i++)
		assert_int_equal(tasklog_info(ctx->logger, "refused %d", i),
				 -ENOSPC);
	assert_int_equal(tasklog_flush(ctx), -ENOSPC);
	assert_int_equal(tasklog_context_close(ctx), -ENOSPC);
}

static void *log_many(void *arg)
{
	struct tasklog_logger *log = arg;

	for (int i = 0; i < 2000; i++)
		if (tasklog_info(log, "%s line %d %0200d",
				 tasklog_logger_source(log), i, 0) < 0)
			return (void *)1;
	return NULL;
}

static void test_sdk_threads_write_whole_lines(void **state)
{
	struct sdk_fixture *f = *state;
	struct tasklog_context *ctx;
	pthread_t threads[8];
	static struct tl_json_line l[16000];
	int per_thread[8] = {0};

	assert_int_equal(tasklog_context_open(f->dir, "t1", &ctx), 0);
	for (int t = 0; t < 8; t++) {
		char source[16];

		snprintf(source, sizeof(source), "w%d", t);
		pthread_create(&threads[t], NULL, log_many,
			       tasklog_logger_with_source(ctx->logger, source));
	}
	for (int t = 0; t < 8; t++) {
		void *failed = NULL;

		pthread_join(threads[t], &failed);
		assert_null(failed);
	}
	assert_int_equal(tasklog_context_close(ctx), 0);
	assert_int_equal(read_lines(f->all, l, 16000), 16000);
	for (int i = 0; i < 16000; i++) {
		int t = l[i].source[1] - '0';

		/* Each thread's lines arrive whole and in its order. */
		char want[48];

		snprintf(want, sizeof(want), "w%d line %d ", t,
			 per_thread[t]++);
		assert_memory_equal(l[i].message, want, strlen(want));
	}
	release_lines(l, 16000);
}

/*
 * A forked child does not write the lines its parent had buffered. (The
 * child writes unbuffered: a thread started in the child of a threaded
 * process can deadlock in ASan's allocator.)
 */
static void test_sdk_fork_does_not_duplicate(void **state)
{
	struct sdk_fixture *f = *state;
	struct tasklog_context *ctx;
	int status;
	pid_t pid;

	assert_int_equal(tasklog_context_open(f->dir, "t1", &ctx), 0);
	tasklog_context_set_flush_ms(ctx, 60000);
	assert_int_equal(tasklog_info(ctx->logger, "parent before fork"), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		tasklog_context_set_flush_ms(ctx, 0);
		_exit(tasklog_info(ctx->logger, "child") == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(status, 0);
	assert_int_equal(read_lines(f->all, NULL, 0), 1);
	assert_int_equal(tasklog_context_close(ctx), 0);
	assert_int_equal(read_lines(f->all, NULL, 0), 2);
}

static const char *self_path;

/* Run as a separate program: log, then exit() without closing. */
static int exit_without_close(const char *dir)
{
	struct tasklog_context *ctx;

	if (tasklog_context_open(dir, "t1", &ctx) < 0)
		return 1;
	tasklog_context_set_flush_ms(ctx, 60000);
	tasklog_info(ctx->logger, "written by the exit hook");
	exit(0);
}

static void test_sdk_exit_writes_buffered_lines(void **state)
{
	struct sdk_fixture *f = *state;
	struct tl_json_line l[1] = {{0}};
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s exit-without-close %s", self_path,
		 f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(read_lines(f->all, l, 1), 1);
	assert_string_equal(l[0].message, "written by the exit hook");
	release_lines(l, 1);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_sdk_logs_levels_sources_and_metadata, sdk_setup,
		sdk_teardown),
	    cmocka_unit_test_setup_teardown(test_sdk_refuses_bad_input,
					    sdk_setup, sdk_teardown),
	    cmocka_unit_test_setup_teardown(
		test_sdk_buffers_until_flush_or_interval, sdk_setup,
		sdk_teardown),
	    cmocka_unit_test_setup_teardown(test_sdk_config_from_env, sdk_setup,
					    sdk_teardown),
	    cmocka_unit_test_setup_teardown(test_sdk_reports_write_errors,
					    sdk_setup, sdk_teardown),
	    cmocka_unit_test_setup_teardown(test_sdk_threads_write_whole_lines,
					    sdk_setup, sdk_teardown),
	    cmocka_unit_test_setup_teardown(test_sdk_fork_does_not_duplicate,
					    sdk_setup, sdk_teardown),
	    cmocka_unit_test_setup_teardown(test_sdk_exit_writes_buffered_lines,
					    sdk_setup, sdk_teardown),
	};

	if (argc == 3 && strcmp(argv[1], "exit-without-close") == 0)
		return exit_without_close(argv[2]);
	self_path = argv[0];

	return cmocka_run_group_tests(tests, NULL, NULL);
}
