/*
 * fuzz_json.c - JSON entry lines: whatever parses as an entry renders as
 * text and as a JSON line, and that JSON line is valid JSON again, with the
 * same source and level.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_json_line line;
	struct tl_buf text = {0}, json = {0};
	cJSON *back;

	if (tl_json_line_parse((const char *)data, size, &line) < 0)
		return 0;
	struct tl_entry e = {
	    .seq = 1,
	    .ts_ms = line.ts_ms,
	    .level = line.level >= 0 ? (enum tl_level)line.level : TL_INFO,
	    .source = line.source ? line.source : "plugin",
	    .message = line.message,
	    .message_len = line.message_len,
	    .metadata = line.metadata,
	};
	tl_entry_format_text(&e, &text);
	tl_entry_format_json("fuzz", &e, &json);
	back = cJSON_ParseWithLength(json.data, json.len);
	if (!back || !cJSON_IsString(cJSON_GetObjectItem(back, "message")) ||
	    strcmp(cJSON_GetObjectItem(back, "source")->valuestring,
		   e.source) != 0 ||
	    strcmp(cJSON_GetObjectItem(back, "level")->valuestring,
		   tl_level_name(e.level)) != 0) {
		fprintf(stderr, "not valid JSON again: %s\n", json.data);
		abort();
	}
	if (text.len == 0 || text.data[text.len - 1] != '\n')
		abort();
	cJSON_Delete(back);
	tl_buf_release(&text);
	tl_buf_release(&json);
	tl_json_line_release(&line);
	return 0;
}
