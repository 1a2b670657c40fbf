#!/usr/bin/env python3
"""import_users.py - a plugin in Python, with the helper plugins/python/tasklog.py.

    tasklog run --config users=25 plugins/examples/import_users.py
"""
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import tasklog  # noqa: E402

with tasklog.TaskContext.from_env() as ctx:
    log = ctx.logger
    ldap = log.with_source("ldap")
    users = int(ctx.config.get("users", "10"))
    log.info("importing %d users into task %s", users, ctx.task_id)
    for uid in range(1, users + 1):
        ldap.debug("fetched uid=%d", uid)
        if uid % 7 == 0:
            ldap.warning("user %d has no e-mail", uid, user_id=uid)
        log.info("imported user %d", uid, user_id=uid)

    # Code that already uses the logging module can keep doing so.
    legacy = logging.getLogger("import_users")
    legacy.addHandler(tasklog.TaskLogHandler(ctx, source="legacy"))
    legacy.warning("done through logging", extra={"metadata": {"users": users}})
