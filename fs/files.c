/*
 * files.c - the small files (README, status, task.json, stats) and the
 * sources declared by creating by-source/<s>.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static const char readme[] =
    "tasklogfs: the logs of tasks, as files\n"
    "\n"
    "  mkdir tasks/ID                 create a task; rmdir deletes it and "
    "all its entries\n"
    "  tasks/ID/status                running | succeeded | failed CODE "
    "(write it to finish)\n"
    "  tasks/ID/task.json             the task record, counts by level and "
    "source\n"
    "  tasks/ID/logs/all              every entry; append lines to log "
    "(source plugin)\n"
    "  tasks/ID/logs/all.jsonl        every entry as JSON, one a line\n"
    "  tasks/ID/logs/by-source/S      one source; append to log as S\n"
    "  tasks/ID/logs/level/WARNING+   at or above a level (or exactly: "
    "level/ERROR)\n"
    "  tasks/ID/logs/search/TERM      message contains TERM "
    "(case-insensitive)\n"
    "  tasks/ID/logs/meta/KEY/VALUE   metadata KEY equals VALUE\n"
    "  tasks/ID/logs/view/FILTER      any combination: "
    "view/source=api&level=ERROR+&q=timeout\n"
    "  tasks/ID/logs/stream/...       the same files; reads wait for new "
    "entries until the task ends\n"
    "  stats, tasks/ID/logs/stats     counters\n"
    "\n"
    "A line written is one entry. A JSON line "
    "{\"message\":…,\"level\":…,\"source\":…,\"metadata\":{…}}\n"
    "is a structured entry; a plain line may start with [ERROR] or ERROR:.\n"
    "close() returns once the lines are accepted, fsync() once they are "
    "stored.\n"
    "Try: tail -f tasks/ID/logs/all, grep -c timeout "
    "tasks/ID/logs/level/ERROR+\n";

char *fs_render_readme(size_t *len)
{
	*len = sizeof(readme) - 1;
	return strdup(readme);
}

static char *finish(struct tl_buf *b, size_t *len)
{
	tl_buf_add(b, "", 0);
	*len = b->len;
	return b->data;
}

static void line(struct tl_buf *b, const char *name, uint64_t value)
{
	char text[96];
	int n = snprintf(text, sizeof(text), "%s %" PRIu64 "\n", name, value);

	tl_buf_add(b, text, (size_t)n);
}

char *fs_render_stats(struct fs *fs, const char *task, size_t *len)
{
	struct tl_buf b = {0};
	struct tl_stats st;
	struct tl_task_info info;

	if (task[0]) {
		if (tl_task_get(fs->engine, task, &info) < 0)
			return NULL;
		line(&b, "entries", info.last_seq);
	}
	tl_engine_stats(fs->engine, &st);
	line(&b, "received", st.received);
	line(&b, "stored", st.stored);
	line(&b, "pending", st.pending);
	line(&b, "pending_bytes", st.pending_bytes);
	line(&b, "discarded", st.discarded);
	line(&b, "batches", st.batches);
	line(&b, "flush_errors", st.flush_errors);
	line(&b, "retries", st.retries);
	line(&b, "waits", st.waits);
	line(&b, "tasks", st.tasks);
	pthread_mutex_lock(&fs->stats_lock);
	line(&b, "bad_json", fs->bad_json);
	line(&b, "cut_lines", fs->cut_lines);
	line(&b, "bad_requests", fs->bad_requests);
	pthread_mutex_unlock(&fs->stats_lock);
	return finish(&b, len);
}

char *fs_render_task_json(struct fs *fs, const char *task, size_t *len)
{
	struct tl_buf b = {0};

	if (tl_task_format_json(fs->engine, task, &b) < 0) {
		tl_buf_release(&b);
		return NULL;
	}
	return finish(&b, len);
}

char *fs_render_status(struct fs *fs, const char *task, size_t *len)
{
	struct tl_task_info info;
	struct tl_buf b = {0};
	char text[64];
	int n;

	if (tl_task_get(fs->engine, task, &info) < 0)
		return NULL;
	if (info.status == TL_RUNNING)
		n = snprintf(text, sizeof(text), "running\n");
	else if (info.status == TL_SUCCEEDED)
		n = snprintf(text, sizeof(text), "succeeded\n");
	else
		n = snprintf(text, sizeof(text), "failed %d\n", info.exit_code);
	tl_buf_add(&b, text, (size_t)n);
	return finish(&b, len);
}

struct declared_source {
	struct declared_source *next;
	char task[TL_TASK_ID_MAX + 1];
	char source[TL_SOURCE_MAX + 1];
};

void sources_declare(struct fs *fs, const char *task, const char *source)
{
	struct declared_source *d;

	if (sources_declared(fs, task, source))
		return;
	d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	snprintf(d->task, sizeof(d->task), "%s", task);
	snprintf(d->source, sizeof(d->source), "%s", source);
	pthread_mutex_lock(&fs->sources_lock);
	d->next = fs->declared;
	fs->declared = d;
	pthread_mutex_unlock(&fs->sources_lock);
}

bool sources_declared(struct fs *fs, const char *task, const char *source)
{
	bool found = false;

	pthread_mutex_lock(&fs->sources_lock);
	for (struct declared_source *d = fs->declared; d && !found; d = d->next)
		found = strcmp(d->task, task) == 0 &&
			strcmp(d->source, source) == 0;
	pthread_mutex_unlock(&fs->sources_lock);
	return found;
}

void sources_each(struct fs *fs, const char *task,
		  void (*fn)(const char *source, void *ctx), void *ctx)
{
	pthread_mutex_lock(&fs->sources_lock);
	for (struct declared_source *d = fs->declared; d; d = d->next)
		if (strcmp(d->task, task) == 0)
			fn(d->source, ctx);
	pthread_mutex_unlock(&fs->sources_lock);
}

void sources_forget_task(struct fs *fs, const char *task)
{
	pthread_mutex_lock(&fs->sources_lock);
	for (struct declared_source **p = &fs->declared; *p;) {
		struct declared_source *d = *p;

		if (strcmp(d->task, task) == 0) {
			*p = d->next;
			free(d);
		} else {
			p = &d->next;
		}
	}
	pthread_mutex_unlock(&fs->sources_lock);
}

void sources_free_all(struct fs *fs)
{
	sources_forget_task(fs, "");
	while (fs->declared) {
		struct declared_source *d = fs->declared;

		fs->declared = d->next;
		free(d);
	}
}
