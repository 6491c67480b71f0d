# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Pieces every builder uses: metadata, pod security, scheduling, probes, env, hashes.  Pure.

Manifests are written the way the API server writes them back where it normalises values:
quantities in canonical form (``quantities.canonical``), ports as integers, explicit
``protocol: TCP``, probe timings spelled out, ``fieldRef.apiVersion: v1``, and no empty env
values.
"""

from __future__ import annotations

import hashlib
import json

from .. import context as _context
from .. import names, quantities
from ..spec import env_text

FOUNDATION = "foundation"
STORAGE = "storage"
SCHEMA = "schema"
OAP = "oap"
FRONTENDS = "frontends"
STAGES = (FOUNDATION, STORAGE, SCHEMA, OAP, FRONTENDS)

DEFAULT_UID = 1000  # used off OpenShift when security.run_as_user is not set (the images run as root)


def digest(data, length=None):
    """sha256 hex of the canonical JSON of ``data`` (key order does not matter)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    value = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return value[:length] if length else value


def metadata(spec, name, component, version=None, extra_labels=None, annotations=None, namespaced=True):
    """Object metadata: our labels, the user's labels and annotations."""
    labels = names.base_labels(spec, component, version)
    if extra_labels:
        labels.update(extra_labels)
    labels.update(spec["labels"])
    meta = {"name": name}
    if namespaced:
        meta["namespace"] = spec["namespace"]
    meta["labels"] = labels
    merged = dict(spec["annotations"])
    if annotations:
        merged.update(annotations)
    if merged:
        meta["annotations"] = merged
    return meta


def pod_metadata(spec, match_labels, version=None, annotations=None, extra_labels=None):
    """Pod template metadata: the selector labels plus version, user labels and pod labels."""
    labels = dict(match_labels)
    if version:
        labels[names.VERSION_LABEL] = names.label_safe(version)
    if extra_labels:
        labels.update(extra_labels)
    labels.update(spec["labels"])
    labels.update(spec["pod_labels"])
    meta = {"labels": labels}
    merged = dict(spec["pod_annotations"])
    if annotations:
        merged.update(annotations)
    if merged:
        meta["annotations"] = merged
    return meta


def pod_security(spec, ctx, fs_group=False):
    """Pod securityContext (restricted profile).  No fixed IDs on OpenShift unless the user sets them."""
    ctx = _context.make(ctx)
    sec = spec["security"]
    out = {"runAsNonRoot": True}
    uid, gid, fsg = sec["run_as_user"], sec["run_as_group"], sec["fs_group"]
    if not ctx.openshift:
        uid = DEFAULT_UID if uid is None else uid
        gid = DEFAULT_UID if gid is None else gid
        if fs_group and fsg is None:
            fsg = gid
    if uid is not None:
        out["runAsUser"] = uid
    if gid is not None:
        out["runAsGroup"] = gid
    if fsg is not None:
        out["fsGroup"] = fsg
    out["seccompProfile"] = {"type": "RuntimeDefault"}
    return out


def container_security(spec):
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": bool(spec["security"]["read_only_root_filesystem"]),
        "runAsNonRoot": True,
    }


def scheduling(spec, match_labels, spread=True):
    """nodeSelector, tolerations, affinity, priorityClassName, topologySpreadConstraints for a pod spec."""
    sched = spec["scheduling"]
    out = {}
    if sched["node_selector"]:
        out["nodeSelector"] = dict(sched["node_selector"])
    if sched["tolerations"]:
        out["tolerations"] = [dict(t) for t in sched["tolerations"]]
    if sched["affinity"]:
        out["affinity"] = sched["affinity"]
    if sched["priority_class_name"]:
        out["priorityClassName"] = sched["priority_class_name"]
    if spread and sched["topology_spread"]:
        out["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": key, "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": dict(match_labels)}}
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
        ]
    return out


def pull_secrets(spec):
    return [{"name": n} for n in spec["images"]["pull_secrets"]]


def resources(res):
    """A ResourceRequirements in canonical quantities (values already canonical in a normalised spec)."""
    out = {}
    for kind in ("limits", "requests"):
        values = {k: quantities.canonical(v) for k, v in sorted(res[kind].items()) if v is not None}
        if values:
            out[kind] = values
    return out


def port(name, number):
    return {"name": name, "containerPort": number, "protocol": "TCP"}


def service_port(name, number, target=None):
    return {"name": name, "port": number, "protocol": "TCP", "targetPort": number if target is None else target}


def http_probe(path, port_number, period, timeout, failure, scheme="HTTP", initial_delay=None):
    probe = {"httpGet": {"path": path, "port": port_number, "scheme": scheme}}
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    probe.update({"timeoutSeconds": timeout, "periodSeconds": period, "successThreshold": 1,
                  "failureThreshold": failure})
    return probe


def tcp_probe(port_number, period, timeout, failure, initial_delay=None):
    probe = {"tcpSocket": {"port": port_number}}
    if initial_delay:
        probe["initialDelaySeconds"] = initial_delay
    probe.update({"timeoutSeconds": timeout, "periodSeconds": period, "successThreshold": 1,
                  "failureThreshold": failure})
    return probe


def env_entry(name, value):
    """One EnvVar from a spec env value: a string, or {secret|config_map: NAME, key: KEY}, or {field: PATH}."""
    if isinstance(value, dict):
        if "secret" in value:
            return {"name": name, "valueFrom": {"secretKeyRef": {"name": value["secret"], "key": value["key"]}}}
        if "config_map" in value:
            return {"name": name, "valueFrom": {"configMapKeyRef": {"name": value["config_map"],
                                                                    "key": value["key"]}}}
        return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": value["field"]}}}
    return {"name": name, "value": env_text(value)}


def field_env(name, path):
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def secret_env(name, secret, key):
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def merge_env(ours, user):
    """Our EnvVars (a list, in order) overridden by the user's (a mapping): one entry per name, stable order.

    A user value replaces ours in place; new names are appended sorted.  Never two entries with the
    same name (server-side apply merges env by name).
    """
    out = []
    index = {}
    for entry in ours:
        if entry["name"] in index:
            out[index[entry["name"]]] = entry
            continue
        index[entry["name"]] = len(out)
        out.append(entry)
    for name in sorted(user):
        entry = env_entry(name, user[name])
        if name in index:
            out[index[name]] = entry
        else:
            index[name] = len(out)
            out.append(entry)
    return out


def empty_dir(name, size_limit=None):
    volume = {"name": name, "emptyDir": {}}
    if size_limit:
        volume["emptyDir"]["sizeLimit"] = quantities.canonical(size_limit)
    return volume


def service_account(spec, name, component, automount):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(spec, name, component),
            "automountServiceAccountToken": automount}


def role(spec, name, component, rules):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": metadata(spec, name, component),
            "rules": rules}


def role_binding(spec, name, component, role_name, account, cluster=False):
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding" if cluster else "RoleBinding",
        "metadata": metadata(spec, name, component, namespaced=not cluster),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole" if cluster else "Role",
                    "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": spec["namespace"]}],
    }


def service(spec, name, component, match_labels, ports, svc=None, headless=False, publish_not_ready=False,
            extra_labels=None):
    """A Service; ``svc`` is a spec service block (type, annotations, load_balancer_source_ranges)."""
    annotations = dict(svc["annotations"]) if svc else None
    body = {}
    if headless:
        body["clusterIP"] = "None"
    if svc and not headless:
        body["type"] = svc["type"]
    elif not headless:
        body["type"] = "ClusterIP"
    if publish_not_ready:
        body["publishNotReadyAddresses"] = True
    body["selector"] = dict(match_labels)
    body["ports"] = ports
    if svc and svc["type"] == "LoadBalancer" and svc.get("load_balancer_source_ranges"):
        body["loadBalancerSourceRanges"] = list(svc["load_balancer_source_ranges"])
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": metadata(spec, name, component, extra_labels=extra_labels, annotations=annotations),
            "spec": body}


def image_pull_policy(spec):
    return spec["images"]["pull_policy"]
