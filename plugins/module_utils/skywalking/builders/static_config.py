# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""OAP static configuration kept apart from the OAP servers (the ``oap_config`` module).  Pure.

SWCK's OAPServerConfig: one team owns the OAP servers (``oap_server`` or ``cluster``), another
their static configuration (env and config files).  The configuration is *contributed* to the
OAP Deployments with server-side apply under the config module's own field manager:

* a ConfigMap ``<name>-oap-static-config`` with the files (owned by the config module's ApplySet);
* per OAP Deployment, a partial manifest with the env entries of the ``oap`` container, a volume
  of that ConfigMap, one ``subPath`` mount per file under ``/skywalking/config/`` (as the OAP
  image reads them), and a pod-template annotation with the checksum of all of it, so that a
  change rolls the pods exactly when the configuration changes (a ``subPath`` mount never
  updates in place).

Server-side apply merges these by key (containers by name, env by name, volumes by name,
mounts by path) with what the server module declares; a key both declare is a conflict that is
reported, never overwritten.  Only what does not shape the storage schema may be contributed:
the schema init Job is the server module's (it is immutable and named after its inputs).
"""

from __future__ import annotations

from .. import names
from ..spec import NON_SCHEMA_FILES, file_key
from . import common

CHECKSUM_ANNOTATION = "skywalking.swck/static-config-checksum"
VOLUME = "swck-static-config"
CONFIG_DIR = "/skywalking/config"
OAP_CONTAINER = "oap"
# Env that shapes the schema or the JVM the server module sizes: refused here.
SERVER_ENV_PREFIXES = ("SW_STORAGE", "JAVA_OPTS", "SW_CLUSTER", "SW_CORE_ROLE", "SKYWALKING_COLLECTOR_UID",
                       "SW_CONFIGURATION")


def config_map_name(spec):
    return "%s-oap-static-config" % spec["name"]


def problems(spec):
    """``[(field, problem)]`` of what this module may not contribute."""
    out = []
    for path in sorted(spec["oap"]["config_files"]):
        if path not in NON_SCHEMA_FILES:
            out.append(("oap.config_files.%s" % path,
                        "shapes the storage schema, so the schema init Job must run with it: give it to "
                        "skywalking.swck.oap_server or skywalking.swck.cluster (files this module takes: %s)"
                        % ", ".join(sorted(NON_SCHEMA_FILES))))
    for key in sorted(spec["oap"]["env"]):
        if key.startswith(SERVER_ENV_PREFIXES):
            out.append(("oap.env.%s" % key, "is the OAP server's setting (storage, cluster, roles, JVM): give it to "
                                            "skywalking.swck.oap_server or skywalking.swck.cluster"))
    return out


def config_map(spec):
    """The ConfigMap of the files (None when there are none)."""
    files = spec["oap"]["config_files"]
    if not files:
        return None
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": common.metadata(spec, config_map_name(spec), "oap-config"),
            "data": {file_key(path): files[path] for path in sorted(files)}}


def checksum(spec):
    oap = spec["oap"]
    return common.digest({"env": oap["env"], "files": oap["config_files"]})


def contribution(spec, deployment, namespace):
    """The partial manifest of one OAP Deployment (by name) that carries the configuration."""
    oap = spec["oap"]
    container = {"name": OAP_CONTAINER}
    if oap["env"]:
        container["env"] = [{"name": key, "value": str(oap["env"][key])} for key in sorted(oap["env"])]
    pod = {"containers": [container]}
    files = oap["config_files"]
    if files:
        container["volumeMounts"] = [{"name": VOLUME, "mountPath": "%s/%s" % (CONFIG_DIR, path),
                                      "subPath": file_key(path), "readOnly": True} for path in sorted(files)]
        pod["volumes"] = [{"name": VOLUME, "configMap": {"name": config_map_name(spec)}}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": deployment, "namespace": namespace},
            "spec": {"template": {"metadata": {"annotations": {CHECKSUM_ANNOTATION: checksum(spec)}},
                                  "spec": pod}}}


def release(deployment, namespace):
    """The empty partial manifest: applied, it removes everything this module contributed."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": deployment, "namespace": namespace}}


def oap_selector(spec):
    """Label selector (text) of the cluster's OAP Deployments, whatever their role."""
    return "%s=%s,%s=oap" % (names.INSTANCE_LABEL, spec["name"], names.COMPONENT_LABEL)
