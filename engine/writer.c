/*
 * writer.c - the one thread that commits to SQLite (FR-004).
 *
 * It wakes every flush_ms, when batch_max entries wait, or when someone
 * flushes, takes a snapshot of the work under the lock, and commits it in one
 * transaction with the lock released: entries first, then task deletions,
 * then changed task records. Only after a commit succeeds does it drop the
 * entries from memory; a failed commit leaves everything where it was and
 * is retried with backoff, so nothing accepted is ever lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "util.h"

#define RETRY_FIRST_MS	   50
#define RETENTION_EVERY_MS 60000

struct batch {
	struct pending **entries; /* to insert */
	size_t n_entries, cap_entries;
	size_t n_taken;		  /* from the queue head, skipped too */
	struct store_task *tasks; /* records to write */
	unsigned *versions;
	struct task **task_ptrs;
	size_t n_tasks, cap_tasks;
	struct task **deletes; /* tasks whose rows go */
	size_t n_deletes, cap_deletes;
	uint64_t gen_done; /* committed_gen once this commits */
};

static void *grow(void *array, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return array;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 64;
	return xrealloc(array, *cap * size);
}

/* Takes the work to commit; engine->lock held. */
static void batch_snapshot(struct tl_engine *engine, struct batch *b)
{
	size_t n = engine->stats.pending;
	struct pending *p = engine->head;

	if (n > engine->config.batch_max)
		n = engine->config.batch_max;
	b->n_entries = b->n_tasks = b->n_deletes = 0;
	b->entries = grow(b->entries, &b->cap_entries, n, sizeof(*b->entries));
	for (size_t i = 0; i < n; i++, p = p->next)
		if (!p->task->deleted)
			b->entries[b->n_entries++] = p;
	b->n_taken = n;
	/* p is now the first entry left for a later batch. */
	b->gen_done = p ? p->gen - 1 : engine->gen;

	for (struct task *t = engine->tasks; t; t = t->list_next) {
		if (t->deleted && !t->delete_done) {
			b->deletes =
			    grow(b->deletes, &b->cap_deletes, b->n_deletes + 1,
				 sizeof(*b->deletes));
			b->deletes[b->n_deletes++] = t;
		} else if (!t->deleted && t->version != t->saved_version) {
			size_t i = b->n_tasks++;

			b->tasks = grow(b->tasks, &b->cap_tasks, b->n_tasks,
					sizeof(*b->tasks));
			b->versions = xrealloc(b->versions,
					       b->cap_tasks * sizeof(unsigned));
			b->task_ptrs = xrealloc(
			    b->task_ptrs, b->cap_tasks * sizeof(struct task *));
			b->tasks[i] = (struct store_task){
			    .key = t->key,
			    .id = t->id,
			    .status = t->status,
			    .exit_code = t->exit_code,
			    .created_ms = t->created_ms,
			    .finished_ms = t->finished_ms,
			};
			b->versions[i] = t->version;
			b->task_ptrs[i] = t;
		}
	}
}

/* One transaction; the lock is not held. */
static int batch_commit(struct store *store, const struct batch *b)
{
	if (store_begin(store) < 0)
		return -EIO;
	for (size_t i = 0; i < b->n_entries; i++)
		if (store_put_entry(store, b->entries[i]) < 0)
			goto fail;
	for (size_t i = 0; i < b->n_deletes; i++)
		if (store_delete_task(store, b->deletes[i]->key) < 0)
			goto fail;
	for (size_t i = 0; i < b->n_tasks; i++)
		if (store_put_task(store, &b->tasks[i]) < 0)
			goto fail;
	if (store_commit(store) < 0)
		goto fail;
	return 0;
fail:
	store_rollback(store);
	return -EIO;
}

/*
 * Drops the committed entries from memory; engine->lock held. Returns the
 * detached chain of entries for the caller to free without the lock.
 */
static struct pending *batch_done(struct tl_engine *engine,
				  const struct batch *b)
{
	struct pending *first = engine->head, *p = first, *last = NULL;

	for (size_t i = 0; i < b->n_taken; i++) {
		struct task *t = p->task;

		t->pend_head = p->task_next;
		if (!t->pend_head)
			t->pend_tail = NULL;
		t->n_pending--;
		if (!t->deleted)
			t->committed_seq = p->seq;
		engine->pending_bytes -= p->bytes;
		last = p;
		p = p->next;
	}
	engine->head = p;
	if (!p)
		engine->tail = NULL;
	if (last)
		last->next = NULL;
	engine->stats.pending -= b->n_taken;
	engine->stats.stored += b->n_entries;
	engine->stats.discarded += b->n_taken - b->n_entries;
	engine->stats.batches++;
	for (size_t i = 0; i < b->n_tasks; i++)
		b->task_ptrs[i]->saved_version = b->versions[i];
	for (size_t i = 0; i < b->n_deletes; i++)
		b->deletes[i]->delete_done = true;

	struct task *t = engine->tasks, *next;

	for (; t; t = next) {
		next = t->list_next;
		if (t->deleted && t->delete_done && t->n_pending == 0)
			engine_release_task(engine, t);
	}
	engine->committed_gen = b->gen_done;
	pthread_cond_broadcast(&engine->done_cond);
	return b->n_taken ? first : NULL;
}

static bool work_waiting(const struct tl_engine *engine)
{
	return engine->committed_gen < engine->gen;
}

static bool work_urgent(const struct tl_engine *engine)
{
	return engine->closing ||
	       engine->flush_wanted > engine->committed_gen ||
	       engine->stats.pending >= engine->config.batch_max;
}

/*
 * Sleeps until there is urgent work or the flush period ends; engine->lock
 * held. An idle period just starts the next one.
 */
static void wait_for_work(struct tl_engine *engine, int64_t *next_flush)
{
	struct timespec ts;

	while (!work_urgent(engine)) {
		int64_t now = engine_monotonic_ms();

		if (now >= *next_flush) {
			*next_flush = now + engine->config.flush_ms;
			return;
		}
		engine_deadline(&ts, (int)(*next_flush - now));
		pthread_cond_timedwait(&engine->writer_cond, &engine->lock,
				       &ts);
	}
}

/* Sleeps for the whole backoff, shorter when closing; engine->lock held. */
static void backoff(struct tl_engine *engine, unsigned delay_ms)
{
	struct timespec ts;

	if (engine->closing && delay_ms > 200)
		delay_ms = 200;
	engine_deadline(&ts, (int)delay_ms);
	while (pthread_cond_timedwait(&engine->writer_cond, &engine->lock,
				      &ts) != ETIMEDOUT)
		;
}

static void run_retention(struct tl_engine *engine, int64_t *next_at)
{
	int64_t now = engine_monotonic_ms();
	int n;

	if (engine->config.retention_ms <= 0 || now < *next_at)
		return;
	*next_at = now + RETENTION_EVERY_MS;
	pthread_mutex_unlock(&engine->lock);
	n = tl_retention_apply(engine,
			       tl_now_ms() - engine->config.retention_ms);
	if (n > 0)
		engine_log(engine, "retention: deleted %d finished task%s", n,
			   n == 1 ? "" : "s");
	pthread_mutex_lock(&engine->lock);
}

static void free_chain(struct pending *p)
{
	while (p) {
		struct pending *next = p->next;

		free(p);
		p = next;
	}
}

void *writer_main(void *arg)
{
	struct tl_engine *engine = arg;
	struct batch b = {0};
	unsigned delay = 0;
	int64_t next_flush = engine_monotonic_ms() + engine->config.flush_ms;
	int64_t next_retention = 0;

	pthread_mutex_lock(&engine->lock);
	for (;;) {
		run_retention(engine, &next_retention);
		wait_for_work(engine, &next_flush);
		if (!work_waiting(engine)) {
			if (engine->closing)
				break;
			continue;
		}
		batch_snapshot(engine, &b);
		pthread_mutex_unlock(&engine->lock);
		int rc = batch_commit(engine->store, &b);
		const char *why = rc < 0 ? store_errmsg(engine->store) : NULL;

		if (rc < 0 && !engine->writer_failing)
			engine_log(engine,
				   "cannot commit to %s (%s); keeping %zu "
				   "entries in memory and retrying",
				   engine->db_path, why, b.n_taken);
		pthread_mutex_lock(&engine->lock);
		if (rc == 0) {
			struct pending *chain = batch_done(engine, &b);

			if (engine->writer_failing)
				engine_log(engine, "committing to %s again",
					   engine->db_path);
			engine->writer_failing = false;
			delay = 0;
			pthread_mutex_unlock(&engine->lock);
			free_chain(chain);
			pthread_mutex_lock(&engine->lock);
			continue;
		}
		engine->writer_failing = true;
		engine->stats.flush_errors++;
		if (engine->closing && engine->close_deadline_ms >= 0 &&
		    engine_monotonic_ms() >= engine->close_deadline_ms)
			break;
		delay = delay ? delay * 2 : RETRY_FIRST_MS;
		if (delay > engine->config.retry_max_ms)
			delay = engine->config.retry_max_ms;
		backoff(engine, delay);
		engine->stats.retries++;
	}
	engine->writer_done = true;
	pthread_cond_broadcast(&engine->done_cond);
	pthread_mutex_unlock(&engine->lock);
	free(b.entries);
	free(b.tasks);
	free(b.versions);
	free(b.task_ptrs);
	free(b.deletes);
	return NULL;
}
