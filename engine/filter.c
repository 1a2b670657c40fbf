/*
 * filter.c - the one filter grammar: parse, print canonically, match.
 *
 * Mount paths (view/<filter>), REST query strings and WebSocket
 * subscriptions all come through tl_filter_parse, so a filter means the same
 * thing everywhere and prints back the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "meta.h"
#include "util.h"

struct meta_term {
	char *key;
	char *value;
};

struct time_bound {
	bool set;
	bool relative; /* ms is an offset from now (negative) */
	int64_t ms;
};

struct tl_filter {
	int level; /* -1: any */
	bool level_exact;
	char **sources; /* sorted, distinct */
	size_t n_sources;
	char *q;	/* as given */
	char *q_folded; /* ASCII lower case, for matching */
	size_t q_len;
	struct meta_term *meta; /* sorted by key */
	size_t n_meta;
	struct time_bound since, until;
	uint64_t after;
	size_t limit;
};

#define LIMIT_MAX 1000000u

static unsigned char fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int fail(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, TL_FILTER_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static const struct {
	const char *name;
	int64_t ms;
} units[] = {{"w", 604800000}, {"d", 86400000}, {"h", 3600000},
	     {"m", 60000},     {"s", 1000},	{"ms", 1}};

/* "-15m", "-1h30m", "-500ms": a duration before now. */
static int parse_relative(const char *s, int64_t *out)
{
	int64_t total = 0;

	if (*s++ != '-' || !*s)
		return -EINVAL;
	while (*s) {
		int64_t n = 0;
		size_t best = 0;
		int unit = -1;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			n = n * 10 + (*s - '0');
			if (n > 100000000)
				return -EINVAL;
		}
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].name);

			if (strncmp(s, units[i].name, ul) == 0 && ul > best &&
			    !(ul == 1 && s[0] == 'm' && s[1] == 's')) {
				best = ul;
				unit = (int)i;
			}
		}
		if (unit < 0)
			return -EINVAL;
		total += n * units[unit].ms;
		if (total > (int64_t)100 * 365 * 86400000)
			return -EINVAL;
		s += best;
	}
	*out = -total;
	return 0;
}

static int parse_time(const char *key, const char *value,
		      struct time_bound *bound, char *err)
{
	if (bound->set)
		return fail(err, "'%s' is given twice", key);
	if (value[0] == '-') {
		if (parse_relative(value, &bound->ms) < 0)
			return fail(err,
				    "%s=%s: a relative time is like -15m, "
				    "-2h or -1d12h (units w d h m s ms)",
				    key, value);
		bound->relative = true;
	} else {
		if (tl_time_parse(value, strlen(value), &bound->ms) < 0)
			return fail(err,
				    "%s=%s: not an RFC 3339 time such as "
				    "2026-12-04T10:00:00Z, nor relative (-15m)",
				    key, value);
		bound->relative = false;
	}
	bound->set = true;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_meta(const void *a, const void *b)
{
	return strcmp(((const struct meta_term *)a)->key,
		      ((const struct meta_term *)b)->key);
}

/* source=a,b: each item is split on ',' first, then decoded. */
static int parse_sources(struct tl_filter *f, const char *raw, size_t len,
			 char *err)
{
	const char *p = raw, *end = raw + len;

	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		char *name = percent_decode(p, (size_t)(stop - p));

		if (!name)
			return fail(err, "source: bad percent-encoding");
		if (!*name || strlen(name) > TL_SOURCE_MAX) {
			free(name);
			return fail(err,
				    "source: a source name is 1 to %d "
				    "bytes long",
				    TL_SOURCE_MAX);
		}
		f->sources =
		    xrealloc(f->sources, (f->n_sources + 1) * sizeof(char *));
		f->sources[f->n_sources++] = name;
		p = stop + 1;
	}
	qsort(f->sources, f->n_sources, sizeof(char *), cmp_str);
	size_t n = 0;

	for (size_t i = 0; i < f->n_sources; i++) {
		if (n && strcmp(f->sources[n - 1], f->sources[i]) == 0)
			free(f->sources[i]);
		else
			f->sources[n++] = f->sources[i];
	}
	f->n_sources = n;
	return 0;
}

static int parse_level(struct tl_filter *f, const char *value, char *err)
{
	size_t len = strlen(value);
	bool plus = len > 0 && value[len - 1] == '+';
	int level;

	if (f->level >= 0)
		return fail(err, "'level' is given twice");
	level = tl_level_parse(value, plus ? len - 1 : len);
	if (level < 0)
		return fail(err,
			    "level=%s: not a level (DEBUG INFO WARNING ERROR "
			    "CRITICAL, + for 'and above')",
			    value);
	f->level = level;
	f->level_exact = !plus;
	return 0;
}

static int parse_term(struct tl_filter *f, const char *term, size_t len,
		      char *err)
{
	const char *eq = memchr(term, '=', len);
	char *key, *value;
	int rc = 0;

	if (!eq)
		return fail(err, "'%.*s' is not key=value",
			    (int)(len > 60 ? 60 : len), term);
	key = percent_decode(term, (size_t)(eq - term));
	if (!key)
		return fail(err, "bad percent-encoding in a key");
	const char *raw = eq + 1;
	size_t raw_len = len - (size_t)(raw - term);

	if (strcmp(key, "source") == 0) {
		rc = parse_sources(f, raw, raw_len, err);
		free(key);
		return rc;
	}
	value = percent_decode(raw, raw_len);
	if (!value) {
		rc = fail(err, "%s: bad percent-encoding in the value", key);
		free(key);
		return rc;
	}

	if (strcmp(key, "level") == 0) {
		rc = parse_level(f, value, err);
	} else if (strcmp(key, "q") == 0) {
		if (f->q)
			rc = fail(err, "'q' is given twice");
		else if (!*value)
			rc = fail(err, "q: the search text is empty");
		else {
			f->q = value;
			f->q_len = strlen(value);
			f->q_folded = xstrdup(value);
			for (size_t i = 0; i < f->q_len; i++)
				f->q_folded[i] =
				    (char)fold((unsigned char)f->q_folded[i]);
			value = NULL;
		}
	} else if (strncmp(key, "meta.", 5) == 0) {
		if (!key[5]) {
			rc = fail(err, "meta.KEY=VALUE needs a KEY");
		} else {
			for (size_t i = 0; i < f->n_meta && rc == 0; i++)
				if (strcmp(f->meta[i].key, key + 5) == 0)
					rc = fail(err, "'%s' is given twice",
						  key);
			if (rc == 0) {
				f->meta =
				    xrealloc(f->meta, (f->n_meta + 1) *
							  sizeof(*f->meta));
				f->meta[f->n_meta].key = xstrdup(key + 5);
				f->meta[f->n_meta++].value = value;
				value = NULL;
			}
		}
	} else if (strcmp(key, "since") == 0) {
		rc = parse_time(key, value, &f->since, err);
	} else if (strcmp(key, "until") == 0) {
		rc = parse_time(key, value, &f->until, err);
	} else if (strcmp(key, "after") == 0) {
		if (f->after)
			rc = fail(err, "'after' is given twice");
		else if (parse_uint(value, UINT32_MAX, &f->after) < 0)
			rc =
			    fail(err, "after=%s: not a sequence number", value);
	} else if (strcmp(key, "limit") == 0) {
		uint64_t n = 0;

		if (f->limit)
			rc = fail(err, "'limit' is given twice");
		else if (parse_uint(value, LIMIT_MAX, &n) < 0 || n == 0)
			rc = fail(err, "limit=%s: a number from 1 to %u", value,
				  LIMIT_MAX);
		else
			f->limit = (size_t)n;
	} else {
		rc = fail(err,
			  "unknown filter key '%.40s' (known: level source q "
			  "meta.KEY since until after limit)",
			  key);
	}
	free(key);
	free(value);
	return rc;
}

int tl_filter_parse(const char *text, size_t len, struct tl_filter **out,
		    char *err)
{
	struct tl_filter *f = xcalloc(1, sizeof(*f));
	const char *p = text, *end = text + len;
	int rc = 0;

	f->level = -1;
	if (memchr(text, '\0', len)) {
		rc = fail(err, "the filter contains a NUL byte");
		goto fail;
	}
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;

		if (stop > p) {
			rc = parse_term(f, p, (size_t)(stop - p), err);
			if (rc < 0)
				goto fail;
		}
		p = stop + 1;
	}
	if (f->since.set && f->until.set && !f->since.relative &&
	    !f->until.relative && f->until.ms <= f->since.ms) {
		rc = fail(err, "until is not after since");
		goto fail;
	}
	if (f->n_meta > 1)
		qsort(f->meta, f->n_meta, sizeof(*f->meta), cmp_meta);
	*out = f;
	return 0;
fail:
	tl_filter_free(f);
	return rc;
}

void tl_filter_free(struct tl_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_sources; i++)
		free(f->sources[i]);
	free(f->sources);
	for (size_t i = 0; i < f->n_meta; i++) {
		free(f->meta[i].key);
		free(f->meta[i].value);
	}
	free(f->meta);
	free(f->q);
	free(f->q_folded);
	free(f);
}

void tl_filter_resolve(struct tl_filter *f, int64_t now_ms)
{
	if (f->since.relative)
		f->since =
		    (struct time_bound){true, false, now_ms + f->since.ms};
	if (f->until.relative)
		f->until =
		    (struct time_bound){true, false, now_ms + f->until.ms};
}

uint64_t tl_filter_after(const struct tl_filter *f)
{
	return f ? f->after : 0;
}

size_t tl_filter_limit(const struct tl_filter *f)
{
	return f ? f->limit : 0;
}

static void term_start(struct tl_buf *b, const char *key)
{
	if (b->len)
		tl_buf_add(b, "&", 1);
	tl_buf_add(b, key, strlen(key));
	tl_buf_add(b, "=", 1);
}

static void print_time(struct tl_buf *b, const char *key,
		       const struct time_bound *t)
{
	char text[64];

	if (!t->set)
		return;
	term_start(b, key);
	if (!t->relative) {
		tl_time_format(t->ms, text);
		if (t->ms % 1000 == 0)
			memcpy(text + 19, "Z", 2);
		tl_buf_add(b, text, strlen(text));
		return;
	}
	int64_t rest = -t->ms;

	tl_buf_add(b, "-", 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (rest >= units[i].ms) {
			snprintf(text, sizeof(text), "%" PRId64 "%s",
				 rest / units[i].ms, units[i].name);
			tl_buf_add(b, text, strlen(text));
			rest %= units[i].ms;
		}
	}
	if (t->ms == 0)
		tl_buf_add(b, "0s", strlen("0s"));
}

char *tl_filter_print(const struct tl_filter *f)
{
	struct tl_buf b = {0};
	char num[32];

	tl_buf_add(&b, "", 0);
	if (!f)
		return b.data;
	if (f->level >= 0) {
		term_start(&b, "level");
		tl_buf_add(&b, tl_level_name(f->level),
			   strlen(tl_level_name(f->level)));
		if (!f->level_exact)
			tl_buf_add(&b, "+", 1);
	}
	if (f->n_sources) {
		term_start(&b, "source");
		for (size_t i = 0; i < f->n_sources; i++) {
			if (i)
				tl_buf_add(&b, ",", 1);
			tl_buf_add_encoded(&b, f->sources[i], ":@");
		}
	}
	if (f->q) {
		term_start(&b, "q");
		tl_buf_add_encoded(&b, f->q, ":@");
	}
	for (size_t i = 0; i < f->n_meta; i++) {
		if (b.len)
			tl_buf_add(&b, "&", 1);
		tl_buf_add(&b, "meta.", strlen("meta."));
		tl_buf_add_encoded(&b, f->meta[i].key, ":@");
		tl_buf_add(&b, "=", 1);
		tl_buf_add_encoded(&b, f->meta[i].value, ":@");
	}
	print_time(&b, "since", &f->since);
	print_time(&b, "until", &f->until);
	if (f->after) {
		term_start(&b, "after");
		snprintf(num, sizeof(num), "%" PRIu64, f->after);
		tl_buf_add(&b, num, strlen(num));
	}
	if (f->limit) {
		term_start(&b, "limit");
		snprintf(num, sizeof(num), "%zu", f->limit);
		tl_buf_add(&b, num, strlen(num));
	}
	return b.data;
}

/* Literal, ASCII case-insensitive search of needle (already folded). */
static bool contains_folded(const char *hay, size_t hay_len, const char *needle,
			    size_t len)
{
	unsigned char first = (unsigned char)needle[0];
	unsigned char upper = (first >= 'a' && first <= 'z')
				  ? (unsigned char)(first - 32)
				  : first;

	if (len > hay_len)
		return false;
	const char *p = hay, *last = hay + hay_len - len;

	while (p <= last) {
		const char *a = memchr(p, first, (size_t)(last - p) + 1);
		const char *b = upper != first
				    ? memchr(p, upper, (size_t)(last - p) + 1)
				    : NULL;
		const char *hit = !a ? b : (!b || a < b) ? a : b;
		size_t i = 1;

		if (!hit)
			return false;
		while (i < len &&
		       fold((unsigned char)hit[i]) == (unsigned char)needle[i])
			i++;
		if (i == len)
			return true;
		p = hit + 1;
	}
	return false;
}

static bool time_ok(const struct time_bound *t, int64_t ts, int64_t now,
		    bool lower)
{
	if (!t->set)
		return true;
	int64_t bound = t->relative ? now + t->ms : t->ms;

	return lower ? ts >= bound : ts < bound;
}

bool filter_match_text(const struct tl_filter *f, const char *message,
		       size_t len)
{
	return !f || !f->q ||
	       contains_folded(message, len, f->q_folded, f->q_len);
}

bool filter_match_level_source(const struct tl_filter *f, enum tl_level level,
			       const char *source)
{
	if (!f)
		return true;
	if (f->level >= 0 &&
	    (f->level_exact ? (int)level != f->level : (int)level < f->level))
		return false;
	if (f->n_sources) {
		bool found = false;

		for (size_t i = 0; i < f->n_sources && !found; i++)
			found = strcmp(f->sources[i], source) == 0;
		if (!found)
			return false;
	}
	return true;
}

bool tl_filter_match(const struct tl_filter *f, const struct tl_entry *e,
		     int64_t now_ms)
{
	if (!f)
		return true;
	if (!filter_match_level_source(f, e->level, e->source))
		return false;
	if (!time_ok(&f->since, e->ts_ms, now_ms, true) ||
	    !time_ok(&f->until, e->ts_ms, now_ms, false))
		return false;
	if (f->q &&
	    !contains_folded(e->message, e->message_len, f->q_folded, f->q_len))
		return false;
	for (size_t i = 0; i < f->n_meta; i++)
		if (!meta_has(e->metadata, f->meta[i].key, f->meta[i].value))
			return false;
	return true;
}
