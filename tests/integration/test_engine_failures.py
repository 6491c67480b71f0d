# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Honest failures: refusals before the first write, the truth after one, bounded retries, staged gates."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import client as client_module
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.client import Resource
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine, GateFailed
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError, SwckError, WaitTimeout
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.plan import Gate, Plan

from .conftest import FAILING_IMAGE, NEVER_READY_IMAGE, WRITE_VERBS, open_crd


def get(plane, path):
    status, body = plane.request("GET", path)
    return body if status == 200 else None


def writes(audit):
    return audit.plane.audit_events(audit.offset, verbs=WRITE_VERBS)


def real_writes(audit):
    return [e for e in writes(audit) if "dryRun=All" not in e.get("requestURI", "")]


def deployment(name, ns, image="registry.test/app:1", replicas=1, resources=None):
    container = {"name": "app", "image": image}
    if resources:
        container["resources"] = resources
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


def test_objects_in_a_namespace_the_run_creates_are_validated_first(client, control_plane, namespace, audit):
    ns = namespace + "-fresh"
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns}},
               {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns},
                "spec": {"ports": [{"port": 80, "portz": 1}]}}]
    audit.start()
    with pytest.raises(SwckError) as info:
        Engine(client).apply(objects, "fresh", namespace=ns)
    assert "the API server rejected 1 object(s); nothing was changed" in info.value.msg
    assert "definitions[2] (Service %s/s)" % ns in info.value.msg and "portz" in info.value.msg
    assert real_writes(audit) == []
    assert get(control_plane, "/api/v1/namespaces/" + ns) is None
    services = [e for e in writes(audit) if e["objectRef"].get("resource") == "services"]
    assert len(services) == 1, "the refused object is sent once, as a dry run"


def test_check_mode_validates_objects_of_a_new_namespace(client, control_plane, namespace, audit):
    ns = namespace + "-check"
    bad = deployment("greedy", ns, resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}})
    objects = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, bad]
    audit.start()
    with pytest.raises(SwckError) as info:
        Engine(client, check_mode=True).apply(objects, "check-new", namespace=ns)
    assert "definitions[1] (Deployment %s/greedy)" % ns in info.value.msg
    assert "must be less than or equal to cpu limit" in info.value.msg
    assert real_writes(audit) == []
    good = deployment("fine", ns)
    result = Engine(client, check_mode=True).apply([objects[0], good], "check-new", namespace=ns)
    assert result.counts() == {"created": 2}
    assert get(control_plane, "/api/v1/namespaces/" + ns) is None


def test_custom_resource_checked_against_its_definition_before_any_write(client, control_plane, namespace, audit):
    group = "fail-%s.example.com" % namespace
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets." + group},
           "spec": {"group": group, "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                        "type": "object", "properties": {"spec": {"type": "object", "properties": {
                            "size": {"type": "integer"}}}}}}}]}}
    widget = {"apiVersion": group + "/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": namespace},
              "spec": {"size": "big", "colour": "red"}}
    audit.start()
    with pytest.raises(SwckError) as info:
        Engine(client).apply([crd, widget], "crd-bad", namespace=namespace)
    assert "definitions[1] (Widget %s/w)" % namespace in info.value.msg
    assert "spec.size" in info.value.msg
    assert real_writes(audit) == []
    assert get(control_plane, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets." + group) is None


def test_a_failure_after_writes_reports_what_was_done(client, namespace):
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": namespace}},
               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two", "namespace": namespace}},
               deployment("stuck", namespace, image=NEVER_READY_IMAGE)]
    with pytest.raises(WaitTimeout) as info:
        Engine(client).apply(objects, "partial", namespace=namespace, wait=True, wait_timeout=3)
    details = info.value.details
    assert details["changed"] is True
    assert details["counts"] == {"created": 3}
    assert [(o["name"], o["action"]) for o in details["objects"]] == [
        ("one", "created"), ("two", "created"), ("stuck", "created")]


def test_a_deterministic_server_error_is_sent_once(client, namespace, audit):
    # A map where the schema wants a string: server-side apply answers 500 ("failed to create typed patch object").
    broken = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typed", "namespace": namespace},
              "data": {"key": {"not": "a string"}}}
    audit.start()
    with pytest.raises(SwckError) as info:
        Engine(client).apply([broken], "typed", namespace=namespace)
    assert "definitions[0] (ConfigMap %s/typed)" % namespace in info.value.msg
    patches = [e for e in writes(audit) if e["objectRef"].get("resource") == "configmaps"
               and e["objectRef"].get("name") == "typed"]
    assert len(patches) == 1, [e["requestURI"] for e in patches]


def test_an_object_too_large_for_etcd_is_named(client, namespace):
    """A dry run passes (nothing reaches etcd); the real write is refused by etcd: the error names the object."""
    group = "big-%s.example.com" % namespace
    crd = open_crd(group, "blobs", "Blob")
    blob = {"apiVersion": group + "/v1", "kind": "Blob", "metadata": {"name": "huge", "namespace": namespace},
            "data": "x" * (2 * 1024 * 1024)}
    Engine(client).apply([crd], "big-crd")
    with pytest.raises(SwckError) as info:
        Engine(client).apply([blob], "big", namespace=namespace)
    assert info.value.msg.startswith("definitions[0] (Blob %s/huge): " % namespace), info.value.msg
    assert ": 500 " in info.value.msg and ("larger than max" in info.value.msg or "too large" in info.value.msg)
    Engine(client).delete([crd], "big-crd")


def test_a_built_in_kind_the_server_does_not_serve_is_reported(client, namespace, monkeypatch):
    fake = Resource("example.com/v9", "Gizmo", "gizmos", True)
    monkeypatch.setitem(client_module._STATIC, ("example.com/v9", "Gizmo"), fake)
    gizmo = {"apiVersion": "example.com/v9", "kind": "Gizmo", "metadata": {"name": "g", "namespace": namespace}}
    with pytest.raises(SwckError) as info:
        Engine(client).apply([gizmo], "gizmo", namespace=namespace)
    assert "kind Gizmo is not served by apiVersion example.com/v9 on this cluster" in info.value.msg
    assert "namespace" not in info.value.msg.split("cluster")[-1]


# ------------------------------------------------------------ staged plans
def staged(namespace, job_image, gate_timeout=60):
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "schema", "namespace": namespace},
           "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
               {"name": "init", "image": job_image}]}}}}
    plan = Plan()
    plan.add("config", [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": namespace},
                         "data": {"a": "1"}}])
    plan.add("schema", [job], Gate.ready(targets=["Job"], timeout=gate_timeout, name="schema init Job complete"))
    plan.add("serve", [deployment("server", namespace)], Gate.ready())
    return plan


def test_a_stage_starts_only_after_the_previous_gate_passed(client, control_plane, namespace, audit):
    audit.start()
    result = Engine(client).apply(staged(namespace, "registry.test/init:1"), "staged", namespace=namespace)
    assert [(s["name"], s["gate_state"]) for s in result.stages] == [
        ("config", None), ("schema", "passed"), ("serve", "passed")]
    events = control_plane.audit_events(audit.offset, user=None, verbs=WRITE_VERBS)
    complete = [i for i, e in enumerate(events) if e["objectRef"].get("resource") == "jobs"
                and e["objectRef"].get("subresource") == "status" and e["objectRef"].get("name") == "schema"]
    created = [i for i, e in enumerate(events) if e["objectRef"].get("resource") == "deployments"
               and e["objectRef"].get("name") == "server" and "dryRun" not in e["requestURI"]]
    job = get(control_plane, "/apis/batch/v1/namespaces/%s/jobs/schema" % namespace)
    assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
    assert complete and created and max(complete) < min(created), "the Deployment came after the Job finished"
    audit.start()
    again = Engine(client).apply(staged(namespace, "registry.test/init:1"), "staged", namespace=namespace)
    assert not again.changed
    assert writes(audit) == []


def test_a_failed_gate_stops_later_stages(client, control_plane, namespace):
    with pytest.raises(GateFailed) as info:
        Engine(client).apply(staged(namespace, FAILING_IMAGE), "gated", namespace=namespace)
    err = info.value
    assert "stage 'schema': gate 'schema init Job complete' did not pass; not applied: serve" in err.msg
    assert "BackoffLimitExceeded" in err.msg
    assert err.details["changed"] is True
    assert {o["name"]: o["action"] for o in err.details["objects"]} == {
        "cfg": "created", "schema": "created", "server": "not applied"}
    assert get(control_plane, "/apis/apps/v1/namespaces/%s/deployments/server" % namespace) is None


def test_condition_gate_on_a_custom_resource(client, control_plane, namespace):
    group = "gate-%s.example.com" % namespace
    crd = open_crd(group, "stores", "Store", status=True)
    store = {"apiVersion": group + "/v1", "kind": "Store", "metadata": {"name": "db", "namespace": namespace},
             "spec": {"size": 1}}
    plan = Plan()
    plan.add("definitions", [crd])
    plan.add("storage", [store], Gate.condition("Ready", timeout=30))
    plan.add("app", [deployment("app", namespace)])
    path = "/apis/%s/v1/namespaces/%s/stores/db" % (group, namespace)

    def mark_ready():
        deadline = time.monotonic() + 20
        while get(control_plane, path) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        status, body = control_plane.request("PATCH", path + "/status", {"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "Provisioned"}]}},
            content_type="application/merge-patch+json")
        assert status == 200, body

    helper = threading.Thread(target=mark_ready)
    helper.start()
    result = Engine(client).apply(plan, "cond", namespace=namespace)
    helper.join(30)
    assert [(s["name"], s["gate_state"]) for s in result.stages] == [
        ("definitions", None), ("storage", "passed"), ("app", None)]
    assert get(control_plane, "/apis/apps/v1/namespaces/%s/deployments/app" % namespace) is not None


def test_prune_runs_once_across_all_stages(client, control_plane, namespace):
    Engine(client).apply(staged(namespace, "registry.test/init:1"), "staged-prune", namespace=namespace)
    plan = Plan()
    plan.add("config", [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": namespace},
                         "data": {"a": "1"}}])
    result = Engine(client).apply(plan, "staged-prune", namespace=namespace, prune=True)
    assert sorted((o["kind"], o["action"]) for o in result.objects) == [
        ("ConfigMap", "unchanged"), ("Deployment", "pruned"), ("Job", "pruned")]


def test_spec_errors_name_the_field_before_any_request(client, audit):
    audit.start()
    with pytest.raises(SpecError, match="^namespace: the objects span namespaces a, b"):
        Engine(client).apply([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a"}},
                              {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "b"}}],
                             "span")
    assert writes(audit) == []


# Last in this file: it stops the API server, and the controllers take a moment to settle after.
def test_a_wait_ends_at_its_deadline_when_the_apiserver_is_gone(client, control_plane, namespace):
    """The retry budget (60 s) is longer than the wait; the wait's deadline must win."""
    Engine(client).apply([deployment("waits", namespace, image=NEVER_READY_IMAGE)], "deadline", namespace=namespace)
    outcome = {}

    def run():
        try:
            Engine(client).apply([deployment("waits", namespace, image=NEVER_READY_IMAGE)], "deadline",
                                 namespace=namespace, wait=True, wait_timeout=4)
        except Exception as exc:  # noqa: BLE001 - checked below
            outcome["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(1.0)
    control_plane.stop_component("kube-apiserver")
    try:
        worker.join(40)  # far less than the 60 s retry budget a deadline-less request would spend
        assert not worker.is_alive(), "the wait outlived its deadline"
    finally:
        control_plane.start_component("kube-apiserver")
    assert isinstance(outcome.get("error"), WaitTimeout), outcome
