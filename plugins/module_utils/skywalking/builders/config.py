# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""OAP's static config files and its dynamic configuration, as ConfigMaps.  Pure.

* Static files (``oap.config_files``) go into ``<name>-oap-config`` (keys: the path with ``/`` as
  ``__``); OAP mounts each file with ``subPath`` (see ``oap.py``), and a change rolls OAP through
  the pod template's checksum annotation.  Applying this ConfigMap alone does not roll OAP: the
  OAP Deployments must be applied too (the ``oap`` component).
* Dynamic configuration (``SW_CONFIGURATION=k8s-configmap``, SkyWalking
  ``docs/en/setup/backend/dynamic-config-configmap.md``): OAP watches ConfigMaps in its namespace
  selected by ``SW_CLUSTER_K8S_LABEL``; ``<name>-oap-dynamic-config`` carries exactly those labels
  and nothing else does.  Changing it never restarts OAP.
"""

from __future__ import annotations

from .. import names
from ..spec import file_key
from . import common

KINDS = (("", "ConfigMap"),)


def config_map(spec):
    files = spec["oap"]["config_files"]
    if not files:
        return None
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": common.metadata(spec, names.oap_config(spec), "oap-config"),
            "data": {file_key(path): files[path] for path in sorted(files)}}


def dynamic_config_map(spec):
    """The k8s-configmap dynamic configuration: its labels are exactly what SW_CLUSTER_K8S_LABEL selects."""
    dyn = spec["oap"]["dynamic_config"]
    if not dyn["enabled"]:
        return None
    selector = names.oap_coordinator_selector(spec)
    meta = common.metadata(spec, names.oap_dynamic_config(spec), "oap")
    meta["labels"].update(selector)
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    if dyn["values"]:
        obj["data"] = {key: dyn["values"][key] for key in sorted(dyn["values"])}
    return obj


def build(spec, ctx):
    """``[(stage, ConfigMap)]``: the static files (if any) and the dynamic configuration (if enabled)."""
    return [(common.FOUNDATION, obj) for obj in (config_map(spec), dynamic_config_map(spec)) if obj is not None]


def build_static(spec, ctx):
    obj = config_map(spec)
    return [] if obj is None else [(common.FOUNDATION, obj)]


def build_dynamic(spec, ctx):
    obj = dynamic_config_map(spec)
    return [] if obj is None else [(common.FOUNDATION, obj)]
