/* test_web_api.c - the REST routes, called as the transport calls them. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "webview.h"

static cJSON *get(struct fixture *fx, const char *path, char *const *args,
		  size_t n, int want_status)
{
	struct web_response r;
	cJSON *json;

	web_api_answer(fx->engine, "GET", path, args, n, &r);
	if (r.status != want_status)
		fail_msg("%s: status %d, want %d: %s", path, r.status,
			 want_status, r.body.data);
	assert_string_equal(r.type, "application/json");
	json = cJSON_ParseWithLength(r.body.data, r.body.len);
	if (!json)
		fail_msg("%s: not JSON: %s", path, r.body.data);
	tl_buf_release(&r.body);
	return json;
}

static void test_web_tasks_and_record(void **state)
{
	struct fixture *fx = *state;
	cJSON *json;

	json = get(fx, "/api/tasks", NULL, 0, 200);
	assert_int_equal(cJSON_GetArraySize(json), 0);
	cJSON_Delete(json);
	assert_int_equal(tl_task_create(fx->engine, "t1"), 0);
	fx_append(fx, "t1", TL_INFO, "api", "{\"dashboard_id\":5}", "hello");
	json = get(fx, "/api/tasks", NULL, 0, 200);
	assert_int_equal(cJSON_GetArraySize(json), 1);
	assert_string_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(json, 0), "id")->valuestring,
	    "t1");
	cJSON_Delete(json);
	json = get(fx, "/api/tasks/t1", NULL, 0, 200);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(json, "sources"), "api")
		->valueint,
	    1);
	cJSON_Delete(json);
	cJSON_Delete(get(fx, "/api/tasks/none", NULL, 0, 404));
	cJSON_Delete(get(fx, "/api/tasks/.bad", NULL, 0, 400));
	cJSON_Delete(get(fx, "/api/nothing", NULL, 0, 404));
	cJSON_Delete(get(fx, "/api/tasks/t1/other", NULL, 0, 404));
}

static void test_web_logs_filter_and_paging(void **state)
{
	struct fixture *fx = *state;
	char *args[4];
	cJSON *json, *entries;

	assert_int_equal(tl_task_create(fx->engine, "t"), 0);
	for (int i = 1; i <= 30; i++)
		fx_append(fx, "t", i % 3 ? TL_INFO : TL_ERROR,
			  i % 2 ? "plugin" : "superset_api", NULL, "n=%d a&b",
			  i);
	/* A form-encoded "+" arrives as a space. */
	args[0] = (char *)"level=ERROR ";
	args[1] = (char *)"source=plugin,superset_api";
	args[2] = (char *)"limit=4";
	json = get(fx, "/api/tasks/t/logs", args, 3, 200);
	entries = cJSON_GetObjectItem(json, "entries");
	assert_int_equal(cJSON_GetArraySize(entries), 4);
	assert_int_equal(cJSON_GetObjectItem(json, "next")->valueint, 12);
	cJSON_Delete(json);
	args[3] = (char *)"after=12";
	json = get(fx, "/api/tasks/t/logs", args, 4, 200);
	entries = cJSON_GetObjectItem(json, "entries");
	assert_int_equal(cJSON_GetArraySize(entries), 4);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0), "seq")
		->valueint,
	    15);
	cJSON_Delete(json);
	/* Decoded values are literal: "&" is part of the search text. */
	args[0] = (char *)"q=N=7 a&B";
	json = get(fx, "/api/tasks/t/logs", args, 1, 200);
	assert_int_equal(
	    cJSON_GetArraySize(cJSON_GetObjectItem(json, "entries")), 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(json, "next")));
	assert_int_equal(cJSON_GetObjectItem(json, "cursor")->valueint, 30);
	cJSON_Delete(json);
	args[0] = (char *)"level=LOUD";
	json = get(fx, "/api/tasks/t/logs", args, 1, 400);
	assert_non_null(
	    strstr(cJSON_GetObjectItem(json, "error")->valuestring, "LOUD"));
	cJSON_Delete(json);
	args[0] = (char *)"limit=100000";
	cJSON_Delete(get(fx, "/api/tasks/t/logs", args, 1, 400));
}

static void test_web_invalid_utf8_still_yields_json(void **state)
{
	struct fixture *fx = *state;
	struct tl_new_entry e = {.level = TL_INFO,
				 .message = "bad \xff\xfe bytes",
				 .message_len = 12};
	cJSON *json;

	assert_int_equal(tl_task_create(fx->engine, "u"), 0);
	assert_int_equal(tl_append(fx->engine, "u", &e, NULL), 0);
	json = get(fx, "/api/tasks/u/logs", NULL, 0, 200);
	assert_string_equal(
	    cJSON_GetObjectItem(
		cJSON_GetArrayItem(cJSON_GetObjectItem(json, "entries"), 0),
		"message")
		->valuestring,
	    "bad \xef\xbf\xbd\xef\xbf\xbd bytes");
	cJSON_Delete(json);
}

static void test_web_only_get(void **state)
{
	struct fixture *fx = *state;
	struct web_response r;

	web_api_answer(fx->engine, "POST", "/api/tasks", NULL, 0, &r);
	assert_int_equal(r.status, 405);
	tl_buf_release(&r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_web_tasks_and_record, fx_setup,
					    fx_teardown),
	    cmocka_unit_test_setup_teardown(test_web_logs_filter_and_paging,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_web_invalid_utf8_still_yields_json, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_web_only_get, fx_setup,
					    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
