# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Telemetry: the fetcher (an OpenTelemetry Collector) and the Kubernetes event exporter.  Pure.

Fetcher (replaces SWCK's Fetcher, whose OpenCensus exporter OAP >= 9.5 no longer accepts):
a Prometheus receiver scrapes this cluster's OAP pods on 1234 with the job name
``skywalking-so11y`` and the labels ``service`` and ``host_name`` that OAP's ``otel-rules/oap.yaml``
groups by (SkyWalking ``docs/en/setup/backend/backend-telemetry.md``), and an OTLP exporter sends
the metrics to OAP's gRPC port 11800.  Pod discovery uses the Kubernetes API in this namespace
only (a Role: pods get/list/watch).

Event exporter (``apache/skywalking-kubernetes-event-exporter:1.0.0``): reads ``/data/config.yaml``
(``-c``), filters events and sends them to OAP 11800.  Events are read cluster-wide, so its
ClusterRole and ClusterRoleBinding are named after the namespace and the cluster (never a fixed
name shared by installations).
"""

from __future__ import annotations

from .. import names, versions
from . import common

KINDS = (("apps", "Deployment"), ("", "ConfigMap"), ("", "ServiceAccount"),
         ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
         ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"))

FETCHER_HEALTH_PORT = 13133
TLS_DIR = "/tls/oap"


def _dump(data):
    # PyYAML comes with ansible-core; module_utils import it when used.
    import yaml  # pylint: disable=import-outside-toplevel
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def _oap_grpc(spec):
    return "%s:%d" % (names.service_host(spec, names.oap_service(spec)), versions.OAP_GRPC_PORT)


def _grpc_ca(spec):
    grpc = spec["oap"]["tls"]["grpc"]
    return grpc if grpc["secret"] and grpc["ca"] else None


def fetcher_config(spec):
    """The collector's config.yaml text."""
    fetcher = spec["telemetry"]["fetcher"]
    ca = _grpc_ca(spec)
    exporter = {"endpoint": _oap_grpc(spec),
                "tls": {"ca_file": "%s/%s" % (TLS_DIR, ca["ca"])} if ca else {"insecure": True}}
    config = {
        "extensions": {"health_check": {"endpoint": "0.0.0.0:%d" % FETCHER_HEALTH_PORT}},
        "receivers": {"prometheus": {"config": {"scrape_configs": [{
            "job_name": "skywalking-so11y",
            "scrape_interval": "%ds" % fetcher["interval"],
            "kubernetes_sd_configs": [{
                "role": "pod",
                "namespaces": {"names": [spec["namespace"]]},
                "selectors": [{"role": "pod", "label": names.selector_text(names.oap_all_selector(spec))}],
            }],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_pod_container_port_name"], "action": "keep",
                 "regex": "metrics"},
                {"target_label": "service", "replacement": "oap-server"},
                {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "host_name"},
            ],
        }]}}},
        "processors": {"batch": {}},
        "exporters": {"otlp": exporter},
        "service": {"extensions": ["health_check"],
                    "pipelines": {"metrics": {"receivers": ["prometheus"], "processors": ["batch"],
                                              "exporters": ["otlp"]}}},
    }
    return _dump(config)


def event_exporter_config(spec):
    """The exporter's config.yaml text."""
    namespaces = spec["telemetry"]["event_exporter"]["namespaces"]
    ca = _grpc_ca(spec)
    exporter = {
        "template": {"source": {"service": "{{ .Service.Name }}", "serviceInstance": "{{ .Pod.Name }}",
                                "endpoint": ""},
                     "message": "{{ .Event.Message }}"},
        "address": _oap_grpc(spec),
    }
    if ca:
        exporter["enableTLS"] = True
        exporter["trustedCertPath"] = "%s/%s" % (TLS_DIR, ca["ca"])
    event_filter = {"exporters": ["skywalking"]}
    if namespaces:
        event_filter = {"namespace": "^(%s)$" % "|".join(sorted(namespaces)), "exporters": ["skywalking"]}
    return _dump({"filters": [event_filter], "exporters": {"skywalking": exporter}})


def _ca_volume(spec):
    ca = _grpc_ca(spec)
    if not ca:
        return [], []
    return ([{"name": "oap-tls", "secret": {"secretName": ca["secret"], "items": [{"key": ca["ca"], "path": ca["ca"]}]}}],
            [{"name": "oap-tls", "mountPath": TLS_DIR, "readOnly": True}])


def _deployment(spec, ctx, name, component, image, args, config_text, res, config_dir, probes, ports):
    match = names.selector(spec, component)
    ca_volumes, ca_mounts = _ca_volume(spec)
    container = {
        "name": component,
        "image": image,
        "imagePullPolicy": common.image_pull_policy(spec),
        "args": args,
    }
    if ports:
        container["ports"] = ports
    container.update(probes)
    container["resources"] = common.resources(res)
    container["securityContext"] = common.container_security(spec)
    container["volumeMounts"] = [{"name": "config", "mountPath": config_dir, "readOnly": True},
                                 {"name": "tmp", "mountPath": "/tmp"}] + ca_mounts
    pod = {
        "serviceAccountName": name,
        "automountServiceAccountToken": True,
        "enableServiceLinks": False,
        "securityContext": common.pod_security(spec, ctx),
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": name}}, common.empty_dir("tmp")] + ca_volumes,
    }
    secrets = common.pull_secrets(spec)
    if secrets:
        pod["imagePullSecrets"] = secrets
    pod.update(common.scheduling(spec, match, spread=False))
    checksum = common.digest({"config": config_text, "ca": _grpc_ca(spec)})
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": common.metadata(spec, name, component),
            "spec": {"replicas": 1, "selector": {"matchLabels": match},
                     "template": {"metadata": common.pod_metadata(spec, match,
                                                                  annotations={names.CHECKSUM_ANNOTATION: checksum}),
                                  "spec": pod}}}


def fetcher_objects(spec, ctx):
    name = names.fetcher(spec)
    text = fetcher_config(spec)
    role_obj = common.role(spec, name, "fetcher", [{"apiGroups": [""], "resources": ["pods"],
                                                    "verbs": ["get", "list", "watch"]}])
    role_obj["metadata"].setdefault("annotations", {})["skywalking.swck/rbac-reasons"] = (
        "pods get/list/watch: the Prometheus receiver discovers the OAP pods to scrape (this namespace only)")
    probes = {"readinessProbe": common.http_probe("/", FETCHER_HEALTH_PORT, 10, 3, 3),
              "livenessProbe": common.http_probe("/", FETCHER_HEALTH_PORT, 20, 3, 6)}
    return [
        (common.FOUNDATION, common.service_account(spec, name, "fetcher", True)),
        (common.FOUNDATION, role_obj),
        (common.FOUNDATION, common.role_binding(spec, name, "fetcher", name, name)),
        (common.FOUNDATION, {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": common.metadata(spec, name, "fetcher"), "data": {"config.yaml": text}}),
        (common.FRONTENDS, _deployment(spec, ctx, name, "fetcher", spec["images"]["otel_collector"],
                                       ["--config=/conf/config.yaml"], text,
                                       spec["telemetry"]["fetcher"]["resources"], "/conf", probes,
                                       [common.port("health", FETCHER_HEALTH_PORT)])),
    ]


def event_exporter_objects(spec, ctx):
    name = names.event_exporter(spec)
    cluster_name = names.event_exporter_cluster_role(spec)
    text = event_exporter_config(spec)
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": common.metadata(spec, cluster_name, "event-exporter", namespaced=False,
                                    annotations={"skywalking.swck/rbac-reasons": (
                                        "events get/list/watch: the events to export; pods, services get/list/watch: "
                                        "the service and instance names in the exported events")}),
        "rules": [{"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
                  {"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}],
    }
    return [
        (common.FOUNDATION, common.service_account(spec, name, "event-exporter", True)),
        (common.FOUNDATION, cluster_role),
        (common.FOUNDATION, common.role_binding(spec, cluster_name, "event-exporter", cluster_name, name,
                                                cluster=True)),
        (common.FOUNDATION, {"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": common.metadata(spec, name, "event-exporter"),
                             "data": {"config.yaml": text}}),
        (common.FRONTENDS, _deployment(spec, ctx, name, "event-exporter", spec["images"]["event_exporter"],
                                       ["-c=/data/config.yaml"], text, spec["telemetry"]["event_exporter"]["resources"],
                                       "/data", {}, [])),
    ]


def build(spec, ctx):
    out = []
    if spec["telemetry"]["fetcher"]["enabled"]:
        out.extend(fetcher_objects(spec, ctx))
    if spec["telemetry"]["event_exporter"]["enabled"]:
        out.extend(event_exporter_objects(spec, ctx))
    return out
