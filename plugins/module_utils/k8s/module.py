# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Glue between AnsibleModule and the engine, shared by every module."""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from .args import AUTH_ARG_SPEC, AUTH_KEYS
from .errors import SwckError

try:
    import yaml

    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()

try:
    import urllib3  # noqa: F401 pylint: disable=unused-import

    HAS_URLLIB3 = True
    URLLIB3_IMPORT_ERROR = None
except ImportError:
    HAS_URLLIB3 = False
    URLLIB3_IMPORT_ERROR = traceback.format_exc()


def new_module(argument_spec, **kwargs):
    """An AnsibleModule with the shared auth options; fails early when libraries are missing."""
    spec = dict(AUTH_ARG_SPEC)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, **kwargs)
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    if not HAS_URLLIB3:
        module.fail_json(msg=missing_required_lib("urllib3"), exception=URLLIB3_IMPORT_ERROR)
    return module


def new_client(module):
    from .auth import connection_from_params
    from .client import Client

    params = {k: module.params.get(k) for k in AUTH_KEYS}
    return Client(
        connection_from_params(params),
        impersonate_user=params.get("impersonate_user"),
        impersonate_groups=params.get("impersonate_groups"),
        request_timeout=params.get("request_timeout") or 30.0,
        retry_budget=params.get("retry_budget") if params.get("retry_budget") is not None else 60.0,
    )


def protect_secrets(module, definitions):
    """Register every Secret value in the input as no_log, so Ansible masks it everywhere.

    ``definitions`` is echoed back in the task result (``invocation``) and may be
    printed on failure; Ansible replaces registered values with ``********``.
    Both the plain and the base64 form of each value are registered.
    """
    import base64

    for _path, obj in definitions:
        if not isinstance(obj, dict) or obj.get("kind") != "Secret":
            continue
        values = []
        for key in ("data", "stringData"):
            section = obj.get(key)
            if isinstance(section, dict):
                values.extend(v for v in section.values() if isinstance(v, str))
        for value in values:
            forms = {value}
            try:
                forms.add(base64.b64decode(value, validate=True).decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                pass
            forms.add(base64.b64encode(value.encode("utf-8")).decode("ascii"))
            # Very short values would mask unrelated text all over the output.
            module.no_log_values.update(f for f in forms if len(f) >= 3)


def fail(module, err, **extra):
    """Report a SwckError: its message plus its structured details."""
    details = dict(getattr(err, "details", {}) or {})
    details.update(extra)
    module.fail_json(msg=err.msg if isinstance(err, SwckError) else str(err), **details)


def _to_text(obj):
    if not obj:
        return ""
    if HAS_YAML:
        return yaml.safe_dump(obj, sort_keys=False, default_flow_style=False)
    import json

    return json.dumps(obj, indent=2, sort_keys=False) + "\n"


def diff_list(diffs):
    """Engine diffs -> Ansible's diff format (list of before/after texts with headers)."""
    out = []
    for header, before, after in diffs:
        out.append({
            "before_header": header if before else "%s (absent)" % header,
            "after_header": header if after else "%s (absent)" % header,
            "before": _to_text(before),
            "after": _to_text(after),
        })
    return out
