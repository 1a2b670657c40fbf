/*
 * strmap.h - a small sorted map from strings to counts, with an optional
 * child map per key (metadata key -> value -> count).
 *
 * Lookups are binary searches; inserts shift the array. Meant for the few
 * sources and metadata keys of one task, not for millions of keys.
 * THREAD SAFETY: none; the owner locks.
 */
#ifndef TL_STRMAP_H
#define TL_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap_item {
	char *key;
	uint64_t count;
	struct strmap *child; /* NULL until strmap_child */
};

struct strmap {
	struct strmap_item *items;
	size_t n, cap;
};

#define STRMAP_INIT                                                            \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

void strmap_release(struct strmap *map);

/*
 * Adds n to key's count, inserting the key if it is new, unless the map
 * already holds max keys (0: no cap). Returns the item or NULL when capped.
 */
struct strmap_item *strmap_add(struct strmap *map, const char *key, uint64_t n,
			       size_t max);

struct strmap_item *strmap_find(const struct strmap *map, const char *key);

/* The item's child map, created empty on first use. */
struct strmap *strmap_child(struct strmap_item *item);

/* Adds every count of src (children too) into dst. */
void strmap_merge(struct strmap *dst, const struct strmap *src, size_t max);

#endif /* TL_STRMAP_H */
