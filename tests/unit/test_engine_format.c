/* test_engine_format.c - entries as text and JSON lines, and JSON input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static struct tl_entry sample(void)
{
	return (struct tl_entry){
	    .seq = 3,
	    .ts_ms = 1764842400123, /* 2025-12-04T10:00:00.123Z */
	    .level = TL_WARNING,
	    .source = "superset_api",
	    .message = "slow\nretrying",
	    .message_len = 13,
	    .metadata =
		"{\"dashboard_id\":12,\"name\":\"big sales\",\"ok\":true}",
	};
}

static void test_format_text_line(void **state)
{
	struct tl_entry e = sample();
	struct tl_buf out = {0};

	(void)state;
	tl_entry_format_text(&e, &out);
	assert_string_equal(
	    out.data,
	    "2025-12-04T10:00:00.123Z WARNING superset_api slow\n"
	    "\tretrying dashboard_id=12 name=\"big sales\" ok=true\n");
	e.metadata = NULL;
	e.message = "plain";
	e.message_len = 5;
	out.len = 0;
	tl_entry_format_text(&e, &out);
	assert_string_equal(out.data, "2025-12-04T10:00:00.123Z WARNING "
				      "superset_api plain\n");
	tl_buf_release(&out);
}

static void test_format_json_line_replaces_bad_utf8(void **state)
{
	struct tl_entry e = sample();
	struct tl_buf out = {0};

	(void)state;
	e.message = "caf\xc3\xa9 \xff \"q\"\t\x01";
	e.message_len = strlen(e.message);
	tl_entry_format_json("job-1", &e, &out);
	assert_string_equal(
	    out.data,
	    "{\"task_id\":\"job-1\",\"seq\":3,\"timestamp\":"
	    "\"2025-12-04T10:00:00.123Z\",\"level\":\"WARNING\",\"source\":"
	    "\"superset_api\",\"message\":\"caf\xc3\xa9 \xef\xbf\xbd "
	    "\\\"q\\\"\\t\\u0001\",\"metadata\":{\"dashboard_id\":12,"
	    "\"name\":\"big sales\",\"ok\":true}}\n");
	tl_buf_release(&out);
}

static void test_json_line_parse(void **state)
{
	const char *good = "{\"message\":\"hi\",\"level\":\"warn\","
			   "\"source\":\"api\",\"metadata\":{\"k\": 1},"
			   "\"timestamp\":\"2026-01-02T03:04:05Z\"}";
	struct tl_json_line line;

	(void)state;
	assert_int_equal(tl_json_line_parse(good, strlen(good), &line), 0);
	assert_string_equal(line.message, "hi");
	assert_int_equal(line.level, TL_WARNING);
	assert_string_equal(line.source, "api");
	assert_string_equal(line.metadata, "{\"k\":1}");
	assert_int_equal(line.ts_ms, 1767323045000);
	tl_json_line_release(&line);

	assert_int_equal(tl_json_line_parse("{\"message\":\"m\"}", 15, &line),
			 0);
	assert_int_equal(line.level, -1);
	assert_null(line.source);
	assert_null(line.metadata);
	assert_int_equal(line.ts_ms, 0);
	tl_json_line_release(&line);

	static const char *const bad[] = {
	    "{\"msg\":\"no message\"}",
	    "{\"message\":1}",
	    "{\"message\":\"m\",\"level\":\"LOUD\"}",
	    "{\"message\":\"m\",\"source\":\"a/b\"}",
	    "{\"message\":\"m\",\"metadata\":[1]}",
	    "{\"message\":\"m\",\"timestamp\":\"yesterday\"}",
	    "{\"message\": broken",
	    "[\"message\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    tl_json_line_parse(bad[i], strlen(bad[i]), &line), -EINVAL);
}

static void test_task_record_json(void **state)
{
	struct fixture *fx = *state;
	struct tl_buf out = {0};

	assert_int_equal(tl_task_create(fx->engine, "rec"), 0);
	fx_append(fx, "rec", TL_ERROR, "api", "{\"dashboard_id\":1}", "x");
	assert_int_equal(tl_task_set_status(fx->engine, "rec", TL_FAILED, 2),
			 0);
	assert_int_equal(tl_task_format_json(fx->engine, "rec", &out), 0);
	assert_non_null(strstr(out.data, "\"id\":\"rec\",\"status\":\"failed\","
					 "\"exit_code\":2"));
	assert_non_null(strstr(out.data,
			       "\"entries\":1,\"levels\":{\"DEBUG\":0,"
			       "\"INFO\":0,\"WARNING\":0,\"ERROR\":1,"
			       "\"CRITICAL\":0},\"sources\":{\"api\":1},"
			       "\"meta_keys\":[\"dashboard_id\"]}\n"));
	tl_buf_release(&out);
	assert_int_equal(tl_task_format_json(fx->engine, "none", &out),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_text_line),
	    cmocka_unit_test(test_format_json_line_replaces_bad_utf8),
	    cmocka_unit_test(test_json_line_parse),
	    cmocka_unit_test_setup_teardown(test_task_record_json, fx_setup,
					    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
