/*
 * dashboard_migration.c - a plugin of the new kind: a shared object whose
 * tasklog_execute() gets a TaskContext. It logs its own steps from "plugin"
 * and the calls it makes from "superset_api", each with dashboard_id.
 *
 *   tasklog run --config dashboards=12 build/examples/dashboard_migration.so
 *
 * Config: dashboards (how many, default 5), fail_at (a dashboard id whose
 * migration fails the task).
 */
#include <stdio.h>
#include <stdlib.h>

#include "tasklog.h"

int tasklog_execute(struct tasklog_context *ctx, int argc, char **argv);

static int config_int(struct tasklog_context *ctx, const char *key, int dflt)
{
	const char *text = tasklog_config_get(ctx, key);

	return text ? (int)strtol(text, NULL, 10) : dflt;
}

int tasklog_execute(struct tasklog_context *ctx, int argc, char **argv)
{
	struct tasklog_logger *log = ctx->logger;
	struct tasklog_logger *api =
	    tasklog_logger_with_source(log, "superset_api");
	int dashboards = config_int(ctx, "dashboards", 5);
	int fail_at = config_int(ctx, "fail_at", -1);

	(void)argc;
	(void)argv;
	tasklog_info(log, "migrating %d dashboards (task %s)", dashboards,
		     ctx->task_id);
	for (int id = 1; id <= dashboards; id++) {
		char id_text[16], meta[64];

		snprintf(id_text, sizeof(id_text), "%d", id);
		tasklog_debug(log, "exporting dashboard %d", id);
		tasklog_log_kv(api, TASKLOG_INFO,
			       (const char *[]){"dashboard_id", id_text, NULL},
			       "GET /api/v1/dashboard/%d 200", id);
		if (id == fail_at) {
			snprintf(meta, sizeof(meta),
				 "{\"dashboard_id\": %d, \"status\": 500}", id);
			tasklog_log(api, TASKLOG_ERROR, meta,
				    "POST /api/v1/dashboard/import 500");
			tasklog_critical(log, "dashboard %d failed, stopping",
					 id);
			return 3;
		}
		if (id % 4 == 0) {
			snprintf(meta, sizeof(meta),
				 "{\"dashboard_id\": %d, \"retry\": 1}", id);
			tasklog_log(api, TASKLOG_WARNING, meta,
				    "POST /api/v1/dashboard/import slow, "
				    "retrying");
		}
		tasklog_log_kv(log, TASKLOG_INFO,
			       (const char *[]){"dashboard_id", id_text, NULL},
			       "migrated dashboard %d", id);
	}
	tasklog_info(log, "all %d dashboards migrated", dashboards);
	return 0;
}
