/*
 * tally.c - what a task holds: counts by level and source, and the metadata
 * keys and values seen, for task.json, directory listings and the web.
 *
 * A task keeps two tallies: one of the rows stored before this open, read
 * once from SQLite when first asked for, and one kept up to date by every
 * append since. Their sum is the task's summary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "meta.h"
#include "util.h"

#define META_KEYS_MAX 1000

void tally_init(struct tally *tally)
{
	memset(tally, 0, sizeof(*tally));
}

void tally_release(struct tally *tally)
{
	strmap_release(&tally->sources);
	strmap_release(&tally->meta);
}

void tally_pair_collect(const char *key, const char *value, void *ctx)
{
	struct tally_pairs *pairs = ctx;

	pairs->items =
	    xrealloc(pairs->items, (pairs->n + 1) * sizeof(*pairs->items));
	pairs->items[pairs->n].key = xstrdup(key);
	pairs->items[pairs->n].value = value ? xstrdup(value) : NULL;
	pairs->n++;
}

void tally_pairs_collect(struct tally_pairs *pairs, const char *metadata)
{
	pairs->items = NULL;
	pairs->n = 0;
	meta_each(metadata, tally_pair_collect, pairs);
}

void tally_pairs_release(struct tally_pairs *pairs)
{
	for (size_t i = 0; i < pairs->n; i++) {
		free(pairs->items[i].key);
		free(pairs->items[i].value);
	}
	free(pairs->items);
}

void tally_add(struct tally *tally, enum tl_level level, const char *source,
	       const struct tally_pairs *pairs)
{
	tally->total++;
	tally->levels[level]++;
	strmap_add(&tally->sources, source, 1, 0);
	for (size_t i = 0; pairs && i < pairs->n; i++) {
		struct strmap_item *key = strmap_add(
		    &tally->meta, pairs->items[i].key, 1, META_KEYS_MAX);

		if (key && pairs->items[i].value)
			strmap_add(strmap_child(key), pairs->items[i].value, 1,
				   TL_META_VALUES_MAX);
	}
}

/* Reads the rows stored before this open into a new tally. */
static int tally_read(struct tl_engine *engine, int64_t key, uint32_t upto,
		      struct tally **out)
{
	struct reader *r = reader_get(engine);
	struct tally *tally;
	int step;

	if (!r)
		return -EIO;
	tally = xcalloc(1, sizeof(*tally));
	sqlite3_bind_int64(r->tally, 1, row_id(key, 0));
	sqlite3_bind_int64(r->tally, 2, row_id(key, upto));
	while ((step = sqlite3_step(r->tally)) == SQLITE_ROW) {
		const char *level =
		    (const char *)sqlite3_column_text(r->tally, 0);
		const char *source =
		    (const char *)sqlite3_column_text(r->tally, 1);
		const char *metadata =
		    (const char *)sqlite3_column_text(r->tally, 2);
		int lv = level ? tl_level_parse(level, strlen(level)) : -1;
		struct tally_pairs pairs;

		tally_pairs_collect(&pairs, metadata);
		tally_add(tally, lv < 0 ? TL_INFO : (enum tl_level)lv,
			  source ? source : "", &pairs);
		tally_pairs_release(&pairs);
	}
	sqlite3_reset(r->tally);
	reader_put(engine, r);
	if (step != SQLITE_DONE) {
		tally_release(tally);
		free(tally);
		return -EIO;
	}
	*out = tally;
	return 0;
}

/*
 * Finds the task with its stored tally read; returns with engine->lock held
 * on success, released on failure.
 */
static int task_with_tally(struct tl_engine *engine, const char *id,
			   struct task **out)
{
	struct task *t;
	struct tally *read = NULL;
	int64_t key;
	uint32_t upto;
	int rc;

	pthread_mutex_lock(&engine->lock);
	t = engine_find_task(engine, id);
	if (!t) {
		pthread_mutex_unlock(&engine->lock);
		return -ENOENT;
	}
	if (t->stored || t->open_seq == 0) {
		*out = t;
		return 0;
	}
	key = t->key;
	upto = t->open_seq;
	pthread_mutex_unlock(&engine->lock);

	rc = tally_read(engine, key, upto, &read);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&engine->lock);
	t = engine_find_task(engine, id);
	if (!t || t->key != key) {
		pthread_mutex_unlock(&engine->lock);
		tally_release(read);
		free(read);
		return -ENOENT;
	}
	if (!t->stored) {
		t->stored = read;
	} else {
		tally_release(read);
		free(read);
	}
	*out = t;
	return 0;
}

int tl_task_summary(struct tl_engine *engine, const char *id,
		    struct tl_task_summary *out)
{
	struct tally sum;
	struct task *t;
	int rc = task_with_tally(engine, id, &t);

	if (rc < 0)
		return rc;
	tally_init(&sum);
	for (int i = 0; i < TL_LEVEL_COUNT; i++)
		sum.levels[i] =
		    t->live.levels[i] + (t->stored ? t->stored->levels[i] : 0);
	sum.total = t->live.total + (t->stored ? t->stored->total : 0);
	strmap_merge(&sum.sources, &t->live.sources, 0);
	strmap_merge(&sum.meta, &t->live.meta, 0);
	if (t->stored) {
		strmap_merge(&sum.sources, &t->stored->sources, 0);
		strmap_merge(&sum.meta, &t->stored->meta, 0);
	}
	pthread_mutex_unlock(&engine->lock);

	memset(out, 0, sizeof(*out));
	out->total = sum.total;
	memcpy(out->levels, sum.levels, sizeof(out->levels));
	out->n_sources = sum.sources.n;
	out->sources = xcalloc(sum.sources.n, sizeof(*out->sources));
	for (size_t i = 0; i < sum.sources.n; i++) {
		out->sources[i].name = sum.sources.items[i].key;
		out->sources[i].count = sum.sources.items[i].count;
		sum.sources.items[i].key = NULL;
	}
	out->n_meta_keys = sum.meta.n;
	out->meta_keys = xcalloc(sum.meta.n, sizeof(char *));
	for (size_t i = 0; i < sum.meta.n; i++) {
		out->meta_keys[i] = sum.meta.items[i].key;
		sum.meta.items[i].key = NULL;
	}
	tally_release(&sum);
	return 0;
}

void tl_task_summary_release(struct tl_task_summary *s)
{
	for (size_t i = 0; i < s->n_sources; i++)
		free(s->sources[i].name);
	free(s->sources);
	for (size_t i = 0; i < s->n_meta_keys; i++)
		free(s->meta_keys[i]);
	free(s->meta_keys);
	memset(s, 0, sizeof(*s));
}

int tl_task_meta_values(struct tl_engine *engine, const char *id,
			const char *key, char ***values)
{
	struct strmap all = STRMAP_INIT;
	struct strmap_item *item;
	struct task *t;
	char **v;
	int rc = task_with_tally(engine, id, &t);

	if (rc < 0)
		return rc;
	item = strmap_find(&t->live.meta, key);
	if (item && item->child)
		strmap_merge(&all, item->child, 0);
	item = t->stored ? strmap_find(&t->stored->meta, key) : NULL;
	if (item && item->child)
		strmap_merge(&all, item->child, 0);
	pthread_mutex_unlock(&engine->lock);

	v = xcalloc(all.n + 1, sizeof(char *));
	for (size_t i = 0; i < all.n && i < TL_META_VALUES_MAX; i++) {
		v[i] = all.items[i].key;
		all.items[i].key = NULL;
	}
	strmap_release(&all);
	*values = v;
	return 0;
}

void tl_strv_free(char **values)
{
	if (!values)
		return;
	for (char **p = values; *p; p++)
		free(*p);
	free(values);
}
