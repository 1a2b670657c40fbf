/* timefmt.c - RFC 3339 timestamps in milliseconds since the epoch. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "engine.h"

int64_t tl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Writes v as n decimal digits, zero-padded. */
static void put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void tl_time_format(int64_t ms, char buf[TL_TIME_LEN])
{
	int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
	unsigned rest = (unsigned)(ms - days * 86400000);
	int y;
	unsigned m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		y = 0;
		m = d = 1;
		rest = 0;
	}
	memcpy(buf, "0000-00-00T00:00:00.000Z", TL_TIME_LEN);
	put_digits(buf, (unsigned)y, 4);
	put_digits(buf + 5, m, 2);
	put_digits(buf + 8, d, 2);
	put_digits(buf + 11, rest / 3600000, 2);
	put_digits(buf + 14, rest / 60000 % 60, 2);
	put_digits(buf + 17, rest / 1000 % 60, 2);
	put_digits(buf + 20, rest % 1000, 3);
}

/* Reads exactly n digits at *p; returns -1 if they are not all digits. */
static int digits(const char **p, const char *end, int n)
{
	int v = 0;

	if (end - *p < n)
		return -1;
	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	return v;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p < end && **p == c) {
		(*p)++;
		return true;
	}
	return false;
}

int tl_time_parse(const char *text, size_t len, int64_t *ms)
{
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30,
					 31, 31, 30, 31, 30, 31};
	const char *p = text, *end = text + len;
	int y, mo, d, h = 0, mi = 0, s = 0, frac = 0;
	int64_t offset_min = 0;

	y = digits(&p, end, 4);
	if (y < 0 || !expect(&p, end, '-'))
		return -EINVAL;
	mo = digits(&p, end, 2);
	if (mo < 1 || mo > 12 || !expect(&p, end, '-'))
		return -EINVAL;
	d = digits(&p, end, 2);
	if (d < 1 || (unsigned)d > mdays[mo - 1])
		return -EINVAL;
	if (p < end) {
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -EINVAL;
		p++;
		h = digits(&p, end, 2);
		if (h < 0 || h > 23 || !expect(&p, end, ':'))
			return -EINVAL;
		mi = digits(&p, end, 2);
		if (mi < 0 || mi > 59 || !expect(&p, end, ':'))
			return -EINVAL;
		s = digits(&p, end, 2);
		if (s < 0 || s > 60)
			return -EINVAL;
		if (expect(&p, end, '.')) {
			int n = 0;

			for (; p < end && *p >= '0' && *p <= '9'; p++, n++)
				if (n < 3)
					frac = frac * 10 + (*p - '0');
			if (n == 0)
				return -EINVAL;
			for (; n < 3; n++)
				frac *= 10;
		}
		if (expect(&p, end, 'Z') || expect(&p, end, 'z')) {
			offset_min = 0;
		} else if (p < end && (*p == '+' || *p == '-')) {
			int sign = *p++ == '-' ? -1 : 1;
			int oh = digits(&p, end, 2), om;

			if (oh < 0 || oh > 23 || !expect(&p, end, ':'))
				return -EINVAL;
			om = digits(&p, end, 2);
			if (om < 0 || om > 59)
				return -EINVAL;
			offset_min = (int64_t)sign * (oh * 60 + om);
		} else {
			return -EINVAL;
		}
	}
	if (p != end)
		return -EINVAL;
	*ms = (days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	       (int64_t)h * 3600 + (int64_t)mi * 60 + s - offset_min * 60) *
		  1000 +
	      frac;
	return 0;
}
