/*
 * checksum.c - a CPU-bound plugin: FNV-1a over a 4 KiB block, ROUNDS times,
 * logging one INFO entry every LOG_EVERY rounds through the SDK. It prints
 * the seconds it ran, closing its context (and so writing its log) included.
 * `make bench` runs it against the mount and against /dev/null (SC-002).
 *
 *   checksum ROUNDS LOG_EVERY     (LOG_EVERY 0: no logging)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasklog.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	long every = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	struct tasklog_context *ctx = NULL;
	unsigned char block[4096];
	uint32_t hash = 2166136261u;
	double start = now();
	int rc = 0;

	if (every > 0 && (rc = tasklog_context_from_env(&ctx)) < 0) {
		fprintf(stderr, "checksum: %s\n", strerror(-rc));
		return 2;
	}
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (unsigned char)(i * 31);
	for (long r = 1; r <= rounds; r++) {
		for (size_t i = 0; i < sizeof(block); i++)
			hash = (hash ^ block[i]) * 16777619u;
		block[r % sizeof(block)] = (unsigned char)hash;
		if (every > 0 && r % every == 0 &&
		    (rc = tasklog_info(ctx->logger, "round %ld checksum %08x",
				       r, hash)) < 0)
			break;
	}
	if (rc < 0)
		fprintf(stderr, "checksum: logging failed: %s\n",
			strerror(-rc));
	if (ctx && tasklog_context_close(ctx) < 0)
		rc = -1;
	printf("%.6f %08x\n", now() - start, hash);
	return rc < 0;
}
