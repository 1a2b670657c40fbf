/*
 * webview_int.h - what the webview files share.
 *
 * LOCKING: s->clients_lock protects the client list and each client's wake
 * flag; everything else about a client belongs to the service thread.
 */
#ifndef TL_WEBVIEW_INT_H
#define TL_WEBVIEW_INT_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdbool.h>

#include "webview.h"

struct web_client;

struct web_server {
	struct tl_engine *engine;
	struct lws_context *context;
	pthread_t thread;
	volatile int stopping;
	char host[64]; /* "127.0.0.1:8080", for Host checks */
	char *token;   /* required when set */
	int port;

	/* live.c */
	pthread_mutex_t clients_lock;
	struct web_client *clients;
	uint64_t next_client_id;
	int epoll_fd, stop_fd;
	pthread_t notifier;
	bool notifier_running;
};

/* page.html, embedded by scripts/embed.sh. */
extern const unsigned char web_page[];
extern const size_t web_page_len;

/* api.c: appends one decoded query piece "key=value" to a filter text,
 * encoding the value again so that the grammar splits and decodes it
 * exactly once. */
void web_filter_add_arg(struct tl_buf *text, const char *piece);

/* live.c: WebSocket clients. */
int live_start(struct web_server *s);
/* Stops the notifier thread; live_release then frees the rest, after
 * the context (and so every client) is gone. */
void live_stop(struct web_server *s);
void live_release(struct web_server *s);
int live_open(struct web_server *s, struct lws *wsi, struct web_client **out);
void live_close(struct web_server *s, struct web_client *c);
int live_receive(struct web_server *s, struct web_client *c, const char *data,
		 size_t len);
int live_writable(struct web_server *s, struct web_client *c);
/* On the service thread: asks writable callbacks for woken clients. */
void live_wake_marked(struct web_server *s);

#endif /* TL_WEBVIEW_INT_H */
