/* meta.c - metadata JSON; see meta.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "meta.h"

#define LISTED_VALUE_MAX 255

/* True if the JSON value's text is value; see meta.h for what text is. */
static bool value_is(const cJSON *item, const char *value)
{
	if (cJSON_IsString(item))
		return strcmp(item->valuestring, value) == 0;
	char *text = cJSON_PrintUnformatted(item);
	bool same = text && strcmp(text, value) == 0;

	cJSON_free(text);
	return same;
}

static bool plain_key(const char *key)
{
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p == '"' || *p == '\\' || *p < 0x20)
			return false;
	return true;
}

bool meta_has(const char *metadata, const char *key, const char *value)
{
	cJSON *root;
	bool found = false;

	if (!metadata)
		return false;
	/* Cheap rejection first: a scan of a large task parses little. */
	if (plain_key(key) && !strstr(metadata, key))
		return false;
	root = cJSON_Parse(metadata);
	if (!root)
		return false;
	for (const cJSON *item = root->child; item && !found; item = item->next)
		found = item->string && strcmp(item->string, key) == 0 &&
			value_is(item, value);
	cJSON_Delete(root);
	return found;
}

static void each_pair(const cJSON *root, meta_fn *fn, void *ctx)
{
	for (const cJSON *item = root->child; item; item = item->next) {
		if (!item->string)
			continue;
		if (cJSON_IsString(item)) {
			fn(item->string,
			   strlen(item->valuestring) <= LISTED_VALUE_MAX
			       ? item->valuestring
			       : NULL,
			   ctx);
		} else if (cJSON_IsNumber(item) || cJSON_IsBool(item)) {
			char *text = cJSON_PrintUnformatted(item);

			fn(item->string, text, ctx);
			cJSON_free(text);
		} else {
			fn(item->string, NULL, ctx);
		}
	}
}

void meta_each(const char *metadata, meta_fn *fn, void *ctx)
{
	cJSON *root;

	if (!metadata)
		return;
	root = cJSON_Parse(metadata);
	if (!root)
		return;
	each_pair(root, fn, ctx);
	cJSON_Delete(root);
}

int meta_normalize(const char *json, char **out, meta_fn *fn, void *ctx)
{
	cJSON *root;
	char *text = NULL;

	if (strlen(json) > TL_METADATA_MAX)
		return -EMSGSIZE;
	root = cJSON_Parse(json);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	if (root->child) {
		text = cJSON_PrintUnformatted(root);
		if (!text)
			abort();
		if (fn)
			each_pair(root, fn, ctx);
	}
	cJSON_Delete(root);
	*out = text;
	return 0;
}
