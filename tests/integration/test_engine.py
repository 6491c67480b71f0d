# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The apply engine against a real kube-apiserver (see conftest.py)."""

from __future__ import annotations

import base64
import threading
import time

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import manifest
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.auth import connection_from_params
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.client import APPLY_PATCH, Client
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import (
    ConflictError,
    SpecError,
    SwckError,
    WaitFailed,
    WaitTimeout,
)

from .conftest import CRASH_LOOP_IMAGE, FAILING_IMAGE, NEVER_READY_IMAGE


def deployment(name, ns, image="registry.test/app:1", replicas=2):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image,
                                         "resources": {"requests": {"cpu": "0.1", "memory": "64Mi"}}}]},
            },
        },
    }


def stack(ns, value="1"):
    """A small but varied stack: config, RBAC, service, workloads."""
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
         "data": {"value": value}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns},
         "stringData": {"password": "s3cret-" + value}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": ns}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "app", "namespace": ns},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "app", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
         "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}]},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app", "namespace": ns},
         "spec": {"selector": {"app": "app"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
        deployment("app", ns),
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "app", "namespace": ns},
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "app"}}}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "init", "namespace": ns},
         "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "init", "image": "registry.test/init:1"}]}}}},
    ]


def live(plane, path):
    status, body = plane.request("GET", path)
    return body if status == 200 else None


def test_create_then_rerun_makes_zero_writes(engine, control_plane, namespace, audit):
    first = engine.apply(stack(namespace), "it-create")
    assert first.changed
    assert first.counts() == {"created": 9}
    before = {o["kind"]: _version(live(control_plane, _path(o))) for o in first.objects}

    audit.start()
    second = engine.apply(stack(namespace), "it-create")
    assert not second.changed
    assert second.counts() == {"unchanged": 9}
    assert audit.writes() == [], "a no-op run must not write (dry runs included)"
    reads = audit.events()
    assert reads, "the audit log must show the run's reads"
    after = {o["kind"]: _version(live(control_plane, _path(o))) for o in second.objects}
    assert after == before

    # Ownership labels are on every object; our field manager applied them.
    cm = live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace)
    assert cm["metadata"]["labels"][manifest.INSTANCE_LABEL] == "it-create"
    assert cm["metadata"]["labels"][manifest.MANAGED_BY_LABEL] == "skywalking.swck"
    assert any(m["manager"] == "skywalking.swck/it-create" and m["operation"] == "Apply"
               for m in cm["metadata"]["managedFields"])
    secret = live(control_plane, "/api/v1/namespaces/%s/secrets/creds" % namespace)
    assert base64.b64decode(secret["data"]["password"]) == b"s3cret-1"


def _version(obj):
    """What a write by us changes (controllers keep updating workloads' status, so not resourceVersion)."""
    ours = [m.get("time") for m in obj["metadata"]["managedFields"] if m["manager"].startswith("skywalking.swck/")]
    return obj["metadata"].get("generation"), ours


def _path(obj):
    plural = {"ConfigMap": "configmaps", "Secret": "secrets", "ServiceAccount": "serviceaccounts",
              "Service": "services", "Role": "roles", "RoleBinding": "rolebindings", "Deployment": "deployments",
              "PodDisruptionBudget": "poddisruptionbudgets", "Job": "jobs"}[obj["kind"]]
    base = "/api/v1" if obj["apiVersion"] == "v1" else "/apis/" + obj["apiVersion"]
    return "%s/namespaces/%s/%s/%s" % (base, obj["namespace"], plural, obj["name"])


def test_quantities_the_server_rounds_are_not_drift(engine, namespace, audit):
    """``0.0001`` CPU is stored as ``1m`` and ``1.23456789012`` as ``1235m``: a rerun writes nothing."""
    obj = deployment("rounded", namespace)
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "requests": {"cpu": "0.0001", "memory": "1.0000000001Ki"}, "limits": {"cpu": "1.23456789012"}}
    assert engine.apply([obj], "it-rounded").changed
    audit.start()
    again = engine.apply([obj], "it-rounded")
    assert not again.changed and again.counts() == {"unchanged": 1}
    assert audit.writes() == []


def test_change_touches_only_changed_objects(engine, control_plane, namespace, audit):
    engine.apply(stack(namespace), "it-change")
    audit.start()
    result = engine.apply(stack(namespace, value="2"), "it-change")
    actions = {o["kind"]: o["action"] for o in result.objects}
    assert actions["ConfigMap"] == "configured"
    assert actions["Secret"] == "configured"
    assert actions["Deployment"] == "unchanged"
    real = audit.writes(include_dry_run=False)
    assert sorted(e["objectRef"]["resource"] for e in real) == ["configmaps", "secrets"]
    assert all(e["verb"] == "patch" for e in real)


def test_drift_by_a_hand_edit_is_corrected(engine, control_plane, namespace):
    engine.apply(stack(namespace), "it-drift")
    edited = dict(live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace), data={"value": "hand"})
    assert control_plane.request("PUT", "/api/v1/namespaces/%s/configmaps/settings?fieldManager=kubectl-edit"
                                 % namespace, edited)[0] == 200
    result = engine.apply(stack(namespace), "it-drift")
    assert [o["kind"] for o in result.objects if o["action"] == "configured"] == ["ConfigMap"]
    assert result.warnings == ["ConfigMap %s/settings: took back .data.value from kubectl-edit" % namespace]
    assert result.taken_back == [{"object": "ConfigMap %s/settings" % namespace, "fields": [".data.value"],
                                  "managers": ["kubectl-edit"]}]
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace)["data"] == {"value": "1"}


def test_check_mode_is_a_server_dry_run(client, control_plane, namespace, audit):
    checker = Engine(client, check_mode=True)
    new_ns = namespace + "-new"
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": new_ns}}] + stack(new_ns)
    audit.start()
    result = checker.apply(objects, "it-check")
    assert result.changed
    assert result.counts() == {"created": 10}
    assert live(control_plane, "/api/v1/namespaces/" + new_ns) is None
    writes = audit.writes()
    assert writes and all("dryRun=All" in e["requestURI"] for e in writes)

    # An existing object: check mode reports the change and leaves it alone.
    Engine(client).apply(stack(namespace), "it-check")
    result = checker.apply(stack(namespace, value="2"), "it-check", diff=True)
    assert {o["kind"] for o in result.objects if o["action"] == "configured"} == {"ConfigMap", "Secret"}
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace)["data"] == {"value": "1"}
    headers = [d[0] for d in result.diffs]
    assert "ConfigMap %s/settings" % namespace in headers


def test_check_mode_still_runs_server_validation(client, namespace):
    bad = deployment("bad", namespace)
    bad["spec"]["replicas"] = -1
    with pytest.raises(SwckError, match="spec.replicas"):
        Engine(client, check_mode=True).apply([bad], "it-check-invalid")


def test_diff_strips_bookkeeping_and_masks_secrets(engine, namespace):
    engine.apply(stack(namespace), "it-diff")
    result = engine.apply(stack(namespace, value="2"), "it-diff", diff=True)
    diffs = {header: (before, after) for header, before, after in result.diffs}
    before, after = diffs["ConfigMap %s/settings" % namespace]
    assert before["data"] == {"value": "1"} and after["data"] == {"value": "2"}
    for side in (before, after):
        assert "managedFields" not in side["metadata"]
        assert "resourceVersion" not in side["metadata"]
        assert manifest.APPLIED_ANNOTATION not in side["metadata"].get("annotations", {})
    s_before, s_after = diffs["Secret %s/creds" % namespace]
    assert s_before["data"] == {"password": "********"}
    assert s_after["data"] == {"password": "******** (changed)"}
    text = repr(result.diffs)
    for plain in ("s3cret-1", "s3cret-2"):
        assert plain not in text and base64.b64encode(plain.encode()).decode() not in text


def test_prune_deletes_only_what_this_instance_owns(engine, control_plane, namespace, audit):
    objects = stack(namespace)
    engine.apply(objects, "it-prune")
    # Same kinds, another instance, and an object nobody labelled: neither may be pruned.
    engine.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": namespace}}],
                 "it-prune-other")
    status = control_plane.request("POST", "/api/v1/namespaces/%s/configmaps" % namespace, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unowned", "namespace": namespace}})[0]
    assert status == 201

    kept = [o for o in objects if o["kind"] not in ("Job", "ConfigMap")]
    audit.start()
    result = engine.apply(kept, "it-prune", prune=True)
    pruned = sorted((o["kind"], o["name"]) for o in result.objects if o["action"] == "pruned")
    assert pruned == [("ConfigMap", "settings"), ("Job", "init")]
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace) is None
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/other" % namespace) is not None
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/unowned" % namespace) is not None
    deletes = audit.writes(include_dry_run=False)
    assert sorted(e["objectRef"]["name"] for e in deletes if e["verb"] == "delete") == ["init", "settings"]

    again = engine.apply(kept, "it-prune", prune=True)
    assert not again.changed


def test_prune_never_deletes_namespaces_unless_asked(engine, control_plane, namespace):
    names = [namespace + "-a", namespace + "-b"]
    engine.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names], "it-prune-ns")
    kept = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": names[0]}}]
    result = engine.apply(kept, "it-prune-ns", prune=True)
    assert result.counts() == {"unchanged": 1}
    assert live(control_plane, "/api/v1/namespaces/" + names[1])["status"]["phase"] == "Active"
    result = engine.apply(kept, "it-prune-ns", prune=True, prune_kinds=["v1/Namespace"])
    assert [(o["name"], o["action"]) for o in result.objects] == [(names[0], "unchanged"), (names[1], "pruned")]


def test_conflict_with_another_field_manager(client, control_plane, namespace):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared", "namespace": namespace},
          "data": {"owner": "swck", "mine": "1"}}
    Engine(client).apply([cm], "it-conflict")
    # Another tool takes the field over with its own server-side apply.
    client.request("PATCH", "/api/v1/namespaces/%s/configmaps/shared" % namespace,
                   query={"fieldManager": "other-tool", "force": "true"},
                   body={"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "shared", "namespace": namespace}, "data": {"owner": "other"}},
                   content_type=APPLY_PATCH)
    with pytest.raises(ConflictError) as info:
        Engine(client).apply([cm], "it-conflict")
    assert info.value.conflicts == [{"field": ".data.owner", "manager": "other-tool"}]
    assert "force_conflicts" in info.value.msg
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/shared" % namespace)["data"]["owner"] == "other"

    result = Engine(client, force_conflicts=True).apply([cm], "it-conflict")
    assert result.counts() == {"configured": 1}
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/shared" % namespace)["data"]["owner"] == "swck"


def test_invalid_object_fails_before_anything_is_written(engine, control_plane, namespace, audit):
    objects = stack(namespace)
    # Only the server knows this is wrong: the run must stop before its first real write.
    objects[6]["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes"
    objects[8]["spec"]["unknownField"] = True
    audit.start()
    with pytest.raises(SwckError) as info:
        engine.apply(objects, "it-preflight")
    assert "rejected 2 object(s); nothing was changed" in info.value.msg
    assert "definitions[6] (Deployment %s/app)" % namespace in info.value.msg
    assert "imagePullPolicy" in info.value.msg
    assert "definitions[8] (Job %s/init)" % namespace in info.value.msg
    assert "unknownField" in info.value.msg
    assert audit.writes(include_dry_run=False) == []
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace) is None


def test_spec_errors_are_raised_before_any_request(engine, audit):
    audit.start()
    with pytest.raises(SpecError) as info:
        engine.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": "x"}},
                      {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_OK", "namespace": "x"}}],
                     "it-spec")
    assert info.value.field == "definitions[1].metadata.name"
    with pytest.raises(SpecError, match="definitions\\[0\\].metadata.namespace: is required"):
        engine.apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}], "it-spec")
    with pytest.raises(SpecError, match="kind Widget is not served"):
        engine.apply([{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "a"}}], "it-spec")
    with pytest.raises(SpecError, match="is also defined at definitions\\[0\\]"):
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "x"}}
        engine.apply([cm, cm], "it-spec")
    assert audit.writes() == []


def test_custom_resource_definition_and_resource_in_one_run(engine, control_plane, namespace):
    group = "swck-%s.example.com" % namespace
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets." + group},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {
                         "size": {"type": "integer"}}}}}}}]},
    }
    widget = {"apiVersion": group + "/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": namespace},
              "spec": {"size": 3}}
    first = engine.apply([widget, crd], "it-crd")
    assert first.counts() == {"created": 2}
    assert live(control_plane, "/apis/%s/v1/namespaces/%s/widgets/w" % (group, namespace))["spec"] == {"size": 3}
    again = Engine(engine.client).apply([widget, crd], "it-crd")
    assert again.counts() == {"unchanged": 2}


def test_wait_until_ready(engine, namespace):
    objects = [deployment("web", namespace, replicas=3)] + [o for o in stack(namespace) if o["kind"] == "Job"]
    result = engine.apply(objects, "it-wait", wait=True, wait_timeout=60)
    assert result.counts() == {"created": 2}
    dep = engine.client.request("GET", "/apis/apps/v1/namespaces/%s/deployments/web" % namespace)
    assert dep["status"]["availableReplicas"] == 3
    job = engine.client.request("GET", "/apis/batch/v1/namespaces/%s/jobs/init" % namespace)
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])


def test_wait_timeout_names_each_object_and_why(engine, namespace):
    unschedulable = deployment("nowhere", namespace, replicas=1)
    unschedulable["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    objects = [deployment("stuck", namespace, image=NEVER_READY_IMAGE, replicas=1),
               deployment("crashy", namespace, image=CRASH_LOOP_IMAGE, replicas=1),
               deployment("fine", namespace, replicas=1), unschedulable]
    with pytest.raises(WaitTimeout) as info:
        engine.apply(objects, "it-timeout", wait=True, wait_timeout=8)
    refs = {p["ref"]: p["reason"] for p in info.value.pending}
    assert set(refs) == {"Deployment %s/stuck" % namespace, "Deployment %s/crashy" % namespace,
                         "Deployment %s/nowhere" % namespace}
    nowhere = refs["Deployment %s/nowhere" % namespace]
    assert "not scheduled: 0/3 nodes are available" in nowhere
    assert "event FailedScheduling" in nowhere
    stuck = refs["Deployment %s/stuck" % namespace]
    assert "0 of 1 updated replicas available" in stuck
    assert "container app running but not ready" in stuck
    assert "Available=False" in stuck
    crashy = refs["Deployment %s/crashy" % namespace]
    assert "CrashLoopBackOff" in crashy and "last exit 1 Error" in crashy
    assert "timed out after 8s waiting for 3 object(s)" in info.value.msg


def test_failed_job_ends_the_wait_at_once(engine, namespace):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "broken", "namespace": namespace},
           "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "init", "image": FAILING_IMAGE}]}}}}
    # WaitFailed (not WaitTimeout) shows the wait ended on the failure, not at the deadline.
    with pytest.raises(WaitFailed) as info:
        engine.apply([job], "it-job-fail", wait=True, wait_timeout=120)
    (failure,) = info.value.failed
    assert failure["ref"] == "Job %s/broken" % namespace
    assert "job failed: BackoffLimitExceeded" in failure["reason"]
    assert "container init terminated: Error exit 1" in failure["reason"]


def test_statefulset_partition_wait(engine, namespace):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": namespace},
           "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "db", "image": "registry.test/db:1"}]}}}}
    engine.apply([sts], "it-sts", wait=True, wait_timeout=60)
    # Roll only ordinal 2 (partition 2): the wait ends when that one pod is updated and Ready.
    sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 2
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.test/db:2"
    engine.apply([sts], "it-sts", wait=True, wait_timeout=60)
    pods = engine.client.request("GET", "/api/v1/namespaces/%s/pods" % namespace,
                                 query={"labelSelector": "app=db"})["items"]
    images = sorted((p["metadata"]["name"], p["spec"]["containers"][0]["image"]) for p in pods)
    assert images == [("db-0", "registry.test/db:1"), ("db-1", "registry.test/db:1"),
                      ("db-2", "registry.test/db:2")]


def test_retries_while_the_apiserver_is_down(control_plane, namespace):
    client = Client(connection_from_params({"kubeconfig": str(control_plane.kubeconfig)}), retry_budget=60)
    engine = Engine(client)
    outcome = {}

    def run():
        try:
            outcome["result"] = engine.apply(stack(namespace), "it-restart")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    control_plane.stop_component("kube-apiserver")
    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(2)  # the run starts while nothing answers on the API server's port
    control_plane.start_component("kube-apiserver")
    worker.join(90)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].counts() == {"created": 9}
    assert client.retries > 0


def test_wait_survives_an_apiserver_restart(client, control_plane, namespace):
    engine = Engine(client)
    outcome = {}

    def run():
        try:
            outcome["result"] = engine.apply([deployment("slow", namespace, image=NEVER_READY_IMAGE, replicas=1)],
                                             "it-restart-wait", wait=True, wait_timeout=90)
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    path = "/apis/apps/v1/namespaces/%s/deployments/slow" % namespace
    deadline = time.monotonic() + 30
    while live(control_plane, path) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the engine is now watching the Deployment
    control_plane.restart("kube-apiserver", down_for=1.0)
    # Somebody fixes the image; the rollout completes and the interrupted wait must notice.
    fixed = live(control_plane, path)
    fixed["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.test/app:2"
    status, body = control_plane.request("PUT", path, fixed)
    assert status == 200, body
    worker.join(120)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].counts() == {"created": 1}


def test_api_warnings_are_passed_through(engine, namespace):
    # The API server accepts a fractional memory request but answers with a Warning header.
    dep = deployment("warned", namespace, replicas=1)
    dep["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "100m"
    result = engine.apply([dep], "it-warnings")
    assert result.counts() == {"created": 1}
    assert any("fractional byte value" in w for w in result.warnings), result.warnings


def test_absent_deletes_only_what_the_instance_owns(engine, control_plane, namespace):
    ours = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ours", "namespace": namespace}}
    theirs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs", "namespace": namespace}}
    engine.apply([ours], "it-absent")
    assert control_plane.request("POST", "/api/v1/namespaces/%s/configmaps" % namespace, theirs)[0] == 201
    gone = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "never-existed", "namespace": namespace}}
    result = engine.delete([ours, theirs, gone], "it-absent", wait=True, wait_timeout=30)
    assert [(o["name"], o["action"]) for o in result.objects] == [
        ("ours", "deleted"), ("theirs", "skipped"), ("never-existed", "absent")]
    assert ("ConfigMap %s/theirs is not owned by instance it-absent (created outside skywalking.swck (no ownership "
            "labels)); left alone" % namespace) in result.warnings
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/ours" % namespace) is None
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/theirs" % namespace) is not None


def test_missing_namespace_is_reported_before_any_write(engine, control_plane, namespace, audit):
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": namespace}},
               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": namespace + "-nope"}}]
    audit.start()
    with pytest.raises(SwckError) as info:
        engine.apply(objects, "it-no-ns", namespace=namespace)
    assert "definitions[1] (ConfigMap %s-nope/b): namespace %s-nope does not exist and is not created by this run" % (
        namespace, namespace) in info.value.msg
    assert audit.writes(include_dry_run=False) == []
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/a" % namespace) is None


def test_cluster_scoped_objects_need_the_parent_namespace(engine, control_plane, namespace, audit):
    """The ApplySet parent records what the instance owns: without its namespace nothing is written."""
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "it-parentless-" + namespace}, "rules": []}
    audit.start()
    for check in (True, False):
        with pytest.raises(SpecError) as info:
            Engine(engine.client, check_mode=check).apply([role], "it-parentless", namespace=namespace + "-nope")
        assert info.value.msg.startswith("namespace: namespace %s-nope does not exist and is not created by this "
                                         "run: the ApplySet parent" % namespace)
    assert audit.writes() == []
    assert live(control_plane, "/apis/rbac.authorization.k8s.io/v1/clusterroles/it-parentless-" + namespace) is None
    # with the namespace in the run, the parent is written right after it
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace + "-made"}}
    made = Engine(engine.client).apply([ns, role], "it-parentless", namespace=namespace + "-made")
    assert made.counts() == {"created": 2}
    parent = live(control_plane, "/api/v1/namespaces/%s-made/configmaps/swck-applyset-it-parentless" % namespace)
    assert "ClusterRole.rbac.authorization.k8s.io" in parent["metadata"]["annotations"][
        "applyset.kubernetes.io/contains-group-kinds"]
    Engine(engine.client).delete(None, "it-parentless", namespace=namespace + "-made", delete_all=True,
                                 prune_kinds=["v1/Namespace"])
