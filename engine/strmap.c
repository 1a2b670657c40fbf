/* strmap.c - sorted string map; see strmap.h. */
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "util.h"

void strmap_release(struct strmap *map)
{
	for (size_t i = 0; i < map->n; i++) {
		free(map->items[i].key);
		if (map->items[i].child) {
			strmap_release(map->items[i].child);
			free(map->items[i].child);
		}
	}
	free(map->items);
	map->items = NULL;
	map->n = map->cap = 0;
}

/* Index of key, or of where it would go (with *found false). */
static size_t strmap_locate(const struct strmap *map, const char *key,
			    int *found)
{
	size_t lo = 0, hi = map->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(map->items[mid].key, key);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

struct strmap_item *strmap_find(const struct strmap *map, const char *key)
{
	int found;
	size_t i = strmap_locate(map, key, &found);

	return found ? &map->items[i] : NULL;
}

struct strmap_item *strmap_add(struct strmap *map, const char *key, uint64_t n,
			       size_t max)
{
	int found;
	size_t i = strmap_locate(map, key, &found);

	if (!found) {
		if (max && map->n >= max)
			return NULL;
		if (map->n == map->cap) {
			map->cap = map->cap ? map->cap * 2 : 4;
			map->items = xrealloc(map->items,
					      map->cap * sizeof(*map->items));
		}
		memmove(&map->items[i + 1], &map->items[i],
			(map->n - i) * sizeof(*map->items));
		map->items[i] = (struct strmap_item){xstrdup(key), 0, NULL};
		map->n++;
	}
	map->items[i].count += n;
	return &map->items[i];
}

struct strmap *strmap_child(struct strmap_item *item)
{
	if (!item->child)
		item->child = xcalloc(1, sizeof(*item->child));
	return item->child;
}

void strmap_merge(struct strmap *dst, const struct strmap *src, size_t max)
{
	for (size_t i = 0; i < src->n; i++) {
		struct strmap_item *item =
		    strmap_add(dst, src->items[i].key, src->items[i].count, 0);

		if (src->items[i].child)
			strmap_merge(strmap_child(item), src->items[i].child,
				     max);
	}
}
