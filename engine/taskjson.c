/* taskjson.c - a task record as JSON, for task.json and the web. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static void add_time(cJSON *obj, const char *name, int64_t ms)
{
	char ts[TL_TIME_LEN];

	if (!ms) {
		cJSON_AddNullToObject(obj, name);
		return;
	}
	tl_time_format(ms, ts);
	cJSON_AddStringToObject(obj, name, ts);
}

int tl_task_format_json(struct tl_engine *engine, const char *id,
			struct tl_buf *out)
{
	struct tl_task_summary sum = {0};
	struct tl_task_info info;
	cJSON *obj, *levels, *sources, *keys;
	char *text;
	int rc = tl_task_get(engine, id, &info);

	if (rc == 0)
		rc = tl_task_summary(engine, id, &sum);
	if (rc < 0)
		return rc;
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "id", info.id);
	cJSON_AddStringToObject(obj, "status", tl_status_name(info.status));
	if (info.status == TL_RUNNING)
		cJSON_AddNullToObject(obj, "exit_code");
	else
		cJSON_AddNumberToObject(obj, "exit_code", info.exit_code);
	add_time(obj, "created", info.created_ms);
	add_time(obj, "finished", info.finished_ms);
	cJSON_AddNumberToObject(obj, "entries", (double)info.last_seq);
	levels = cJSON_AddObjectToObject(obj, "levels");
	for (int i = 0; i < TL_LEVEL_COUNT; i++)
		cJSON_AddNumberToObject(levels, tl_level_name(i),
					(double)sum.levels[i]);
	sources = cJSON_AddObjectToObject(obj, "sources");
	for (size_t i = 0; i < sum.n_sources; i++)
		cJSON_AddNumberToObject(sources, sum.sources[i].name,
					(double)sum.sources[i].count);
	keys = cJSON_AddArrayToObject(obj, "meta_keys");
	for (size_t i = 0; i < sum.n_meta_keys; i++)
		cJSON_AddItemToArray(keys,
				     cJSON_CreateString(sum.meta_keys[i]));
	tl_task_summary_release(&sum);
	text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!text)
		abort();
	tl_buf_add(out, text, strlen(text));
	tl_buf_add(out, "\n", 1);
	cJSON_free(text);
	return 0;
}
