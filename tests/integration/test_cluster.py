# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The SkyWalking modules through ansible-playbook on the real control plane.

Idempotence with zero writes, check mode, diff for every module; restricted Pod Security;
the schema init Job's ordering; static versus dynamic configuration; isolation of clusters;
teardown; render-only output equal to what is applied.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import yaml

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import applyset, manifest

from .conftest import WRITE_VERBS

INSTANCE_LABEL = "app.kubernetes.io/instance"


def get(plane, path):
    status, body = plane.request("GET", path)
    return body if status == 200 else None


def items(plane, path):
    status, body = plane.request("GET", path)
    assert status == 200, body
    return body["items"]


def writes(audit):
    return audit.plane.audit_events(audit.offset, verbs=WRITE_VERBS)


def real_writes(audit):
    return [e for e in writes(audit) if "dryRun=All" not in e.get("requestURI", "")]


def cluster_task(name, ns, module="skywalking.swck.cluster", **spec):
    args = {"name": name, "namespace": ns}
    args.update(spec)
    return {"name": module, module: args}


def deployment(plane, ns, name):
    return get(plane, "/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name))


def env_of(obj, container=None):
    containers = obj["spec"]["template"]["spec"]["containers"]
    chosen = next(c for c in containers if container is None or c["name"] == container)
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in chosen.get("env") or []}


@pytest.fixture
def fresh_ns():
    return "sw-" + uuid.uuid4().hex[:8]


def test_full_deploy_is_idempotent_checkable_and_diffable(playbook, control_plane, fresh_ns, audit):
    task = cluster_task("sky", fresh_ns, create_namespace=True, satellite={"enabled": True})
    # check mode on a cluster that does not exist yet: a dry run of everything, nothing persists
    audit.start()
    preview = playbook.run([task], check=True)[0]
    assert preview["changed"] is True
    assert preview["counts"]["created"] >= 20
    assert real_writes(audit) == []
    assert get(control_plane, "/api/v1/namespaces/" + fresh_ns) is None

    first = playbook.run([task])[0]
    assert first["changed"] is True
    assert first["status"]["ready"] is True, first["summary"]
    assert [s["name"] for s in first["stages"]] == ["namespace", "foundation", "storage", "schema", "oap",
                                                    "frontends"]
    assert all(s["gate_state"] in (None, "passed") for s in first["stages"])
    components = {c["component"]: c["state"] for c in first["status"]["components"]}
    assert components == {"oap": "Ready", "banyandb": "Ready", "ui": "Ready", "satellite": "Ready"}
    assert first["status"]["init_job"]["state"] == "Complete"
    assert first["status"]["endpoints"]["agents"] == "sky-satellite.%s.svc:11800" % fresh_ns

    audit.start()
    again = playbook.run([task])[0]
    assert again["changed"] is False
    assert set(again["counts"]) == {"unchanged"}
    assert writes(audit) == [], "a no-op re-run sends no write, no dry run"

    # check mode and diff on a change: one Deployment, shown, nothing persisted
    changed = cluster_task("sky", fresh_ns, create_namespace=True, satellite={"enabled": True, "replicas": 3})
    audit.start()
    run = playbook.run([changed], check=True, diff=True)[0]
    assert run["changed"] is True
    assert [(o["kind"], o["name"]) for o in run["objects"] if o["action"] == "configured"] == [
        ("Deployment", "sky-satellite")]
    (diff,) = [d for d in run["diff"] if "sky-satellite" in d["before_header"]]
    assert "replicas: 2" in diff["before"] and "replicas: 3" in diff["after"]
    assert "managedFields" not in diff["before"] + diff["after"]
    assert real_writes(audit) == []
    assert deployment(control_plane, fresh_ns, "sky-satellite")["spec"]["replicas"] == 2


def test_restricted_pod_security_admits_every_pod(playbook, control_plane, fresh_ns):
    task = cluster_task("strict", fresh_ns, create_namespace=True,
                        namespace_labels={"pod-security.kubernetes.io/enforce": "restricted",
                                          "pod-security.kubernetes.io/warn": "restricted",
                                          "pod-security.kubernetes.io/audit": "restricted"},
                        satellite={"enabled": True}, telemetry={"fetcher": {"enabled": True},
                                                                "event_exporter": {"enabled": True}})
    result = playbook.run([task])[0]
    assert result["status"]["ready"] is True, result["summary"]
    assert not [w for w in result["api_warnings"] if "PodSecurity" in w or "violate" in w], result["api_warnings"]
    pods = items(control_plane, "/api/v1/namespaces/%s/pods" % fresh_ns)
    owners = {p["metadata"]["labels"].get("app.kubernetes.io/component") for p in pods}
    assert {"oap", "banyandb", "ui", "satellite"} <= owners
    for pod in pods:
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in spec["containers"] + spec.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False and ctx["capabilities"]["drop"] == ["ALL"]


def _audit_index(events, resource, name_prefix, verbs, user=None):
    return [i for i, e in enumerate(events) if e["objectRef"].get("resource") == resource
            and (e["objectRef"].get("name") or "").startswith(name_prefix) and e["verb"] in verbs
            and "dryRun" not in e.get("requestURI", "") and (user is None or e["user"]["username"] == user)]


def test_init_job_runs_before_any_serving_pod_and_again_on_a_version_change(playbook, control_plane, fresh_ns,
                                                                            audit):
    offset = control_plane.audit_offset()
    first = playbook.run([cluster_task("ordered", fresh_ns, create_namespace=True, version="10.4")])[0]
    assert first["status"]["ready"] is True, first["summary"]
    events = control_plane.audit_events(offset, user=None, verbs=WRITE_VERBS)
    job_done = _audit_index(events, "jobs", "ordered-oap-init-", ("update", "patch"))
    job_done = [i for i in job_done if events[i]["objectRef"].get("subresource") == "status"]
    oap_created = _audit_index(events, "deployments", "ordered-oap", ("patch", "create"), user="swck-admin")
    oap_pods = _audit_index(events, "pods", "ordered-oap-", ("create",))
    oap_pods = [i for i in oap_pods if "init" not in events[i]["objectRef"]["name"]]
    assert job_done and oap_created and oap_pods
    assert max(job_done) < min(oap_created) < min(oap_pods)
    job_v104 = first["status"]["init_job"]["name"]

    # A new version: a new hash-named Job completes before OAP is rolled; the old Job is pruned.
    offset = control_plane.audit_offset()
    upgraded = playbook.run([cluster_task("ordered", fresh_ns, create_namespace=True, version="11.0")])[0]
    assert upgraded["status"]["ready"] is True, upgraded["summary"]
    job_v11 = upgraded["status"]["init_job"]["name"]
    assert job_v11 != job_v104
    actions = {(o["kind"], o["name"]): o["action"] for o in upgraded["objects"]}
    assert actions[("Job", job_v104)] == "pruned" and actions[("Job", job_v11)] == "created"
    events = control_plane.audit_events(offset, user=None, verbs=WRITE_VERBS)
    new_job_done = [i for i in _audit_index(events, "jobs", job_v11, ("update", "patch"))
                    if events[i]["objectRef"].get("subresource") == "status"]
    oap_rolled = _audit_index(events, "deployments", "ordered-oap", ("patch",), user="swck-admin")
    assert new_job_done and oap_rolled and max(new_job_done) < min(oap_rolled)
    live = deployment(control_plane, fresh_ns, "ordered-oap")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":11.0.0")
    # the Job opts out of sidecar injection and runs -Dmode=init; serving pods -Dmode=no-init
    job = get(control_plane, "/apis/batch/v1/namespaces/%s/jobs/%s" % (fresh_ns, job_v11))
    template = job["spec"]["template"]
    assert template["metadata"]["labels"].get("sidecar.istio.io/inject") == "false" or \
        template["metadata"].get("annotations", {}).get("sidecar.istio.io/inject") == "false"
    assert "-Dmode=init" in env_of(job)["JAVA_OPTS"]
    assert "-Dmode=no-init" in env_of(live, "oap")["JAVA_OPTS"]


def test_static_configuration_rolls_dynamic_does_not(playbook, control_plane, fresh_ns, audit):
    base = {"create_namespace": True, "oap": {"env": {"SW_CORE_RECORD_DATA_TTL": "3"},
                                              "dynamic_config": {"values": {"core.default.apdexThreshold":
                                                                            "default: 500"}}}}
    playbook.run([cluster_task("conf", fresh_ns, **base)])
    before = deployment(control_plane, fresh_ns, "conf-oap")
    # dynamic: only the ConfigMap changes; no rollout
    dyn = json.loads(json.dumps(base))
    dyn["oap"]["dynamic_config"]["values"]["core.default.apdexThreshold"] = "default: 800"
    audit.start()
    result = playbook.run([cluster_task("conf", fresh_ns, **dyn)])[0]
    changed = [(o["kind"], o["name"]) for o in result["objects"] if o["action"] != "unchanged"]
    assert changed == [("ConfigMap", "conf-oap-dynamic-config")]
    assert deployment(control_plane, fresh_ns, "conf-oap")["metadata"]["generation"] == \
        before["metadata"]["generation"]
    dynamic_cm = get(control_plane, "/api/v1/namespaces/%s/configmaps/conf-oap-dynamic-config" % fresh_ns)
    assert dynamic_cm["data"]["core.default.apdexThreshold"] == "default: 800"
    # OAP finds the ConfigMap with the same selector it finds its peers with
    selector = env_of(before, "oap")["SW_CLUSTER_K8S_LABEL"]
    for pair in selector.split(","):
        key, value = pair.split("=")
        assert dynamic_cm["metadata"]["labels"][key] == value
    # static: the pod template changes (checksum annotation and env): a rollout
    static = json.loads(json.dumps(dyn))
    static["oap"]["env"]["SW_CORE_RECORD_DATA_TTL"] = "5"
    result = playbook.run([cluster_task("conf", fresh_ns, **static)])[0]
    assert ("Deployment", "conf-oap") in [(o["kind"], o["name"]) for o in result["objects"]
                                          if o["action"] == "configured"]
    after = deployment(control_plane, fresh_ns, "conf-oap")
    assert after["metadata"]["generation"] > before["metadata"]["generation"]
    key = "skywalking.swck/config-checksum"
    old = before["spec"]["template"]["metadata"]["annotations"]
    new = after["spec"]["template"]["metadata"]["annotations"]
    assert [k for k in new if k.endswith("checksum")], new
    assert {k: v for k, v in old.items() if "checksum" in k} != {k: v for k, v in new.items() if "checksum" in k}
    assert env_of(after, "oap")["SW_CORE_RECORD_DATA_TTL"] == "5" and key


def test_two_clusters_never_touch_each_other(playbook, control_plane, fresh_ns, audit):
    other_ns = fresh_ns + "-b"
    tasks = [cluster_task("alpha", fresh_ns, create_namespace=True),
             cluster_task("beta", fresh_ns, create_namespace=True),
             cluster_task("alpha", other_ns, create_namespace=True)]
    playbook.run(tasks)
    # alpha in the first namespace changes and prunes (Satellite on, then off): the others see no write
    playbook.run([cluster_task("alpha", fresh_ns, create_namespace=True, satellite={"enabled": True})])
    audit.start()
    result = playbook.run([cluster_task("alpha", fresh_ns, create_namespace=True)])[0]
    assert ("Deployment", "alpha-satellite", "pruned") in [(o["kind"], o["name"], o["action"])
                                                           for o in result["objects"]]
    touched = {(e["objectRef"].get("namespace"), e["objectRef"].get("name")) for e in real_writes(audit)}
    assert all(ns == fresh_ns and (name or "").startswith(("alpha", "swck-applyset-sw.alpha")) for ns, name in touched), \
        touched
    # a cluster never takes another's object: beta asking for alpha's names is refused before any write
    audit.start()
    clash = playbook.run([cluster_task("beta", other_ns, create_namespace=True,
                                       oap={"service": {"type": "ClusterIP"}})])[0]
    assert clash["changed"] is True  # beta is new in that namespace: its own objects are created
    beta_objects = {o["name"] for o in clash["objects"]}
    assert not [n for n in beta_objects if n.startswith("alpha")]
    status_alpha = playbook.run([{"skywalking.swck.status": {"name": "alpha", "namespace": other_ns}}])[0]
    assert status_alpha["ready"] is True


def test_teardown_leaves_nothing_the_cluster_owns(playbook, control_plane, fresh_ns, audit):
    task = cluster_task("gone", fresh_ns, create_namespace=True, satellite={"enabled": True})
    playbook.run([task])
    claims = items(control_plane, "/api/v1/namespaces/%s/persistentvolumeclaims" % fresh_ns)
    assert claims, "BanyanDB's volume exists"
    # without delete_volumes the data stays (and the namespace, which holds it)
    keep = dict(task)
    keep["skywalking.swck.cluster"] = dict(task["skywalking.swck.cluster"], state="absent", create_namespace=False)
    result = playbook.run([keep])[0]
    assert result["changed"] is True
    for kind, path in (("Deployment", "/apis/apps/v1/namespaces/%s/deployments"),
                       ("StatefulSet", "/apis/apps/v1/namespaces/%s/statefulsets"),
                       ("Service", "/api/v1/namespaces/%s/services"),
                       ("ConfigMap", "/api/v1/namespaces/%s/configmaps"),
                       ("NetworkPolicy", "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies"),
                       ("Role", "/apis/rbac.authorization.k8s.io/v1/namespaces/%s/roles")):
        left = [o["metadata"]["name"] for o in items(control_plane, path % fresh_ns)
                if (o["metadata"].get("labels") or {}).get(INSTANCE_LABEL) == "gone"
                and not o["metadata"]["name"].startswith("swck-applyset-")]
        assert left == [], (kind, left)
    assert items(control_plane, "/api/v1/namespaces/%s/persistentvolumeclaims" % fresh_ns)
    # the namespace the cluster created is still its member (kept: state=absent was told not to delete it),
    # so the ApplySet parent stays, recording just that
    parent = get(control_plane, "/api/v1/namespaces/%s/configmaps/%s" % (fresh_ns, applyset.parent_name("sw.gone")))
    assert parent["metadata"]["annotations"][applyset.GROUP_KINDS_ANNOTATION] == "Namespace"
    # the namespace the cluster created is deleted only when asked, and never while it holds more than
    # this cluster: its data (without delete_volumes), or another cluster
    audit.start()
    refused = playbook.run([{"skywalking.swck.cluster": dict(task["skywalking.swck.cluster"], state="absent",
                                                             delete_namespace=True)}], expect_rc=2)[0]
    assert "delete_namespace: namespace %s is not deleted, nothing was" % fresh_ns in refused["msg"]
    assert "volume(s) with data (data-gone-banyandb-0)" in refused["msg"]
    playbook.run([cluster_task("neighbour", fresh_ns, module="skywalking.swck.oap_dynamic_config")])
    refused = playbook.run([{"skywalking.swck.cluster": dict(task["skywalking.swck.cluster"], state="absent",
                                                             delete_namespace=True, delete_volumes=True)}],
                           expect_rc=2)[0]
    assert "other ApplySets live there (swck-applyset-sw.neighbour.dynamic-config)" in refused["msg"]
    assert real_writes(audit) == [] or all(e["objectRef"].get("resource") == "configmaps"
                                           and "neighbour" in e["objectRef"].get("name", "")
                                           for e in real_writes(audit)), "only the neighbour was written"
    assert items(control_plane, "/api/v1/namespaces/%s/persistentvolumeclaims" % fresh_ns)
    playbook.run([cluster_task("neighbour", fresh_ns, module="skywalking.swck.oap_dynamic_config", state="absent")])
    # with delete_volumes and delete_namespace: the data and the namespace the cluster created go too
    full = {"skywalking.swck.cluster": dict(task["skywalking.swck.cluster"], state="absent", delete_volumes=True,
                                            delete_namespace=True)}
    result = playbook.run([full])[0]
    assert ("PersistentVolumeClaim", "deleted") in {(o["kind"], o["action"]) for o in result["objects"]}
    ns = get(control_plane, "/api/v1/namespaces/" + fresh_ns)
    assert ns is None or ns["status"]["phase"] == "Terminating"


def test_render_to_writes_exactly_what_the_module_applies(playbook, control_plane, client, fresh_ns, tmp_path,
                                                          audit):
    out = tmp_path / "rendered"
    task = cluster_task("gitops", fresh_ns, render_to=str(out), satellite={"enabled": True})
    first = playbook.run([task])[0]
    assert first["changed"] is True and sorted(first["files"]["written"]) == sorted(first["files"]["all"])
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert files == sorted(first["files"]["all"])
    assert files[0].startswith("10-foundation/") and any(f.startswith("30-schema/job-gitops-oap-init-") for f in files)
    snapshot = {f: (out / f).read_bytes() for f in files}
    again = playbook.run([task])[0]
    assert again["changed"] is False and again["files"]["written"] == []
    assert {f: (out / f).read_bytes() for f in files} == snapshot, "the same spec renders the same bytes"
    assert get(control_plane, "/api/v1/namespaces/" + fresh_ns) is None, "render_to sends nothing"
    # a GitOps tool applies the files (server-side apply, as kubectl apply --server-side or Argo CD do);
    # then the module finds exactly its members there (same ApplySet, same applied marker): no change
    control_plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                         "metadata": {"name": fresh_ns}})
    for f in files:
        obj = yaml.safe_load((out / f).read_text())
        res = client.resource(obj["apiVersion"], obj["kind"])
        client.apply(res, obj, "skywalking.swck/sw.gitops")
    audit.start()
    module = playbook.run([cluster_task("gitops", fresh_ns, satellite={"enabled": True})])[0]
    # the files do not hold the ApplySet parent (the record of what the cluster owns): the module writes
    # it, and nothing else, so that run is a change; the next one writes nothing
    assert [o for o in module["objects"] if o["action"] != "unchanged"] == []
    assert [e["objectRef"]["name"] for e in real_writes(audit)] == [applyset.parent_name("sw.gitops")]
    assert module["changed"] is True
    audit.start()
    again = playbook.run([cluster_task("gitops", fresh_ns, satellite={"enabled": True})])[0]
    assert again["changed"] is False and real_writes(audit) == []
    parent = get(control_plane, "/api/v1/namespaces/%s/configmaps/%s" % (fresh_ns, applyset.parent_name("sw.gitops")))
    members = items(control_plane, "/api/v1/namespaces/%s/services?labelSelector=%s%%3D%s" % (
        fresh_ns, manifest.APPLYSET_PART_OF_LABEL, parent["metadata"]["labels"][applyset.ID_LABEL]))
    assert members


COMPONENT_MODULES = [
    ("skywalking.swck.banyandb", {}, "StatefulSet", "comp-banyandb"),
    ("skywalking.swck.oap_server", {"oap": {"replicas": 1}}, "Deployment", "comp-oap"),
    ("skywalking.swck.oap_dynamic_config", {"oap": {"dynamic_config": {"values": {"k": "v"}}}}, "ConfigMap",
     "comp-oap-dynamic-config"),
    ("skywalking.swck.ui", {}, "Deployment", "comp-ui"),
    ("skywalking.swck.satellite", {}, "Deployment", "comp-satellite"),
]


def test_component_modules_idempotent_checkable_diffable(playbook, control_plane, namespace, audit):
    for module, spec, kind, name in COMPONENT_MODULES:
        task = cluster_task("comp", namespace, module=module, **spec)
        audit.start()
        preview = playbook.run([task], check=True)[0]
        assert preview["changed"] is True, module
        assert real_writes(audit) == [], module
        first = playbook.run([task])[0]
        assert first["changed"] is True and (kind, name) in [(o["kind"], o["name"]) for o in first["objects"]], module
        audit.start()
        again = playbook.run([task], diff=True)[0]
        assert again["changed"] is False and again["diff"] == [], module
        assert writes(audit) == [], module
    # a change through one module, shown in diff, touches only that module's objects
    changed = cluster_task("comp", namespace, module="skywalking.swck.oap_dynamic_config",
                           oap={"dynamic_config": {"values": {"k": "w"}}})
    run = playbook.run([changed], diff=True)[0]
    assert [(o["kind"], o["action"]) for o in run["objects"] if o["action"] != "unchanged"] == [
        ("ConfigMap", "configured")]
    assert "k: w" in run["diff"][0]["after"]
    # the status module sees the cluster the component modules built
    status = playbook.run([{"skywalking.swck.status": {"name": "comp", "namespace": namespace}}], check=True)[0]
    assert status["changed"] is False and status["ready"] is True, status["summary"]
    assert {c["component"] for c in status["components"]} == {"oap", "banyandb", "ui", "satellite"}
    # a component owned by the component modules is refused by the cluster module (never taken over)
    audit.start()
    refused = playbook.run([cluster_task("comp", namespace)], expect_rc=2)[0]
    assert "belong to someone else" in refused["msg"] and "instance comp of another ApplySet" in refused["msg"]
    assert real_writes(audit) == []


def test_status_module(playbook, namespace):
    missing = playbook.run([{"skywalking.swck.status": {"name": "nobody", "namespace": namespace}}], expect_rc=2)[0]
    assert "no SkyWalking cluster nobody in namespace %s" % namespace in missing["msg"]
    playbook.run([cluster_task("stat", namespace, oap={"mode": "split"})])
    status = playbook.run([{"skywalking.swck.status": {"name": "stat", "namespace": namespace,
                                                       "fail_unless_ready": True}}])[0]
    assert status["changed"] is False and status["ready"] is True
    assert status["recorded_by"] == "cluster" and status["spec"]["oap"]["mode"] == "split"
    assert {c["component"] for c in status["components"]} >= {"oap-receiver", "oap-aggregator"}
    assert status["summary"][0].startswith("COMPONENT")


ROUTE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "routes.route.openshift.io"},
    "spec": {"group": "route.openshift.io", "scope": "Namespaced",
             "names": {"plural": "routes", "singular": "route", "kind": "Route", "listKind": "RouteList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


@pytest.fixture
def route_api(control_plane):
    """The OpenShift Route API (its CRD), only for this test: its presence also marks the cluster as OpenShift."""
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/routes.route.openshift.io"
    status, body = control_plane.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", ROUTE_CRD)
    assert status == 201, body
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        crd = get(control_plane, path)
        if any(c["type"] == "Established" and c["status"] == "True" for c in crd.get("status", {}).get("conditions", [])):
            break
        time.sleep(0.2)
    yield
    control_plane.request("DELETE", path)
    deadline = time.monotonic() + 60
    while get(control_plane, path) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert get(control_plane, path) is None, "the Route CRD must be gone before other tests run"


def test_ui_exposed_by_ingress_or_openshift_route(playbook, control_plane, namespace, route_api):
    ingress = cluster_task("expose", namespace, ui={"ingress": {"enabled": True, "host": "sky.example.com",
                                                                "class_name": "nginx"}})
    result = playbook.run([ingress])[0]
    assert ("Ingress", "expose-ui", "created") in [(o["kind"], o["name"], o["action"]) for o in result["objects"]]
    live = get(control_plane, "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/expose-ui" % namespace)
    assert live["spec"]["rules"][0]["host"] == "sky.example.com"
    assert result["status"]["endpoints"]["ui_external"] == "http://sky.example.com/"
    # switch to a Route: the Ingress is pruned, the Route created; on OpenShift no fixed UID is set
    route = cluster_task("expose", namespace, ui={"route": {"enabled": True, "host": "sky.apps.example.com"}})
    result = playbook.run([route])[0]
    actions = {(o["kind"], o["name"]): o["action"] for o in result["objects"]}
    assert actions[("Ingress", "expose-ui")] == "pruned" and actions[("Route", "expose-ui")] == "created"
    live = get(control_plane, "/apis/route.openshift.io/v1/namespaces/%s/routes/expose-ui" % namespace)
    assert live["spec"]["host"] == "sky.apps.example.com" and live["spec"]["to"]["name"] == "expose-ui"
    oap = deployment(control_plane, namespace, "expose-oap")
    assert "runAsUser" not in oap["spec"]["template"]["spec"].get("securityContext", {})
    # the cluster is removed while the Route API exists, so nothing of it is left behind
    playbook.run([cluster_task("expose", namespace, state="absent")])
    assert get(control_plane, "/apis/route.openshift.io/v1/namespaces/%s/routes/expose-ui" % namespace) is None


def test_static_config_module_contributes_and_withdraws(playbook, control_plane, namespace, audit):
    playbook.run([cluster_task("owned", namespace, module="skywalking.swck.banyandb"),
                  cluster_task("owned", namespace, module="skywalking.swck.oap_server",
                               oap={"env": {"SW_CORE_RECORD_DATA_TTL": "3"}})])
    before = deployment(control_plane, namespace, "owned-oap")
    config = {"oap": {"env": {"SW_CORE_METRICS_DATA_TTL": "9"},
                      "config_files": {"alarm-settings.yml": "rules:\n  service_resp_time_rule: {}\n"}}}
    task = cluster_task("owned", namespace, module="skywalking.swck.oap_config", **config)
    audit.start()
    preview = playbook.run([task], check=True, diff=True)[0]
    assert preview["changed"] is True and real_writes(audit) == []
    first = playbook.run([task])[0]
    assert first["counts"] == {"created": 1, "configured": 1}
    live = deployment(control_plane, namespace, "owned-oap")
    assert live["metadata"]["generation"] > before["metadata"]["generation"], "the configuration rolled OAP"
    env = env_of(live, "oap")
    assert env["SW_CORE_METRICS_DATA_TTL"] == "9" and env["SW_CORE_RECORD_DATA_TTL"] == "3"
    mounts = live["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "swck-static-config", "mountPath": "/skywalking/config/alarm-settings.yml",
            "subPath": "alarm-settings.yml", "readOnly": True} in mounts
    # the Deployment stays the server module's; the config module holds only its fields
    managers = {m["manager"] for m in live["metadata"]["managedFields"] if m["operation"] == "Apply"}
    assert {"skywalking.swck/sw.owned.oap", "skywalking.swck/sw.owned.oap-config"} <= managers
    audit.start()
    again = playbook.run([task], diff=True)[0]
    assert again["changed"] is False and again["diff"] == [] and writes(audit) == []
    # both owners agree: the server module's re-run does not undo the configuration either
    server = playbook.run([cluster_task("owned", namespace, module="skywalking.swck.oap_server",
                                        oap={"env": {"SW_CORE_RECORD_DATA_TTL": "3"}})])[0]
    assert server["changed"] is False
    # a key the server module declares is a conflict, refused before any write
    audit.start()
    clash = cluster_task("owned", namespace, module="skywalking.swck.oap_config",
                         oap={"env": {"SW_CORE_RECORD_DATA_TTL": "5"}})
    refused = playbook.run([clash], expect_rc=2)[0]
    assert "SW_CORE_RECORD_DATA_TTL" in refused["msg"] and "skywalking.swck/sw.owned.oap" in refused["msg"]
    assert real_writes(audit) == []
    # schema-shaping files and server settings are not this module's
    bad = cluster_task("owned", namespace, module="skywalking.swck.oap_config",
                       oap={"env": {"SW_STORAGE": "mysql"}, "config_files": {"oal/core.oal": "x"}})
    refused = playbook.run([bad], expect_rc=2)[0]
    assert "oap.config_files.oal/core.oal: shapes the storage schema" in refused["msg"]
    assert "oap.env.SW_STORAGE" in refused["msg"]
    # withdrawn: exactly what was contributed goes, the ConfigMap too
    gone = playbook.run([cluster_task("owned", namespace, module="skywalking.swck.oap_config", state="absent")])[0]
    assert sorted((o["kind"], o["action"]) for o in gone["objects"]) == [("ConfigMap", "deleted"),
                                                                         ("Deployment", "configured")]
    live = deployment(control_plane, namespace, "owned-oap")
    env = env_of(live, "oap")
    assert "SW_CORE_METRICS_DATA_TTL" not in env and env["SW_CORE_RECORD_DATA_TTL"] == "3"
    assert not [m for m in live["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
                if m["name"] == "swck-static-config"]
    assert get(control_plane, "/api/v1/namespaces/%s/configmaps/owned-oap-static-config" % namespace) is None


SWCK_RESOURCES = """
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServer
metadata: {name: legacy, namespace: legacy}
spec:
  version: 10.4.0
  instances: 3
  image: apache/skywalking-oap-server:10.4.0
  config:
  - {name: SW_CORE_RECORD_DATA_TTL, value: "5"}
  - {name: SW_ES_PASSWORD, value: plaintext-should-never-show}
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: UI
metadata: {name: legacy, namespace: legacy}
spec:
  version: 10.4.0
  instances: 1
  image: apache/skywalking-ui:10.4.0
  OAPServerAddress: http://legacy-oap.legacy:12800
"""


def test_cluster_from_swck_resources(playbook, control_plane, namespace):
    task = cluster_task("legacy", namespace, from_swck=SWCK_RESOURCES, oap={"replicas": 2})
    result = playbook.run([task])[0]
    assert result["status"]["ready"] is True, result["summary"]
    assert result["spec"]["version"] == "10.4.0"
    assert result["spec"]["oap"]["replicas"] == 2, "an explicit option wins over the SWCK resource"
    assert result["spec"]["oap"]["env"]["SW_CORE_RECORD_DATA_TTL"] == "5"
    assert result["spec"]["ui"]["flavour"] == "booster"
    report = "\n".join(result["swck_report"])
    assert "SW_ES_PASSWORD" in report
    assert "plaintext-should-never-show" not in json.dumps(result)
    oap = deployment(control_plane, namespace, "legacy-oap")
    assert oap["spec"]["replicas"] == 2
    assert "plaintext-should-never-show" not in json.dumps(oap)


def test_missing_secrets_are_refused_before_any_write(playbook, control_plane, namespace, audit):
    task = cluster_task("needs", namespace, ui={"users_secret": {"name": "horizon-users"}},
                        storage={"type": "opensearch", "addresses": ["os:9200"],
                                 "credentials": {"secret": "os-creds"}})
    audit.start()
    refused = playbook.run([task], expect_rc=2)[0]
    msg = refused["msg"]
    assert "ui.users_secret.name: Secret horizon-users does not exist in namespace %s" % namespace in msg
    assert "storage.credentials.secret: Secret os-creds does not exist" in msg
    assert "Job needs-oap-init-" in msg, "the message says which pods need it"
    assert writes(audit) == []
    # a Secret without the key the pods read
    status, body = control_plane.request("POST", "/api/v1/namespaces/%s/secrets" % namespace, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "horizon-users"},
        "stringData": {"users.yaml": "[]"}})
    assert status == 201, body
    status, body = control_plane.request("POST", "/api/v1/namespaces/%s/secrets" % namespace, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "os-creds"},
        "stringData": {"username": "u", "password": "p"}})
    assert status == 201, body
    refused = playbook.run([task], expect_rc=2)[0]
    assert "ui.users_secret.name: Secret horizon-users in namespace %s has no key users.json" % namespace \
        in refused["msg"] and "it has: users.yaml" in refused["msg"]
    assert "os-creds" not in refused["msg"]


def test_missing_secrets_in_a_new_namespace_are_refused_before_any_write(playbook, control_plane, fresh_ns, audit):
    """create_namespace does not skip the check: the namespace would be written, then the pods never start."""
    task = cluster_task("needs", fresh_ns, create_namespace=True, ui={"users_secret": {"name": "horizon-users"}})
    audit.start()
    for check in (True, False):
        refused = playbook.run([task], check=check, expect_rc=2)[0]
        assert "ui.users_secret.name: Secret horizon-users does not exist in namespace %s" % fresh_ns \
            in refused["msg"]
    assert writes(audit) == []
    assert get(control_plane, "/api/v1/namespaces/" + fresh_ns) is None


def test_check_mode_teardown_and_prune_delete_nothing(playbook, control_plane, namespace):
    playbook.run([cluster_task("dry", namespace, satellite={"enabled": True})])
    before = sorted(o["metadata"]["name"] for o in items(control_plane, "/apis/apps/v1/namespaces/%s/deployments"
                                                                        % namespace))
    pruning = playbook.run([cluster_task("dry", namespace)], check=True)[0]
    actions = [(o["kind"], o["name"], o["action"]) for o in pruning["objects"]]
    assert ("Deployment", "dry-satellite", "pruned") in actions
    teardown = playbook.run([cluster_task("dry", namespace, state="absent", delete_volumes=True)], check=True)[0]
    assert teardown["changed"] is True
    time.sleep(1.0)
    after = sorted(o["metadata"]["name"] for o in items(control_plane, "/apis/apps/v1/namespaces/%s/deployments"
                                                                       % namespace))
    assert after == before and "dry-satellite" in after
    assert items(control_plane, "/api/v1/namespaces/%s/persistentvolumeclaims" % namespace), "volumes kept"
    # a teardown needs only name and namespace: a spec value refused today does not block it
    stale = cluster_task("dry", namespace, state="absent", oap={"replicas": -1, "env": {"SW_X": ""}})
    gone = playbook.run([stale])[0]
    assert gone["changed"] is True
    assert items(control_plane, "/apis/apps/v1/namespaces/%s/deployments" % namespace) == []
    refused = playbook.run([cluster_task("Not_A_Name", namespace, state="absent")], expect_rc=2)[0]
    assert refused["msg"].startswith("name:")


def test_an_apply_task_never_owns_a_cluster(playbook, control_plane, namespace, audit):
    playbook.run([cluster_task("owned2", namespace)])
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine", "namespace": namespace}}
    audit.start()
    for instance in ("sw.owned2", "owned2"):
        task = {"skywalking.swck.apply": {"instance": instance, "namespace": namespace, "prune": True,
                                          "definitions": [cm]}}
        run = playbook.run([task], expect_rc=0 if instance == "owned2" else 2)[0]
        if instance == "sw.owned2":
            assert "instances starting with 'sw.' are the SkyWalking modules' ApplySets" in run["msg"]
        else:
            assert not [o for o in run["objects"] if o["action"] == "pruned"], "prune never reaches the cluster"
    deleted = [e for e in real_writes(audit) if e["verb"] == "delete"]
    assert deleted == []
    assert deployment(control_plane, namespace, "owned2-oap") is not None


def test_render_to_never_touches_files_it_did_not_write(playbook, tmp_path):
    out = tmp_path / "shared"
    (out / "other").mkdir(parents=True)
    (out / "other" / "mine.yaml").write_text("kind: Mine\n")
    first = cluster_task("one", "ns-a", render_to=str(out))
    preview = playbook.run([first], check=True)[0]
    assert preview["changed"] is True and preview["files"]["written"]
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == ["mine.yaml"], "check mode writes nothing"
    playbook.run([first, cluster_task("two", "ns-a", render_to=str(out))])
    # switching a feature off removes that cluster's own file only
    smaller = cluster_task("one", "ns-a", render_to=str(out), ui={"enabled": False})
    result = playbook.run([smaller])[0]
    assert "20-frontends/deployment-one-ui.yaml" in result["files"]["removed"] or any(
        "one-ui" in f for f in result["files"]["removed"])
    assert (out / "other" / "mine.yaml").read_text() == "kind: Mine\n"
    assert any("two-ui" in p.name for p in out.rglob("*.yaml")), "the other cluster's files stay"
    # a file this render wrote is regenerated; a file of the same name someone else wrote is never overwritten
    target = next(p for p in out.rglob("*.yaml") if p.name == "deployment-one-oap.yaml")
    target.write_text("edited by hand\n")
    again = playbook.run([smaller])[0]
    assert any(f.endswith("deployment-one-oap.yaml") for f in again["files"]["written"])
    assert target.read_text() != "edited by hand\n"
    (out / "10-foundation" / "serviceaccount-three-oap.yaml").write_text("somebody else's\n")
    refused = playbook.run([cluster_task("three", "ns-a", render_to=str(out))], expect_rc=2)[0]
    assert "render_to: would overwrite file(s) this cluster's render did not write: " \
        "10-foundation/serviceaccount-three-oap.yaml" in refused["msg"]
    assert (out / "10-foundation" / "serviceaccount-three-oap.yaml").read_text() == "somebody else's\n"
