/*
 * run.c - `tasklog run`: create a task, run its plugin, record its status.
 *
 * The plugin runs in a child process, whatever its kind, so that a crash
 * cannot take the runner (and the task's status) with it:
 * - an executable is exec'd;
 * - a shared object (*.so) is loaded in the child, which calls its
 *   tasklog_execute(ctx, argc, argv) or, for old plugins, execute(argc, argv)
 *   (FR-007).
 * Its stdout and stderr are pipes to the runner, whose lines become entries
 * of source "plugin" (INFO and ERROR) and are echoed to the runner's own
 * stdout and stderr unless --quiet. Signals are turned into events on a
 * signalfd: SIGCHLD ends the run, SIGINT/SIGTERM/SIGHUP are passed on to the
 * plugin.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runner.h"

#define PIECE_MAX                                                              \
	((size_t)128 * 1024) /* a longer output line is cut, JSON < 1 MiB */
#define TICK_MS	  250  /* --import files are looked at this often anyway */
#define LINGER_MS 2000 /* output pipes left open by the plugin's children */

/* One of the plugin's output pipes. */
struct capture {
	int fd; /* -1 at EOF */
	int echo_fd;
	enum tasklog_level level;
	char *line; /* the unfinished line */
	size_t len, cap;
	unsigned cut; /* parts of a long line written so far */
};

struct run {
	struct run_options opt;
	char task_dir[PATH_MAX];
	struct tasklog_context *ctx;
	struct capture out, err;
	struct follower *followers[IMPORT_MAX];
	pid_t child;
	int child_status; /* from waitpid, valid once exited */
	bool exited;
	int log_error; /* the first error writing to the mount */
};

static void usage(FILE *to)
{
	fprintf(
	    to,
	    "usage: tasklog run [--id ID] [--mount DIR] [--config "
	    "KEY=VALUE]...\n"
	    "                   [--import FILE[:SOURCE]]... [--quiet] PLUGIN "
	    "[ARGS...]\n"
	    "\n"
	    "Creates task ID (default: PLUGIN's name and the time) in the "
	    "mount,\n"
	    "runs PLUGIN - an executable, or a shared object exporting\n"
	    "tasklog_execute() or the old execute() - with TASKLOG_TASK_ID,\n"
	    "TASKLOG_DIR and TASKLOG_CONFIG_<KEY> set, captures its stdout "
	    "(INFO)\n"
	    "and stderr (ERROR), follows FILE if given, records the status "
	    "and\n"
	    "exits with the plugin's exit code.\n");
}

static bool config_key_valid(const char *item)
{
	const char *eq = strchr(item, '=');
	size_t len = eq ? (size_t)(eq - item) : 0;

	return len > 0 &&
	       strspn(item, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len;
}

static int parse_options(int argc, char **argv, struct run_options *opt)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *arg = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
			opt->quiet = true;
			continue;
		}
		if (!value) {
			runner_warn("run: %s needs a value", arg);
			return -EINVAL;
		}
		i++;
		if (strcmp(arg, "--id") == 0) {
			opt->id = value;
		} else if (strcmp(arg, "--mount") == 0) {
			opt->mount = value;
		} else if (strcmp(arg, "--config") == 0 ||
			   strcmp(arg, "-c") == 0) {
			if (!config_key_valid(value)) {
				runner_warn("run: --config %s: want KEY=VALUE, "
					    "KEY of letters, digits and _",
					    value);
				return -EINVAL;
			}
			if (opt->config_count == CONFIG_MAX) {
				runner_warn("run: more than %d --config",
					    CONFIG_MAX);
				return -EINVAL;
			}
			opt->config[opt->config_count++] = value;
		} else if (strcmp(arg, "--import") == 0) {
			if (opt->import_count == IMPORT_MAX) {
				runner_warn("run: more than %d --import",
					    IMPORT_MAX);
				return -EINVAL;
			}
			opt->imports[opt->import_count++] = value;
		} else {
			runner_warn("run: unknown option %s", arg);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return -EINVAL;
	}
	if (opt->id && !runner_name_valid(opt->id)) {
		runner_warn("run: '%s' is not a task id: 1 to 128 of "
			    "[A-Za-z0-9._-], not starting with '.'",
			    opt->id);
		return -EINVAL;
	}
	opt->plugin_argv = argv + i;
	opt->plugin_argc = argc - i;
	return 0;
}

/* PLUGIN's base name without extension, made a valid id, and the time. */
static void make_id(const char *plugin, char *id, size_t size)
{
	const char *base = strrchr(plugin, '/');
	char name[64];
	size_t n = 0;
	time_t now = time(NULL);
	struct tm tm;

	base = base ? base + 1 : plugin;
	for (; *base && *base != '.' && n < sizeof(name) - 1; base++)
		name[n++] = runner_name_valid((char[]){*base, 0}) ? *base : '-';
	name[n] = '\0';
	localtime_r(&now, &tm);
	snprintf(id, size, "%s-%04d%02d%02d-%02d%02d%02d-%ld",
		 n ? name : "task", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid());
}

static void note_log_error(struct run *r, int rc)
{
	if (rc < 0 && r->log_error == 0) {
		r->log_error = rc;
		runner_warn("cannot log to %s: %s; the plugin goes on, its "
			    "output is still shown here",
			    r->task_dir, strerror(-rc));
	}
}

/* Logs one piece of an output line; cut is its part number, or 0. */
static void log_piece(struct run *r, struct capture *c, const char *text,
		      size_t len, unsigned cut)
{
	char meta[32];
	int rc;

	if (cut)
		snprintf(meta, sizeof(meta), "{\"cut\":%u}", cut);
	rc = tasklog_write(r->ctx->logger, c->level, cut ? meta : NULL, text,
			   len);
	note_log_error(r, rc);
}

/* Turns what was read into entries: one a line, long lines cut in parts. */
static void capture_lines(struct run *r, struct capture *c, bool at_end)
{
	size_t start = 0;

	for (;;) {
		size_t avail = c->len - start;
		/* Only a newline within PIECE_MAX bytes ends an uncut piece. */
		char *nl =
		    memchr(c->line + start, '\n',
			   avail < PIECE_MAX + 1 ? avail : PIECE_MAX + 1);

		if (nl || (at_end && avail > 0 && avail <= PIECE_MAX)) {
			size_t len =
			    nl ? (size_t)(nl - (c->line + start)) : avail;

			log_piece(r, c, c->line + start, len,
				  c->cut ? c->cut + 1 : 0);
			c->cut = 0;
			start += len + (nl != NULL);
		} else if (avail > PIECE_MAX) {
			log_piece(r, c, c->line + start, PIECE_MAX, ++c->cut);
			start += PIECE_MAX;
		} else {
			break;
		}
	}
	memmove(c->line, c->line + start, c->len - start);
	c->len -= start;
}

static void capture_read(struct run *r, struct capture *c)
{
	ssize_t n;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 131072;
		c->line = realloc(c->line, c->cap);
		if (!c->line)
			abort();
	}
	n = read(c->fd, c->line + c->len, c->cap - c->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		capture_lines(r, c, true);
		close(c->fd);
		c->fd = -1;
		return;
	}
	if (c->echo_fd >= 0)
		runner_write_all(c->echo_fd, c->line + c->len, (size_t)n);
	c->len += (size_t)n;
	capture_lines(r, c, false);
}

static void on_signal(struct run *r, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGCHLD) {
			kill(r->child, (int)si.ssi_signo);
			continue;
		}
		int status;

		if (!r->exited &&
		    waitpid(r->child, &status, WNOHANG) == r->child) {
			r->exited = true;
			r->child_status = status;
		}
	}
}

static void poll_followers(struct run *r)
{
	for (size_t i = 0; i < r->opt.import_count; i++)
		note_log_error(r, follower_poll(r->followers[i]));
}

static void read_events(struct run *r, int ifd)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (void *)p;

			for (size_t i = 0; i < r->opt.import_count; i++)
				follower_event(r->followers[i], ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Until the plugin has exited and its output and files are drained. */
static void event_loop(struct run *r, int sfd, int ifd)
{
	int64_t exited_at = 0;

	for (;;) {
		struct pollfd p[4] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = ifd, .events = POLLIN},
		    {.fd = r->out.fd, .events = POLLIN},
		    {.fd = r->err.fd, .events = POLLIN},
		};
		int timeout = r->opt.import_count ? TICK_MS : -1;

		if (r->exited) {
			if (r->out.fd < 0 && r->err.fd < 0)
				break;
			if (!exited_at)
				exited_at = now_ms();
			if (now_ms() - exited_at >= LINGER_MS) {
				runner_warn("the plugin exited but something "
					    "it started still holds its "
					    "output open; stopped capturing");
				break;
			}
			timeout = TICK_MS;
		}
		if (poll(p, 4, timeout) < 0 && errno != EINTR) {
			runner_warn("poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents)
			on_signal(r, sfd);
		if (p[1].revents)
			read_events(r, ifd);
		if (p[2].revents)
			capture_read(r, &r->out);
		if (p[3].revents)
			capture_read(r, &r->err);
		poll_followers(r);
	}
	if (r->out.fd >= 0)
		capture_read(r, &r->out); /* whatever is there, then close */
	if (r->err.fd >= 0)
		capture_read(r, &r->err);
	for (struct capture *c = &r->out; c <= &r->err; c++)
		if (c->fd >= 0) {
			capture_lines(r, c, true);
			close(c->fd);
			c->fd = -1;
		}
}

/* The plugin's exit code, as a shell reports it. */
static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static int write_status(struct run *r, int code)
{
	char path[PATH_MAX + 16], text[32];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/status", r->task_dir);
	if (code == 0)
		snprintf(text, sizeof(text), "succeeded\n");
	else
		snprintf(text, sizeof(text), "failed %d\n", code);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = runner_write_all(fd, text, strlen(text));
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int start_task(struct run *r, char *id_buf, size_t id_size)
{
	if (!r->opt.id) {
		make_id(r->opt.plugin_argv[0], id_buf, id_size);
		r->opt.id = id_buf;
	}
	snprintf(r->task_dir, sizeof(r->task_dir), "%s/tasks/%s", r->opt.mount,
		 r->opt.id);
	if (mkdir(r->task_dir, 0755) < 0) {
		int rc = -errno;

		if (rc == -EEXIST)
			runner_warn("task %s exists already: give another "
				    "--id, or remove it with `tasklog rm %s`",
				    r->opt.id, r->opt.id);
		else
			runner_warn("cannot create task %s: %s", r->task_dir,
				    strerror(-rc));
		return rc;
	}
	int rc = tasklog_context_open(r->task_dir, r->opt.id, &r->ctx);

	if (rc < 0)
		runner_warn("cannot open %s/logs/all: %s", r->task_dir,
			    strerror(-rc));
	return rc;
}

int runner_run(int argc, char **argv)
{
	struct run r = {.out = {.fd = -1}, .err = {.fd = -1}};
	char id_buf[160];
	int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
	int sfd = -1, ifd = -1, code = 1, rc;
	sigset_t mask, old_mask;

	if (parse_options(argc, argv, &r.opt) < 0)
		return 2;
	r.opt.mount = runner_mount(r.opt.mount);
	if (!r.opt.mount)
		return 2;
	if (start_task(&r, id_buf, sizeof(id_buf)) < 0)
		return 2;
	if (!r.opt.quiet)
		runner_warn("task %s", r.opt.id);

	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0) {
		runner_warn("inotify: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < r.opt.import_count; i++)
		if (follower_new(r.opt.imports[i], r.task_dir, ifd,
				 &r.followers[i]) < 0)
			goto fail;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old_mask);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0 || pipe2(out_pipe, O_CLOEXEC) < 0 ||
	    pipe2(err_pipe, O_CLOEXEC) < 0) {
		runner_warn("cannot set up the run: %s", strerror(errno));
		goto fail;
	}
	signal(SIGPIPE,
	       SIG_IGN); /* an echo to a closed pipe must not kill us */
	r.child = fork();
	if (r.child < 0) {
		runner_warn("fork: %s", strerror(errno));
		goto fail;
	}
	if (r.child == 0)
		runner_child(&r.opt, r.task_dir, &old_mask, out_pipe[1],
			     err_pipe[1]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	/* Never block on a pipe something the plugin started keeps open. */
	fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
	r.out = (struct capture){.fd = out_pipe[0],
				 .echo_fd = r.opt.quiet ? -1 : STDOUT_FILENO,
				 .level = TASKLOG_INFO};
	r.err = (struct capture){.fd = err_pipe[0],
				 .echo_fd = r.opt.quiet ? -1 : STDERR_FILENO,
				 .level = TASKLOG_ERROR};

	event_loop(&r, sfd, ifd);
	while (!r.exited) {
		/* Stopped capturing early, or poll failed: still wait. */
		if (waitpid(r.child, &r.child_status, 0) == r.child)
			r.exited = true;
	}
	code = exit_code(r.child_status);

	for (size_t i = 0; i < r.opt.import_count; i++)
		note_log_error(&r, follower_finish(r.followers[i]));
	note_log_error(&r, tasklog_flush(r.ctx));
	rc = write_status(&r, code);
	if (rc < 0)
		runner_warn("cannot record the status of task %s: %s", r.opt.id,
			    strerror(-rc));
	if ((rc < 0 || r.log_error) && code == 0)
		code = 1; /* the plugin succeeded, but its log is not whole */
	goto out;
fail:
	code = 2;
	write_status(&r, code);
out:
	for (size_t i = 0; i < r.opt.import_count; i++)
		follower_free(r.followers[i]);
	tasklog_context_close(r.ctx);
	free(r.out.line);
	free(r.err.line);
	if (sfd >= 0)
		close(sfd);
	if (ifd >= 0)
		close(ifd);
	return code;
}
