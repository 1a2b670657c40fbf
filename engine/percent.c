/* percent.c - the percent-encoding of filter values (RFC 3986 style). */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "util.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..len) into a new string; NULL if malformed or NUL. */
char *percent_decode(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
		int lo = i + 2 < len ? hex_value(s[i + 2]) : -1;

		if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
			out[n++] = (char)(hi * 16 + lo);
			i += 2;
			continue;
		}
		free(out);
		return NULL;
	}
	out[n] = '\0';
	return out;
}

void tl_buf_add_encoded(struct tl_buf *b, const char *s, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) ||
		    strchr(keep, c)) {
			tl_buf_add(b, s, 1);
		} else {
			char esc[3] = {'%', hex[c >> 4], hex[c & 15]};

			tl_buf_add(b, esc, 3);
		}
	}
}
