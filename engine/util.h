/*
 * util.h - allocation that aborts on failure, and small text helpers.
 *
 * Running out of memory is not an error tasklogfs recovers from: threading
 * NULL through every caller would buy nothing, so these abort.
 */
#ifndef TL_UTIL_H
#define TL_UTIL_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* A growable byte buffer; always NUL-terminated once anything was added. */
struct buf {
	char *data;
	size_t len, cap;
};

void buf_add(struct buf *b, const void *data, size_t len);
void buf_addstr(struct buf *b, const char *s);
void buf_release(struct buf *b);

#endif /* TL_UTIL_H */
