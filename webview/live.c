/*
 * live.c - WS /ws/tasks/<id>/logs?<filter>&after=SEQ: the backlog after SEQ,
 * then new entries as they arrive, in JSON frames.
 *
 * Each client keeps its own cursor and is sent a frame only when its socket
 * is writable, so a slow or stalled client delays nobody: nothing is queued
 * for it, it simply reads further behind and catches up from its cursor.
 * Engine watches (eventfds) wake a notifier thread, which marks the client
 * and wakes the service thread with lws_cancel_service.
 *
 * Frames: {"entries":[…],"cursor":SEQ}, {"reset":true,"filter":"…"} after a
 * filter change, {"status":"succeeded"} when the task ends, and
 * {"error":"…"} (then the socket closes if the task is gone).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "webview_int.h"

#define FRAME_ENTRIES	 500
#define QUERY_PIECES_MAX 32
#define FRAME_BYTES	 (256u << 10)

struct web_client {
	struct web_client *next; /* s->clients_lock */
	uint64_t id;
	bool wake; /* s->clients_lock */
	struct lws *wsi;
	char task[TL_TASK_ID_MAX + 1];
	struct tl_filter *filter;
	struct tl_watch *watch;
	uint64_t cursor;
	bool reset_pending;
	bool status_sent;
	char *error; /* a frame to send, then maybe close */
	bool close_after_error;
};

static void *notifier_main(void *arg)
{
	struct web_server *s = arg;
	struct epoll_event events[32];

	for (;;) {
		int n = epoll_wait(s->epoll_fd, events, 32, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return NULL;
		pthread_mutex_lock(&s->clients_lock);
		for (int i = 0; i < n; i++) {
			if (events[i].data.u64 == 0) {
				pthread_mutex_unlock(&s->clients_lock);
				return NULL; /* stopping */
			}
			for (struct web_client *c = s->clients; c; c = c->next)
				if (c->id == events[i].data.u64)
					c->wake = true;
		}
		pthread_mutex_unlock(&s->clients_lock);
		lws_cancel_service(s->context);
	}
}

int live_start(struct web_server *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};

	pthread_mutex_init(&s->clients_lock, NULL);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->epoll_fd < 0 || s->stop_fd < 0 ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->stop_fd, &ev) < 0)
		return -errno;
	if (pthread_create(&s->notifier, NULL, notifier_main, s) != 0)
		return -EAGAIN;
	s->notifier_running = true;
	return 0;
}

void live_stop(struct web_server *s)
{
	uint64_t one = 1;

	if (s->notifier_running &&
	    write(s->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->notifier, NULL);
	s->notifier_running = false;
}

void live_release(struct web_server *s)
{
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	pthread_mutex_destroy(&s->clients_lock);
}

static void set_error(struct web_client *c, const char *message, bool close)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "error", message);
	free(c->error);
	c->error = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	c->close_after_error = close;
}

/* Arms the client's watch for entries after its cursor. */
static void arm(struct web_server *s, struct web_client *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.u64 = c->id};

	if (tl_watch_arm(c->watch, c->cursor) == -ENOENT)
		set_error(c, "the task was deleted", true);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, tl_watch_fd(c->watch), &ev);
}

/* A client that is refused: it is sent the error frame, then closed. */
static int refuse(struct web_client *c, const char *message)
{
	set_error(c, message, true);
	lws_callback_on_writable(c->wsi);
	return 0;
}

int live_open(struct web_server *s, struct lws *wsi, struct web_client **out)
{
	char path[256], piece[1024], err[TL_FILTER_ERR_LEN];
	struct tl_buf text = {0};
	struct web_client *c;
	const char *task;
	size_t len;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->wsi = wsi;
	*out = c;
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0 ||
	    strncmp(path, "/ws/tasks/", 10) != 0)
		return refuse(c, "no such route");
	task = path + 10;
	len = strcspn(task, "/");
	if (len > TL_TASK_ID_MAX || strcmp(task + len, "/logs") != 0)
		return refuse(c, "no such route");
	memcpy(c->task, task, len);
	c->task[len] = '\0';
	for (int i = 0;; i++) {
		int piece_len =
		    lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);

		if (piece_len <= 0)
			break;
		/* Dropping a piece would follow another filter: refuse. */
		if (i == QUERY_PIECES_MAX || piece_len >= (int)sizeof(piece) ||
		    lws_hdr_copy_fragment(wsi, piece, sizeof(piece),
					  WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
			tl_buf_release(&text);
			return refuse(c, "a query has at most 32 pieces of at "
					 "most 1023 bytes");
		}
		if (strncmp(piece, "token=", 6) != 0)
			web_filter_add_arg(&text, piece);
	}
	tl_buf_add(&text, "", 0);
	rc = tl_filter_parse(text.data, text.len, &c->filter, err);
	tl_buf_release(&text);
	if (rc < 0)
		return refuse(c, err);
	c->cursor = tl_filter_after(c->filter);
	struct tl_task_info info;

	if (!tl_task_id_valid(c->task) ||
	    tl_task_get(s->engine, c->task, &info) < 0 ||
	    tl_watch_new(s->engine, c->task, &c->watch) < 0)
		return refuse(c, "no such task");
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.u64 = 0};

	pthread_mutex_lock(&s->clients_lock);
	c->id = ++s->next_client_id;
	ev.data.u64 = c->id;
	c->next = s->clients;
	s->clients = c;
	pthread_mutex_unlock(&s->clients_lock);
	epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, tl_watch_fd(c->watch), &ev);
	lws_callback_on_writable(wsi); /* the backlog */
	return 0;
}

void live_close(struct web_server *s, struct web_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&s->clients_lock);
	for (struct web_client **p = &s->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	pthread_mutex_unlock(&s->clients_lock);
	if (c->watch) {
		epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, tl_watch_fd(c->watch),
			  NULL);
		tl_watch_free(c->watch);
	}
	tl_filter_free(c->filter);
	if (c->error)
		cJSON_free(c->error);
	free(c);
}

void live_wake_marked(struct web_server *s)
{
	pthread_mutex_lock(&s->clients_lock);
	for (struct web_client *c = s->clients; c; c = c->next) {
		if (c->wake) {
			c->wake = false;
			lws_callback_on_writable(c->wsi);
		}
	}
	pthread_mutex_unlock(&s->clients_lock);
}

/* A message from the client: {"filter": "<query>"}. */
int live_receive(struct web_server *s, struct web_client *c, const char *data,
		 size_t len)
{
	char err[TL_FILTER_ERR_LEN];
	struct tl_filter *filter;
	cJSON *msg = cJSON_ParseWithLength(data, len);
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(msg, "filter");

	(void)s;
	if (!cJSON_IsString(text)) {
		set_error(c, "send {\"filter\": \"<query>\"}", false);
	} else if (tl_filter_parse(text->valuestring, strlen(text->valuestring),
				   &filter, err) < 0) {
		set_error(c, err, false);
	} else {
		tl_filter_free(c->filter);
		c->filter = filter;
		c->cursor = tl_filter_after(filter);
		c->reset_pending = true;
		c->status_sent = false;
	}
	cJSON_Delete(msg);
	lws_callback_on_writable(c->wsi);
	return 0;
}

struct frame {
	const char *task;
	struct tl_buf *out;
	size_t count;
};

static int add_entry(const struct tl_entry *e, void *ctx)
{
	struct frame *f = ctx;

	if (f->count++)
		tl_buf_add(f->out, ",", 1);
	tl_entry_format_json(f->task, e, f->out);
	f->out->data[--f->out->len] = '\0'; /* the newline */
	return f->out->len >= FRAME_BYTES;
}

static int send_text(struct lws *wsi, struct tl_buf *b)
{
	size_t n = b->len - LWS_PRE;

	return lws_write(wsi, (unsigned char *)b->data + LWS_PRE, n,
			 LWS_WRITE_TEXT) == (int)n
		   ? 0
		   : -1;
}

static void frame_start(struct tl_buf *b)
{
	char pre[LWS_PRE] = {0};

	b->len = 0;
	tl_buf_add(b, pre, LWS_PRE);
}

int live_writable(struct web_server *s, struct web_client *c)
{
	struct tl_buf b = {0};
	struct tl_task_info info;
	struct frame f = {c->task, &b, 0};
	uint64_t next = c->cursor;
	char tail[64];
	int rc;

	frame_start(&b);
	if (c->error) {
		tl_buf_add(&b, c->error, strlen(c->error));
		rc = send_text(c->wsi, &b);
		cJSON_free(c->error);
		c->error = NULL;
		tl_buf_release(&b);
		if (c->close_after_error || rc < 0)
			return -1;
		return 0;
	}
	if (c->reset_pending) {
		char *canonical = tl_filter_print(c->filter);
		cJSON *obj = cJSON_CreateObject();
		char *text;

		cJSON_AddBoolToObject(obj, "reset", 1);
		cJSON_AddStringToObject(obj, "filter", canonical);
		text = cJSON_PrintUnformatted(obj);
		cJSON_Delete(obj);
		free(canonical);
		tl_buf_add(&b, text, strlen(text));
		cJSON_free(text);
		c->reset_pending = false;
		rc = send_text(c->wsi, &b);
		tl_buf_release(&b);
		lws_callback_on_writable(c->wsi);
		return rc;
	}
	tl_buf_add(&b, "{\"entries\":[", 12);
	rc = tl_query(s->engine, c->task, c->filter, c->cursor, FRAME_ENTRIES,
		      add_entry, &f, &next);
	if (rc < 0) {
		set_error(c,
			  rc == -ENOENT ? "the task was deleted"
					: "the database could not be read",
			  true);
		tl_buf_release(&b);
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	c->cursor = next;
	if (f.count) {
		snprintf(tail, sizeof(tail), "],\"cursor\":%" PRIu64 "}",
			 c->cursor);
		tl_buf_add(&b, tail, strlen(tail));
		rc = send_text(c->wsi, &b);
		tl_buf_release(&b);
		/* More may wait: come back when the socket can take it. */
		lws_callback_on_writable(c->wsi);
		return rc;
	}
	tl_buf_release(&b);
	if (tl_task_get(s->engine, c->task, &info) == 0 &&
	    info.status != TL_RUNNING) {
		if (!c->status_sent) {
			frame_start(&b);
			snprintf(tail, sizeof(tail), "{\"status\":\"%s\"}",
				 tl_status_name(info.status));
			tl_buf_add(&b, tail, strlen(tail));
			rc = send_text(c->wsi, &b);
			tl_buf_release(&b);
			c->status_sent = true;
		}
		return rc; /* finished: nothing more to wait for */
	}
	arm(s, c);
	if (c->error)
		lws_callback_on_writable(c->wsi);
	return 0;
}
