/* names.c - levels, statuses and task ids: the engine's small vocabularies. */
#include <errno.h>
#include <strings.h>
#include <string.h>

#include "engine.h"

static const char *const level_names[TL_LEVEL_COUNT] = {
    "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

const char *tl_level_name(enum tl_level level)
{
	if ((unsigned)level >= TL_LEVEL_COUNT)
		return NULL;
	return level_names[level];
}

static bool word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

int tl_level_parse(const char *name, size_t len)
{
	for (int i = 0; i < TL_LEVEL_COUNT; i++)
		if (word_is(name, len, level_names[i]))
			return i;
	if (word_is(name, len, "WARN"))
		return TL_WARNING;
	if (word_is(name, len, "FATAL"))
		return TL_CRITICAL;
	return -EINVAL;
}

static const char *const status_names[] = {"running", "succeeded", "failed"};

const char *tl_status_name(enum tl_status status)
{
	if ((unsigned)status > TL_FAILED)
		return NULL;
	return status_names[status];
}

int tl_status_parse(const char *name, size_t len)
{
	for (int i = 0; i <= TL_FAILED; i++)
		if (word_is(name, len, status_names[i]))
			return i;
	return -EINVAL;
}

static bool name_valid(const char *id)
{
	size_t n = 0;

	if (!id || id[0] == '.' || id[0] == '\0')
		return false;
	for (; id[n]; n++) {
		char c = id[n];

		if (n >= TL_TASK_ID_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool tl_task_id_valid(const char *id)
{
	return name_valid(id);
}

bool tl_source_valid(const char *source)
{
	return name_valid(source);
}
