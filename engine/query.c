/*
 * query.c - one task's entries that match a filter, in seq order, merging
 * the rows already committed with the entries still in memory.
 *
 * Under the lock we note the last committed seq C and copy the matching
 * entries still in memory (all have seq > C). Rows up to C are then read from
 * SQLite without the lock: they are committed, so a WAL read sees them. The
 * two parts meet at C with no gap and no overlap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "util.h"

struct copied {
	uint32_t seq;
	uint8_t level;
	int64_t ts_ms;
	size_t source, message, message_len, metadata; /* offsets in bytes */
	bool has_metadata;
};

struct memory_part {
	struct copied *items;
	size_t n;
	struct tl_buf bytes;
};

static struct tl_entry entry_of_pending(const struct pending *p)
{
	return (struct tl_entry){
	    .seq = p->seq,
	    .ts_ms = p->ts_ms,
	    .level = (enum tl_level)p->level,
	    .source = p->source,
	    .message = p->message,
	    .message_len = p->message_len,
	    .metadata = p->metadata,
	};
}

static size_t add_bytes(struct tl_buf *b, const char *s, size_t len)
{
	size_t at = b->len;

	tl_buf_add(b, s, len);
	tl_buf_add(b, "", 1);
	return at;
}

/* Copies matching in-memory entries after `after`; engine->lock held. */
static void copy_memory(const struct task *t, const struct tl_filter *f,
			uint64_t after, size_t limit, int64_t now,
			struct memory_part *m)
{
	for (const struct pending *p = t->pend_head; p; p = p->task_next) {
		struct tl_entry e = entry_of_pending(p);
		struct copied *c;

		if (e.seq <= after || !tl_filter_match(f, &e, now))
			continue;
		if (limit && m->n == limit)
			break;
		m->items = xrealloc(m->items, (m->n + 1) * sizeof(*m->items));
		c = &m->items[m->n++];
		c->seq = p->seq;
		c->level = p->level;
		c->ts_ms = p->ts_ms;
		c->source = add_bytes(&m->bytes, p->source, strlen(p->source));
		c->message = add_bytes(&m->bytes, p->message, p->message_len);
		c->message_len = p->message_len;
		c->has_metadata = p->metadata != NULL;
		if (p->metadata)
			c->metadata = add_bytes(&m->bytes, p->metadata,
						strlen(p->metadata));
	}
}

static int level_of_text(const unsigned char *text, int len)
{
	int lv = text ? tl_level_parse((const char *)text, (size_t)len) : -1;

	return lv < 0 ? TL_INFO : lv;
}

/*
 * Reads committed rows in (after, upto]; returns 1 if fn or the limit
 * stopped it, 0 at the end, -EIO.
 */
static int query_stored(struct tl_engine *engine, int64_t key, uint64_t after,
			uint64_t upto, const struct tl_filter *f, int64_t now,
			size_t limit, size_t *sent, tl_entry_fn *fn, void *ctx,
			uint64_t *last)
{
	struct reader *r = reader_get(engine);
	sqlite3_stmt *st;
	int step, rc = 0;

	if (!r)
		return -EIO;
	st = r->range;
	sqlite3_bind_int64(st, 1, row_id(key, after));
	sqlite3_bind_int64(st, 2, row_id(key, upto));
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct tl_entry e = {
		    .seq = (uint64_t)sqlite3_column_int64(st, 0) & UINT32_MAX,
		    .level = (enum tl_level)level_of_text(
			sqlite3_column_text(st, 2),
			sqlite3_column_bytes(st, 2)),
		    .source = (const char *)sqlite3_column_text(st, 3),
		};
		const char *ts;

		*last = e.seq;
		if (!e.source)
			e.source = "";
		/* Reject on the cheap columns before reading the rest. */
		if (!filter_match_level_source(f, e.level, e.source))
			continue;
		e.message = (const char *)sqlite3_column_text(st, 4);
		e.message_len = (size_t)sqlite3_column_bytes(st, 4);
		if (!e.message)
			e.message = "";
		if (!filter_match_text(f, e.message, e.message_len))
			continue;
		ts = (const char *)sqlite3_column_text(st, 1);
		if (ts)
			tl_time_parse(ts, (size_t)sqlite3_column_bytes(st, 1),
				      &e.ts_ms);
		e.metadata = (const char *)sqlite3_column_text(st, 5);
		if (!tl_filter_match(f, &e, now))
			continue;
		(*sent)++;
		if (fn(&e, ctx) || (limit && *sent == limit)) {
			rc = 1;
			break;
		}
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = -EIO;
	sqlite3_reset(st);
	reader_put(engine, r);
	return rc;
}

int tl_query(struct tl_engine *engine, const char *id,
	     const struct tl_filter *f, uint64_t after, size_t limit,
	     tl_entry_fn *fn, void *ctx, uint64_t *next)
{
	struct memory_part m = {0};
	int64_t now = tl_now_ms(), key;
	uint64_t committed, newest, last;
	size_t sent = 0;
	struct task *t;
	int rc = 0;

	if (tl_filter_after(f) > after)
		after = tl_filter_after(f);
	if (tl_filter_limit(f) && (!limit || tl_filter_limit(f) < limit))
		limit = tl_filter_limit(f);

	pthread_mutex_lock(&engine->lock);
	t = engine_find_task(engine, id);
	if (!t) {
		pthread_mutex_unlock(&engine->lock);
		return -ENOENT;
	}
	key = t->key;
	committed = t->committed_seq;
	newest = t->last_seq;
	copy_memory(t, f, after, limit, now, &m);
	pthread_mutex_unlock(&engine->lock);

	last = after;
	if (after < committed) {
		rc = query_stored(engine, key, after, committed, f, now, limit,
				  &sent, fn, ctx, &last);
		if (rc < 0)
			goto out;
	}
	if (rc == 0)
		last = newest > after ? newest : after;
	for (size_t i = 0; rc == 0 && i < m.n; i++) {
		const struct copied *c = &m.items[i];
		struct tl_entry e = {
		    .seq = c->seq,
		    .ts_ms = c->ts_ms,
		    .level = (enum tl_level)c->level,
		    .source = m.bytes.data + c->source,
		    .message = m.bytes.data + c->message,
		    .message_len = c->message_len,
		    .metadata =
			c->has_metadata ? m.bytes.data + c->metadata : NULL,
		};

		sent++;
		if (fn(&e, ctx) || (limit && sent == limit)) {
			last = e.seq;
			rc = 1;
		}
	}
	rc = 0;
	if (next)
		*next = last;
out:
	free(m.items);
	tl_buf_release(&m.bytes);
	return rc;
}
