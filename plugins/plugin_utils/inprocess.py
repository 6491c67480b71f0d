# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Run the collection's Kubernetes modules inside the controller's worker process when that is the same.

A module task normally costs, before any work: building the AnsiballZ payload on the controller
(parsing and zipping every module_utils file it may import), starting a new Python process, and
importing and compiling everything again there — about 0.5 s per task for the SkyWalking modules.
When the task would run the module on the controller anyway (connection ``local``, the
interpreter is the controller's own Python, no ``become``, no ``async``), the action plugin runs
the very same module code in the task's worker process instead: same argument validation and
``K8S_AUTH_*`` fallbacks (AnsibleModule does them), same check mode, diff and ``no_log`` masking,
the task's ``environment`` applied, the same result.  Ansible forks a worker per task, so nothing
leaks from one task to the next.

Everything else (another host, ``become``, ``async``, another interpreter, or the environment
variable ``SWCK_IN_PROCESS=0``) takes the normal module path.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys

from ansible.module_utils import basic
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.plugins.action import ActionBase

PROFILE = "legacy"
ENV_SWITCH = "SWCK_IN_PROCESS"
COLLECTION = "skywalking.swck."


def _same_python(interpreter):
    if not interpreter:
        return False
    try:
        return os.path.realpath(interpreter) == os.path.realpath(sys.executable)
    except (TypeError, ValueError):
        return False


class InProcessAction(ActionBase):
    """Action plugin base: the module in-process when that is equivalent, else the normal path."""

    _supports_check_mode = True
    _supports_async = True

    def _in_process(self, task_vars):
        if os.environ.get(ENV_SWITCH, "1").lower() in ("0", "false", "no", "off"):
            return False
        if self._task.async_val or self._play_context.become:
            return False
        if getattr(self._connection, "transport", None) not in ("local", "ansible.builtin.local"):
            return False
        interpreter = task_vars.get("ansible_python_interpreter")
        if interpreter is not None and not isinstance(interpreter, str):
            return False
        try:
            interpreter = self._templar.template(interpreter) if interpreter else None
        except Exception:  # noqa: BLE001 - an interpreter we cannot resolve here: take the normal path
            return False
        return _same_python(interpreter)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        if not self._in_process(task_vars):
            result.update(self._execute_module(task_vars=task_vars, wrap_async=self._task.async_val))
            return result
        result.update(self._run_in_process(task_vars))
        return result

    def _run_in_process(self, task_vars):
        name = self._task.resolved_action or self._task.action
        short = name.split(".")[-1]
        args = dict(self._task.args)
        self._update_module_args(name, args, task_vars)
        environment = {}
        self._compute_environment_string(raw_environment_out=environment)
        encoder = get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}, cls=encoder).encode("utf-8")
        basic._ANSIBLE_PROFILE = PROFILE
        saved_env = dict(os.environ)
        os.environ.update({k: str(v) for k, v in environment.items()})
        out = io.StringIO()
        try:
            module = importlib.import_module("ansible_collections.skywalking.swck.plugins.modules.%s" % short)
            with contextlib.redirect_stdout(out):
                try:
                    module.main()
                except SystemExit:
                    pass
        except Exception as exc:  # noqa: BLE001 - reported as the task's failure, like a module's traceback
            return {"failed": True, "msg": "%s failed in-process: %s: %s (set %s=0 to run it as a module)" % (
                name, type(exc).__name__, exc, ENV_SWITCH)}
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            basic._ANSIBLE_ARGS = None
            # a worker process ends without atexit handlers: remove kubeconfig key files now
            from ansible_collections.skywalking.swck.plugins.module_utils.k8s import auth

            auth.cleanup_temp_files()
        return self._parse_returned_data({"stdout": out.getvalue(), "stderr": "", "rc": 0}, PROFILE)
