/*
 * lines.c - the write protocol: bytes appended to a log file become entries,
 * one a line.
 *
 * An unfinished line waits in the open file's buffer until the next write,
 * fsync or close. A line that is a JSON object with a "message" is a
 * structured entry; any other line is plain text, with an optional leading
 * level tag ("[ERROR] …" or "ERROR: …"). Malformed JSON is kept as plain text
 * and counted, never dropped. A line over 1 MiB is cut into parts, each
 * marked with its part number in the metadata key "cut".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static void count(struct fs *fs, uint64_t *counter)
{
	pthread_mutex_lock(&fs->stats_lock);
	(*counter)++;
	pthread_mutex_unlock(&fs->stats_lock);
}

/* "[LEVEL] rest" or "LEVEL: rest": returns the level and skips the tag. */
static int level_tag(const char **line, size_t *len)
{
	const char *s = *line, *end = s + *len, *word, *stop;
	int level;

	if (s < end && *s == '[') {
		word = s + 1;
		stop = memchr(word, ']', (size_t)(end - word));
		if (!stop || stop - word > 8)
			return -1;
		level = tl_level_parse(word, (size_t)(stop - word));
		stop++;
	} else {
		word = s;
		stop = word;
		while (stop < end && stop - word <= 8 &&
		       ((*stop >= 'A' && *stop <= 'Z') ||
			(*stop >= 'a' && *stop <= 'z')))
			stop++;
		if (stop == end || *stop != ':' || stop == word)
			return -1;
		level = tl_level_parse(word, (size_t)(stop - word));
		stop++;
	}
	if (level < 0)
		return -1;
	if (stop < end && *stop == ' ')
		stop++;
	*len -= (size_t)(stop - s);
	*line = stop;
	return level;
}

static int append_plain(struct fs *fs, const char *task, const char *source,
			const char *line, size_t len, const char *metadata)
{
	struct tl_new_entry e = {
	    .level = TL_INFO, .source = source, .metadata = metadata};
	int level = level_tag(&line, &len);

	if (level >= 0)
		e.level = (enum tl_level)level;
	e.message = line;
	e.message_len = len;
	return tl_append(fs->engine, task, &e, NULL);
}

/* One complete line (without its newline) becomes one entry. */
static int append_line(struct fs *fs, const char *task, const char *source,
		       const char *line, size_t len)
{
	struct tl_json_line json;
	const char *p = line;
	int rc;

	if (len && line[len - 1] == '\r')
		len--;
	while (p < line + len && (*p == ' ' || *p == '\t'))
		p++;
	if (p == line + len || *p != '{')
		return append_plain(fs, task, source, line, len, NULL);
	if (tl_json_line_parse(line, len, &json) < 0) {
		count(fs, &fs->bad_json);
		return append_plain(fs, task, source, line, len, NULL);
	}
	struct tl_new_entry e = {
	    .ts_ms = json.ts_ms,
	    .level = json.level >= 0 ? (enum tl_level)json.level : TL_INFO,
	    .source = json.source ? json.source : source,
	    .message = json.message,
	    .message_len = json.message_len,
	    .metadata = json.metadata,
	};
	rc = tl_append(fs->engine, task, &e, NULL);
	tl_json_line_release(&json);
	return rc;
}

/* Writes a full 1 MiB part of an over-long line. */
static int append_cut(struct fs *fs, const char *task, const char *source,
		      struct line_buffer *lb, const char *data, size_t len)
{
	char metadata[32];
	struct tl_new_entry e = {.level = TL_INFO,
				 .source = source,
				 .message = data,
				 .message_len = len,
				 .metadata = metadata};

	snprintf(metadata, sizeof(metadata), "{\"cut\":%u}", ++lb->cut_part);
	if (lb->cut_part == 1)
		count(fs, &fs->cut_lines);
	return tl_append(fs->engine, task, &e, NULL);
}

void line_buffer_add(struct line_buffer *lb, const char *data, size_t len)
{
	if (lb->len + len > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 256;

		while (cap < lb->len + len)
			cap *= 2;
		lb->data = realloc(lb->data, cap);
		if (!lb->data)
			abort();
		lb->cap = cap;
	}
	memcpy(lb->data + lb->len, data, len);
	lb->len += len;
}

/* The end of a line whose start waits in lb, or a whole line. */
static int finish_line(struct fs *fs, const char *task, const char *source,
		       struct line_buffer *lb, const char *data, size_t len)
{
	int rc;

	if (lb->cut_part && lb->len + len == 0) {
		lb->cut_part = 0; /* the cut ended exactly at the newline */
		return 0;
	}
	if (lb->cut_part) {
		/* The rest of a line already cut: the last part. */
		line_buffer_add(lb, data, len);
		rc = append_cut(fs, task, source, lb, lb->data, lb->len);
		lb->cut_part = 0;
	} else if (lb->len) {
		line_buffer_add(lb, data, len);
		rc = append_line(fs, task, source, lb->data, lb->len);
	} else {
		rc = append_line(fs, task, source, data, len);
	}
	lb->len = 0;
	return rc;
}

int lines_write(struct fs *fs, const char *task, const char *source,
		struct line_buffer *lb, const char *data, size_t len)
{
	const char *end = data + len;
	int rc = 0;

	while (data < end && rc == 0) {
		const char *nl = memchr(data, '\n', (size_t)(end - data));
		const char *stop = nl ? nl : end;

		/* A line longer than the cap leaves in parts as it comes. */
		while (rc == 0 &&
		       lb->len + (size_t)(stop - data) > TL_MESSAGE_MAX) {
			size_t take = TL_MESSAGE_MAX - lb->len;

			line_buffer_add(lb, data, take);
			data += take;
			rc =
			    append_cut(fs, task, source, lb, lb->data, lb->len);
			lb->len = 0;
		}
		if (rc < 0)
			break;
		if (nl) {
			rc = finish_line(fs, task, source, lb, data,
					 (size_t)(nl - data));
			data = nl + 1;
		} else {
			line_buffer_add(lb, data, (size_t)(end - data));
			data = end;
		}
	}
	return rc;
}

int lines_finish(struct fs *fs, const char *task, const char *source,
		 struct line_buffer *lb)
{
	if (lb->len == 0 && !lb->cut_part)
		return 0;
	return finish_line(fs, task, source, lb, "", 0);
}

void line_buffer_release(struct line_buffer *lb)
{
	free(lb->data);
	memset(lb, 0, sizeof(*lb));
}
