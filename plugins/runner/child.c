/*
 * child.c - what runs in the plugin's process, between fork() and the
 * plugin: its output made the runner's pipes, its environment (task id,
 * folder, mount, config), then exec of an executable, or dlopen of a shared
 * object and a call of its tasklog_execute() or old execute() (FR-007).
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

static bool is_shared_object(const char *path)
{
	size_t len = strlen(path);

	return (len > 3 && strcmp(path + len - 3, ".so") == 0) ||
	       strstr(path, ".so.") != NULL;
}

/* In the child: load a shared-object plugin and call its entry point. */
static int host_shared_object(int argc, char **argv)
{
	char path[PATH_MAX];
	void *lib;
	tasklog_execute_fn *entry;
	tasklog_legacy_execute_fn *legacy;

	/* dlopen searches the library path for a name without a slash. */
	snprintf(path, sizeof(path), "%s%s", strchr(argv[0], '/') ? "" : "./",
		 argv[0]);
	lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "tasklog: cannot load %s: %s\n", argv[0],
			dlerror());
		return 127;
	}
	/* Both are line-buffered, as on a terminal, so lines come in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	*(void **)&entry = dlsym(lib, TASKLOG_ENTRY);
	if (entry) {
		struct tasklog_context *ctx;
		int rc = tasklog_context_from_env(&ctx);

		if (rc < 0) {
			fprintf(stderr,
				"tasklog: %s: cannot open the task's "
				"log: %s\n",
				argv[0], strerror(-rc));
			return 127;
		}
		rc = entry(ctx, argc, argv);
		tasklog_context_close(ctx);
		return rc;
	}
	*(void **)&legacy = dlsym(lib, TASKLOG_LEGACY_ENTRY);
	if (legacy)
		return legacy(argc, argv);
	fprintf(stderr, "tasklog: %s exports neither %s() nor %s()\n", argv[0],
		TASKLOG_ENTRY, TASKLOG_LEGACY_ENTRY);
	return 127;
}

void runner_child(const struct run_options *opt, const char *task_dir,
		  const sigset_t *old_mask, int out_w, int err_w)
{
	char **argv = opt->plugin_argv;

	dup2(out_w, STDOUT_FILENO);
	dup2(err_w, STDERR_FILENO);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	setenv("TASKLOG_TASK_ID", opt->id, 1);
	setenv("TASKLOG_DIR", task_dir, 1);
	setenv("TASKLOG_MOUNT", opt->mount, 1);
	for (size_t i = 0; i < opt->config_count; i++) {
		const char *item = opt->config[i];
		const char *eq = strchr(item, '=');
		char name[256];

		snprintf(name, sizeof(name), "TASKLOG_CONFIG_%.*s",
			 (int)(eq - item), item);
		setenv(name, eq + 1, 1);
	}
	if (is_shared_object(argv[0]))
		exit(host_shared_object(opt->plugin_argc, argv) & 0xff);
	execvp(argv[0], argv);
	fprintf(stderr, "tasklog: cannot run %s: %s\n", argv[0],
		strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}
