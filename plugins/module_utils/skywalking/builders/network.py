# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""NetworkPolicies (on by default).  Pure.

Ingress only (egress, and so DNS, is never restricted):

* OAP pods: gRPC 11800 from anywhere (agents, Satellite, OAP peers); REST 12800 from this
  namespace (UI, Satellite, OAP) and ``network_policies.agent_namespaces``; the admin server
  (11.0: 17128 HTTP, 17129 gRPC, no authentication) only from this namespace; metrics 1234
  from this namespace and ``network_policies.metrics_namespaces``.
* BanyanDB pods (in-cluster storage): 17912/17913 only from this cluster's OAP pods (serving and
  init Job), and anything from this cluster's other BanyanDB pods (liaison <-> data, schema server).

The UI, Satellite and telemetry pods have no policy (the UI must stay reachable from ingress
controllers; Satellite is an agent endpoint like OAP's 11800).
"""

from __future__ import annotations

from .. import names, versions
from . import common, oap, storage

KINDS = (("networking.k8s.io", "NetworkPolicy"),)

NAMESPACE_LABEL = "kubernetes.io/metadata.name"


def _ports(*numbers):
    return [{"protocol": "TCP", "port": n} for n in numbers]


def _same_namespace():
    return {"podSelector": {}}


def _namespaces(values):
    return {"namespaceSelector": {"matchExpressions": [{"key": NAMESPACE_LABEL, "operator": "In",
                                                        "values": sorted(values)}]}}


def oap_policy(spec):
    netpol = spec["network_policies"]
    rest_from = [_same_namespace()]
    if netpol["agent_namespaces"]:
        rest_from.append(_namespaces(netpol["agent_namespaces"]))
    rules = [
        {"ports": _ports(versions.OAP_GRPC_PORT)},
        {"from": rest_from, "ports": _ports(versions.OAP_REST_PORT)},
    ]
    if oap.admin_enabled(spec):
        rules.append({"from": [_same_namespace()], "ports": _ports(versions.ADMIN_HTTP_PORT, versions.ADMIN_GRPC_PORT)})
    if spec["telemetry"]["prometheus"]:
        metrics_from = [_same_namespace()]
        if netpol["metrics_namespaces"]:
            metrics_from.append(_namespaces(netpol["metrics_namespaces"]))
        rules.append({"from": metrics_from, "ports": _ports(versions.OAP_METRICS_PORT)})
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": common.metadata(spec, names.network_policy(spec, "oap"), "oap"),
            "spec": {"podSelector": {"matchLabels": names.oap_all_selector(spec)}, "policyTypes": ["Ingress"],
                     "ingress": rules}}


def banyandb_policy(spec):
    oap_pods = {"podSelector": {
        "matchExpressions": [{"key": names.COMPONENT_LABEL, "operator": "In", "values": ["oap", "oap-init"]}],
        "matchLabels": {names.NAME_LABEL: names.APP, names.INSTANCE_LABEL: spec["name"]},
    }}
    peers = {"podSelector": {"matchLabels": names.selector(spec, "banyandb")}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": common.metadata(spec, names.network_policy(spec, "banyandb"), "banyandb"),
            "spec": {"podSelector": {"matchLabels": names.selector(spec, "banyandb")}, "policyTypes": ["Ingress"],
                     "ingress": [{"from": [oap_pods], "ports": _ports(storage.GRPC_PORT, storage.HTTP_PORT)},
                                 {"from": [peers]}]}}


def build_oap(spec, ctx):
    if not spec["network_policies"]["enabled"]:
        return []
    return [(common.FOUNDATION, oap_policy(spec))]


def build_banyandb(spec, ctx):
    if not spec["network_policies"]["enabled"] or not storage.in_cluster(spec):
        return []
    return [(common.FOUNDATION, banyandb_policy(spec))]


def build(spec, ctx):
    return build_oap(spec, ctx) + build_banyandb(spec, ctx)
