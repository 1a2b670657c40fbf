/* test_engine_filter.c - the one filter grammar: parse, print, match. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static struct tl_filter *parse_ok(const char *text)
{
	struct tl_filter *f = NULL;
	char err[TL_FILTER_ERR_LEN] = "";
	int rc = tl_filter_parse(text, strlen(text), &f, err);

	if (rc != 0)
		fail_msg("'%s' rejected: %s", text, err);
	return f;
}

static void expect_canonical(const char *text, const char *canonical)
{
	struct tl_filter *f = parse_ok(text), *again;
	char *printed = tl_filter_print(f), *printed2;

	assert_string_equal(printed, canonical);
	again = parse_ok(printed);
	printed2 = tl_filter_print(again);
	assert_string_equal(printed2, printed);
	free(printed);
	free(printed2);
	tl_filter_free(f);
	tl_filter_free(again);
}

static void test_filter_round_trips_in_canonical_form(void **state)
{
	(void)state;
	expect_canonical("", "");
	expect_canonical("level=info+", "level=INFO+");
	expect_canonical("level=WARN", "level=WARNING");
	expect_canonical("level=fatal+", "level=CRITICAL+");
	expect_canonical("source=system,api&level=ERROR",
			 "level=ERROR&source=api,system");
	expect_canonical("source=api&source=api,plugin", "source=api,plugin");
	expect_canonical("q=connection%20timeout", "q=connection%20timeout");
	expect_canonical("q=a%26b%3Dc%2Fd%2Be", "q=a%26b%3Dc%2Fd%2Be");
	expect_canonical("meta.dashboard_id=42&meta.database_uuid=x-1",
			 "meta.dashboard_id=42&meta.database_uuid=x-1");
	expect_canonical("meta.b=2&meta.a=1", "meta.a=1&meta.b=2");
	expect_canonical("since=2026-12-04T10:00:00Z",
			 "since=2026-12-04T10:00:00Z");
	expect_canonical("since=2026-12-04T12:00:00.250+02:00",
			 "since=2026-12-04T10:00:00.250Z");
	expect_canonical("since=-90m&until=-1h", "since=-1h30m&until=-1h");
	expect_canonical("limit=10&after=5&q=x&", "q=x&after=5&limit=10");
	expect_canonical("source=a%2Cb", "source=a%2Cb");
}

static void expect_error(const char *text, const char *mention)
{
	struct tl_filter *f = (struct tl_filter *)0x1;
	char err[TL_FILTER_ERR_LEN] = "";

	assert_int_equal(tl_filter_parse(text, strlen(text), &f, err), -EINVAL);
	assert_ptr_equal(f, (struct tl_filter *)0x1); /* untouched */
	if (!strstr(err, mention))
		fail_msg("error for '%s' is '%s', which does not name '%s'",
			 text, err, mention);
}

static void test_filter_rejects_bad_terms_naming_them(void **state)
{
	(void)state;
	expect_error("level=LOUD", "LOUD");
	expect_error("level=INFO+&colour=red", "colour");
	expect_error("level", "level");
	expect_error("q=%zz", "q");
	expect_error("q=%00", "q");
	expect_error("q=", "q");
	expect_error("limit=0", "limit");
	expect_error("limit=ten", "limit");
	expect_error("after=-3", "after");
	expect_error("since=yesterday", "yesterday");
	expect_error("since=-15x", "-15x");
	expect_error("since=2026-02-30T00:00:00Z", "2026-02-30");
	expect_error("level=INFO&level=ERROR", "level");
	expect_error("meta.=3", "KEY");
	expect_error("meta.a=1&meta.a=2", "meta.a");
	expect_error("source=", "source");
	expect_error("source=a,,b", "source");
	expect_error("since=2026-12-04T10:00:00Z&until=2026-12-04T09:00:00Z",
		     "until");
}

static bool match(const char *filter, const struct tl_entry *e, int64_t now)
{
	struct tl_filter *f = parse_ok(filter);
	bool m = tl_filter_match(f, e, now);

	tl_filter_free(f);
	return m;
}

static void test_filter_matches_each_term(void **state)
{
	int64_t now = 1800000000000;
	struct tl_entry e = {
	    .seq = 7,
	    .ts_ms = now - (int64_t)10 * 60000, /* ten minutes ago */
	    .level = TL_WARNING,
	    .source = "superset_api",
	    .message = "Connection TIMEOUT to db & retry",
	    .message_len = strlen("Connection TIMEOUT to db & retry"),
	    .metadata = "{\"dashboard_id\":42,\"name\":\"sales\",\"ok\":true}",
	};

	(void)state;
	assert_true(match("", &e, now));
	assert_true(tl_filter_match(NULL, &e, now));
	assert_true(match("level=INFO+", &e, now));
	assert_true(match("level=WARNING+", &e, now));
	assert_false(match("level=ERROR+", &e, now));
	assert_true(match("level=WARN", &e, now));
	assert_false(match("level=INFO", &e, now));
	assert_true(match("source=plugin,superset_api", &e, now));
	assert_false(match("source=plugin", &e, now));
	assert_true(match("q=timeout", &e, now));
	assert_true(match("q=connection%20time", &e, now));
	assert_true(match("q=db%20%26%20retry", &e, now));
	assert_false(match("q=timeouts", &e, now));
	assert_true(match("meta.dashboard_id=42", &e, now));
	assert_false(match("meta.dashboard_id=43", &e, now));
	assert_true(match("meta.name=sales&meta.ok=true", &e, now));
	assert_false(match("meta.missing=1", &e, now));
	assert_true(match("since=-15m", &e, now));
	assert_false(match("since=-5m", &e, now));
	assert_true(match("until=-5m", &e, now));
	assert_false(match("until=-15m", &e, now));
	assert_true(match("level=WARNING+&source=superset_api&q=retry"
			  "&meta.dashboard_id=42&since=-1h",
			  &e, now));
	e.metadata = NULL;
	assert_false(match("meta.dashboard_id=42", &e, now));
}

static void test_filter_cursor_terms_are_exposed(void **state)
{
	struct tl_filter *f = parse_ok("after=12&limit=3");

	(void)state;
	assert_int_equal(tl_filter_after(f), 12);
	assert_int_equal(tl_filter_limit(f), 3);
	tl_filter_free(f);
	assert_int_equal(tl_filter_after(NULL), 0);
}

static void test_time_parse_and_format_agree(void **state)
{
	char buf[TL_TIME_LEN];
	int64_t ms;

	(void)state;
	assert_int_equal(tl_time_parse("1970-01-01T00:00:00Z", 20, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(tl_time_parse("2026-12-04", 10, &ms), 0);
	tl_time_format(ms, buf);
	assert_string_equal(buf, "2026-12-04T00:00:00.000Z");
	assert_int_equal(tl_time_parse("2024-02-29 23:59:59.999z", 24, &ms), 0);
	tl_time_format(ms, buf);
	assert_string_equal(buf, "2024-02-29T23:59:59.999Z");
	tl_time_format(1800000000123, buf);
	assert_int_equal(tl_time_parse(buf, strlen(buf), &ms), 0);
	assert_int_equal(ms, 1800000000123);
	assert_int_equal(tl_time_parse("2026-13-01T00:00:00Z", 20, &ms),
			 -EINVAL);
	assert_int_equal(tl_time_parse("2026-12-04T10:00", 16, &ms), -EINVAL);
}

static void test_levels_parse_with_aliases(void **state)
{
	(void)state;
	assert_int_equal(tl_level_parse("debug", 5), TL_DEBUG);
	assert_int_equal(tl_level_parse("WARN", 4), TL_WARNING);
	assert_int_equal(tl_level_parse("Fatal", 5), TL_CRITICAL);
	assert_int_equal(tl_level_parse("LOUD", 4), -EINVAL);
	assert_string_equal(tl_level_name(TL_ERROR), "ERROR");
	assert_null(tl_level_name(TL_LEVEL_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_filter_round_trips_in_canonical_form),
	    cmocka_unit_test(test_filter_rejects_bad_terms_naming_them),
	    cmocka_unit_test(test_filter_matches_each_term),
	    cmocka_unit_test(test_filter_cursor_terms_are_exposed),
	    cmocka_unit_test(test_time_parse_and_format_agree),
	    cmocka_unit_test(test_levels_parse_with_aliases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
