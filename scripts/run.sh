#!/bin/sh
# make run: mounts ./mnt with the database ./tasklog.db, adds a demo task and
# prints what to try. `make stop` unmounts (the daemon commits and exits).
set -eu

daemon=$1
build=$(dirname "$daemon")
mnt=${MNT:-mnt}
db=${DB:-tasklog.db}

mkdir -p "$mnt"
if grep -q " $(cd "$mnt" 2>/dev/null && pwd -P) fuse" /proc/mounts 2>/dev/null; then
	echo "run: $mnt is mounted already; restarting it"
	fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt"
	sleep 0.5
fi
"$daemon" -o "db=$db" "$mnt"
for _ in $(seq 50); do [ -e "$mnt/README" ] && break; sleep 0.1; done

task=demo-migration
if [ ! -d "$mnt/tasks/$task" ]; then
	mkdir "$mnt/tasks/$task"
	logs=$mnt/tasks/$task/logs
	echo "Starting migration of 3 dashboards" >>"$logs/all"
	echo "DEBUG: config loaded from /etc/superset/migrate.yaml" >>"$logs/all"
	touch "$logs/by-source/superset_api"
	for id in 11 12 13; do
		printf '{"message":"GET /api/v1/dashboard/%s 200","source":"superset_api","metadata":{"dashboard_id":%s}}\n' "$id" "$id" >>"$logs/all"
	done
	echo '{"message":"slow response (2.4 s), retrying","level":"warning","source":"superset_api","metadata":{"dashboard_id":12}}' >>"$logs/all"
	echo "[ERROR] dashboard 13: database connection timeout" >>"$logs/by-source/system"
	echo "Migrated 2 of 3 dashboards" >>"$logs/all"
	echo "failed 1" >"$mnt/tasks/$task/status"
fi
# And a plugin run by the runner, logging through the C SDK.
if [ ! -d "$mnt/tasks/demo-plugin" ]; then
	"$build/tasklog" run -q --mount "$mnt" --id demo-plugin \
		--config dashboards=6 "$build/examples/dashboard_migration.so"
fi

cat <<MSG

tasklogfs is mounted on $mnt (database $db); a demo task is in $mnt/tasks/$task.
Try:
  cat $mnt/tasks/$task/logs/all
  cat $mnt/tasks/$task/logs/level/WARNING+
  cat $mnt/tasks/$task/logs/by-source/superset_api
  cat $mnt/tasks/$task/logs/meta/dashboard_id/12
  cat '$mnt/tasks/$task/logs/view/level=INFO+&q=timeout'
  mkdir $mnt/tasks/mine && tail -f $mnt/tasks/mine/logs/all &
  echo "hello" >> $mnt/tasks/mine/logs/all
  curl -s 'http://127.0.0.1:8080/api/tasks/$task/logs?level=WARNING%2B'
  $build/tasklog run --mount $mnt $build/examples/burst 20000
  $build/tasklog ls --mount $mnt
The web page: http://127.0.0.1:8080/?task=$task
Stop with: make stop
MSG
