/*
 * webview.h - the HTTP side of tasklogfs: a REST API over the engine, served
 * by libwebsockets on one service thread. The daemon starts it next to the
 * mount (-o http=ADDR:PORT, http=off to turn it off).
 *
 * THREAD SAFETY: web_start and web_stop are called by the owner thread;
 * everything else runs on the server's own service thread.
 */
#ifndef TL_WEBVIEW_H
#define TL_WEBVIEW_H

#include <stddef.h>

#include "engine.h"

struct web_server;

/*
 * Listens on listen ("ADDR:PORT", IPv4) and starts serving engine. With a
 * token (NULL: none), every request must carry it ("Authorization: Bearer
 * T" or a token=T query piece); an ADDR that is not loopback needs one of
 * at least 16 characters. -EINVAL for a bad address, -EACCES for a
 * non-loopback one without a token, -EADDRINUSE or -EIO when it cannot
 * listen.
 */
int web_start(struct tl_engine *engine, const char *listen, const char *token,
	      struct web_server **out);

/* Stops serving and frees the server. web_stop(NULL) does nothing. */
void web_stop(struct web_server *server);

/* ---- the API, apart from the transport (api.c) ----------------------------
 */

struct web_response {
	int status;	    /* HTTP status */
	const char *type;   /* Content-Type */
	struct tl_buf body; /* owned; release with tl_buf_release */
};

#define WEB_PAGE_MAX	 10000 /* entries in one page of /logs */
#define WEB_PAGE_DEFAULT 1000

/*
 * Answers "GET path?args": path as sent (percent-decoded by the transport),
 * args the decoded "key=value" pieces of the query in order. Fills *out;
 * errors are JSON bodies {"error": "..."} with 400, 404 or 405.
 */
void web_api_answer(struct tl_engine *engine, const char *method,
		    const char *path, char *const *args, size_t n_args,
		    struct web_response *out);

#endif /* TL_WEBVIEW_H */
