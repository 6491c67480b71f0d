# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Runs the module in the controller's worker process when the task would run it there anyway
(see plugins/plugin_utils/inprocess.py); otherwise as a normal module."""

from __future__ import annotations

from ansible_collections.skywalking.swck.plugins.plugin_utils.inprocess import InProcessAction


class ActionModule(InProcessAction):
    pass
