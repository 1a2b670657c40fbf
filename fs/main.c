/*
 * main.c - the tasklogfs daemon: options, the engine, the mount, and a clean
 * exit that commits every entry and leaves no mount behind.
 *
 *   tasklogfs [-f] [-o db=PATH,flush_ms=N,retention=DUR,http=ADDR:PORT|off]
 *             MOUNTPOINT
 */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <sys/resource.h>
#include <unistd.h>

#include "fs.h"
#include "webview.h"

#define TASKLOGFS_VERSION "0.2.0"
#define MAX_THREADS	  128
#define DEFAULT_HTTP	  "127.0.0.1:8080"

extern char **environ;

struct options {
	char *db;
	char *retention;
	char *http;
	char *token;
	char *mem_max;
	unsigned flush_ms;
	unsigned batch_max;
	int show_help;
	int show_version;
};

enum { KEY_HELP, KEY_VERSION };

static const struct fuse_opt option_spec[] = {
    {"db=%s", offsetof(struct options, db), 0},
    {"retention=%s", offsetof(struct options, retention), 0},
    {"http=%s", offsetof(struct options, http), 0},
    {"token=%s", offsetof(struct options, token), 0},
    {"mem_max=%s", offsetof(struct options, mem_max), 0},
    {"flush_ms=%u", offsetof(struct options, flush_ms), 0},
    {"batch_max=%u", offsetof(struct options, batch_max), 0},
    FUSE_OPT_KEY("-h", KEY_HELP),
    FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),
    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_END};

static bool use_syslog;

void fs_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(LOG_NOTICE, fmt, ap);
	} else {
		fputs("tasklogfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

void fs_log_to_syslog(void)
{
	openlog("tasklogfs", LOG_PID, LOG_DAEMON);
	use_syslog = true;
}

static void engine_log(void *ctx, const char *message)
{
	(void)ctx;
	fs_log("%s", message);
}

static int option_key(void *data, const char *arg, int key,
		      struct fuse_args *out)
{
	struct options *o = data;

	(void)arg;
	(void)out;
	if (key == KEY_HELP) {
		o->show_help = 1;
		return 0;
	}
	if (key == KEY_VERSION) {
		o->show_version = 1;
		return 0;
	}
	return 1;
}

static void usage(const char *prog)
{
	printf(
	    "usage: %s [options] MOUNTPOINT\n\n"
	    "Keeps the logs of tasks in SQLite and serves them as files.\n\n"
	    "tasklogfs options:\n"
	    "    -o db=PATH             the database (default ./tasklog.db)\n"
	    "    -o flush_ms=N          commit at least every N ms "
	    "(default 2000)\n"
	    "    -o batch_max=N         or when N entries wait "
	    "(default 50000)\n"
	    "    -o mem_max=SIZE        uncommitted bytes before writers "
	    "wait (default 256M)\n"
	    "    -o retention=DUR       delete finished tasks older than "
	    "DUR (30d, 12h)\n"
	    "    -o http=ADDR:PORT|off  the web view (default "
	    "127.0.0.1:8080)\n"
	    "    -o token=SECRET        required by the web view; needed "
	    "beyond loopback\n\n",
	    prog);
}

/* "30d", "12h", "90m", "45s", "2w" in milliseconds; -1 if malformed. */
static int64_t parse_duration(const char *s)
{
	char *end;
	long long n = strtoll(s, &end, 10);
	int64_t unit;

	if (end == s || n <= 0)
		return -1;
	switch (*end) {
	case 's':
		unit = 1000;
		break;
	case 'm':
		unit = 60000;
		break;
	case 'h':
		unit = 3600000;
		break;
	case 'd':
		unit = 86400000;
		break;
	case 'w':
		unit = 604800000;
		break;
	default:
		return -1;
	}
	if (end[1] || n > 100000)
		return -1;
	return n * unit;
}

/* "256M", "1G", "65536" in bytes; 0 if malformed. */
static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long n = strtoull(s, &end, 10);

	if (end == s)
		return 0;
	switch (*end) {
	case 'K':
	case 'k':
		n <<= 10;
		end++;
		break;
	case 'M':
	case 'm':
		n <<= 20;
		end++;
		break;
	case 'G':
	case 'g':
		n <<= 30;
		end++;
		break;
	default:
		break;
	}
	return *end ? 0 : (size_t)n;
}

/* A crashed daemon leaves "Transport endpoint is not connected" behind. */
static void clear_stale_mount(const char *mountpoint)
{
	char prog[] = "fusermount3", unmount[] = "-u", lazy[] = "-z";
	char *argv[] = {prog, unmount, lazy, (char *)mountpoint, NULL};
	struct stat st;
	pid_t pid;
	int status;

	if (stat(mountpoint, &st) == 0 || errno != ENOTCONN)
		return;
	fs_log("%s: clearing the stale mount of a daemon that died",
	       mountpoint);
	if (posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ) == 0)
		waitpid(pid, &status, 0);
}

/* The database path made absolute: a daemon changes directory to /. */
static char *absolute_db(const char *db)
{
	char dir[PATH_MAX], *copy = strdup(db), *slash, *out;
	const char *base;
	size_t len;

	if (!copy)
		abort();
	slash = strrchr(copy, '/');
	if (slash == copy) {
		snprintf(dir, sizeof(dir), "/");
		base = copy + 1;
	} else if (slash) {
		*slash = '\0';
		if (!realpath(copy, dir)) {
			free(copy);
			return NULL;
		}
		base = slash + 1;
	} else {
		if (!getcwd(dir, sizeof(dir))) {
			free(copy);
			return NULL;
		}
		base = copy;
	}
	len = strlen(dir) + strlen(base) + 2;
	out = malloc(len);
	if (!out)
		abort();
	snprintf(out, len, "%s/%s", strcmp(dir, "/") ? dir : "", base);
	free(copy);
	return out;
}

/*
 * Each web client is a descriptor: lift the soft limit (often 1024) towards
 * the hard one, so that a flood of connections meets the header-table
 * limits of the web view before it meets this one.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = {0};
	struct options o = {0};
	struct tl_config config;
	struct fs fs = {.epoll_fd = -1, .stop_fd = -1};
	struct fuse *fuse = NULL;
	struct tl_engine *probe = NULL;
	struct web_server *web = NULL;
	int rc = 1, mounted = 0;

	if (fuse_opt_parse(&args, &o, option_spec, option_key) < 0)
		return 2;
	if (o.show_version) {
		printf("tasklogfs %s (libfuse %s)\n", TASKLOGFS_VERSION,
		       fuse_pkgversion());
		return 0;
	}
	if (o.show_help) {
		usage(argv[0]);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		fuse_lib_help(&args);
		return 0;
	}
	if (fuse_parse_cmdline(&args, &cmd) != 0)
		return 2;
	if (!cmd.mountpoint) {
		fprintf(stderr, "usage: %s [options] MOUNTPOINT (--help)\n",
			argv[0]);
		goto out_args;
	}

	tl_config_init(&config);
	config.log = engine_log;
	if (o.flush_ms)
		config.flush_ms = o.flush_ms;
	if (o.batch_max)
		config.batch_max = o.batch_max;
	if (o.mem_max && !(config.mem_max = parse_size(o.mem_max))) {
		fprintf(stderr, "tasklogfs: mem_max=%s: a size like 256M\n",
			o.mem_max);
		goto out_args;
	}
	if (o.retention &&
	    (config.retention_ms = parse_duration(o.retention)) < 0) {
		fprintf(stderr,
			"tasklogfs: retention=%s: a duration like 30d "
			"or 12h\n",
			o.retention);
		goto out_args;
	}
	fs.db_path = absolute_db(o.db ? o.db : "tasklog.db");
	if (!fs.db_path) {
		fprintf(stderr, "tasklogfs: %s: %s\n", o.db, strerror(errno));
		goto out_args;
	}
	config.db_path = fs.db_path;

	/* Fail before mounting if the database cannot be opened. */
	if (tl_engine_open(&config, &probe) < 0) {
		fprintf(stderr, "tasklogfs: cannot open the database %s\n",
			fs.db_path);
		goto out_args;
	}
	tl_engine_close(probe, -1);

	clear_stale_mount(cmd.mountpoint);
	pthread_mutex_init(&fs.views_lock, NULL);
	pthread_mutex_init(&fs.stats_lock, NULL);
	pthread_mutex_init(&fs.files_lock, NULL);
	pthread_mutex_init(&fs.sources_lock, NULL);
	fuse = fuse_new(&args, &fs_operations, sizeof(fs_operations), &fs);
	if (!fuse)
		goto out_args;
	if (fuse_mount(fuse, cmd.mountpoint) != 0)
		goto out_fuse;
	mounted = 1;
	if (fuse_daemonize(cmd.foreground) != 0)
		goto out_unmount;
	if (!cmd.foreground)
		fs_log_to_syslog();

	/* Threads start only now: fuse_daemonize forks. */
	if (tl_engine_open(&config, &fs.engine) < 0)
		goto out_unmount;
	fs.started_ms = tl_now_ms();
	if (poll_start(&fs) < 0)
		goto out_engine;
	if (!o.http || strcmp(o.http, "off") != 0) {
		const char *listen = o.http ? o.http : DEFAULT_HTTP;
		raise_fd_limit();
		int web_rc = web_start(fs.engine, listen, o.token, &web);

		/* The mount is the product; the web view is a window on it. */
		if (web_rc < 0)
			fs_log("http=%s: not serving the web view (%s)", listen,
			       web_rc == -EINVAL ? "an IPv4 ADDR:PORT is needed"
			       : web_rc == -EACCES
				   ? "beyond loopback, -o token= of 16+ "
				     "characters is needed"
				   : strerror(-web_rc));
		else
			fs_log("web view on http://%s/", listen);
	}
	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		goto out_engine;
	fs_log("mounted %s, database %s", cmd.mountpoint, fs.db_path);

	if (cmd.singlethread) {
		rc = fuse_loop(fuse);
	} else {
		/* A stream reader waiting for entries holds a thread. */
		struct fuse_loop_config *loop = fuse_loop_cfg_create();

		fuse_loop_cfg_set_clone_fd(loop, (unsigned)cmd.clone_fd);
		fuse_loop_cfg_set_max_threads(
		    loop, cmd.max_threads > 10 ? cmd.max_threads : MAX_THREADS);
		rc = fuse_loop_mt(fuse, loop);
		fuse_loop_cfg_destroy(loop);
	}
	rc = rc < 0 ? 1 : 0;
	fuse_remove_signal_handlers(fuse_get_session(fuse));
out_engine:
	fuse_unmount(fuse);
	mounted = 0;
	web_stop(web);
	fs_files_close_all(&fs);
	poll_stop(&fs);
	view_free_all(&fs);
	sources_free_all(&fs);
	if (fs.engine && tl_engine_close(fs.engine, 30000) < 0)
		rc = 1;
	if (fs.engine)
		fs_log("stopped; every entry is committed%s",
		       rc ? " except those reported above" : "");
out_unmount:
	if (mounted)
		fuse_unmount(fuse);
out_fuse:
	fuse_destroy(fuse);
out_args:
	free((char *)fs.db_path);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	free(o.db);
	free(o.retention);
	free(o.http);
	free(o.token);
	free(o.mem_max);
	return rc;
}
