/*
 * format.c - an entry as people and machines read it (a text line, a JSON
 * line), and a JSON line as plugins write it. Shared by the mount and the
 * web view, so both show the same bytes.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util.h"

void tl_buf_add(struct tl_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void tl_buf_release(struct tl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Appends a message, continuing each further line with a tab. */
static void add_message(struct tl_buf *b, const char *m, size_t len)
{
	const char *end = m + len;

	while (m < end) {
		const char *nl = memchr(m, '\n', (size_t)(end - m));

		if (!nl) {
			tl_buf_add(b, m, (size_t)(end - m));
			return;
		}
		tl_buf_add(b, m, (size_t)(nl - m));
		tl_buf_add(b, "\n\t", 2);
		m = nl + 1;
	}
}

/* A value is written bare unless it would be ambiguous on the line. */
static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    *p == 0x7f)
			return true;
	return false;
}

static void add_str(struct tl_buf *b, const char *s)
{
	tl_buf_add(b, s, strlen(s));
}

static void add_metadata_pairs(struct tl_buf *b, const char *metadata)
{
	cJSON *root = cJSON_Parse(metadata);

	if (!root)
		return;
	for (const cJSON *item = root->child; item; item = item->next) {
		char *text = NULL;

		tl_buf_add(b, " ", 1);
		add_str(b, item->string ? item->string : "");
		tl_buf_add(b, "=", 1);
		if (cJSON_IsString(item) && !needs_quotes(item->valuestring)) {
			add_str(b, item->valuestring);
			continue;
		}
		text = cJSON_PrintUnformatted(item);
		if (text) {
			add_message(b, text, strlen(text));
			cJSON_free(text);
		}
	}
	cJSON_Delete(root);
}

void tl_entry_format_text(const struct tl_entry *e, struct tl_buf *out)
{
	char ts[TL_TIME_LEN];

	tl_time_format(e->ts_ms, ts);
	tl_buf_add(out, ts, TL_TIME_LEN - 1);
	tl_buf_add(out, " ", 1);
	add_str(out, tl_level_name(e->level));
	tl_buf_add(out, " ", 1);
	add_str(out, e->source);
	tl_buf_add(out, " ", 1);
	add_message(out, e->message, e->message_len);
	if (e->metadata)
		add_metadata_pairs(out, e->metadata);
	tl_buf_add(out, "\n", 1);
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t utf8_valid(const unsigned char *p, size_t left)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void add_json_string(struct tl_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	tl_buf_add(b, "\"", 1);
	while (p < end) {
		const unsigned char *run = p;

		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' &&
		       *p != '\\')
			p++;
		tl_buf_add(b, run, (size_t)(p - run));
		if (p == end)
			break;
		if (*p == '"' || *p == '\\') {
			char esc[2] = {'\\', (char)*p};

			tl_buf_add(b, esc, 2);
			p++;
		} else if (*p < 0x20) {
			char esc[6] = {'\\', 'u',	   '0',
				       '0',  hex[*p >> 4], hex[*p & 15]};

			if (*p == '\n')
				tl_buf_add(b, "\\n", 2);
			else if (*p == '\t')
				tl_buf_add(b, "\\t", 2);
			else if (*p == '\r')
				tl_buf_add(b, "\\r", 2);
			else
				tl_buf_add(b, esc, 6);
			p++;
		} else {
			size_t n = utf8_valid(p, (size_t)(end - p));

			if (n) {
				tl_buf_add(b, p, n);
				p += n;
			} else {
				tl_buf_add(b, "\xef\xbf\xbd", 3); /* U+FFFD */
				p++;
			}
		}
	}
	tl_buf_add(b, "\"", 1);
}

void tl_entry_format_json(const char *task_id, const struct tl_entry *e,
			  struct tl_buf *out)
{
	char ts[TL_TIME_LEN], num[32];

	tl_time_format(e->ts_ms, ts);
	add_str(out, "{\"task_id\":");
	add_json_string(out, task_id, strlen(task_id));
	snprintf(num, sizeof(num), ",\"seq\":%" PRIu64, e->seq);
	add_str(out, num);
	add_str(out, ",\"timestamp\":\"");
	tl_buf_add(out, ts, TL_TIME_LEN - 1);
	add_str(out, "\",\"level\":\"");
	add_str(out, tl_level_name(e->level));
	add_str(out, "\",\"source\":");
	add_json_string(out, e->source, strlen(e->source));
	add_str(out, ",\"message\":");
	add_json_string(out, e->message, e->message_len);
	add_str(out, ",\"metadata\":");
	add_str(out, e->metadata ? e->metadata : "null");
	add_str(out, "}\n");
}

static int parse_timestamp(const cJSON *item, int64_t *ms)
{
	if (cJSON_IsString(item))
		return tl_time_parse(item->valuestring,
				     strlen(item->valuestring), ms);
	if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
	    item->valuedouble < 0 || item->valuedouble > 1e14)
		return -EINVAL;
	/* Seconds (1.7e9) or milliseconds (1.7e12) since the epoch. */
	*ms = item->valuedouble < 1e11 ? (int64_t)(item->valuedouble * 1000)
				       : (int64_t)item->valuedouble;
	return 0;
}

int tl_json_line_parse(const char *line, size_t len, struct tl_json_line *out)
{
	struct tl_json_line r = {.level = -1};
	cJSON *root = cJSON_ParseWithLength(line, len);
	const cJSON *item;

	if (!root || !cJSON_IsObject(root))
		goto invalid;
	item = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (!cJSON_IsString(item))
		goto invalid;
	r.message_len = strlen(item->valuestring);
	r.message = xstrndup(item->valuestring, r.message_len);

	item = cJSON_GetObjectItemCaseSensitive(root, "level");
	if (item) {
		if (!cJSON_IsString(item))
			goto invalid;
		r.level = tl_level_parse(item->valuestring,
					 strlen(item->valuestring));
		if (r.level < 0)
			goto invalid;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "source");
	if (item) {
		if (!cJSON_IsString(item) ||
		    !tl_source_valid(item->valuestring))
			goto invalid;
		r.source = xstrdup(item->valuestring);
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	if (item && !cJSON_IsNull(item)) {
		if (!cJSON_IsObject(item))
			goto invalid;
		if (item->child) {
			r.metadata = cJSON_PrintUnformatted(item);
			if (!r.metadata)
				abort();
		}
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "timestamp");
	if (item && parse_timestamp(item, &r.ts_ms) < 0)
		goto invalid;
	cJSON_Delete(root);
	*out = r;
	return 0;
invalid:
	cJSON_Delete(root);
	tl_json_line_release(&r);
	return -EINVAL;
}

void tl_json_line_release(struct tl_json_line *line)
{
	free(line->source);
	free(line->message);
	if (line->metadata)
		cJSON_free(line->metadata);
	memset(line, 0, sizeof(*line));
}
