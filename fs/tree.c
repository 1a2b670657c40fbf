/*
 * tree.c - the shape of the mount: which paths exist and what they are.
 *
 *   README  stats  tasks/<id>/{status,task.json,logs/}
 *   logs/{all,all.jsonl,stats,by-source/<s>,level/<L>[+],search/<term>,
 *         meta/<key>/<value>,view/<filter>,stream/…}
 *
 * Every log file is a filter over one task's entries, written in the one
 * filter grammar, so that view/<filter> and the named shortcuts mean exactly
 * the same thing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs.h"

/* Splits the next path segment off *p into seg; false at the end. */
static bool next_segment(const char **p, char *seg, size_t size, bool *long_seg)
{
	const char *s = *p, *end;
	size_t len;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	end = strchr(s, '/');
	len = end ? (size_t)(end - s) : strlen(s);
	*long_seg = len >= size;
	if (len >= size)
		len = size - 1;
	memcpy(seg, s, len);
	seg[len] = '\0';
	*p = end ? end : s + strlen(s);
	return true;
}

/* A file's node ends the path: anything after it is -ENOTDIR. */
static int leaf(const char *rest)
{
	while (*rest == '/')
		rest++;
	return *rest ? -ENOTDIR : 0;
}

/* Appends s to out, percent-encoding the bytes in special. */
static bool append_escaped(char *out, size_t size, const char *s,
			   const char *special)
{
	size_t n = strlen(out);

	for (; *s; s++) {
		if (strchr(special, *s)) {
			if (n + 3 >= size)
				return false;
			n += (size_t)snprintf(out + n, size - n, "%%%02X",
					      (unsigned char)*s);
		} else {
			if (n + 1 >= size)
				return false;
			out[n++] = *s;
			out[n] = '\0';
		}
	}
	return true;
}

static int set_filter(struct node *n, const char *prefix, const char *value,
		      const char *special)
{
	snprintf(n->filter, sizeof(n->filter), "%s", prefix);
	if (!append_escaped(n->filter, sizeof(n->filter), value, special))
		return -ENAMETOOLONG;
	return 0;
}

static int check_filter(const struct node *n)
{
	struct tl_filter *f;
	char err[TL_FILTER_ERR_LEN];
	int rc = tl_filter_parse(n->filter, strlen(n->filter), &f, err);

	if (rc < 0) {
		fs_log("tasks/%s: bad filter '%s': %s", n->task, n->filter,
		       err);
		return rc;
	}
	if (tl_filter_limit(f)) {
		fs_log("tasks/%s: '%s': limit= is for the web; a file shows "
		       "every entry",
		       n->task, n->filter);
		rc = -EINVAL;
	}
	tl_filter_free(f);
	return rc;
}

/* Resolves what lies under logs/ (or logs/stream/). */
static int resolve_logs(const char **p, struct node *n)
{
	char seg[NAME_MAX + 1], arg[NAME_MAX + 1];
	bool too_long;
	int level, rc;

	if (!next_segment(p, seg, sizeof(seg), &too_long))
		return 0;
	if (too_long)
		return -ENAMETOOLONG;
	n->kind = NODE_LOG;
	if (strcmp(seg, "all") == 0) {
		if (!n->stream)
			snprintf(n->source, sizeof(n->source), "plugin");
		return leaf(*p);
	}
	if (strcmp(seg, "all.jsonl") == 0) {
		n->jsonl = true;
		return leaf(*p);
	}
	if (strcmp(seg, "stats") == 0 && !n->stream) {
		n->kind = NODE_STATS;
		return leaf(*p);
	}
	if (strcmp(seg, "stream") == 0 && !n->stream) {
		n->kind = NODE_LOGS;
		n->stream = true;
		return resolve_logs(p, n);
	}

	static const struct {
		const char *name;
		enum node_kind kind;
	} dirs[] = {{"by-source", NODE_BY_SOURCE},
		    {"level", NODE_LEVELS},
		    {"search", NODE_SEARCH},
		    {"meta", NODE_META},
		    {"view", NODE_VIEWS}};
	size_t d;

	for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++)
		if (strcmp(seg, dirs[d].name) == 0)
			break;
	if (d == sizeof(dirs) / sizeof(dirs[0]))
		return -ENOENT;
	n->kind = dirs[d].kind;
	if (!next_segment(p, arg, sizeof(arg), &too_long))
		return 0;
	if (too_long)
		return -ENAMETOOLONG;
	n->kind = NODE_LOG;
	switch (dirs[d].kind) {
	case NODE_BY_SOURCE:
		if (!tl_source_valid(arg)) {
			fs_log("tasks/%s: '%s' is not a source name "
			       "([A-Za-z0-9._-], up to 128)",
			       n->task, arg);
			return -EINVAL;
		}
		if (!n->stream) /* valid: at most TL_SOURCE_MAX bytes */
			memcpy(n->source, arg, strlen(arg) + 1);
		rc = set_filter(n, "source=", arg, "");
		break;
	case NODE_LEVELS: {
		size_t len = strlen(arg);
		bool plus = len && arg[len - 1] == '+';

		level = tl_level_parse(arg, plus ? len - 1 : len);
		if (level < 0) {
			fs_log("tasks/%s: level/%s: the files are DEBUG INFO "
			       "WARNING ERROR CRITICAL, with or without +",
			       n->task, arg);
			return -EINVAL;
		}
		rc = set_filter(n, "level=", arg, "");
		break;
	}
	case NODE_SEARCH:
		rc = set_filter(n, "q=", arg, "&");
		break;
	case NODE_META:
		n->kind = NODE_META_KEY;
		snprintf(n->meta_key, sizeof(n->meta_key), "%s", arg);
		if (!next_segment(p, seg, sizeof(seg), &too_long))
			return 0;
		if (too_long)
			return -ENAMETOOLONG;
		n->kind = NODE_LOG;
		rc = set_filter(n, "meta.", arg, "&=");
		if (rc == 0 &&
		    !append_escaped(n->filter, sizeof(n->filter), "=", ""))
			rc = -ENAMETOOLONG;
		if (rc == 0 &&
		    !append_escaped(n->filter, sizeof(n->filter), seg, "&"))
			rc = -ENAMETOOLONG;
		break;
	default: /* NODE_VIEWS */
		rc = set_filter(n, "", arg, "");
		break;
	}
	if (rc == 0)
		rc = check_filter(n);
	if (rc == 0 && leaf(*p) < 0)
		rc = -ENOTDIR;
	return rc;
}

int fs_resolve(const char *path, struct node *n)
{
	char seg[NAME_MAX + 1];
	const char *p = path;
	bool too_long;

	memset(n, 0, sizeof(*n));
	n->kind = NODE_ROOT;
	if (!next_segment(&p, seg, sizeof(seg), &too_long))
		return 0;
	if (too_long)
		return -ENAMETOOLONG;
	if (strcmp(seg, "README") == 0 || strcmp(seg, "stats") == 0) {
		n->kind = seg[0] == 'R' ? NODE_README : NODE_STATS;
		return leaf(p);
	}
	if (strcmp(seg, "tasks") != 0)
		return -ENOENT;
	n->kind = NODE_TASKS;
	if (!next_segment(&p, seg, sizeof(seg), &too_long))
		return 0;
	if (too_long || !tl_task_id_valid(seg)) {
		fs_log("tasks/%.40s: a task id is [A-Za-z0-9._-]{1,128}, not "
		       "starting with '.'",
		       seg);
		return -EINVAL;
	}
	memcpy(n->task, seg, strlen(seg) + 1);
	n->kind = NODE_TASK;
	if (!next_segment(&p, seg, sizeof(seg), &too_long))
		return 0;
	if (strcmp(seg, "status") == 0 || strcmp(seg, "task.json") == 0) {
		n->kind = seg[0] == 's' ? NODE_STATUS : NODE_TASK_JSON;
		return leaf(p);
	}
	if (strcmp(seg, "logs") != 0)
		return -ENOENT;
	n->kind = NODE_LOGS;
	return resolve_logs(&p, n);
}

ino_t fs_inode(const char *path)
{
	uint64_t h = 14695981039346656037ull;

	if (strcmp(path, "/") == 0)
		return 1;
	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 1099511628211ull;
	return (ino_t)(h < 2 ? h + 2 : h);
}
