/*
 * engine.c - the engine object: open and close, the task table, appending,
 * flushing, stats and the pool of reader connections.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_int.h"
#include "meta.h"
#include "util.h"

void tl_config_init(struct tl_config *c)
{
	memset(c, 0, sizeof(*c));
	c->flush_ms = 2000;
	c->batch_max = 50000;
	c->mem_max = (size_t)256 << 20;
	c->retry_max_ms = 5000;
}

void engine_log(struct tl_engine *engine, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (engine->config.log)
		engine->config.log(engine->config.log_ctx, line);
	else
		fprintf(stderr, "tasklogfs: %s\n", line);
}

int64_t engine_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An absolute CLOCK_MONOTONIC time timeout_ms from now. */
void engine_deadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* ---- the task table ------------------------------------------------------ */

static size_t hash_id(const char *id)
{
	size_t h = 5381;

	for (; *id; id++)
		h = h * 33 + (unsigned char)*id;
	return h;
}

struct task *engine_find_task(struct tl_engine *engine, const char *id)
{
	struct task *t = engine->buckets[hash_id(id) % engine->n_buckets];

	for (; t; t = t->hash_next)
		if (strcmp(t->id, id) == 0)
			return t;
	return NULL;
}

static void hash_insert(struct tl_engine *engine, struct task *task)
{
	assert(engine->n_buckets > 0);
	if (engine->n_tasks + 1 > engine->n_buckets) {
		size_t n = engine->n_buckets * 2;
		struct task **buckets = xcalloc(n, sizeof(*buckets));

		for (size_t i = 0; i < engine->n_buckets; i++) {
			struct task *t = engine->buckets[i], *next;

			for (; t; t = next) {
				next = t->hash_next;
				t->hash_next = buckets[hash_id(t->id) % n];
				buckets[hash_id(t->id) % n] = t;
			}
		}
		free(engine->buckets);
		engine->buckets = buckets;
		engine->n_buckets = n;
	}
	size_t bucket = hash_id(task->id) % engine->n_buckets;
	struct task **slot = &engine->buckets[bucket];

	task->hash_next = *slot;
	*slot = task;
	engine->n_tasks++;
}

void engine_task_unhash(struct tl_engine *engine, struct task *task)
{
	struct task **p =
	    &engine->buckets[hash_id(task->id) % engine->n_buckets];

	for (; *p; p = &(*p)->hash_next) {
		if (*p == task) {
			*p = task->hash_next;
			engine->n_tasks--;
			return;
		}
	}
}

struct task *engine_task_new(struct tl_engine *engine, int64_t key,
			     const char *id)
{
	struct task *t = xcalloc(1, sizeof(*t));

	t->key = key;
	size_t len = strnlen(id, TL_TASK_ID_MAX);

	memcpy(t->id, id, len);
	t->id[len] = '\0';
	tally_init(&t->live);
	t->list_prev = engine->tasks_tail;
	*engine->tasks_tail = t;
	engine->tasks_tail = &t->list_next;
	hash_insert(engine, t);
	return t;
}

static void task_free(struct task *t)
{
	tally_release(&t->live);
	if (t->stored) {
		tally_release(t->stored);
		free(t->stored);
	}
	free(t);
}

/* Frees a deleted task once nothing refers to it; engine->lock held. */
void engine_release_task(struct tl_engine *engine, struct task *t)
{
	*t->list_prev = t->list_next;
	if (t->list_next)
		t->list_next->list_prev = t->list_prev;
	else
		engine->tasks_tail = t->list_prev;
	task_free(t);
}

static int load_task(const struct store_task *st, uint32_t last_seq, void *ctx)
{
	struct tl_engine *engine = ctx;
	struct task *t;

	if (!tl_task_id_valid(st->id) || engine_find_task(engine, st->id)) {
		engine_log(engine, "ignoring a task with a bad id in %s",
			   engine->db_path);
		return 0;
	}
	t = engine_task_new(engine, st->key, st->id);

	t->status = st->status;
	t->exit_code = st->exit_code;
	t->created_ms = st->created_ms;
	t->finished_ms = st->finished_ms;
	t->last_seq = t->committed_seq = t->open_seq = last_seq;
	t->last_ts_ms = st->finished_ms ? st->finished_ms : st->created_ms;
	return 0;
}

/* ---- open and close ---------------------------------------------------------
 */

int tl_engine_open(const struct tl_config *config, struct tl_engine **out)
{
	struct tl_engine *engine;
	char err[256] = "";
	int rc;

	if (!config->db_path || !*config->db_path)
		return -EINVAL;
	engine = xcalloc(1, sizeof(*engine));
	engine->config = *config;
	engine->db_path = xstrdup(config->db_path);
	engine->config.db_path = engine->db_path;
	if (!engine->config.flush_ms)
		engine->config.flush_ms = 2000;
	if (!engine->config.batch_max)
		engine->config.batch_max = 50000;
	if (!engine->config.mem_max)
		engine->config.mem_max = (size_t)256 << 20;
	if (!engine->config.retry_max_ms)
		engine->config.retry_max_ms = 5000;
	pthread_mutex_init(&engine->lock, NULL);
	pthread_mutex_init(&engine->readers_lock, NULL);
	cond_init(&engine->writer_cond);
	cond_init(&engine->done_cond);
	cond_init(&engine->live_cond);
	cond_init(&engine->readers_cond);
	engine->n_buckets = 64;
	engine->buckets = xcalloc(engine->n_buckets, sizeof(struct task *));
	engine->tasks_tail = &engine->tasks;

	rc = store_open(engine->db_path, &engine->store, err, sizeof(err));
	if (rc < 0) {
		engine_log(engine, "%s", err);
		goto fail;
	}
	rc = store_load(engine->store, &engine->next_key, load_task, engine);
	if (rc < 0) {
		engine_log(engine, "reading tasks from %s: %s", engine->db_path,
			   store_errmsg(engine->store));
		goto fail;
	}
	rc = -pthread_create(&engine->writer, NULL, writer_main, engine);
	if (rc < 0)
		goto fail;
	*out = engine;
	return 0;
fail:
	engine->closing = true;
	tl_engine_close(engine, 0);
	return rc;
}

static void free_everything(struct tl_engine *engine)
{
	struct pending *p, *next;

	for (p = engine->head; p; p = next) {
		next = p->next;
		free(p);
	}
	for (struct task *t = engine->tasks, *after; t; t = after) {
		after = t->list_next;
		live_release_task(t);
		task_free(t);
	}
	engine->tasks = NULL;
	for (int i = 0; i < TL_READERS; i++)
		if (engine->readers[i].db)
			reader_close(&engine->readers[i]);
	store_close(engine->store);
	free(engine->buckets);
	free(engine->db_path);
}

int tl_engine_close(struct tl_engine *engine, int close_timeout_ms)
{
	uint64_t lost;
	bool started;
	int rc = 0;

	if (!engine)
		return 0;
	pthread_mutex_lock(&engine->lock);
	started = !engine->closing;
	engine->closing = true;
	engine->close_deadline_ms =
	    close_timeout_ms < 0 ? -1
				 : engine_monotonic_ms() + close_timeout_ms;
	pthread_cond_broadcast(&engine->writer_cond);
	pthread_cond_broadcast(&engine->done_cond);
	pthread_cond_broadcast(&engine->live_cond);
	pthread_mutex_unlock(&engine->lock);

	if (started)
		pthread_join(engine->writer, NULL);
	lost = engine->stats.pending;
	if (started && lost) {
		engine_log(engine,
			   "closing with %llu entries that could not be "
			   "stored in %s",
			   (unsigned long long)lost, engine->db_path);
		rc = -EIO;
	}
	free_everything(engine);
	pthread_mutex_destroy(&engine->lock);
	pthread_mutex_destroy(&engine->readers_lock);
	pthread_cond_destroy(&engine->writer_cond);
	pthread_cond_destroy(&engine->done_cond);
	pthread_cond_destroy(&engine->live_cond);
	pthread_cond_destroy(&engine->readers_cond);
	free(engine);
	return rc;
}

/* ---- appending
 * --------------------------------------------------------------- */

static int pending_new(const struct tl_new_entry *ne, const char *metadata,
		       struct pending **out)
{
	const char *source = ne->source && *ne->source ? ne->source : "plugin";
	size_t source_len = strlen(source);
	size_t meta_len = metadata ? strlen(metadata) + 1 : 0;
	size_t size = sizeof(struct pending) + source_len + 1 +
		      ne->message_len + 1 + meta_len;
	struct pending *p = xmalloc(size);
	char *d = p->data;

	memset(p, 0, sizeof(*p));
	p->bytes = size;
	p->level = (uint8_t)ne->level;
	p->ts_ms = ne->ts_ms ? ne->ts_ms : tl_now_ms();
	p->message_len = ne->message_len;
	memcpy(d, source, source_len + 1);
	p->source = d;
	d += source_len + 1;
	if (ne->message_len)
		memcpy(d, ne->message, ne->message_len);
	d[ne->message_len] = '\0';
	p->message = d;
	d += ne->message_len + 1;
	if (metadata) {
		memcpy(d, metadata, meta_len);
		p->metadata = d;
	}
	*out = p;
	return 0;
}

int tl_append(struct tl_engine *engine, const char *task_id,
	      const struct tl_new_entry *ne, uint64_t *seq)
{
	struct pending *p;
	struct tally_pairs pairs = {NULL, 0};
	char *metadata = NULL;
	struct task *t;
	bool waited = false;
	int rc;

	if ((unsigned)ne->level >= TL_LEVEL_COUNT)
		return -EINVAL;
	if (ne->source && *ne->source && !tl_source_valid(ne->source))
		return -EINVAL;
	if (ne->message_len > TL_MESSAGE_MAX)
		return -EMSGSIZE;
	if (ne->message_len && !ne->message)
		return -EINVAL;
	if (ne->metadata) {
		/* Parsed once, outside the lock; only counting is inside. */
		rc = meta_normalize(ne->metadata, &metadata, tally_pair_collect,
				    &pairs);
		if (rc < 0) {
			tally_pairs_release(&pairs);
			return rc;
		}
	}
	pending_new(ne, metadata, &p);
	free(metadata);

	pthread_mutex_lock(&engine->lock);
	for (;;) {
		t = engine->closing ? NULL : engine_find_task(engine, task_id);
		if (!t) {
			rc = engine->closing ? -ESHUTDOWN : -ENOENT;
			goto fail;
		}
		if (engine->pending_bytes == 0 ||
		    engine->pending_bytes + p->bytes <= engine->config.mem_max)
			break;
		/* Back-pressure: wait for the writer instead of dropping. */
		if (!waited)
			engine->stats.waits++;
		waited = true;
		pthread_cond_signal(&engine->writer_cond);
		pthread_cond_wait(&engine->done_cond, &engine->lock);
	}
	if (t->last_seq == UINT32_MAX) {
		rc = -EFBIG;
		goto fail;
	}
	p->task = t;
	p->seq = ++t->last_seq;
	p->gen = ++engine->gen;
	if (engine->tail)
		engine->tail->next = p;
	else
		engine->head = p;
	engine->tail = p;
	if (t->pend_tail)
		t->pend_tail->task_next = p;
	else
		t->pend_head = p;
	t->pend_tail = p;
	t->n_pending++;
	t->last_ts_ms = p->ts_ms;
	engine->pending_bytes += p->bytes;
	engine->stats.received++;
	if (++engine->stats.pending == engine->config.batch_max)
		pthread_cond_signal(&engine->writer_cond);
	tally_add(&t->live, p->level, p->source, &pairs);
	live_notify(engine, t);
	if (seq)
		*seq = p->seq;
	pthread_mutex_unlock(&engine->lock);
	tally_pairs_release(&pairs);
	return 0;
fail:
	pthread_mutex_unlock(&engine->lock);
	tally_pairs_release(&pairs);
	free(p);
	return rc;
}

int tl_flush(struct tl_engine *engine, int timeout_ms)
{
	struct timespec deadline;
	uint64_t target;
	int rc = 0;

	if (timeout_ms >= 0)
		engine_deadline(&deadline, timeout_ms);
	pthread_mutex_lock(&engine->lock);
	target = engine->gen;
	if (engine->flush_wanted < target)
		engine->flush_wanted = target;
	pthread_cond_signal(&engine->writer_cond);
	while (engine->committed_gen < target && rc == 0) {
		if (engine->closing && engine->writer_done)
			rc = -EIO;
		else if (timeout_ms < 0)
			pthread_cond_wait(&engine->done_cond, &engine->lock);
		else if (pthread_cond_timedwait(&engine->done_cond,
						&engine->lock, &deadline))
			rc = engine->committed_gen < target ? -ETIMEDOUT : 0;
	}
	pthread_mutex_unlock(&engine->lock);
	return rc;
}

void tl_engine_stats(struct tl_engine *engine, struct tl_stats *out)
{
	pthread_mutex_lock(&engine->lock);
	*out = engine->stats;
	out->pending_bytes = engine->pending_bytes;
	pthread_mutex_unlock(&engine->lock);
}

/* ---- reader connections ----------------------------------------------------
 */

struct reader *reader_get(struct tl_engine *engine)
{
	struct reader *r = NULL;

	pthread_mutex_lock(&engine->readers_lock);
	while (!r) {
		for (int i = 0; i < TL_READERS && !r; i++)
			if (!engine->readers[i].busy)
				r = &engine->readers[i];
		if (!r)
			pthread_cond_wait(&engine->readers_cond,
					  &engine->readers_lock);
	}
	r->busy = true;
	pthread_mutex_unlock(&engine->readers_lock);
	if (!r->db && reader_open(engine->db_path, r) < 0) {
		reader_put(engine, r);
		return NULL;
	}
	return r;
}

void reader_put(struct tl_engine *engine, struct reader *r)
{
	pthread_mutex_lock(&engine->readers_lock);
	r->busy = false;
	pthread_cond_signal(&engine->readers_cond);
	pthread_mutex_unlock(&engine->readers_lock);
}
