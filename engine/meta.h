/*
 * meta.h - an entry's metadata: a JSON object whose top-level keys can be
 * filtered on (meta.KEY=VALUE) and listed.
 *
 * A value is compared as text: a string by its characters, any other JSON
 * value by its compact JSON spelling (42, true, null, {"a":1}).
 */
#ifndef TL_META_H
#define TL_META_H

#include <stdbool.h>
#include <stddef.h>

/* True if metadata (compact JSON or NULL) has key with that text value. */
bool meta_has(const char *metadata, const char *key, const char *value);

/*
 * Calls fn for every top-level key whose value is a string, number or
 * boolean, with that value as text (strings longer than 255 bytes are
 * passed as NULL: too long to list, still counted as a key).
 */
typedef void meta_fn(const char *key, const char *value, void *ctx);
void meta_each(const char *metadata, meta_fn *fn, void *ctx);

/*
 * Checks that json is one JSON object of at most TL_METADATA_MAX bytes and
 * writes its compact form to *out (malloc'd, caller owns), or NULL for an
 * empty object; from the same parse, calls fn as meta_each would (fn may be
 * NULL). Returns 0, -EINVAL (not an object) or -EMSGSIZE.
 */
int meta_normalize(const char *json, char **out, meta_fn *fn, void *ctx);

#endif /* TL_META_H */
