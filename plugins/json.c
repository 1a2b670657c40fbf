/*
 * json.c - the little JSON the SDK needs: escaping strings and checking that
 * a caller's metadata is one object. libc only, so no parser library.
 */
#include <stdlib.h>
#include <string.h>

#include "sdk_int.h"

#define DEPTH_MAX 64

void sdk_buf_add(struct sdk_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			abort();
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void sdk_buf_adds(struct sdk_buf *b, const char *s)
{
	sdk_buf_add(b, s, strlen(s));
}

void sdk_buf_release(struct sdk_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void sdk_json_add_string(struct sdk_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sdk_buf_add(b, s + start, i - start);
		start = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case 0:
			/* \u0000 would end the message at the daemon. */
			sdk_buf_add(b, "\xef\xbf\xbd", 3);
			continue;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		sdk_buf_add(b, esc, n);
	}
	sdk_buf_add(b, s + start, len - start);
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *parse_value(const char *p, int depth);

static const char *parse_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;

		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL; /* includes the end of the text */
		if (c != '\\')
			continue;
		c = (unsigned char)*p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, p++)
				if (!*p ||
				    !strchr("0123456789abcdefABCDEF", *p))
					return NULL;
		} else if (!c || !strchr("\"\\/bfnrt", c)) {
			return NULL;
		}
	}
}

static const char *parse_digits(const char *p)
{
	const char *start = p;

	while (*p >= '0' && *p <= '9')
		p++;
	return p > start ? p : NULL;
}

static const char *parse_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (!(p = parse_digits(p)))
		return NULL;
	if (*p == '.' && !(p = parse_digits(p + 1)))
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		p = parse_digits(p);
	}
	return p;
}

/* Object or array: open, then value (or key: value) separated by commas. */
static const char *parse_container(const char *p, int depth, char close)
{
	p = skip_space(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			if (!(p = parse_string(p)))
				return NULL;
			p = skip_space(p);
			if (*p++ != ':')
				return NULL;
		}
		if (!(p = parse_value(p, depth + 1)))
			return NULL;
		p = skip_space(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = skip_space(p);
	}
}

static const char *parse_value(const char *p, int depth)
{
	if (depth > DEPTH_MAX)
		return NULL;
	p = skip_space(p);
	switch (*p) {
	case '{':
		return parse_container(p, depth, '}');
	case '[':
		return parse_container(p, depth, ']');
	case '"':
		return parse_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return parse_number(p);
	}
}

bool sdk_json_is_object(const char *text)
{
	const char *p = skip_space(text);

	if (*p != '{' || !(p = parse_value(p, 0)))
		return false;
	return *skip_space(p) == '\0';
}

void sdk_json_add_object(struct sdk_buf *b, const char *text)
{
	size_t start = b->len;

	sdk_buf_adds(b, text);
	for (size_t i = start; i < b->len; i++)
		if (b->data[i] == '\n' || b->data[i] == '\r')
			b->data[i] = ' ';
}
