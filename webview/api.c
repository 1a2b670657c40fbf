/*
 * api.c - the REST routes, as functions from a request to a response:
 *
 *   GET /api/tasks                      [task record, ...]
 *   GET /api/tasks/<id>                 the task record (sources, meta keys)
 *   GET /api/tasks/<id>/logs?<filter>   {"entries": [...], "next": SEQ|null}
 *
 * The filter is the engine's grammar, the same as the mount's view/ files.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webview_int.h"

static void add(struct tl_buf *b, const char *s)
{
	tl_buf_add(b, s, strlen(s));
}

static void answer(struct web_response *out, int status, const char *body)
{
	out->status = status;
	out->type = "application/json";
	add(&out->body, body);
}

static void error(struct web_response *out, int status, const char *message)
{
	cJSON *obj = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(obj, "error", message);
	text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (!text)
		abort();
	out->body.len = 0;
	answer(out, status, text);
	cJSON_free(text);
}

/* Drops the newline that the engine's JSON formats end with. */
static void chop(struct tl_buf *b)
{
	if (b->len && b->data[b->len - 1] == '\n')
		b->data[--b->len] = '\0';
}

static void list_tasks(struct tl_engine *engine, struct web_response *out)
{
	struct tl_task_info *tasks;
	size_t n;

	tl_task_list(engine, &tasks, &n);
	out->status = 200;
	out->type = "application/json";
	add(&out->body, "[");
	for (size_t i = 0, shown = 0; i < n; i++) {
		size_t mark = out->body.len;

		if (shown)
			add(&out->body, ",");
		/* A task deleted meanwhile is left out. */
		if (tl_task_format_json(engine, tasks[i].id, &out->body) < 0) {
			out->body.len = mark;
			continue;
		}
		chop(&out->body);
		shown++;
	}
	add(&out->body, "]");
	free(tasks);
}

/*
 * A form-encoded '+' arrives as a space; a level cannot contain one, so
 * "INFO " is read as "INFO+".
 */
void web_filter_add_arg(struct tl_buf *text, const char *piece)
{
	const char *eq = strchr(piece, '=');
	size_t key_len = eq ? (size_t)(eq - piece) : strlen(piece);
	char value[1024];

	if (text->len)
		add(text, "&");
	tl_buf_add(text, piece, key_len);
	if (!eq)
		return;
	add(text, "=");
	snprintf(value, sizeof(value), "%s", eq + 1);
	if (key_len == 5 && strncmp(piece, "level", 5) == 0) {
		size_t len = strlen(value);

		if (len && value[len - 1] == ' ')
			value[len - 1] = '+';
	}
	/* What the grammar splits on or decodes is encoded again. */
	tl_buf_add_encoded(text, value, ":@,+");
}

static void filter_text(char *const *args, size_t n, struct tl_buf *text)
{
	add(text, "");
	for (size_t i = 0; i < n; i++)
		web_filter_add_arg(text, args[i]);
}

struct page {
	const char *task;
	struct tl_buf *out;
	size_t count;
	uint64_t last;
};

static int add_entry(const struct tl_entry *e, void *ctx)
{
	struct page *p = ctx;

	if (p->count++)
		add(p->out, ",");
	tl_entry_format_json(p->task, e, p->out);
	chop(p->out);
	p->last = e->seq;
	return 0;
}

static void task_logs(struct tl_engine *engine, const char *task,
		      char *const *args, size_t n, struct web_response *out)
{
	struct tl_buf text = {0};
	struct tl_filter *filter = NULL;
	char err[TL_FILTER_ERR_LEN], num[48];
	struct page page = {task, &out->body, 0, 0};
	uint64_t next = 0;
	size_t limit;
	int rc;

	filter_text(args, n, &text);
	rc = tl_filter_parse(text.data, text.len, &filter, err);
	tl_buf_release(&text);
	if (rc < 0) {
		error(out, 400, err);
		return;
	}
	limit = tl_filter_limit(filter);
	if (!limit)
		limit = WEB_PAGE_DEFAULT;
	if (limit > WEB_PAGE_MAX) {
		snprintf(err, sizeof(err), "limit: at most %d entries a page",
			 WEB_PAGE_MAX);
		tl_filter_free(filter);
		error(out, 400, err);
		return;
	}
	add(&out->body, "{\"entries\":[");
	rc = tl_query(engine, task, filter, 0, limit, add_entry, &page, &next);
	tl_filter_free(filter);
	if (rc == -ENOENT) {
		error(out, 404, "no such task");
		return;
	}
	if (rc < 0) {
		error(out, 500, "the database could not be read");
		return;
	}
	/* A full page may have more behind it; a short one is the end. */
	if (page.count == limit)
		snprintf(num, sizeof(num), "],\"next\":%" PRIu64 "}",
			 page.last);
	else
		snprintf(num, sizeof(num),
			 "],\"next\":null,\"cursor\":%" PRIu64 "}", next);
	add(&out->body, num);
	out->status = 200;
	out->type = "application/json";
}

void web_api_answer(struct tl_engine *engine, const char *method,
		    const char *path, char *const *args, size_t n_args,
		    struct web_response *out)
{
	char task[TL_TASK_ID_MAX + 1];
	const char *rest;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (strcmp(method, "GET") != 0) {
		error(out, 405, "only GET is served");
		return;
	}
	if (strcmp(path, "/api/tasks") == 0 ||
	    strcmp(path, "/api/tasks/") == 0) {
		list_tasks(engine, out);
		return;
	}
	if (strncmp(path, "/api/tasks/", 11) != 0) {
		error(out, 404, "no such route");
		return;
	}
	rest = path + 11;
	len = strcspn(rest, "/");
	if (len > TL_TASK_ID_MAX) {
		error(out, 400, "a task id is at most 128 characters");
		return;
	}
	memcpy(task, rest, len);
	task[len] = '\0';
	if (!tl_task_id_valid(task)) {
		error(out, 400,
		      "a task id is [A-Za-z0-9._-]{1,128}, not "
		      "starting with '.'");
		return;
	}
	rest += len;
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (tl_task_format_json(engine, task, &out->body) < 0) {
			error(out, 404, "no such task");
			return;
		}
		chop(&out->body);
		out->status = 200;
		out->type = "application/json";
		return;
	}
	if (strcmp(rest, "/logs") == 0) {
		task_logs(engine, task, args, n_args, out);
		return;
	}
	error(out, 404, "no such route");
}
