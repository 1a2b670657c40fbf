"""tasklog.py - log from a Python plugin to its task in a tasklogfs mount.

Standard library only; the same shape as the C SDK (plugins/tasklog.h):

    import tasklog

    with tasklog.TaskContext.from_env() as ctx:     # set by `tasklog run`
        log = ctx.logger                             # source "plugin"
        log.info("migrating %d dashboards", 3)
        api = log.with_source("superset_api")        # source "superset_api"
        api.warning("slow answer", dashboard_id=7)   # metadata
        limit = ctx.config.get("limit", "10")        # --config limit=…

Each call appends one JSON line to $TASKLOG_DIR/logs/all with one write(),
at once (no buffering), so a line is either written or the call raises
OSError (ENOTCONN when the mount is gone). Safe to use from several threads.

TaskLogHandler sends the standard `logging` module's records to a task.
"""

import datetime
import json
import logging
import os
import re
import threading

__all__ = ["TaskContext", "TaskLogger", "TaskLogHandler", "LEVELS"]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_SOURCE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\Z")
_CONFIG_PREFIX = "TASKLOG_CONFIG_"


class TaskLogger:
    """Logs to one source of a task. Get one from TaskContext.logger."""

    def __init__(self, context, source):
        if not isinstance(source, str) or not _SOURCE.match(source):
            raise ValueError("%r is not a source name: 1 to 128 of "
                             "[A-Za-z0-9._-], not starting with '.'" % (source,))
        self._context = context
        self.source = source

    def with_source(self, source):
        """A logger for another source of the same task (US3)."""
        return TaskLogger(self._context, source)

    def log(self, level, message, *args, metadata=None, **fields):
        """Logs message % args at level; metadata (a dict) and keyword
        fields are stored together as the entry's metadata."""
        level = level.upper()
        if level not in LEVELS:
            raise ValueError("%r is not a level: %s" % (level, ", ".join(LEVELS)))
        if args:
            message = message % args
        entry = {
            "timestamp": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "source": self.source,
            "message": str(message),
        }
        meta = dict(metadata or {}, **fields)
        if meta:
            entry["metadata"] = meta
        self._context._write(json.dumps(entry, default=str) + "\n")

    def debug(self, message, *args, **kw):
        self.log("DEBUG", message, *args, **kw)

    def info(self, message, *args, **kw):
        self.log("INFO", message, *args, **kw)

    def warning(self, message, *args, **kw):
        self.log("WARNING", message, *args, **kw)

    def error(self, message, *args, **kw):
        self.log("ERROR", message, *args, **kw)

    def critical(self, message, *args, **kw):
        self.log("CRITICAL", message, *args, **kw)


class TaskContext:
    """What a plugin is given: task_id, logger and config (FR-003)."""

    def __init__(self, task_dir, task_id, config=None):
        self.task_id = task_id
        self.task_dir = task_dir
        self.config = dict(config or {})
        self._lock = threading.Lock()
        self._fd = os.open(os.path.join(task_dir, "logs", "all"),
                           os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self.logger = TaskLogger(self, "plugin")

    @classmethod
    def from_env(cls, environ=None):
        """The task `tasklog run` started: TASKLOG_TASK_ID, TASKLOG_DIR and
        every TASKLOG_CONFIG_<key>. Raises KeyError if they are not set."""
        env = os.environ if environ is None else environ
        config = {k[len(_CONFIG_PREFIX):]: v for k, v in env.items()
                  if k.startswith(_CONFIG_PREFIX) and len(k) > len(_CONFIG_PREFIX)}
        return cls(env["TASKLOG_DIR"], env["TASKLOG_TASK_ID"], config)

    def _write(self, line):
        data = line.encode("utf-8", "surrogateescape")
        with self._lock:
            if self._fd < 0:
                raise ValueError("the task context is closed")
            while data:
                data = data[os.write(self._fd, data):]

    def close(self):
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TaskLogHandler(logging.Handler):
    """A logging.Handler that writes records to a task's source; the
    record's extra "metadata" dict, if any, becomes the entry's metadata."""

    def __init__(self, context, source="plugin"):
        super().__init__()
        self._logger = context.logger.with_source(source)

    def emit(self, record):
        try:
            level = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(
                record.levelname, record.levelname)
            if level not in LEVELS:
                level = "INFO"
            self._logger.log(level, self.format(record),
                             metadata=getattr(record, "metadata", None))
        except Exception:
            self.handleError(record)
