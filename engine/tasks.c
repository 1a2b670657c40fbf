/*
 * tasks.c - the task lifecycle: create, read, list, finish, delete, and
 * retention (FR-008, FR-009). Deleting hides the task at once; the writer
 * removes its rows with the next batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "util.h"

static void task_info(const struct task *t, struct tl_task_info *out)
{
	memcpy(out->id, t->id, sizeof(out->id));
	out->status = t->status;
	out->exit_code = t->exit_code;
	out->created_ms = t->created_ms;
	out->finished_ms = t->finished_ms;
	out->last_seq = t->last_seq;
	out->last_ts_ms = t->last_ts_ms;
}

/* Marks the task's record as changed; engine->lock held. */
static void task_touch(struct tl_engine *engine, struct task *t)
{
	t->version++;
	engine->gen++;
}

int tl_task_create(struct tl_engine *engine, const char *id)
{
	struct task *t;
	int rc = 0;

	if (!tl_task_id_valid(id))
		return -EINVAL;
	pthread_mutex_lock(&engine->lock);
	if (engine->closing) {
		rc = -ESHUTDOWN;
	} else if (engine_find_task(engine, id)) {
		rc = -EEXIST;
	} else {
		t = engine_task_new(engine, engine->next_key++, id);
		t->created_ms = t->last_ts_ms = tl_now_ms();
		task_touch(engine, t);
		engine->stats.tasks = engine->n_tasks;
	}
	pthread_mutex_unlock(&engine->lock);
	return rc;
}

int tl_task_get(struct tl_engine *engine, const char *id,
		struct tl_task_info *out)
{
	struct task *t;

	pthread_mutex_lock(&engine->lock);
	t = engine_find_task(engine, id);
	if (t)
		task_info(t, out);
	pthread_mutex_unlock(&engine->lock);
	return t ? 0 : -ENOENT;
}

int tl_task_list(struct tl_engine *engine, struct tl_task_info **out,
		 size_t *count)
{
	struct tl_task_info *list = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&engine->lock);
	for (struct task *t = engine->tasks; t; t = t->list_next) {
		if (t->deleted)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : engine->n_tasks + 1;
			list = xrealloc(list, cap * sizeof(*list));
		}
		task_info(t, &list[n++]);
	}
	pthread_mutex_unlock(&engine->lock);
	*out = list;
	*count = n;
	return 0;
}

int tl_task_set_status(struct tl_engine *engine, const char *id,
		       enum tl_status status, int exit_code)
{
	struct task *t;

	if ((unsigned)status > TL_FAILED)
		return -EINVAL;
	pthread_mutex_lock(&engine->lock);
	t = engine_find_task(engine, id);
	if (t) {
		t->status = status;
		t->exit_code = status == TL_RUNNING ? 0 : exit_code;
		t->finished_ms = status == TL_RUNNING ? 0 : tl_now_ms();
		task_touch(engine, t);
		live_notify(engine, t);
	}
	pthread_mutex_unlock(&engine->lock);
	return t ? 0 : -ENOENT;
}

/* Hides the task and queues the deletion of its rows; engine->lock held. */
static void task_delete(struct tl_engine *engine, struct task *t)
{
	engine_task_unhash(engine, t);
	t->deleted = true;
	engine->stats.tasks = engine->n_tasks;
	engine->gen++;
	live_release_task(t);
	pthread_cond_broadcast(&engine->live_cond);
	pthread_cond_signal(&engine->writer_cond);
}

int tl_task_delete(struct tl_engine *engine, const char *id)
{
	struct task *t;

	pthread_mutex_lock(&engine->lock);
	t = engine_find_task(engine, id);
	if (t)
		task_delete(engine, t);
	pthread_mutex_unlock(&engine->lock);
	return t ? 0 : -ENOENT;
}

int tl_retention_apply(struct tl_engine *engine, int64_t cutoff_ms)
{
	int n = 0;

	pthread_mutex_lock(&engine->lock);
	for (struct task *t = engine->tasks; t; t = t->list_next) {
		if (!t->deleted && t->status != TL_RUNNING &&
		    t->finished_ms < cutoff_ms) {
			task_delete(engine, t);
			n++;
		}
	}
	pthread_mutex_unlock(&engine->lock);
	return n;
}
