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

#endif /* TL_UTIL_H */
