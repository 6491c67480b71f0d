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


SECRET_SECTIONS = ("data", "stringData")
NO_LOG_PLACEHOLDER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def _secret_leaves(value):
    """Every scalar inside a Secret value (values may be numbers or, wrongly, nested)."""
    if isinstance(value, (dict, list)):
        for item in (value.values() if isinstance(value, dict) else value):
            yield from _secret_leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield value if isinstance(value, str) else str(value)


def secret_forms(value):
    """Every form in which a Secret value can show up in output: plain, base64-decoded,
    base64-encoded, and each line of a multi-line value (YAML indents lines of a block
    scalar, so the whole value never appears as one string in the task's text input)."""
    import base64

    forms = set()
    for leaf in _secret_leaves(value):
        candidates = {leaf}
        try:
            candidates.add(base64.b64decode(leaf, validate=True).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass
        candidates.add(base64.b64encode(leaf.encode("utf-8")).decode("ascii"))
        for text in list(candidates):
            candidates.add(text.strip())
            if "\n" in text:
                candidates.update(line.strip() for line in text.splitlines())
        forms.update(candidates)
    # Very short values would mask unrelated text all over the output.
    return {f for f in forms if len(f) >= 3}


def protect_secrets(module, definitions):
    """Register every Secret value in the input as no_log, so Ansible masks it everywhere.

    ``definitions`` are ``(source, object)`` pairs.  Ansible replaces registered values
    with ``********`` in results, messages and warnings.
    """
    for _path, obj in definitions:
        if not isinstance(obj, dict) or str(obj.get("kind", "")).lower() != "secret":
            continue
        for key in SECRET_SECTIONS:
            module.no_log_values.update(secret_forms(obj.get(key)))


def masked_definitions(definitions):
    """The input objects with every Secret value replaced (for the echoed ``invocation``)."""
    out = []
    for _path, obj in definitions:
        if isinstance(obj, dict) and str(obj.get("kind", "")).lower() == "secret":
            obj = dict(obj)
            for key in SECRET_SECTIONS:
                if isinstance(obj.get(key), dict):
                    obj[key] = {k: NO_LOG_PLACEHOLDER for k in obj[key]}
                elif obj.get(key) is not None:
                    obj[key] = NO_LOG_PLACEHOLDER
        out.append(obj)
    return out


def invocation(module, replacements):
    """``invocation`` for exit_json/fail_json: the module's arguments with ``replacements`` applied.

    Ansible echoes the arguments back at -v and above; text ``definitions`` would carry
    Secret values whose lines are indented differently from the value itself, so the
    whole input is replaced by its parsed, masked form.
    """
    args = dict(module.params)
    for key, value in replacements.items():
        args[key] = value
        for alias in (module.argument_spec.get(key) or {}).get("aliases") or []:
            if alias in args:
                args[alias] = value  # Ansible keeps the alias' own (raw) value too
    return {"module_args": args}


def fail(module, err, invocation_args=None, **extra):
    """Report a SwckError: its message plus its structured details (``changed`` when something was written)."""
    details = dict(getattr(err, "details", {}) or {})
    details.update(extra)
    warnings = details.pop("warnings", None) or []
    for warning in warnings:
        module.warn(warning)
    details.setdefault("changed", False)
    if invocation_args is not None:
        details["invocation"] = invocation_args
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
