# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Istio mesh config pointed at SkyWalking (skywalking.swck.mesh) on a real API server."""

from __future__ import annotations

import uuid

import yaml

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.ops import mesh
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import istio

from .conftest import WRITE_VERBS

MESH = """\
accessLogFile: /dev/stdout
enableTracing: true
enableEnvoyAccessLogService: false
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  tracing:
    zipkin:
      address: zipkin.istio-system:9411
  proxyMetadata:
    ISTIO_META_DNS_CAPTURE: "true"
extensionProviders:
- name: otel
  opentelemetry:
    service: otel-collector.observability.svc.cluster.local
    port: 4317
rootNamespace: istio-system
trustDomain: cluster.local
"""
NETWORKS = "networks: {}\n"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def istio_namespace(plane, name="istio", mesh_text=MESH):
    ns = "istio-" + uuid.uuid4().hex[:8]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
    assert plane.request("POST", "/api/v1/namespaces", namespace)[0] == 201
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": name, "namespace": ns, "labels": {"app": "istiod", "release": "istio"},
                       "annotations": {"meta.helm.sh/release-name": "istiod"}},
          "data": {"mesh": mesh_text, "meshNetworks": NETWORKS}}
    status, body = plane.request("POST", "/api/v1/namespaces/%s/configmaps" % ns, cm)
    assert status == 201, body
    return ns


def configmap(plane, ns, name="istio"):
    status, body = plane.request("GET", "/api/v1/namespaces/%s/configmaps/%s" % (ns, name))
    return body if status == 200 else None


def writes(audit):
    return audit.events(verbs=WRITE_VERBS)


def test_merge_keeps_every_other_setting_and_removal_restores_them(client, control_plane, audit):
    ns = istio_namespace(control_plane)
    audit.start()
    out = mesh.reconcile(client, istio_namespace=ns, address="sky-oap.sky.svc:11800",
                         stats_regexps=list(istio.OAP_STATS_REGEXPS))
    assert out["changed"] and len(writes(audit)) == 1
    assert "fieldManager=skywalking.swck%2Fmesh" in writes(audit)[0]["requestURI"]
    live = configmap(control_plane, ns)
    data = yaml.safe_load(live["data"]["mesh"])
    original = yaml.safe_load(MESH)
    assert data["enableEnvoyAccessLogService"] is True
    assert data["defaultConfig"]["envoyAccessLogService"] == {"address": "sky-oap.sky.svc:11800"}
    assert data["defaultConfig"]["envoyMetricsService"] == {"address": "sky-oap.sky.svc:11800"}
    assert data["defaultConfig"]["proxyStatsMatcher"]["inclusionRegexps"] == list(istio.OAP_STATS_REGEXPS)
    for key in ("accessLogFile", "enableTracing", "extensionProviders", "rootNamespace", "trustDomain"):
        assert data[key] == original[key], key
    for key in ("discoveryAddress", "tracing", "proxyMetadata"):
        assert data["defaultConfig"][key] == original["defaultConfig"][key], key
    assert list(data)[:3] == list(original)[:3], "keys keep their order"
    assert live["data"]["meshNetworks"] == NETWORKS
    assert live["metadata"]["labels"] == {"app": "istiod", "release": "istio"}
    assert live["metadata"]["annotations"]["meta.helm.sh/release-name"] == "istiod"
    assert istio.RECORD_ANNOTATION in live["metadata"]["annotations"]
    assert out["oap_env"] == istio.oap_mesh_env()
    assert out["cluster_rules"] == istio.mesh_cluster_rules()

    audit.start()
    again = mesh.reconcile(client, istio_namespace=ns, address="sky-oap.sky.svc:11800",
                           stats_regexps=list(istio.OAP_STATS_REGEXPS))
    assert not again["changed"] and writes(audit) == []

    # someone edits an unrelated setting meanwhile: kept by the removal
    edited = yaml.safe_load(live["data"]["mesh"])
    edited["accessLogFile"] = "/dev/stderr"
    patch = {"data": {"mesh": yaml.safe_dump(edited, sort_keys=False)}}
    assert control_plane.request("PATCH", "/api/v1/namespaces/%s/configmaps/istio" % ns, patch,
                                 content_type="application/merge-patch+json")[0] == 200
    out = mesh.reconcile(client, state="absent", istio_namespace=ns)
    assert out["changed"] and out["kept"] == []
    restored = configmap(control_plane, ns)
    expected = dict(original, accessLogFile="/dev/stderr")
    assert yaml.safe_load(restored["data"]["mesh"]) == expected
    assert istio.RECORD_ANNOTATION not in restored["metadata"]["annotations"]
    assert mesh.TEXT_ANNOTATION not in restored["metadata"]["annotations"]
    assert restored["metadata"]["annotations"] == {"meta.helm.sh/release-name": "istiod"}
    audit.start()
    assert not mesh.reconcile(client, state="absent", istio_namespace=ns)["changed"]
    assert writes(audit) == []


def test_removal_right_after_merge_gives_back_the_text_byte_for_byte(client, control_plane):
    ns = istio_namespace(control_plane, name="istio-canary")
    mesh.reconcile(client, istio_namespace=ns, revision="canary", address="oap.sky.svc:11800", metrics=False)
    assert "envoyMetricsService" not in configmap(control_plane, ns, "istio-canary")["data"]["mesh"]
    mesh.reconcile(client, state="absent", istio_namespace=ns, revision="canary")
    assert configmap(control_plane, ns, "istio-canary")["data"]["mesh"] == MESH
    try:
        mesh.reconcile(client, istio_namespace=ns, address="oap.sky.svc:11800")
    except SwckError as err:
        assert "ConfigMap %s/istio not found" % ns in err.msg and "revision" in err.msg
    else:
        raise AssertionError("a missing mesh ConfigMap is an error")


def mesh_task(ns, **extra):
    args = {"istio_namespace": ns, "cluster": {"name": "sky", "namespace": "sky-" + ns[-8:]}}
    args.update(extra)
    return {"name": "mesh", "skywalking.swck.mesh": args}


def cluster_namespace(control_plane, ns):
    """Create the namespace of the cluster ``mesh_task`` names; returns it and the name of OAP's mesh ClusterRole."""
    sky = "sky-" + ns[-8:]
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": sky}}
    assert control_plane.request("POST", "/api/v1/namespaces", namespace)[0] == 201
    return sky, "skywalking-swck:%s:sky:oap-mesh" % sky


def test_mesh_module_idempotent_check_diff_and_rbac(playbook, control_plane, audit):
    ns = istio_namespace(control_plane)
    sky, role = cluster_namespace(control_plane, ns)

    audit.start()
    checked = playbook.run([mesh_task(ns, rbac=True)], check=True, diff=True)
    assert checked[0]["changed"] is True
    assert all("dryRun=All" in e["requestURI"] for e in writes(audit))
    assert configmap(control_plane, ns)["data"]["mesh"] == MESH
    assert control_plane.request("GET", RBAC + "/clusterroles/" + role)[0] == 404
    diff = checked[0]["diff"]
    assert diff["before"] == MESH and "envoyAccessLogService:\n    address: sky-oap.%s.svc:11800" % sky in diff["after"]

    first = playbook.run([mesh_task(ns, rbac=True)])
    assert first[0]["changed"] is True
    assert first[0]["address"] == "sky-oap.%s.svc:11800" % sky
    assert {"name": "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS", "value": "k8s-mesh"} in first[0]["oap_env"]
    assert sorted((o["kind"], o["action"]) for o in first[0]["rbac"]) == [("ClusterRole", "created"),
                                                                          ("ClusterRoleBinding", "created")]
    binding = control_plane.request("GET", RBAC + "/clusterrolebindings/" + role)[1]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sky-oap", "namespace": sky}]
    assert control_plane.request("GET", RBAC + "/clusterroles/" + role)[1]["rules"] == istio.mesh_cluster_rules()

    audit.start()
    second = playbook.run([mesh_task(ns, rbac=True)])
    assert second[0]["changed"] is False
    assert writes(audit) == []

    removed = playbook.run([mesh_task(ns, state="absent")], diff=True)
    assert removed[0]["changed"] is True
    assert removed[0]["diff"]["after"] == MESH
    assert configmap(control_plane, ns)["data"]["mesh"] == MESH
    assert control_plane.request("GET", RBAC + "/clusterroles/" + role)[0] == 404
    assert control_plane.request("GET", RBAC + "/clusterrolebindings/" + role)[0] == 404
    audit.start()
    assert playbook.run([mesh_task(ns, state="absent")])[0]["changed"] is False
    assert writes(audit) == []


def test_rbac_refused_before_any_write_when_the_cluster_namespace_is_missing(playbook, control_plane, audit):
    ns = istio_namespace(control_plane)
    audit.start()
    failed = playbook.run([mesh_task(ns, rbac=True)], expect_rc=2)
    assert failed[0]["failed"] is True and failed[0]["changed"] is False
    assert "cluster.namespace" in failed[0]["msg"] and "does not exist" in failed[0]["msg"], failed[0]["msg"]
    assert writes(audit) == [], "nothing written, not even the ConfigMap"
    assert configmap(control_plane, ns)["data"]["mesh"] == MESH
    # bad input is refused before any request that writes, too
    for bad in ({"stats_regexps": ["("]}, {"address": "not an address:99999"}, {"cluster": {"name": "sky"}},
                {"cluster": {"name": "sky", "namespace": "Not_A_Namespace"}}):
        audit.start()
        playbook.run([mesh_task(ns, **bad)], expect_rc=2)
        assert writes(audit) == [], bad
    assert configmap(control_plane, ns)["data"]["mesh"] == MESH


def test_removal_without_cluster_deletes_the_rbac_it_created(playbook, control_plane, audit):
    ns = istio_namespace(control_plane)
    sky, role = cluster_namespace(control_plane, ns)
    first = playbook.run([mesh_task(ns, rbac=True)])
    assert first[0]["changed"] is True
    assert configmap(control_plane, ns)["metadata"]["annotations"][mesh.RBAC_ANNOTATION] == "%s/sky-mesh" % sky
    assert control_plane.request("GET", RBAC + "/clusterroles/" + role)[0] == 200

    plain = {"name": "mesh", "skywalking.swck.mesh": {"istio_namespace": ns, "state": "absent"}}  # no cluster
    checked = playbook.run([plain], check=True)
    assert checked[0]["changed"] is True and control_plane.request("GET", RBAC + "/clusterroles/" + role)[0] == 200
    removed = playbook.run([plain])
    assert removed[0]["changed"] is True
    assert sorted((o["kind"], o["action"]) for o in removed[0]["rbac"] if o["kind"].startswith("ClusterRole")) == \
        [("ClusterRole", "deleted"), ("ClusterRoleBinding", "deleted")]
    assert control_plane.request("GET", RBAC + "/clusterroles/" + role)[0] == 404
    assert control_plane.request("GET", RBAC + "/clusterrolebindings/" + role)[0] == 404
    live = configmap(control_plane, ns)
    assert live["data"]["mesh"] == MESH and mesh.RBAC_ANNOTATION not in live["metadata"]["annotations"]
    audit.start()
    assert playbook.run([plain])[0]["changed"] is False
    assert writes(audit) == []
