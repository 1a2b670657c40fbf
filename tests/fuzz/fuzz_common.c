/* fuzz_common.c - see fuzz_common.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static struct tl_engine *engine;
static char dir[64];

static void quiet(void *ctx, const char *message)
{
	(void)ctx;
	(void)message;
}

static void remove_dir(void)
{
	char cmd[128];

	tl_engine_close(engine, 5000);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

struct tl_engine *fuzz_engine(void)
{
	struct tl_config config;
	char db[96];

	if (engine)
		return engine;
	snprintf(dir, sizeof(dir), "/tmp/tl-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(db, sizeof(db), "%s/fuzz.db", dir);
	tl_config_init(&config);
	config.db_path = db;
	config.flush_ms = 200;
	config.log = quiet;
	if (tl_engine_open(&config, &engine) < 0 ||
	    tl_task_create(engine, "fuzz") < 0)
		abort();
	atexit(remove_dir);
	return engine;
}

void fuzz_reset_task(void)
{
	if (tl_task_delete(fuzz_engine(), "fuzz") < 0 ||
	    tl_task_create(engine, "fuzz") < 0)
		abort();
}
