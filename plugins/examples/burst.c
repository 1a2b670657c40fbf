/*
 * burst.c - an executable plugin that uses the SDK to emit many entries at
 * once (the spec's "10,000+ logs in a few seconds"): 4 threads, 4 sources,
 * every level, a sequence number in each entry's metadata.
 *
 *   tasklog run build/examples/burst 20000
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tasklog.h"

#define THREADS 4

struct worker {
	struct tasklog_logger *log;
	int first, count;
	int failed;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = w->first; i < w->first + w->count; i++) {
		char meta[64];

		snprintf(meta, sizeof(meta), "{\"n\": %d}", i);
		if (tasklog_log(w->log, (enum tasklog_level)(i % 5), meta,
				"burst entry %d from %s", i,
				tasklog_logger_source(w->log)) < 0)
			w->failed++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int total = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 10000;
	struct tasklog_context *ctx;
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	struct timespec t0, t1;
	int rc, failed = 0;

	rc = tasklog_context_from_env(&ctx);
	if (rc < 0) {
		fprintf(stderr, "burst: no task to log to: %s\n",
			strerror(-rc));
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int t = 0; t < THREADS; t++) {
		char source[32];

		snprintf(source, sizeof(source), "worker-%d", t);
		workers[t] = (struct worker){
		    .log = t ? tasklog_logger_with_source(ctx->logger, source)
			     : ctx->logger,
		    .first = total / THREADS * t,
		    .count = t == THREADS - 1 ? total - total / THREADS * t
					      : total / THREADS,
		};
		pthread_create(&threads[t], NULL, work, &workers[t]);
	}
	for (int t = 0; t < THREADS; t++) {
		pthread_join(threads[t], NULL);
		failed += workers[t].failed;
	}
	rc = tasklog_context_close(ctx);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("burst: %d entries in %.3f s, %d refused\n", total,
	       (double)(t1.tv_sec - t0.tv_sec) +
		   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       failed);
	return rc < 0 || failed ? 1 : 0;
}
