/*
 * fuzz_lines.c - the write protocol (fs/lines.c): bytes written to a log
 * file, in writes of any size, become entries, one a line. Checks that every
 * line became exactly one entry and that nothing was refused.
 *
 * Input: the first byte sets the write size (1..64), the rest is the data.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "fuzz_common.h"

static struct fs fs;
static unsigned runs;

/* The daemon's composition root (fs/main.c) logs; here nobody listens. */
void fs_log(const char *fmt, ...)
{
	(void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct line_buffer lb = {0};
	struct tl_task_info before, after;
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0, step, lines = 0;

	if (size == 0)
		return 0;
	if (!fs.engine) {
		fs.engine = fuzz_engine();
		pthread_mutex_init(&fs.stats_lock, NULL);
	}
	if (++runs % 5000 == 0)
		fuzz_reset_task();
	step = (size_t)data[0] % 64 + 1;
	tl_task_get(fs.engine, "fuzz", &before);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		if (lines_write(&fs, "fuzz", "plugin", &lb, text + off, n) != 0)
			abort();
	}
	if (lines_finish(&fs, "fuzz", "plugin", &lb) != 0)
		abort();
	line_buffer_release(&lb);

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	lines += len > 0 && text[len - 1] != '\n';
	tl_task_get(fs.engine, "fuzz", &after);
	if (after.last_seq - before.last_seq != lines) {
		fprintf(stderr, "%zu lines made %llu entries\n", lines,
			(unsigned long long)(after.last_seq - before.last_seq));
		abort();
	}
	return 0;
}
