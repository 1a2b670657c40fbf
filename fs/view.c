/*
 * view.c - a log file's bytes: the entries of one task that match one
 * filter, rendered one after the other.
 *
 * A view keeps, for each entry it shows, its seq and where its bytes end.
 * The size is exact, and a read at any offset finds its first entry by
 * binary search and renders from there: `tail -n 10` on a million entries
 * reads a few entries, not the whole file. Rendering depends only on the
 * entry, and entries never change, so bytes once shown never move.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

#define VIEWS_KEPT 64
/* Rendered bytes are kept while a view is smaller than this, so that a
 * file read again is a copy, not a query; the fs caps their sum too. */
#define VIEW_TEXT_MAX  ((size_t)256 << 20)
#define VIEWS_TEXT_MAX ((size_t)1 << 30)

struct view {
	struct view *next; /* fs->views_lock */
	unsigned refs;	   /* fs->views_lock */
	bool dead;	   /* fs->views_lock: task deleted */
	char task[TL_TASK_ID_MAX + 1];
	char *key; /* canonical filter + format */
	bool jsonl;
	struct tl_filter *filter; /* relative times resolved */

	pthread_mutex_t lock; /* everything below */
	int64_t task_created; /* the task this index is of */
	uint64_t scanned;     /* entries up to here are indexed */
	uint32_t *seqs;
	uint64_t *ends;
	size_t n, cap;
	int64_t mtime_ms;
	struct tl_buf scratch;
	struct tl_buf text; /* bytes 0..text.len, if keep_text */
	bool keep_text;
};

static void view_free(struct fs *fs, struct view *v)
{
	tl_filter_free(v->filter);
	free(v->key);
	free(v->seqs);
	free(v->ends);
	tl_buf_release(&v->scratch);
	fs->views_text -= v->text.len;
	tl_buf_release(&v->text);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static void render(const struct view *v, const struct tl_entry *e,
		   struct tl_buf *out)
{
	if (v->jsonl)
		tl_entry_format_json(v->task, e, out);
	else
		tl_entry_format_text(e, out);
}

static void reset_index(struct view *v, int64_t created)
{
	v->task_created = created;
	v->scanned = 0;
	v->n = 0;
	v->mtime_ms = created;
	v->text.len = 0;
	v->keep_text = true;
}

static int index_entry(const struct tl_entry *e, void *ctx)
{
	struct view *v = ctx;
	uint64_t start = v->n ? v->ends[v->n - 1] : 0;

	v->scratch.len = 0;
	render(v, e, &v->scratch);
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 256;
		v->seqs = realloc(v->seqs, v->cap * sizeof(*v->seqs));
		v->ends = realloc(v->ends, v->cap * sizeof(*v->ends));
		if (!v->seqs || !v->ends)
			abort();
	}
	v->seqs[v->n] = (uint32_t)e->seq;
	v->ends[v->n] = start + v->scratch.len;
	if (v->keep_text) {
		if (v->text.len + v->scratch.len <= VIEW_TEXT_MAX) {
			tl_buf_add(&v->text, v->scratch.data, v->scratch.len);
		} else {
			v->keep_text = false;
			tl_buf_release(&v->text);
		}
	}
	v->n++;
	v->mtime_ms = e->ts_ms;
	return 0;
}

/* Keeps the sum of kept bytes under its cap; v->lock held. */
static void account_text(struct fs *fs, struct view *v, size_t before)
{
	pthread_mutex_lock(&fs->views_lock);
	fs->views_text = fs->views_text - before + v->text.len;
	if (fs->views_text > VIEWS_TEXT_MAX && v->keep_text) {
		fs->views_text -= v->text.len;
		v->keep_text = false;
		tl_buf_release(&v->text);
	}
	pthread_mutex_unlock(&fs->views_lock);
}

/* Indexes the entries that arrived since the last refresh; v->lock held. */
static int refresh_locked(struct fs *fs, struct view *v)
{
	struct tl_task_info info;
	size_t kept = v->text.len;
	uint64_t next;
	int rc = tl_task_get(fs->engine, v->task, &info);

	if (rc < 0)
		return rc;
	if (info.created_ms != v->task_created)
		reset_index(v, info.created_ms);
	if (info.last_seq <= v->scanned) {
		account_text(fs, v, kept);
		return 0;
	}
	next = v->scanned;
	rc = tl_query(fs->engine, v->task, v->filter, v->scanned, 0,
		      index_entry, v, &next);
	if (rc == 0)
		v->scanned = next;
	account_text(fs, v, kept);
	return rc;
}

int view_refresh(struct fs *fs, struct view *v, uint64_t *size,
		 int64_t *mtime_ms)
{
	int rc;

	pthread_mutex_lock(&v->lock);
	rc = refresh_locked(fs, v);
	if (rc == 0) {
		*size = v->n ? v->ends[v->n - 1] : 0;
		*mtime_ms = v->mtime_ms;
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

uint64_t view_scanned(struct view *v)
{
	uint64_t s;

	pthread_mutex_lock(&v->lock);
	s = v->scanned;
	pthread_mutex_unlock(&v->lock);
	return s;
}

const char *view_task(const struct view *v)
{
	return v->task;
}

/* The first entry whose bytes end after off. */
static size_t entry_at(const struct view *v, uint64_t off)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->ends[mid] > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct render_ctx {
	const struct view *view;
	struct tl_buf out;
	uint32_t first_seq;
	bool first_ok;
};

static int render_entry(const struct tl_entry *e, void *ctx)
{
	struct render_ctx *r = ctx;

	if (r->out.len == 0 && !r->first_ok) {
		if (e->seq != r->first_seq)
			return 1; /* the task changed under us */
		r->first_ok = true;
	}
	render(r->view, e, &r->out);
	return 0;
}

ssize_t view_read(struct fs *fs, struct view *v, char *buf, size_t size,
		  off_t off)
{
	struct render_ctx r = {.view = v};
	uint64_t start, size_known, want = (uint64_t)off + size;
	size_t i, j;
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	size_known = v->n ? v->ends[v->n - 1] : 0;
	if ((uint64_t)off + size > size_known)
		rc = refresh_locked(fs, v);
	size_known = v->n ? v->ends[v->n - 1] : 0;
	if (rc < 0 || (uint64_t)off >= size_known) {
		pthread_mutex_unlock(&v->lock);
		return rc;
	}
	if (v->keep_text && (uint64_t)off < v->text.len) {
		size_t n = v->text.len - (size_t)off;

		if (n > size)
			n = size;
		memcpy(buf, v->text.data + off, n);
		pthread_mutex_unlock(&v->lock);
		return (ssize_t)n;
	}
	i = entry_at(v, (uint64_t)off);
	j = entry_at(v, want ? want - 1 : 0);
	if (j >= v->n)
		j = v->n - 1;
	start = i ? v->ends[i - 1] : 0;
	r.first_seq = v->seqs[i];
	pthread_mutex_unlock(&v->lock);

	rc = tl_query(fs->engine, v->task, v->filter, r.first_seq - 1,
		      j - i + 1, render_entry, &r, NULL);
	if (rc == 0 && !r.first_ok)
		rc = -ENOENT;
	if (rc < 0) {
		tl_buf_release(&r.out);
		return rc;
	}
	size_t skip = (size_t)((uint64_t)off - start);
	size_t n = r.out.len > skip ? r.out.len - skip : 0;

	if (n > size)
		n = size;
	if (n)
		memcpy(buf, r.out.data + skip, n);
	tl_buf_release(&r.out);
	return (ssize_t)n;
}

int view_get(struct fs *fs, const struct node *node, struct view **out)
{
	struct tl_filter *filter = NULL;
	struct tl_task_info info;
	struct view *v, **p;
	char *canonical, *key;
	size_t key_len;
	int rc;

	rc = tl_filter_parse(node->filter, strlen(node->filter), &filter, NULL);
	if (rc < 0)
		return rc;
	rc = tl_task_get(fs->engine, node->task, &info);
	if (rc < 0) {
		tl_filter_free(filter);
		return rc;
	}
	canonical = tl_filter_print(filter);
	key_len = strlen(node->task) + strlen(canonical) + 8;
	key = malloc(key_len);
	if (!key)
		abort();
	snprintf(key, key_len, "%s/%s/%d", node->task, canonical, node->jsonl);
	free(canonical);

	pthread_mutex_lock(&fs->views_lock);
	for (p = &fs->views; *p; p = &(*p)->next) {
		if (strcmp((*p)->key, key) == 0) {
			v = *p;
			*p = v->next; /* move to the front */
			goto found;
		}
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		abort();
	memcpy(v->task, node->task, strlen(node->task) + 1);
	v->key = key;
	key = NULL;
	v->jsonl = node->jsonl;
	/* A file must not change with the clock: since=-15m is fixed now. */
	tl_filter_resolve(filter, tl_now_ms());
	v->filter = filter;
	filter = NULL;
	pthread_mutex_init(&v->lock, NULL);
	reset_index(v, info.created_ms);
	fs->n_views++;
found:
	v->next = fs->views;
	fs->views = v;
	v->refs++;
	/* Keep a bounded number of idle views. */
	if (fs->n_views > VIEWS_KEPT) {
		struct view **q = &fs->views, *last_idle = NULL,
			    **last_p = NULL;

		for (; *q; q = &(*q)->next) {
			if ((*q)->refs == 0) {
				last_idle = *q;
				last_p = q;
			}
		}
		if (last_idle) {
			*last_p = last_idle->next;
			fs->n_views--;
			view_free(fs, last_idle);
		}
	}
	pthread_mutex_unlock(&fs->views_lock);
	tl_filter_free(filter);
	free(key);
	*out = v;
	return 0;
}

void view_put(struct fs *fs, struct view *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&fs->views_lock);
	if (--v->refs == 0 && v->dead)
		view_free(fs, v);
	pthread_mutex_unlock(&fs->views_lock);
}

void view_forget_task(struct fs *fs, const char *task)
{
	pthread_mutex_lock(&fs->views_lock);
	for (struct view **p = &fs->views; *p;) {
		struct view *v = *p;

		if (strcmp(v->task, task) != 0) {
			p = &v->next;
			continue;
		}
		*p = v->next;
		fs->n_views--;
		if (v->refs)
			v->dead = true;
		else
			view_free(fs, v);
	}
	pthread_mutex_unlock(&fs->views_lock);
}

void view_free_all(struct fs *fs)
{
	pthread_mutex_lock(&fs->views_lock);
	while (fs->views) {
		struct view *v = fs->views;

		fs->views = v->next;
		view_free(fs, v);
	}
	fs->n_views = 0;
	pthread_mutex_unlock(&fs->views_lock);
}
