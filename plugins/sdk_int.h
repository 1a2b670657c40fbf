/*
 * sdk_int.h - what the SDK's files share; not installed.
 */
#ifndef TASKLOG_SDK_INT_H
#define TASKLOG_SDK_INT_H

#include <stdbool.h>
#include <stddef.h>

/* A growing byte buffer; allocation failure aborts. */
struct sdk_buf {
	char *data;
	size_t len, cap;
};

void sdk_buf_add(struct sdk_buf *b, const void *data, size_t len);
void sdk_buf_adds(struct sdk_buf *b, const char *s);
void sdk_buf_release(struct sdk_buf *b);

/*
 * Appends len bytes of s as the body of a JSON string (no quotes): quotes,
 * backslashes and control bytes escaped, NUL as U+FFFD, other bytes kept.
 */
void sdk_json_add_string(struct sdk_buf *b, const char *s, size_t len);

/*
 * True if text is one JSON object and nothing else but white space. Nesting
 * deeper than 64 is refused.
 */
bool sdk_json_is_object(const char *text);

/*
 * Appends the JSON object text with its line breaks made spaces, so that it
 * stays on one line (raw line breaks are only legal between tokens).
 */
void sdk_json_add_object(struct sdk_buf *b, const char *text);

#endif
