# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Render a plan as files for GitOps (render-only mode).  Pure: returns text, writes nothing.

``render(plan) -> [(relative_path, yaml_text)]``, one file per object, in apply order:
``<NN>-<stage>/<kind>-<name>.yaml`` where ``NN`` is 10, 20, ... per stage (so a directory
listing shows the stage order, and a file's name depends only on its object).  Names are
lowercased and every character outside ``[a-z0-9.-]`` becomes ``-`` (ClusterRole names
contain ``:``).  The YAML puts ``apiVersion``, ``kind``, ``metadata`` first and the rest in
build order; multi-line strings (config files) are block literals.  Same plan, same bytes.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^a-z0-9.-]+")
_FIRST = ("apiVersion", "kind", "metadata")
_DUMPER = []


def _yaml():
    """PyYAML (an ansible-core dependency) and a SafeDumper that writes multi-line strings as block literals."""
    # Imported when used: module_utils may not import PyYAML at import time.
    import yaml  # pylint: disable=import-outside-toplevel
    if not _DUMPER:
        class Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
            pass

        def represent_str(dumper, data):
            if "\n" in data:
                return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
            return dumper.represent_scalar("tag:yaml.org,2002:str", data)

        Dumper.add_representer(str, represent_str)
        _DUMPER.append(Dumper)
    return yaml, _DUMPER[0]


def _ordered(obj):
    out = {}
    for key in _FIRST:
        if key in obj:
            out[key] = obj[key]
    for key, value in obj.items():
        if key not in out:
            out[key] = value
    return out


def to_yaml(obj):
    """One manifest as YAML text (a single document, ending in a newline)."""
    yaml, dumper = _yaml()
    return yaml.dump(_ordered(obj), Dumper=dumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     width=120)


def file_name(obj):
    meta = obj.get("metadata") or {}
    kind = _UNSAFE.sub("-", str(obj.get("kind", "object")).lower()).strip("-")
    name = _UNSAFE.sub("-", str(meta.get("name", "unnamed")).lower()).strip("-")
    return "%s-%s.yaml" % (kind, name)


def render(plan, prepare=None):
    """``[(relative_path, yaml_text)]`` of every object of ``plan`` (a k8s.plan.Plan), in apply order.

    ``prepare``: optional function applied to each manifest first (e.g. the engine's
    ``manifest.prepare`` with the instance, so files equal what the module applies).
    """
    out = []
    for stage_index, stage in enumerate(plan.stages):
        folder = "%02d-%s" % ((stage_index + 1) * 10, _UNSAFE.sub("-", stage.name.lower()))
        for obj in stage.objects:
            body = prepare(obj) if prepare is not None else obj
            out.append(("%s/%s" % (folder, file_name(body)), to_yaml(body)))
    return out


def render_stream(plan, prepare=None):
    """All objects as one multi-document YAML text (``---`` separated), in apply order."""
    return "".join("---\n" + text for _path, text in render(plan, prepare))
