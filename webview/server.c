/*
 * server.c - libwebsockets glue: one service thread, loopback only, Host and
 * Origin checked, requests capped, answers written as the socket allows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webview_int.h"

#define ARGS_MAX 32
#define ARG_MAX	 1024
#define CHUNK	 65536

/* One connection: an HTTP transaction, or a WebSocket client. */
struct session {
	struct web_response response;
	size_t sent;
	struct web_client *client;
};

static bool host_allowed(const struct web_server *s, const char *host)
{
	char local[80];

	if (strcmp(host, s->host) == 0)
		return true;
	snprintf(local, sizeof(local), "localhost:%d", s->port);
	return strcmp(host, local) == 0;
}

/* Compares in time that does not depend on where the strings differ. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

/* The token, as "Authorization: Bearer T" or a token=T query piece. */
static bool token_given(struct lws *wsi, const struct web_server *s)
{
	char value[256];

	if (lws_hdr_copy(wsi, value, sizeof(value),
			 WSI_TOKEN_HTTP_AUTHORIZATION) > 0 &&
	    strncmp(value, "Bearer ", 7) == 0 &&
	    same_secret(value + 7, s->token))
		return true;
	for (int i = 0; i < 64; i++) {
		if (lws_hdr_copy_fragment(wsi, value, sizeof(value),
					  WSI_TOKEN_HTTP_URI_ARGS, i) < 0)
			break;
		if (strncmp(value, "token=", 6) == 0 &&
		    same_secret(value + 6, s->token))
			return true;
	}
	return false;
}

/*
 * On loopback, Host must name this server (against DNS rebinding); with a
 * token, the token must be given. Either way an Origin, if sent, must be
 * the site the request is addressed to.
 */
static int check_headers(struct lws *wsi, const struct web_server *s)
{
	char host[256], origin[256];

	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		return 421;
	if (s->token ? !token_given(wsi, s) : !host_allowed(s, host))
		return s->token ? 401 : 421;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
		if (lws_hdr_copy(wsi, origin, sizeof(origin),
				 WSI_TOKEN_ORIGIN) <= 0)
			return 403;
		if (strncmp(origin, "http://", 7) != 0 ||
		    strcmp(origin + 7, host) != 0)
			return 403;
	}
	return 0;
}

static int start_response(struct lws *wsi, struct session *sess)
{
	unsigned char headers[LWS_PRE + 1024];
	unsigned char *start = headers + LWS_PRE, *p = start;
	unsigned char *end = headers + sizeof(headers) - 1;

	if (lws_add_http_common_headers(wsi, (unsigned)sess->response.status,
					sess->response.type,
					sess->response.body.len, &p, end) ||
	    lws_add_http_header_by_name(
		wsi, (const unsigned char *)"cache-control:",
		(const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int on_http(struct lws *wsi, struct web_server *s, struct session *sess,
		   const char *path)
{
	char *args[ARGS_MAX];
	char method[8] = "GET";
	size_t n = 0;
	int status = check_headers(wsi, s);

	memset(sess, 0, sizeof(*sess));
	if (status) {
		sess->response.status = status;
		sess->response.type = "application/json";
		const char *why =
		    status == 401
			? "{\"error\":\"a token is needed\"}"
			: "{\"error\":\"Host or Origin is not this server\"}";

		tl_buf_add(&sess->response.body, why, strlen(why));
		return start_response(wsi, sess);
	}
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI))
		snprintf(method, sizeof(method), "POST");
	for (int i = 0;; i++) {
		char piece[ARG_MAX];
		int len =
		    lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);

		if (len <= 0)
			break;
		/* Dropping a piece would answer another question: refuse. */
		if (n == ARGS_MAX || len >= ARG_MAX ||
		    lws_hdr_copy_fragment(wsi, piece, sizeof(piece),
					  WSI_TOKEN_HTTP_URI_ARGS, i) < 0) {
			for (size_t j = 0; j < n; j++)
				free(args[j]);
			sess->response.status = 400;
			sess->response.type = "application/json";
			char why[128];

			snprintf(
			    why, sizeof(why),
			    "{\"error\":\"a query has at most %d pieces of "
			    "at most %d bytes\"}",
			    ARGS_MAX, ARG_MAX - 1);
			tl_buf_add(&sess->response.body, why, strlen(why));
			return start_response(wsi, sess);
		}
		if (strncmp(piece, "token=", 6) == 0)
			continue; /* not part of the filter */
		args[n] = strdup(piece);
		if (!args[n])
			abort();
		n++;
	}
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0) {
		sess->response.status = strcmp(method, "GET") ? 405 : 200;
		sess->response.type = "text/html; charset=utf-8";
		tl_buf_add(&sess->response.body, web_page, web_page_len);
	} else {
		web_api_answer(s->engine, method, path, args, n,
			       &sess->response);
	}
	for (size_t i = 0; i < n; i++)
		free(args[i]);
	return start_response(wsi, sess);
}

static int on_writable(struct lws *wsi, struct session *sess)
{
	unsigned char buf[LWS_PRE + CHUNK];
	size_t left = sess->response.body.len - sess->sent;
	size_t n = left > CHUNK ? CHUNK : left;
	enum lws_write_protocol kind =
	    n == left ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;

	if (n)
		memcpy(buf + LWS_PRE, sess->response.body.data + sess->sent, n);
	if (lws_write(wsi, buf + LWS_PRE, n, kind) != (int)n)
		return 1;
	sess->sent += n;
	if (kind == LWS_WRITE_HTTP_FINAL) {
		tl_buf_release(&sess->response.body);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct web_server *s = lws_context_user(lws_get_context(wsi));
	struct session *sess = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* The WebSocket handshake: the same Host and Origin rules. */
		return check_headers(wsi, s) ? -1 : 0;
	case LWS_CALLBACK_ESTABLISHED:
		memset(sess, 0, sizeof(*sess));
		return live_open(s, wsi, &sess->client);
	case LWS_CALLBACK_RECEIVE:
		if (!lws_is_first_fragment(wsi) || !lws_is_final_fragment(wsi))
			return -1; /* one frame, within rx_buffer_size */
		return live_receive(s, sess->client, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return live_writable(s, sess->client);
	case LWS_CALLBACK_CLOSED:
		live_close(s, sess->client);
		sess->client = NULL;
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (s)
			live_wake_marked(s);
		return 0;
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, s, sess, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return sess ? on_writable(wsi, sess) : -1;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (sess)
			tl_buf_release(&sess->response.body);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
    {"http", callback, sizeof(struct session), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static void *service_main(void *arg)
{
	struct web_server *s = arg;

	while (!s->stopping)
		if (lws_service(s->context, 0) < 0)
			break;
	return NULL;
}

static void quiet(int level, const char *line)
{
	(void)level;
	(void)line;
}

int web_start(struct tl_engine *engine, const char *listen, const char *token,
	      struct web_server **out)
{
	struct lws_context_creation_info info;
	struct web_server *s;
	const char *colon = strrchr(listen, ':');
	char addr[48];
	struct in_addr ip;
	char *end;
	long port;

	if (!colon || (size_t)(colon - listen) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, listen, (size_t)(colon - listen));
	addr[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, addr, &ip) != 1)
		return -EINVAL;
	if ((ntohl(ip.s_addr) >> 24) != 127 && (!token || strlen(token) < 16))
		return -EACCES; /* beyond loopback, only with a token */

	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->engine = engine;
	s->token = token && *token ? strdup(token) : NULL;
	s->epoll_fd = s->stop_fd = -1;
	if (live_start(s) < 0) {
		live_stop(s);
		live_release(s);
		free(s);
		return -EIO;
	}
	s->port = (int)port;
	snprintf(s->host, sizeof(s->host), "%s:%ld", addr, port);
	lws_set_log_level(LLL_ERR, quiet);
	memset(&info, 0, sizeof(info));
	info.port = (int)port;
	info.iface = addr;
	info.protocols = protocols;
	info.user = s;
	info.max_http_header_data = 4096;
	/*
	 * Every accepted connection holds a header table until its request is
	 * read; when none is free, new clients wait. So: many tables (4 KiB
	 * each), and a connection that sends nothing loses its table in 3 s.
	 */
	info.max_http_header_pool = 1024;
	info.timeout_secs_ah_idle = 3;
	info.timeout_secs = 10;
	info.options =
	    LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_VALIDATE_UTF8;
	s->context = lws_create_context(&info);
	if (!s->context) {
		live_stop(s);
		live_release(s);
		free(s);
		return -EADDRINUSE;
	}
	if (pthread_create(&s->thread, NULL, service_main, s) != 0) {
		live_stop(s);
		lws_context_destroy(s->context);
		live_release(s);
		free(s);
		return -EAGAIN;
	}
	*out = s;
	return 0;
}

void web_stop(struct web_server *s)
{
	if (!s)
		return;
	s->stopping = 1;
	lws_cancel_service(s->context);
	pthread_join(s->thread, NULL);
	live_stop(s);
	lws_context_destroy(s->context); /* closes clients: live_close */
	live_release(s);
	free(s->token);
	free(s);
}
