# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""SkyWalking Satellite: Deployment, Service, RBAC.  Pure.

Satellite (``apache/skywalking-satellite:v1.3.0``, ``configs/satellite_config.yaml``) serves gRPC
on 11800 and Prometheus metrics on 1234, has no HTTP health endpoint (TCP probe on 11800), and
finds OAP through the Kubernetes API: ``SATELLITE_GRPC_CLIENT_FINDER=kubernetes`` with
``..._KUBERNETES_NAMESPACE``, ``..._KIND=pod``, ``..._SELECTOR_LABEL`` and ``..._EXTRA_PORT``.
The selector is this cluster's serving OAP pods (the receivers in split mode), so agents'
long-lived streams are spread over every OAP pod.  It needs get/list/watch on pods.
"""

from __future__ import annotations

from .. import names, versions
from . import common

KINDS = (("apps", "Deployment"), ("", "Service"), ("", "ServiceAccount"),
         ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"))

GRPC_PORT = 11800
METRICS_PORT = 1234


def env(spec):
    ours = [
        {"name": "SATELLITE_GRPC_CLIENT_FINDER", "value": "kubernetes"},
        {"name": "SATELLITE_GRPC_CLIENT_KUBERNETES_NAMESPACE", "value": spec["namespace"]},
        {"name": "SATELLITE_GRPC_CLIENT_KUBERNETES_KIND", "value": "pod"},
        {"name": "SATELLITE_GRPC_CLIENT_KUBERNETES_SELECTOR_LABEL",
         "value": names.selector_text(names.oap_serving_selector(spec))},
        {"name": "SATELLITE_GRPC_CLIENT_KUBERNETES_EXTRA_PORT", "value": str(versions.OAP_GRPC_PORT)},
    ]
    return common.merge_env(ours, spec["satellite"]["env"])


def deployment(spec, ctx):
    sat = spec["satellite"]
    match = names.selector(spec, "satellite")
    container = {
        "name": "satellite",
        "image": spec["images"]["satellite"],
        "imagePullPolicy": common.image_pull_policy(spec),
        "env": env(spec),
        "ports": [common.port("grpc", GRPC_PORT), common.port("metrics", METRICS_PORT)],
        "readinessProbe": common.tcp_probe(GRPC_PORT, 10, 3, 3),
        "livenessProbe": common.tcp_probe(GRPC_PORT, 20, 3, 6, initial_delay=15),
        "resources": common.resources(sat["resources"]),
        "securityContext": common.container_security(spec),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {
        "serviceAccountName": names.satellite(spec),
        "automountServiceAccountToken": True,
        "enableServiceLinks": False,
        "securityContext": common.pod_security(spec, ctx),
        "containers": [container],
        "volumes": [common.empty_dir("tmp")],
    }
    secrets = common.pull_secrets(spec)
    if secrets:
        pod["imagePullSecrets"] = secrets
    pod.update(common.scheduling(spec, match))
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": common.metadata(spec, names.satellite(spec), "satellite", sat["version"]),
            "spec": {"replicas": sat["replicas"], "selector": {"matchLabels": match},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     "template": {"metadata": common.pod_metadata(spec, match, sat["version"]), "spec": pod}}}


def build(spec, ctx):
    if not spec["satellite"]["enabled"]:
        return []
    name = names.satellite(spec)
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    role_obj = common.role(spec, name, "satellite", rules)
    role_obj["metadata"].setdefault("annotations", {})["skywalking.swck/rbac-reasons"] = (
        "pods get/list/watch: Satellite's Kubernetes finder locates the OAP pods")
    return [
        (common.FOUNDATION, common.service_account(spec, name, "satellite", True)),
        (common.FOUNDATION, role_obj),
        (common.FOUNDATION, common.role_binding(spec, name, "satellite", name, name)),
        (common.FOUNDATION, common.service(spec, name, "satellite", names.selector(spec, "satellite"),
                                           [common.service_port("grpc", GRPC_PORT)], svc=spec["satellite"]["service"])),
        (common.FRONTENDS, deployment(spec, ctx)),
    ]
