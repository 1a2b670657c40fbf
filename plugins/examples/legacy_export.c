/*
 * legacy_export.c - a plugin with the old signature, execute(argc, argv),
 * that knows nothing of tasklogfs (FR-007). It prints progress to stdout,
 * problems to stderr, and with --log FILE also writes a log file of its own
 * that it rotates (FILE -> FILE.1) every --rotate lines.
 *
 *   tasklog run build/examples/legacy_export.so --rows 3
 *   tasklog run --import /tmp/export.log:legacy \
 *       build/examples/legacy_export.so --log /tmp/export.log --rotate 50
 *
 * Options: --rows N (default 5), --log FILE, --rotate N, --exit CODE,
 * --delay-ms MS (between rows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int execute(int argc, char **argv);

int execute(int argc, char **argv)
{
	const char *log_path = NULL;
	int rows = 5, rotate = 0, code = 0, delay_ms = 0;
	FILE *log = NULL;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--rows") == 0)
			rows = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--log") == 0)
			log_path = argv[i + 1];
		else if (strcmp(argv[i], "--rotate") == 0)
			rotate = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--exit") == 0)
			code = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--delay-ms") == 0)
			delay_ms = (int)strtol(argv[i + 1], NULL, 10);
	}
	if (log_path && !(log = fopen(log_path, "a"))) {
		perror(log_path);
		return 2;
	}
	printf("export started: %d rows\n", rows);
	for (int row = 1; row <= rows; row++) {
		if (delay_ms > 0)
			usleep((useconds_t)delay_ms * 1000);
		if (log) {
			fprintf(log, "%s exported row %d\n",
				row % 10 == 0 ? "WARNING:" : "INFO:", row);
			fflush(log);
		}
		if (log && rotate > 0 && row % rotate == 0) {
			char old[4096];

			snprintf(old, sizeof(old), "%s.1", log_path);
			fclose(log);
			rename(log_path, old);
			if (!(log = fopen(log_path, "a"))) {
				perror(log_path);
				return 2;
			}
		}
	}
	fprintf(stderr, "row %d has no owner, exported anyway\n", rows);
	printf("export finished\n");
	if (log)
		fclose(log);
	return code;
}
