#!/bin/sh
# backup.sh - a plugin in shell: it logs by appending lines to its task's
# files in the mount ($TASKLOG_DIR is MOUNT/tasks/ID).
#
#   tasklog run --config target=/srv/www plugins/examples/backup.sh
set -eu
logs=$TASKLOG_DIR/logs
target=${TASKLOG_CONFIG_target:-/srv/data}

echo "backup of $target started" >>"$logs/all"
echo "[DEBUG] using gzip level 6" >>"$logs/all"
for part in 1 2 3; do
	echo "uploaded part $part of 3" >>"$logs/by-source/storage"
done
echo "WARNING: $target/cache skipped, it changes while we read" >>"$logs/all"
printf '{"message": "archive ready", "metadata": {"bytes": 73400320, "parts": 3}}\n' \
	>>"$logs/all"
echo "backup of $target finished"
