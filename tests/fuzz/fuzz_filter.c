/*
 * fuzz_filter.c - the filter grammar: whatever parses prints in canonical
 * form, and the canonical form parses again to the same text; matching an
 * entry never fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tl_filter *filter, *again;
	char err[TL_FILTER_ERR_LEN];
	char *printed, *reprinted;
	const struct tl_entry entry = {
	    .seq = 7,
	    .ts_ms = 1764842400123,
	    .level = TL_WARNING,
	    .source = "superset_api",
	    .message = "Timeout while migrating\ndashboard 12",
	    .message_len = 36,
	    .metadata = "{\"dashboard_id\":12,\"name\":\"big sales\"}",
	};

	if (tl_filter_parse((const char *)data, size, &filter, err) < 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort(); /* an error must say what is wrong */
		return 0;
	}
	printed = tl_filter_print(filter);
	if (tl_filter_parse(printed, strlen(printed), &again, err) < 0) {
		fprintf(stderr, "canonical form '%s' does not parse: %s\n",
			printed, err);
		abort();
	}
	reprinted = tl_filter_print(again);
	if (strcmp(printed, reprinted) != 0) {
		fprintf(stderr, "'%s' printed again as '%s'\n", printed,
			reprinted);
		abort();
	}
	if (tl_filter_match(filter, &entry, 1764842500000) !=
	    tl_filter_match(again, &entry, 1764842500000))
		abort();
	free(printed);
	free(reprinted);
	tl_filter_free(filter);
	tl_filter_free(again);
	return 0;
}
