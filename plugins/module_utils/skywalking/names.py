# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Object names, labels and label selectors of one SkyWalking cluster.  Pure.

Every name is derived from the cluster's ``name`` (a DNS label), so two clusters with other
names (or in other namespaces) never share an object.  The only cluster-scoped objects (the
event exporter's ClusterRole/ClusterRoleBinding) carry the namespace in their name too.

Labels (``app.kubernetes.io/*``, the recommended Kubernetes labels):

* ``name: skywalking``, ``instance: <cluster name>``, ``component: oap | oap-init | banyandb |
  ui | satellite | fetcher | event-exporter | oap-config``, ``version: <component version>``;
* ``skywalking.swck/oap-role: mixed | receiver | aggregator`` on OAP pods and
  ``skywalking.swck/banyandb-role: standalone | liaison | data`` on BanyanDB pods.

The engine adds ``app.kubernetes.io/managed-by`` and ``part-of`` itself (and requires the
``instance`` label to equal the instance it applies for: the cluster name).

Selectors: OAP's cluster coordinator (``SW_CLUSTER_K8S_LABEL``) and its ``k8s-configmap``
dynamic configuration use ONE selector; it matches the mixed pods, or in split mode only the
aggregators (SkyWalking ``docs/en/setup/backend/advanced-deployment.md``: the label selector
of both roles selects the Aggregator deployment), and the dynamic-config ConfigMap carries
exactly those labels.  No other ConfigMap or pod carries them all.
"""

from __future__ import annotations

NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
PART_OF_LABEL = "app.kubernetes.io/part-of"
VERSION_LABEL = "app.kubernetes.io/version"
OAP_ROLE_LABEL = "skywalking.swck/oap-role"
BANYANDB_ROLE_LABEL = "skywalking.swck/banyandb-role"
CHECKSUM_ANNOTATION = "skywalking.swck/config-checksum"
SCHEMA_HASH_ANNOTATION = "skywalking.swck/schema-inputs"
ISTIO_INJECT = "sidecar.istio.io/inject"

APP = "skywalking"

# Label keys the user may not set (ours, or the engine's).
RESERVED_LABELS = frozenset([NAME_LABEL, INSTANCE_LABEL, COMPONENT_LABEL, VERSION_LABEL, PART_OF_LABEL,
                             "app.kubernetes.io/managed-by"])
RESERVED_PREFIX = "skywalking.swck/"

MIXED = "mixed"
RECEIVER = "receiver"
AGGREGATOR = "aggregator"
OAP_ROLES = {MIXED: "Mixed", RECEIVER: "Receiver", AGGREGATOR: "Aggregator"}  # SW_CORE_ROLE values

MAX_NAME = 63
# A StatefulSet's pods get the label controller-revision-hash=<name>-<10 chars>: keep that a label value.
MAX_STATEFULSET_NAME = 52


def base_labels(spec, component, version=None):
    labels = {NAME_LABEL: APP, INSTANCE_LABEL: spec["name"], COMPONENT_LABEL: component, PART_OF_LABEL: APP}
    if version:
        labels[VERSION_LABEL] = label_safe(version)
    return labels


def label_safe(value):
    """A version as a label value (63 chars, alphanumerics, '-', '_', '.')."""
    text = "".join(c if (c.isalnum() or c in "-_.") else "-" for c in str(value))[:63]
    return text.strip("-_.") or "unknown"


def selector(spec, component, **extra):
    """matchLabels for ``component`` of this cluster (stable keys, never the version)."""
    out = {NAME_LABEL: APP, INSTANCE_LABEL: spec["name"], COMPONENT_LABEL: component}
    out.update(extra)
    return out


def selector_text(match_labels):
    """``k=v,k=v`` with sorted keys (a label selector string)."""
    return ",".join("%s=%s" % (k, match_labels[k]) for k in sorted(match_labels))


def oap_roles(spec):
    return [RECEIVER, AGGREGATOR] if spec["oap"]["mode"] == "split" else [MIXED]


def oap_pod_selector(spec, role):
    return selector(spec, "oap", **{OAP_ROLE_LABEL: role})


def oap_all_selector(spec):
    """Every serving OAP pod of this cluster (not the init Job's)."""
    return selector(spec, "oap")


def oap_coordinator_selector(spec):
    """What ``SW_CLUSTER_K8S_LABEL`` selects: mixed pods, or aggregators only in split mode."""
    if spec["oap"]["mode"] == "split":
        return selector(spec, "oap", **{OAP_ROLE_LABEL: AGGREGATOR})
    return selector(spec, "oap")


def oap_serving_selector(spec):
    """The pods agents, Satellite and the UI talk to: mixed pods, or receivers in split mode."""
    if spec["oap"]["mode"] == "split":
        return selector(spec, "oap", **{OAP_ROLE_LABEL: RECEIVER})
    return selector(spec, "oap")


def oap(spec, role=MIXED):
    """The OAP Deployment (and its PDB/HPA) for a role."""
    return "%s-oap" % spec["name"] if role == MIXED else "%s-oap-%s" % (spec["name"], role)


def oap_service(spec):
    return "%s-oap" % spec["name"]


def oap_headless(spec):
    return "%s-oap-headless" % spec["name"]


def oap_admin_service(spec):
    return "%s-oap-admin" % spec["name"]


def oap_account(spec):
    return "%s-oap" % spec["name"]


def oap_config(spec):
    return "%s-oap-config" % spec["name"]


def oap_dynamic_config(spec):
    return "%s-oap-dynamic-config" % spec["name"]


def oap_init_job(spec, digest):
    return "%s-oap-init-%s" % (spec["name"], digest[:10])


def oap_init_prefix(spec):
    return "%s-oap-init-" % spec["name"]


def banyandb(spec, role="standalone"):
    return "%s-banyandb" % spec["name"] if role == "standalone" else "%s-banyandb-%s" % (spec["name"], role)


def banyandb_service(spec):
    """The client Service OAP talks to (standalone pod, or the liaisons in cluster mode)."""
    return "%s-banyandb" % spec["name"]


def banyandb_headless(spec, role="standalone"):
    return "%s-headless" % banyandb(spec, role)


def banyandb_account(spec):
    return "%s-banyandb" % spec["name"]


def ui(spec):
    return "%s-ui" % spec["name"]


def satellite(spec):
    return "%s-satellite" % spec["name"]


def fetcher(spec):
    return "%s-fetcher" % spec["name"]


def event_exporter(spec):
    return "%s-event-exporter" % spec["name"]


def event_exporter_cluster_role(spec):
    """Cluster-scoped, so namespace and name are both in it (``:`` is allowed in RBAC names)."""
    return "skywalking-swck:%s:%s:event-exporter" % (spec["namespace"], spec["name"])


def network_policy(spec, component):
    return "%s-%s" % (spec["name"], component)


def service_host(spec, service):
    """In-cluster DNS name of a Service of this cluster."""
    return "%s.%s.svc" % (service, spec["namespace"])


def service_fqdn(spec, service):
    return "%s.%s.svc.%s" % (service, spec["namespace"], spec.get("cluster_domain") or "cluster.local")


def derived(spec):
    """``[(kind, name, limit)]`` of every namespaced object name this spec derives (for length checks)."""
    out = []
    for role in oap_roles(spec):
        out.append(("Deployment", oap(spec, role), MAX_NAME))
    out.append(("Service", oap_headless(spec), MAX_NAME))
    out.append(("Service", oap_admin_service(spec), MAX_NAME))
    out.append(("ConfigMap", oap_dynamic_config(spec), MAX_NAME))
    out.append(("Job", oap_init_job(spec, "0" * 10), MAX_NAME))
    storage = spec.get("storage") or {}
    if storage.get("type") == "banyandb" and (storage.get("banyandb") or {}).get("mode") != "external":
        if storage["banyandb"]["mode"] == "cluster":
            for role in ("liaison", "data"):
                out.append(("StatefulSet", banyandb(spec, role), MAX_STATEFULSET_NAME))
                out.append(("Service", banyandb_headless(spec, role), MAX_NAME))
        else:
            out.append(("StatefulSet", banyandb(spec), MAX_STATEFULSET_NAME))
            out.append(("Service", banyandb_headless(spec), MAX_NAME))
    if (spec.get("ui") or {}).get("enabled"):
        out.append(("Deployment", ui(spec), MAX_NAME))
    if (spec.get("satellite") or {}).get("enabled"):
        out.append(("Deployment", satellite(spec), MAX_NAME))
    telemetry = spec.get("telemetry") or {}
    if (telemetry.get("event_exporter") or {}).get("enabled"):
        out.append(("Deployment", event_exporter(spec), MAX_NAME))
    if (telemetry.get("fetcher") or {}).get("enabled"):
        out.append(("Deployment", fetcher(spec), MAX_NAME))
    return out
