/*
 * runner.h - what the files of the `tasklog` command share.
 */
#ifndef TASKLOG_RUNNER_H
#define TASKLOG_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "tasklog.h"

/* Prints "tasklog: <message>" to stderr. */
void runner_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The mount to use: dir if given, else $TASKLOG_MOUNT, else "mnt". Checks
 * that it is a tasklogfs mount; on failure says why on stderr and returns
 * NULL.
 */
const char *runner_mount(const char *dir);

/* True for a task id of [A-Za-z0-9._-]{1,128} not starting with '.'. */
bool runner_name_valid(const char *name);

/* Writes all of len bytes to fd, retrying on EINTR. Returns 0 or -errno. */
int runner_write_all(int fd, const char *data, size_t len);

#define IMPORT_MAX 16
#define CONFIG_MAX 64

/* What `tasklog run` was asked to do. */
struct run_options {
	const char *mount;
	const char *id;
	const char *config[CONFIG_MAX]; /* "key=value" */
	size_t config_count;
	const char *imports[IMPORT_MAX];
	size_t import_count;
	bool quiet;
	char **plugin_argv; /* plugin, then its arguments */
	int plugin_argc;
};

/*
 * In the forked child: makes out_w and err_w its stdout and stderr, restores
 * old_mask, sets the plugin's environment and runs the plugin. Never returns.
 */
void runner_child(const struct run_options *opt, const char *task_dir,
		  const sigset_t *old_mask, int out_w, int err_w)
    __attribute__((noreturn));

/* `tasklog run …`, `ls`, `rm`, `tail`: argv starts at the command's name. */
int runner_run(int argc, char **argv);
int runner_ls(int argc, char **argv);
int runner_rm(int argc, char **argv);
int runner_tail(int argc, char **argv);

/*
 * --import FILE[:SOURCE]: follows a log file another program writes, across
 * rotation (rename + new file) and truncation, appending its lines to
 * TASK_DIR/logs/by-source/SOURCE.
 */
struct follower;

/*
 * Starts following spec ("FILE" or "FILE:SOURCE", source "plugin" by
 * default) for the task in task_dir, watched through inotify_fd. An existing
 * file is followed from its end. Returns 0 or -errno with a message printed.
 */
int follower_new(const char *spec, const char *task_dir, int inotify_fd,
		 struct follower **out);

/* Looks at one inotify event (of any follower's watch). */
struct inotify_event;
void follower_event(struct follower *f, const struct inotify_event *ev);

/* Reads whatever is new in every file followed and appends its lines. */
int follower_poll(struct follower *f);

/*
 * The plugin has exited: reads everything to its end, appends the last
 * unfinished line, and closes. Returns 0 or the first write error.
 */
int follower_finish(struct follower *f);

/* Lines appended so far. */
unsigned long follower_lines(const struct follower *f);

void follower_free(struct follower *f);

#endif
