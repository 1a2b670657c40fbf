/*
 * fuzz_http.c - the REST routes and query handling (webview/api.c), as the
 * transport hands them over: a method, a decoded path and decoded query
 * pieces. Every answer is one of the documented statuses with a JSON body.
 *
 * Input: "METHOD\nPATH\nPIECE\nPIECE…".
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "webview.h"

#define PIECES_MAX 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool seeded;
	struct tl_engine *engine = fuzz_engine();
	char *copy = malloc(size + 1), *parts[PIECES_MAX + 2];
	size_t n = 0;
	struct web_response out = {0};
	cJSON *body;

	if (!seeded) {
		struct tl_new_entry e = {.level = TL_WARNING,
					 .source = "superset_api",
					 .message = "GET /api/v1/chart 504",
					 .message_len = 21,
					 .metadata = "{\"dashboard_id\":12}"};

		for (int i = 0; i < 50; i++) {
			e.level = (enum tl_level)(i % TL_LEVEL_COUNT);
			tl_append(engine, "fuzz", &e, NULL);
		}
		seeded = true;
	}
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy, *nl; n < PIECES_MAX + 2; p = nl + 1) {
		parts[n++] = p;
		if (!(nl = strchr(p, '\n')))
			break;
		*nl = '\0';
	}
	if (n < 2) {
		free(copy);
		return 0;
	}
	web_api_answer(engine, parts[0], parts[1], parts + 2, n - 2, &out);
	if (out.status != 200 && out.status != 400 && out.status != 404 &&
	    out.status != 405)
		abort();
	body = cJSON_ParseWithLength(out.body.data, out.body.len);
	if (!body) {
		fprintf(stderr, "%d answer is not JSON: %.200s\n", out.status,
			out.body.data);
		abort();
	}
	cJSON_Delete(body);
	tl_buf_release(&out.body);
	free(copy);
	return 0;
}
