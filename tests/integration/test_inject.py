# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Java agent injection into live workloads (skywalking.swck.inject) on a real API server.

Write and read counts come from the API server's audit log; "before/after" comparisons are of the
pod template JSON as the API server returns it.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.auth import connection_from_params
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.client import Client
from ansible_collections.skywalking.swck.plugins.module_utils.ops.injection import (
    FIELD_MANAGER,
    SCOPE_ANNOTATION,
    SCOPE_SWCK_LABEL,
    Injector,
)
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject

from .conftest import NEVER_READY_IMAGE, ROOT, WRITE_VERBS

LABEL = inject.INJECTION_LABEL
PATHS = {"Deployment": "/apis/apps/v1/namespaces/%s/deployments",
         "StatefulSet": "/apis/apps/v1/namespaces/%s/statefulsets",
         "DaemonSet": "/apis/apps/v1/namespaces/%s/daemonsets",
         "Job": "/apis/batch/v1/namespaces/%s/jobs",
         "CronJob": "/apis/batch/v1/namespaces/%s/cronjobs",
         "Pod": "/api/v1/namespaces/%s/pods",
         "ReplicaSet": "/apis/apps/v1/namespaces/%s/replicasets",
         "Secret": "/api/v1/namespaces/%s/secrets"}
READ_VERBS = ("get", "list", "watch")
SWAGENT_CRD = "swagents.operator.skywalking.apache.org"


# ------------------------------------------------------------------ helpers
def make_namespace(plane, labels=None, prefix="inj"):
    name = "%s-%s" % (prefix, uuid.uuid4().hex[:8])
    meta = {"name": name}
    if labels:
        meta["labels"] = labels
    status, body = plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    assert status == 201, body
    return name


def label_namespace(plane, name, value):
    patch = {"metadata": {"labels": {inject.NAMESPACE_LABEL: value}}}
    status, body = plane.request("PATCH", "/api/v1/namespaces/" + name, patch, content_type="application/merge-patch+json")
    assert status == 200, body


def pod_template(name, labelled=True, annotations=None, env=None, image="registry.test/app:1", containers=None,
                 restart=None):
    labels = {"app": name}
    if labelled:
        labels[LABEL] = labelled if isinstance(labelled, str) else "true"
    meta = {"labels": labels}
    if annotations:
        meta["annotations"] = dict(annotations)
    container = {"name": "app", "image": image}
    if env is not None:
        container["env"] = env
    spec = {"containers": containers or [container]}
    if restart:
        spec["restartPolicy"] = restart
    return {"metadata": meta, "spec": spec}


def workload(kind, name, ns, replicas=0, **template_args):
    meta = {"name": name, "namespace": ns}
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    if kind == "Job":
        tpl = pod_template(name, restart="Never", **template_args)
        tpl["metadata"]["labels"].pop("app")
        return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": {"template": tpl}}
    if kind == "CronJob":
        tpl = pod_template(name, restart="OnFailure", **template_args)
        return {"apiVersion": api, "kind": kind, "metadata": meta,
                "spec": {"schedule": "0 3 * * *", "suspend": True, "jobTemplate": {"spec": {"template": tpl}}}}
    spec = {"selector": {"matchLabels": {"app": name}}, "template": pod_template(name, **template_args)}
    if kind != "DaemonSet":
        spec["replicas"] = replicas
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": api, "kind": kind, "metadata": meta, "spec": spec}


def create(plane, obj):
    ns = obj["metadata"]["namespace"]
    status, body = plane.request("POST", PATHS[obj["kind"]] % ns, obj)
    assert status == 201, body
    return body


def get(plane, kind, ns, name):
    status, body = plane.request("GET", (PATHS[kind] % ns) + "/" + name)
    return body if status == 200 else None


def template(obj):
    path = inject.template_path(obj)
    node = obj
    for key in path:
        node = node[key]
    return node


def tpl_json(plane, kind, ns, name):
    return json.dumps(template(get(plane, kind, ns, name)), sort_keys=False)


def run(client, **kwargs):
    return Injector(client, check_mode=kwargs.pop("check_mode", False), diff=kwargs.pop("diff", False)).run(**kwargs)


def refs(entries):
    return sorted("%s %s/%s" % (e["kind"], e["namespace"], e["name"]) for e in entries)


def writes(audit, dry_runs=True):
    out = audit.events(verbs=WRITE_VERBS)
    return out if dry_runs else [e for e in out if "dryRun=All" not in e.get("requestURI", "")]


def reads(audit):
    return audit.events(verbs=READ_VERBS)


def assert_untouched(plane, created):
    """Nothing of ours reached the object: same spec generation and template, no entry of our field manager."""
    live = get(plane, created["kind"], created["metadata"]["namespace"], created["metadata"]["name"])
    assert live["metadata"]["generation"] == created["metadata"]["generation"]
    assert template(live) == template(created)
    assert FIELD_MANAGER not in [m["manager"] for m in live["metadata"]["managedFields"]]


def container(tpl, name="app"):
    return [c for c in tpl["spec"]["containers"] if c["name"] == name][0]


# ------------------------------------------------------------------ kinds, removal, re-run
def test_each_kind_injected_then_removed_exactly_with_zero_write_reruns(client, control_plane, audit):
    ns = make_namespace(control_plane)
    objects = [workload("Deployment", "web", ns, replicas=1, env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}]),
               workload("StatefulSet", "store", ns, replicas=1),
               workload("DaemonSet", "node-agent", ns),
               workload("CronJob", "report", ns),
               workload("Deployment", "plain", ns, labelled=False)]
    for obj in objects:
        create(control_plane, obj)
    job = create(control_plane, workload("Job", "once", ns))
    before = dict((o["metadata"]["name"], tpl_json(control_plane, o["kind"], ns, o["metadata"]["name"]))
                  for o in objects)

    audit.start()
    result = run(client, namespaces=[ns], defaults={"backend_service": "sw-oap.sw.svc:11800"})
    out = result.as_dict()
    assert refs(out["injected"]) == ["CronJob %s/report" % ns, "DaemonSet %s/node-agent" % ns,
                                     "Deployment %s/web" % ns, "StatefulSet %s/store" % ns]
    assert refs(out["not_injectable"]) == ["Job %s/once" % ns]
    assert "refuses changes to a Job's pod template" in out["not_injectable"][0]["reason"]
    assert out["invalid"] == [] and out["counts"]["not_selected"] == 1
    assert out["writes"] == 4 and len(writes(audit)) == 4
    assert all("fieldManager=" + FIELD_MANAGER.replace("/", "%2F") in e["requestURI"] for e in writes(audit))
    # one LIST per kind, namespaces, labelled pods, SwAgent discovery: nothing per workload
    assert len(reads(audit)) <= 9, [e["requestURI"] for e in reads(audit)]

    web = template(get(control_plane, "Deployment", ns, "web"))
    assert [c["name"] for c in web["spec"]["initContainers"]] == ["inject-skywalking-agent"]
    assert web["spec"]["initContainers"][0]["image"] == inject.AGENT_IMAGE
    env = dict((e["name"], e.get("value")) for e in container(web)["env"])
    assert env["JAVA_TOOL_OPTIONS"] == "-Xmx1g -javaagent:/sky/agent/skywalking-agent.jar"
    assert env["SW_AGENT_COLLECTOR_BACKEND_SERVICES"] == "sw-oap.sw.svc:11800"
    assert web["metadata"]["annotations"][inject.SUCCEED_ANNOTATION] == "true"
    cron = get(control_plane, "CronJob", ns, "report")
    assert inject.is_injected(cron)
    live_job = get(control_plane, "Job", ns, "once")
    assert template(live_job) == template(job)
    assert FIELD_MANAGER not in [m["manager"] for m in live_job["metadata"]["managedFields"]]
    assert tpl_json(control_plane, "Deployment", ns, "plain") == before["plain"]
    # The merged JAVA_TOOL_OPTIONS value belongs to the Deployment's creator: named.
    shared = [s for s in out["shared_fields"] if s["object"] == "Deployment %s/web" % ns]
    assert [s["field"] for s in shared] == [".spec.template.spec.containers[name=app].env[name=JAVA_TOOL_OPTIONS].value"]
    assert shared[0]["operations"] == ["Update"] and shared[0]["managers"]
    assert shared[0]["verdict"] == "held", "created by a script (not kubectl): another tool's field"

    for state in ("present", "present"):
        audit.start()
        again = run(client, namespaces=[ns], state=state, defaults={"backend_service": "sw-oap.sw.svc:11800"})
        assert not again.changed
        assert len(again.as_dict()["already_injected"]) == 4
        assert writes(audit) == [], "a re-run writes nothing (no dry run either)"

    audit.start()
    removed = run(client, namespaces=[ns], state="absent").as_dict()
    assert len(removed["removed"]) == 4, (removed["counts"], removed["not_injectable"], removed["invalid"])
    assert all(e["reason"] == "state=absent" for e in removed["removed"])
    assert len(writes(audit)) == 4
    for obj in objects:
        name = obj["metadata"]["name"]
        assert tpl_json(control_plane, obj["kind"], ns, name) == before[name], name
    audit.start()
    assert not run(client, namespaces=[ns], state="absent").changed
    assert writes(audit) == []


def fresh_client(plane):
    """A new client (no cached discovery), as each module run has."""
    return Client(connection_from_params({"kubeconfig": str(plane.kubeconfig)}))


def test_label_taken_away_removes_exactly_and_reads_do_not_grow(client, control_plane, audit):
    small = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "a", small))
    audit.start()
    run(fresh_client(control_plane), namespaces=[small])
    small_reads = len(reads(audit))
    print([e["requestURI"] for e in reads(audit)])

    spaces = [make_namespace(control_plane) for _index in range(4)]
    for ns in spaces:
        for index in range(3):
            create(control_plane, workload("Deployment", "d%d" % index, ns))
    original = tpl_json(control_plane, "Deployment", spaces[0], "d0")
    audit.start()
    result = run(fresh_client(control_plane), namespaces=spaces)
    assert len(result.as_dict()["injected"]) == 12
    assert len(reads(audit)) == small_reads, "reads do not grow with workloads or namespaces"

    # take the label away from one template: exactly that workload goes back to what it was
    path = (PATHS["Deployment"] % spaces[0]) + "/d0"
    patch = {"spec": {"template": {"metadata": {"labels": {LABEL: None}}}}}
    assert control_plane.request("PATCH", path, patch, content_type="application/merge-patch+json")[0] == 200
    unlabelled = json.loads(original)
    del unlabelled["metadata"]["labels"][LABEL]
    audit.start()
    out = run(client, namespaces=spaces).as_dict()
    assert refs(out["removed"]) == ["Deployment %s/d0" % spaces[0]]
    assert "no longer labelled" in out["removed"][0]["reason"]
    assert len(writes(audit)) == 1
    assert template(get(control_plane, "Deployment", spaces[0], "d0")) == unlabelled


def test_namespace_label_and_selector_select_and_unlabelling_removes(client, control_plane, audit):
    labelled = make_namespace(control_plane, {inject.NAMESPACE_LABEL: "enabled"})
    team = make_namespace(control_plane, {"team": "t-" + labelled})
    other = make_namespace(control_plane)
    for ns in (labelled, team, other):
        create(control_plane, workload("Deployment", "app", ns))
    original = tpl_json(control_plane, "Deployment", labelled, "app")
    original_annotations = get(control_plane, "Deployment", labelled, "app")["metadata"].get("annotations")

    out = run(client).as_dict()  # SWCK's namespace label
    assert "Deployment %s/app" % labelled in refs(out["injected"])
    assert labelled in out["namespaces"] and team not in out["namespaces"] and other not in out["namespaces"]
    assert not inject.is_injected(get(control_plane, "Deployment", team, "app"))
    assert not inject.is_injected(get(control_plane, "Deployment", other, "app"))
    live = get(control_plane, "Deployment", labelled, "app")
    assert live["metadata"]["annotations"][SCOPE_ANNOTATION] == SCOPE_SWCK_LABEL
    assert original_annotations is None or SCOPE_ANNOTATION not in original_annotations

    by_selector = run(client, namespace_selector="team=t-" + labelled).as_dict()
    assert out["namespaces"] != by_selector["namespaces"] and by_selector["namespaces"] == [team]
    assert refs(by_selector["injected"]) == ["Deployment %s/app" % team]
    assert by_selector["removed"] == [], "another selector never touches namespaces it does not select"
    assert inject.is_injected(get(control_plane, "Deployment", labelled, "app"))

    # SWCK's label taken away from the namespace: the default run removes the injection there
    label_namespace(control_plane, labelled, None)
    audit.start()
    after = run(client).as_dict()
    assert "Deployment %s/app" % labelled in refs(after["removed"])
    assert [e["reason"] for e in after["removed"] if e["namespace"] == labelled] == [
        "namespace %s no longer has the label swck-injection=enabled" % labelled]
    assert tpl_json(control_plane, "Deployment", labelled, "app") == original
    live = get(control_plane, "Deployment", labelled, "app")
    assert SCOPE_ANNOTATION not in (live["metadata"].get("annotations") or {})
    assert inject.is_injected(get(control_plane, "Deployment", team, "app")), \
        "injected for another selector: a run by SWCK's label does not undo it"
    assert writes(audit, dry_runs=False) and all(labelled in e["requestURI"] for e in writes(audit))
    run(client, namespaces=[team], state="absent")


# ------------------------------------------------------------------ SwAgents
def swagent_crd():
    """A minimal SwAgent CRD, written from SWCK's api/v1alpha1 SwAgent types (the fields the injector reads)."""
    string_list = {"type": "array", "items": {"type": "string"}}
    env = {"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    resources = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    spec = {"type": "object", "properties": {
        "selector": {"type": "object", "additionalProperties": {"type": "string"}},
        "containerMatcher": {"type": "string"},
        "javaSidecar": {"type": "object", "properties": {
            "name": {"type": "string"}, "image": {"type": "string"}, "command": string_list, "args": string_list,
            "env": env, "resources": resources}},
        "sharedVolumeName": {"type": "string"},
        "optionalPlugins": string_list, "optionalReporterPlugins": string_list, "bootstrapPlugins": string_list}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": SWAGENT_CRD},
            "spec": {"group": "operator.skywalking.apache.org", "scope": "Namespaced",
                     "names": {"kind": "SwAgent", "listKind": "SwAgentList", "plural": "swagents",
                               "singular": "swagent"},
                     "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                       "spec": spec, "status": {"type": "object",
                                                                "x-kubernetes-preserve-unknown-fields": True}}}},
                                   "subresources": {"status": {}}}]}}


def ensure_swagent_crd(plane):
    status, body = plane.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", swagent_crd())
    assert status in (201, 409), body
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        live = plane.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + SWAGENT_CRD)[1]
        if any(c["type"] == "Established" and c["status"] == "True"
               for c in (live.get("status") or {}).get("conditions") or []):
            if plane.request("GET", "/apis/operator.skywalking.apache.org/v1alpha1")[0] == 200:
                return
        time.sleep(0.2)
    raise AssertionError("the SwAgent CRD did not become established")


def test_swagents_from_the_cluster_and_from_role_variables(control_plane, audit):
    ensure_swagent_crd(control_plane)
    client = fresh_client(control_plane)
    ns = make_namespace(control_plane)
    other = make_namespace(control_plane)
    agent = {"apiVersion": inject.SWAGENT_API_VERSION, "kind": "SwAgent", "metadata": {"name": "java17", "namespace": ns},
             "spec": {"selector": {"tier": "backend"}, "containerMatcher": "^app$",
                      "javaSidecar": {"name": "copy-agent", "image": "apache/skywalking-java-agent:9.7.0-java17",
                                      "env": [{"name": "SW_AGENT_NAMESPACE", "value": "shop"}]},
                      "optionalPlugins": ["trace", "webflux"]}}
    status, body = control_plane.request("POST", "/apis/operator.skywalking.apache.org/v1alpha1/namespaces/%s/swagents"
                                         % ns, agent)
    assert status == 201, body
    backend = workload("Deployment", "backend", ns, containers=[
        {"name": "app", "image": "registry.test/app:1"}, {"name": "proxy", "image": "registry.test/proxy:1"}])
    backend["spec"]["template"]["metadata"]["labels"]["tier"] = "backend"
    frontend = workload("Deployment", "frontend", ns)
    elsewhere = workload("Deployment", "backend", other)
    elsewhere["spec"]["template"]["metadata"]["labels"]["tier"] = "backend"
    for obj in (backend, frontend, elsewhere):
        create(control_plane, obj)

    # role variables: a short-form SwAgent for every namespace, sorted before "java17" (the cluster's wins)
    role = [{"name": "defaults", "javaSidecar": {"image": "registry.test/agent:role"}, "bootstrapPlugins": ["jdk-http"]}]
    out = run(client, namespaces=[ns, other], swagents=role).as_dict()
    assert out["swagents"] == ["%s/java17" % ns]
    by_ref = dict(("%s/%s" % (e["namespace"], e["name"]), e) for e in out["injected"])
    assert by_ref["%s/backend" % ns]["swagents"] == ["defaults", "%s/java17" % ns]
    assert by_ref["%s/backend" % ns]["containers"] == ["app"]
    assert by_ref["%s/frontend" % ns]["swagents"] == ["defaults"]

    tpl = template(get(control_plane, "Deployment", ns, "backend"))
    init = tpl["spec"]["initContainers"][0]
    assert (init["name"], init["image"]) == ("copy-agent", "apache/skywalking-java-agent:9.7.0-java17")
    assert 'grep -E "trace|webflux"' in init["args"][1] and 'grep -E "jdk-http"' in init["args"][1]
    assert {"name": "SW_AGENT_NAMESPACE", "value": "shop"} in container(tpl)["env"]
    assert "env" not in container(tpl, "proxy"), "containerMatcher ^app$ leaves the proxy alone"
    assert template(get(control_plane, "Deployment", ns, "frontend"))["spec"]["initContainers"][0]["image"] == \
        "registry.test/agent:role"
    assert template(get(control_plane, "Deployment", other, "backend"))["spec"]["initContainers"][0]["image"] == \
        "registry.test/agent:role", "a SwAgent applies in its own namespace only"

    # the SwAgent changes: the next run updates (replaces) the injection; then nothing to do
    patch = {"spec": {"javaSidecar": {"image": "apache/skywalking-java-agent:9.7.0-java21"}}}
    status, body = control_plane.request("PATCH", "/apis/operator.skywalking.apache.org/v1alpha1/namespaces/%s/swagents/"
                                         "java17" % ns, patch, content_type="application/merge-patch+json")
    assert status == 200, body
    out = run(client, namespaces=[ns, other], swagents=role).as_dict()
    assert refs(out["updated"]) == ["Deployment %s/backend" % ns]
    assert template(get(control_plane, "Deployment", ns, "backend"))["spec"]["initContainers"][0]["image"].endswith("java21")
    audit.start()
    assert not run(client, namespaces=[ns, other], swagents=role).changed
    assert writes(audit) == []
    # read_swagents=false ignores the cluster's SwAgents (the workload goes back to the role's image)
    out = run(client, namespaces=[ns], swagents=role, read_swagents=False).as_dict()
    assert out["swagents"] == [] and refs(out["updated"]) == ["Deployment %s/backend" % ns]


# ------------------------------------------------------------------ check mode, diff
def test_check_mode_plans_with_dry_runs_and_diff_shows_the_template(client, control_plane, audit):
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "web", ns, replicas=1))
    create(control_plane, workload("CronJob", "nightly", ns))
    before = tpl_json(control_plane, "Deployment", ns, "web")
    audit.start()
    result = run(client, namespaces=[ns], check_mode=True, diff=True, max_concurrent=1)
    out = result.as_dict()
    assert out["changed"] and len(out["injected"]) == 2
    assert out["batches"] == [["Deployment %s/web" % ns]], "the CronJob restarts nothing: not paced"
    assert writes(audit) and all("dryRun=All" in e["requestURI"] for e in writes(audit))
    assert tpl_json(control_plane, "Deployment", ns, "web") == before
    header, diff_before, diff_after = [d for d in result.diffs if d[0] == "Deployment %s/web" % ns][0]
    assert "initContainers" not in diff_before["spec"]["template"]["spec"]
    assert diff_after["spec"]["template"]["spec"]["initContainers"][0]["name"] == "inject-skywalking-agent"
    assert diff_after["spec"]["template"]["spec"]["initContainers"][0]["terminationMessagePath"], \
        "the after side is the server's dry-run answer"


# ------------------------------------------------------------------ invalid workloads
def test_invalid_workload_reported_untouched_while_the_rest_proceed(client, control_plane, audit):
    ns = make_namespace(control_plane)
    bad = create(control_plane, workload("Deployment", "bad", ns, annotations={
        inject.AGENT_PREFIX + "agent.service_name": " "}))
    regex = create(control_plane, workload("StatefulSet", "nomatch", ns, annotations={
        inject.CONTAINER_ANNOTATION: "^sidecar$"}))
    create(control_plane, workload("Deployment", "good", ns))
    out = run(client, namespaces=[ns]).as_dict()
    assert refs(out["injected"]) == ["Deployment %s/good" % ns]
    invalid = dict((e["name"], e) for e in out["invalid"])
    assert invalid["bad"]["annotation"] == inject.AGENT_PREFIX + "agent.service_name"
    assert "service name must not be empty" in invalid["bad"]["reason"]
    assert "matches none of the containers" in invalid["nomatch"]["reason"]
    for obj in (bad, regex):
        assert_untouched(control_plane, obj)

    # SWCK's error marker: on the workload's own metadata, never on its template (no restart)
    before = tpl_json(control_plane, "Deployment", ns, "bad")
    out = run(client, namespaces=[ns], mark_errors=True).as_dict()
    live = get(control_plane, "Deployment", ns, "bad")
    assert "service name must not be empty" in live["metadata"]["annotations"][inject.ERROR_ANNOTATION]
    assert tpl_json(control_plane, "Deployment", ns, "bad") == before, "no rollout for the marker"
    # fixed: injected, and the marker goes away
    patch = {"spec": {"template": {"metadata": {"annotations": {inject.AGENT_PREFIX + "agent.service_name": "bad"}}}}}
    assert control_plane.request("PATCH", (PATHS["Deployment"] % ns) + "/bad", patch,
                                 content_type="application/merge-patch+json")[0] == 200
    out = run(client, namespaces=[ns], mark_errors=True).as_dict()
    assert "Deployment %s/bad" % ns in refs(out["injected"])
    assert inject.ERROR_ANNOTATION not in (get(control_plane, "Deployment", ns, "bad")["metadata"].get("annotations") or {})


def test_the_error_marker_goes_with_any_later_success_or_removal(client, control_plane, audit):
    """The marker is about the run that wrote it: a later run clears it, with or without mark_errors."""
    ns = make_namespace(control_plane)
    key = inject.AGENT_PREFIX + "agent.service_name"
    for name in ("fixed", "unlabelled"):
        create(control_plane, workload("Deployment", name, ns, annotations={key: ""}))
    run(client, namespaces=[ns], mark_errors=True)
    for name in ("fixed", "unlabelled"):
        assert inject.ERROR_ANNOTATION in get(control_plane, "Deployment", ns, name)["metadata"]["annotations"]
    fix = {"spec": {"template": {"metadata": {"annotations": {key: "orders"}}}}}
    unlabel = {"spec": {"template": {"metadata": {"labels": {LABEL: None}}}}}
    for name, change in (("fixed", fix), ("unlabelled", unlabel)):
        assert control_plane.request("PATCH", (PATHS["Deployment"] % ns) + "/" + name, change,
                                     content_type="application/merge-patch+json")[0] == 200
    before = tpl_json(control_plane, "Deployment", ns, "unlabelled")
    out = run(client, namespaces=[ns], defaults={"backend_service": "oap.sky.svc:11800"}).as_dict()  # no mark_errors
    assert refs(out["injected"]) == ["Deployment %s/fixed" % ns] and out["invalid"] == []
    for name in ("fixed", "unlabelled"):
        live = get(control_plane, "Deployment", ns, name)
        assert inject.ERROR_ANNOTATION not in (live["metadata"].get("annotations") or {}), name
    assert tpl_json(control_plane, "Deployment", ns, "unlabelled") == before, "only its own metadata changed"
    audit.start()
    again = run(client, namespaces=[ns], defaults={"backend_service": "oap.sky.svc:11800"}).as_dict()
    assert again["writes"] == 0 and writes(audit) == []

    # and a removal clears it too
    create(control_plane, workload("Deployment", "later", ns))
    run(client, namespaces=[ns], defaults={"backend_service": "oap.sky.svc:11800"})
    marker = {"metadata": {"annotations": {inject.ERROR_ANNOTATION: "from an earlier run"}}}
    assert control_plane.request("PATCH", (PATHS["Deployment"] % ns) + "/later", marker,
                                 content_type="application/merge-patch+json")[0] == 200
    out = run(client, namespaces=[ns], state="absent").as_dict()
    assert "Deployment %s/later" % ns in refs(out["removed"])
    live = get(control_plane, "Deployment", ns, "later")
    assert inject.ERROR_ANNOTATION not in (live["metadata"].get("annotations") or {})


def test_old_swagent_image_and_missing_collector_are_warned(client, control_plane):
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "web", ns))
    create(control_plane, workload("Deployment", "own", ns, env=[{"name": "SW_AGENT_COLLECTOR_BACKEND_SERVICES",
                                                                  "value": "oap.mine:11800"}]))
    old = {"name": "crd-default", "namespace": ns, "javaSidecar": {"image": "apache/skywalking-java-agent:8.16.0-java8"}}
    result = run(client, namespaces=[ns], swagents=[old])
    assert [w for w in result.warnings if "8.16.0" in w] == [
        "SwAgent %s/crd-default (swagents option): javaSidecar.image apache/skywalking-java-agent:8.16.0-java8 is the "
        "default of SWCK's SwAgent CRD, filled in when a SwAgent gives no image: an old agent (8.16.0); set "
        "javaSidecar.image, e.g. %s" % (ns, inject.DEFAULTS["image"])]
    lacking = [w for w in result.warnings if w.startswith("no collector address")]
    assert len(lacking) == 1 and "(Deployment %s/web)" % ns in lacking[0] and "own" not in lacking[0], lacking
    assert "127.0.0.1:11800" in lacking[0] and "inject_backend_service" in lacking[0]
    # an empty backend_service (a survey's empty field) does not drop the cluster's address
    out = run(client, namespaces=[ns], defaults={"backend_service": ""},
              cluster={"name": "sky", "namespace": "obs"})
    assert not any(w.startswith("no collector address") for w in out.warnings)
    env = container(template(get(control_plane, "Deployment", ns, "web")))["env"]
    assert {"name": "SW_AGENT_COLLECTOR_BACKEND_SERVICES", "value": "sky-oap.obs.svc:11800"} in env


def test_a_write_the_api_server_refuses_is_reported_as_invalid_with_its_field(client, control_plane, audit):
    """The pure function cannot know every server rule: pod template annotations may hold 256 KiB in all."""
    ns = make_namespace(control_plane)
    key = "example.com/blob"
    full = create(control_plane, workload("Deployment", "full", ns, annotations={key: "x" * (262144 - 100 - len(key))}))
    create(control_plane, workload("Deployment", "fine", ns))
    for attempt in range(2):
        audit.start()
        out = run(client, namespaces=[ns]).as_dict()
        assert refs(out["injected"]) == ["Deployment %s/fine" % ns] if attempt == 0 else \
            refs(out["already_injected"]) == ["Deployment %s/fine" % ns]
        assert refs(out["invalid"]) == ["Deployment %s/full" % ns] and out["counts"]["invalid"] == 1
        entry = out["invalid"][0]
        assert entry["status"] == 422 and entry["field"] == "spec.template.annotations", entry  # the server's words
        assert entry["reason"].startswith("the API server refused the change (422 Invalid): ") and \
            "Too long" in entry["reason"], entry
        codes = sorted(e["responseStatus"]["code"] for e in writes(audit))
        assert codes == ([200, 422] if attempt == 0 else [422]), "the refused write is tried by each run, once"
    assert_untouched(control_plane, full)


def test_an_edit_between_the_list_and_the_write_is_read_again_and_kept(client, control_plane, audit):
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "web", ns))
    path = (PATHS["Deployment"] % ns) + "/web"

    class Racing(Injector):
        def _patch(self, item):
            if not item.retried:  # someone changes the image after our LIST, before our write
                edit = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "registry.test/app:2"}]}}}}
                assert control_plane.request("PATCH", path, edit,
                                             content_type="application/strategic-merge-patch+json")[0] == 200
            return super()._patch(item)

    audit.start()
    out = Racing(client).run(namespaces=[ns]).as_dict()
    assert refs(out["injected"]) == ["Deployment %s/web" % ns] and out["invalid"] == []
    tpl = template(get(control_plane, "Deployment", ns, "web"))
    assert container(tpl)["image"] == "registry.test/app:2", "the edit is kept"
    assert tpl["spec"]["initContainers"][0]["name"] == "inject-skywalking-agent"
    ours = [e for e in writes(audit) if "fieldManager=skywalking.swck" in e["requestURI"]]
    assert [e["responseStatus"]["code"] for e in ours] == [422, 200], "the stale write is refused, then redone"


# ------------------------------------------------------------------ pacing
def test_pacing_stops_at_the_first_batch_that_never_becomes_ready(client, control_plane, audit):
    ns = make_namespace(control_plane)
    for name, image in (("a-stuck", NEVER_READY_IMAGE), ("b-next", "registry.test/app:1"),
                        ("c-last", "registry.test/app:1")):
        create(control_plane, workload("Deployment", name, ns, replicas=1, image=image))
    untouched = dict((n, tpl_json(control_plane, "Deployment", ns, n)) for n in ("b-next", "c-last"))
    audit.start()
    result = run(client, namespaces=[ns], max_concurrent=1, wait_timeout=4)
    out = result.as_dict()
    assert out["stopped"]["batch"] == 1 and out["stopped"]["batches"] == 3
    assert out["stopped"]["workloads"] == ["Deployment %s/a-stuck" % ns]
    assert "timed out after 4s" in out["stopped"]["reason"] and "a-stuck" in out["stopped"]["reason"]
    assert refs(out["not_applied"]) == ["Deployment %s/b-next" % ns, "Deployment %s/c-last" % ns]
    assert refs(out["injected"]) == ["Deployment %s/a-stuck" % ns]
    assert len(writes(audit)) == 1
    for name, text in untouched.items():
        assert tpl_json(control_plane, "Deployment", ns, name) == text

    # healthy workloads roll one by one, each Ready before the next
    ok = make_namespace(control_plane)
    for name in ("one", "two"):
        create(control_plane, workload("Deployment", name, ok, replicas=1))
    out = run(client, namespaces=[ok], max_concurrent=1, wait_timeout=60).as_dict()
    assert out["stopped"] is None and len(out["injected"]) == 2
    assert out["batches"] == [["Deployment %s/one" % ok], ["Deployment %s/two" % ok]]


# ------------------------------------------------------------------ bare pods
def test_bare_pods_are_reported_with_their_owner(client, control_plane):
    ns = make_namespace(control_plane)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": ns},
           "spec": pod_template("debug")["spec"]}
    pod["metadata"]["labels"] = {LABEL: "true"}
    create(control_plane, pod)
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "handmade", "namespace": ns},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "handmade"}},
                   "template": pod_template("handmade")}}
    create(control_plane, rs)
    create(control_plane, workload("Deployment", "web", ns, replicas=1))
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = control_plane.request("GET", PATHS["Pod"] % ns)[1]["items"]
        if len(pods) >= 3:
            break
        time.sleep(0.3)
    out = run(client, namespaces=[ns]).as_dict()
    pods = dict((e["name"], e) for e in out["not_injectable"] if e["kind"] == "Pod")
    assert "debug" in pods and "cannot gain containers" in pods["debug"]["reason"] and "owner" not in pods["debug"]
    handmade = [e for name, e in pods.items() if name.startswith("handmade-")]
    assert len(handmade) == 1 and handmade[0]["owner"] == "ReplicaSet handmade"
    assert not any(name.startswith("web-") for name in pods), "a Deployment's pods: the Deployment is injected"
    assert refs(out["injected"]) == ["Deployment %s/web" % ns]


# ------------------------------------------------------------------ CA copies (OAP gRPC TLS)
def test_ca_copy_for_grpc_tls_is_owned_and_pruned(client, control_plane, audit):
    sw = make_namespace(control_plane, prefix="sw")
    app = make_namespace(control_plane)
    pem = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "oap-tls", "namespace": sw},
              "type": "Opaque", "data": {"ca.crt": base64.b64encode(pem.encode()).decode(),
                                         "tls.key": base64.b64encode(b"private").decode()}}
    create(control_plane, secret)
    create(control_plane, workload("Deployment", "web", app))
    cluster = {"name": "sky", "namespace": sw, "oap": {"tls": {"grpc": {"secret": "oap-tls"}}}}
    out = run(client, namespaces=[app], cluster=cluster).as_dict()
    assert out["ca_secrets"] == {"created": 1}
    copy_ = get(control_plane, "Secret", app, "sky-agent-ca")
    assert copy_["data"] == {"ca.crt": secret["data"]["ca.crt"]}, "only the CA, never the key"
    tpl = template(get(control_plane, "Deployment", app, "web"))
    assert {"name": "SW_AGENT_COLLECTOR_BACKEND_SERVICES", "value": "sky-oap.%s.svc:11800" % sw} in container(tpl)["env"]
    assert any((v.get("secret") or {}).get("secretName") == "sky-agent-ca" for v in tpl["spec"]["volumes"])
    audit.start()
    again = run(client, namespaces=[app], cluster=cluster).as_dict()
    assert not again["changed"] and again["ca_secrets"] == {"unchanged": 1}
    assert writes(audit) == []
    out = run(client, namespaces=[app], cluster=cluster, state="absent").as_dict()
    assert len(out["removed"]) == 1 and out["ca_secrets"] == {"deleted": 1}
    assert get(control_plane, "Secret", app, "sky-agent-ca") is None


# ------------------------------------------------------------------ 403: per-namespace lists
def test_namespace_scoped_credentials_list_per_namespace(control_plane, audit):
    spaces = [make_namespace(control_plane) for _index in range(2)]
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    for ns in spaces:
        create(control_plane, workload("Deployment", "web", ns))
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "inject", "namespace": ns},
                "rules": [{"apiGroups": ["apps", "batch"], "resources": ["*"], "verbs": ["get", "list", "watch", "patch"]},
                          {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]}
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "inject", "namespace": ns},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "inject"},
                   "subjects": [{"kind": "User", "name": "team-user", "apiGroup": "rbac.authorization.k8s.io"}]}
        assert control_plane.request("POST", rbac + "/namespaces/%s/roles" % ns, role)[0] == 201
        assert control_plane.request("POST", rbac + "/namespaces/%s/rolebindings" % ns, binding)[0] == 201
    user = Client(connection_from_params({"kubeconfig": str(control_plane.user_kubeconfig("team-user"))}))
    result = run(user, namespaces=spaces, read_swagents=False)
    out = result.as_dict()
    assert refs(out["injected"]) == ["Deployment %s/web" % ns for ns in sorted(spaces)]
    assert any("cannot list Deployments cluster-wide (403 Forbidden)" in w for w in result.warnings)
    assert any("cannot list namespaces (403)" in w for w in result.warnings)


# ------------------------------------------------------------------ module, filter and CLI agree
def clean(obj):
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
        meta.pop(key, None)
    obj.pop("status", None)
    return obj


def test_module_filter_and_cli_give_identical_output(playbook, control_plane, client):
    ns = make_namespace(control_plane)
    annotations = {inject.AGENT_PREFIX + "agent.service_name": "orders", inject.OPTIONAL_ANNOTATION: "trace",
                   inject.SIDECAR_PREFIX + "sidecarVolumeMount.MountPath": "/opt/sky"}
    for kind in ("Deployment", "StatefulSet", "CronJob"):
        create(control_plane, workload(kind, kind.lower(), ns, annotations=annotations,
                                       env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-Xss1m"}]))
    defaults = {"image": "registry.test/agent:9.7.0", "backend_service": "oap.sw.svc:11800"}
    inputs = [clean(get(control_plane, kind, ns, kind.lower())) for kind in ("Deployment", "StatefulSet", "CronJob")]

    run_ = playbook.run([
        {"name": "filter", "ansible.builtin.set_fact": {"rendered": "{{ inputs | skywalking.swck.inject_java_agent("
                                                                    "defaults=defaults) }}"},
         "vars": {"inputs": inputs, "defaults": defaults}},
        {"name": "module", "skywalking.swck.inject": {"namespaces": [ns], "defaults": defaults}},
        {"name": "show", "ansible.builtin.debug": {"var": "rendered"}},
    ])
    assert len(run_[1]["injected"]) == 3
    filtered = run_[2]["rendered"]
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".venv" / "collections"))
    path = ROOT / "tests" / "output" / ("inject-%s.yaml" % ns)
    path.parent.mkdir(parents=True, exist_ok=True)
    defaults_path = path.with_suffix(".defaults.yaml")
    path.write_text(yaml.safe_dump_all(inputs, sort_keys=False))
    defaults_path.write_text(yaml.safe_dump(defaults))
    try:
        proc = subprocess.run([sys.executable, "-m", "ansible_collections.skywalking.swck.plugins.module_utils."
                               "skywalking.inject_cli", "-f", str(path), "--defaults", str(defaults_path)],
                              capture_output=True, text=True, check=False, env=env)
    finally:
        path.unlink()
        defaults_path.unlink()
    assert proc.returncode == 0, proc.stderr
    from_cli = list(yaml.safe_load_all(proc.stdout))
    assert from_cli == filtered, "filter and CLI: the same documents"
    for rendered, kind in zip(filtered, ("Deployment", "StatefulSet", "CronJob")):
        # the filter's object as the API server would store it (its defaults filled in), by a dry-run update
        status, stored = control_plane.request("PUT", (PATHS[kind] % ns) + "/" + kind.lower() + "?dryRun=All", rendered)
        assert status == 200, stored
        assert json.dumps(template(stored)) == tpl_json(control_plane, kind, ns, kind.lower()), \
            "the module wrote exactly the template the filter renders"


# ------------------------------------------------------------------ the module through ansible-playbook
def test_inject_module_idempotent_check_mode_and_diff(playbook, control_plane, audit):
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "web", ns, replicas=1))
    create(control_plane, workload("CronJob", "nightly", ns))
    before = tpl_json(control_plane, "Deployment", ns, "web")
    args = {"namespaces": [ns], "max_concurrent": 1, "wait_timeout": 60, "defaults": {"backend_service": "oap.sky.svc:11800"}}
    task = {"name": "inject", "skywalking.swck.inject": args}

    audit.start()
    # check mode through the module path (a new Python process); the other runs in the task's worker
    checked = playbook.run([task], check=True, diff=True, env={"SWCK_IN_PROCESS": "0"})
    assert checked[0]["changed"] is True and len(checked[0]["injected"]) == 2
    assert checked[0]["batches"] == [["Deployment %s/web" % ns]]
    assert writes(audit) and all("dryRun=All" in e["requestURI"] for e in writes(audit))
    assert tpl_json(control_plane, "Deployment", ns, "web") == before
    diffs = dict((d["after_header"], d) for d in checked[0]["diff"])
    web = diffs["Deployment %s/web" % ns]
    assert "inject-skywalking-agent" in web["after"] and "inject-skywalking-agent" not in web["before"]
    assert "JAVA_TOOL_OPTIONS" in web["after"] and web["after"].startswith("spec:\n  template:")

    first = playbook.run([task])
    assert first[0]["changed"] is True and first[0]["writes"] == 2 and first[0]["stopped"] is None
    assert inject.is_injected(get(control_plane, "Deployment", ns, "web"))
    audit.start()
    second = playbook.run([task], diff=True)
    assert second[0]["changed"] is False and second[0]["diff"] == []
    assert len(second[0]["already_injected"]) == 2
    assert writes(audit) == []

    removed = playbook.run([{"name": "remove", "skywalking.swck.inject": {"namespaces": [ns], "state": "absent"}}])
    assert removed[0]["changed"] is True and len(removed[0]["removed"]) == 2
    assert tpl_json(control_plane, "Deployment", ns, "web") == before


def test_invalid_workloads_and_jobs_neither_fail_nor_skip_the_task(playbook, control_plane):
    """The result lists are not called failed/skipped: Ansible would read them as the task's status."""
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "bad", ns, annotations={inject.AGENT_PREFIX + "agent.service_name": ""}))
    create(control_plane, workload("Job", "once", ns))
    create(control_plane, workload("Deployment", "good", ns))
    args = {"namespaces": [ns], "defaults": {"backend_service": "oap.sky.svc:11800"}}
    tasks = [{"name": "inject", "skywalking.swck.inject": args, "register": "r"},
             {"name": "registered", "ansible.builtin.assert": {"that": [
                 "r is not failed", "r is not skipped",
                 "r.invalid | map(attribute='name') | list == ['bad']",
                 "r.not_injectable | map(attribute='name') | list == ['once']",
                 "r.counts.invalid == 1 and r.counts.not_injectable == 1"]}}]

    def stats(run_):
        return run_.data["stats"]["localhost"]

    checked = playbook.run(tasks, check=True, diff=True)
    assert checked[0]["changed"] is True and "skipped" not in checked[0] and "failed" not in checked[0]
    assert [d["after_header"] for d in checked[0]["diff"]] == ["Deployment %s/good" % ns]
    assert "inject-skywalking-agent" in checked[0]["diff"][0]["after"]
    assert (stats(checked)["changed"], stats(checked)["failures"], stats(checked)["skipped"]) == (1, 0, 0)
    assert any("Deployment %s/bad: not injected" % ns in w for w in checked[0]["warnings"])
    assert not inject.is_injected(get(control_plane, "Deployment", ns, "good"))

    first = playbook.run(tasks)
    assert first[0]["changed"] is True and refs(first[0]["injected"]) == ["Deployment %s/good" % ns]
    assert (stats(first)["changed"], stats(first)["failures"], stats(first)["skipped"]) == (1, 0, 0)
    again = playbook.run(tasks)
    assert again[0]["changed"] is False and refs(again[0]["invalid"]) == ["Deployment %s/bad" % ns]
    assert (stats(again)["ok"], stats(again)["changed"], stats(again)["failures"], stats(again)["skipped"]) == \
        (2, 0, 0, 0), "a no-op rerun with an invalid workload is ok"

    strict = dict(args, fail_on_invalid=True)
    failed = playbook.run([{"name": "inject", "skywalking.swck.inject": strict}], expect_rc=2)
    assert failed[0]["failed"] is True and failed[0]["changed"] is False
    assert failed[0]["msg"].startswith("1 invalid workload(s), left untouched (the others were reconciled): "
                                       "Deployment %s/bad: " % ns)
    assert "service name must not be empty" in failed[0]["msg"]
    assert refs(failed[0]["already_injected"]) == ["Deployment %s/good" % ns]


def run_verbose(plane, tmp_path, tasks, *args, env=None):
    """ansible-playbook with the default callback (what a person or AWX sees): (rc, everything printed)."""
    play = [{"name": "inject", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = tmp_path / ("play-%s.json" % uuid.uuid4().hex[:6])
    path.write_text(json.dumps(play))
    full_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
                    ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), K8S_AUTH_KUBECONFIG=str(plane.kubeconfig),
                    ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="false",
                    **(env or {}))
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "localhost.yml"),
                           str(path)] + list(args), capture_output=True, text=True, env=full_env, cwd=str(ROOT),
                          timeout=300, check=False)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("in_process", ["1", "0"])
def test_credential_env_values_never_printed(control_plane, tmp_path, in_process):
    ensure_swagent_crd(control_plane)
    ns = make_namespace(control_plane)
    planted = {"defaults": "SuperSecretToken123", "swagent": "Sw4gentT0kenValue", "own": "OwnDbPassw0rd",
               "cluster": "Clust3rPassw0rdX"}
    agent = {"apiVersion": inject.SWAGENT_API_VERSION, "kind": "SwAgent", "metadata": {"name": "auth", "namespace": ns},
             "spec": {"javaSidecar": {"image": "registry.test/agent:1",
                                      "env": [{"name": "SW_AGENT_AUTHENTICATION", "value": planted["swagent"]},
                                              {"name": "SW_AGENT_NAMESPACE", "value": "shop-visible"}]}}}
    status, body = control_plane.request("POST", "/apis/operator.skywalking.apache.org/v1alpha1/namespaces/%s/swagents"
                                         % ns, agent)
    assert status == 201, body
    create(control_plane, workload("Deployment", "web", ns, env=[{"name": "DB_PASSWORD", "value": planted["own"]}]))
    create(control_plane, workload("Deployment", "api", ns))
    env = {"SWCK_IN_PROCESS": in_process}
    args = {"namespaces": [ns], "defaults": {
        "backend_service": "oap.sky.svc:11800",
        "env": [{"name": "SW_AGENT_AUTHENTICATION", "value": planted["defaults"]},
                {"name": "SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL", "value": "31"}]}}
    task = {"name": "inject", "skywalking.swck.inject": args}
    for extra in (["--check"], [], ["--check"]):
        rc, text = run_verbose(control_plane, tmp_path, [task], "-vvv", "--diff", *extra, env=env)
        assert rc == 0, text[-3000:]
        assert [value for value in planted.values() if value in text] == []
        assert "SW_AGENT_AUTHENTICATION" in text, "the name is shown (echoed arguments), its value masked"
        if extra == []:
            assert "changed=1" in text and "shop-visible" in text, "the diff shows the other env values"
    assert "changed=0" in text, "the last run is a no-op"
    tpl = template(get(control_plane, "Deployment", ns, "api"))
    assert {"name": "SW_AGENT_AUTHENTICATION", "value": planted["swagent"]} in container(tpl)["env"], \
        "the SwAgent wins over defaults; the value itself reaches the workload"

    # a cluster spec with a credential: refused, and the value is neither printed nor echoed
    cluster = {"name": "sky", "namespace": ns, "oap": {"env": {"SW_STORAGE_ES_PASSWORD": planted["cluster"]}}}
    bad = {"name": "inject", "skywalking.swck.inject": {"namespaces": [ns], "cluster": cluster}}
    rc, text = run_verbose(control_plane, tmp_path, [bad], "-vvv", env=env)
    assert rc == 2 and "oap.env.SW_STORAGE_ES_PASSWORD" in text, text[-3000:]
    assert planted["cluster"] not in text


def test_inject_module_fails_the_task_when_pacing_stops(playbook, control_plane):
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "stuck", ns, replicas=1, image=NEVER_READY_IMAGE))
    create(control_plane, workload("Deployment", "waiting", ns, replicas=1))
    args = {"namespaces": [ns], "max_concurrent": 1, "wait_timeout": 3}
    run_ = playbook.run([{"name": "inject", "skywalking.swck.inject": args}], expect_rc=2)
    result = run_[0]
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("rollout stopped at batch 1 of 2 (Deployment %s/stuck): timed out after 3s" % ns)
    assert result["msg"].endswith("not written: Deployment %s/waiting" % ns)
    assert refs(result["not_applied"]) == ["Deployment %s/waiting" % ns]
    assert not inject.is_injected(get(control_plane, "Deployment", ns, "waiting"))


def test_pacing_names_a_workload_that_was_unhealthy_before_the_run(client, control_plane):
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "sick", ns, replicas=2, image=NEVER_READY_IMAGE))
    create(control_plane, workload("Deployment", "next", ns, replicas=1))
    deadline = time.monotonic() + 60
    while True:  # let its controller see it (and find it not Ready) before the run
        live = get(control_plane, "Deployment", ns, "sick")
        if (live.get("status") or {}).get("observedGeneration") == live["metadata"]["generation"]:
            break
        assert time.monotonic() < deadline, live.get("status")
        time.sleep(0.3)
    out = run(client, namespaces=[ns], max_concurrent=1, wait_timeout=3).as_dict()
    stopped = out["stopped"]
    assert stopped["workloads"] == ["Deployment %s/sick" % ns] and stopped["already_unhealthy"] == stopped["workloads"]
    assert "Deployment %s/sick: " % ns in stopped["reason"] and \
        "(already unhealthy before this run touched it: " in stopped["reason"], stopped["reason"]
    lines = stopped["reason"].split("\n")
    for line in lines[1:]:
        parts = line.strip().split("; ")
        assert len(parts) == len(set(parts)), "each detail once: %s" % line


def test_role_refuses_both_namespace_options_and_shows_the_lists(control_plane, tmp_path):
    ns = make_namespace(control_plane)
    create(control_plane, workload("Deployment", "bad", ns, annotations={inject.AGENT_PREFIX + "agent.service_name": ""}))
    create(control_plane, workload("Job", "once", ns))
    role = {"name": "role", "ansible.builtin.include_role": {"name": "skywalking.swck.inject"},
            "vars": {"inject_namespaces": [ns], "inject_namespace_selector": "team=shop"}}
    rc, text = run_verbose(control_plane, tmp_path, [role])
    assert rc == 2 and "inject_namespaces" in text and "inject_namespace_selector" in text and \
        "mutually exclusive" in text, text[-3000:]
    role["vars"] = {"inject_namespaces": ns, "inject_backend_service": "oap.sky.svc:11800"}
    rc, text = run_verbose(control_plane, tmp_path, [role])
    assert rc == 0, text[-3000:]
    assert "invalid, left untouched: Deployment %s/bad: " % ns in text and "service name must not be empty" in text
    assert "not injectable: Job %s/once: " % ns in text
    role["vars"]["inject_fail_on_invalid"] = True
    rc, text = run_verbose(control_plane, tmp_path, [role])
    assert rc == 2 and "1 invalid workload(s), left untouched" in text, text[-3000:]


def test_role_and_playbook_with_survey_style_variables(control_plane, audit):
    spaces = [make_namespace(control_plane) for _index in range(2)]
    for ns in spaces:
        create(control_plane, workload("Deployment", "web", ns))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), K8S_AUTH_KUBECONFIG=str(control_plane.kubeconfig),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
    command = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "localhost.yml"),
               str(ROOT / "playbooks" / "inject.yml"),
               "-e", "inject_namespaces=%s" % ",".join(spaces),  # a survey's text field: one string
               "-e", "inject_agent_image=registry.test/agent:survey",
               "-e", "inject_backend_service=oap.sky.svc:11800"]
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=str(ROOT), timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for ns in spaces:
        tpl = template(get(control_plane, "Deployment", ns, "web"))
        assert tpl["spec"]["initContainers"][0]["image"] == "registry.test/agent:survey"
        assert {"name": "SW_AGENT_COLLECTOR_BACKEND_SERVICES", "value": "oap.sky.svc:11800"} in container(tpl)["env"]
    assert '"injected": 2' in proc.stdout, proc.stdout
    audit.start()
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=str(ROOT), timeout=300)
    assert proc.returncode == 0 and "changed=0" in proc.stdout, proc.stdout[-3000:]
    assert writes(audit) == []
    proc = subprocess.run(command + ["-e", "inject_state=absent"], capture_output=True, text=True, check=False,
                          env=env, cwd=str(ROOT), timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert not any(inject.is_injected(get(control_plane, "Deployment", ns, "web")) for ns in spaces)


def test_a_daemonset_diff_leaves_out_its_controller_annotation(client, control_plane):
    ns = make_namespace(control_plane)
    create(control_plane, workload("DaemonSet", "node", ns))
    result = run(client, namespaces=[ns], diff=True, defaults={"backend_service": "oap.sky.svc:11800"})
    (_header, before, after), = result.diffs
    assert "metadata" not in before and "metadata" not in after, (before.get("metadata"), after.get("metadata"))
    assert "deprecated.daemonset.template.generation" in get(control_plane, "DaemonSet", ns, "node")["metadata"][
        "annotations"], "the API server did bump it"


# ------------------------------------------------------------------ breaker findings: leaks, late refusals, odd types
CREDENTIAL_ENV = [{"name": "SW_AGENT_AUTHENTICATION", "value": "LEAKME4242"}, {"name": "DB_PASSWORD", "value": "DbPass777"}]
PLANTED = ("LEAKME4242", "DbPass777")


def test_a_refused_write_reports_the_servers_cause_without_the_object_or_credentials(client, control_plane, audit):
    """A 422 for a patched object that does not decode quotes the whole object (env values too): only the cause is
    kept, credentials masked. The refusal is provoked on the real API server by breaking the patch on its way."""
    ns = make_namespace(control_plane)
    created = create(control_plane, workload("Deployment", "web", ns, env=copy.deepcopy(CREDENTIAL_ENV)))
    real = client.patch_json

    def broken(res, namespace, name, operations, **kwargs):
        operations = copy.deepcopy(operations)
        for op in operations:
            if op["op"] == "replace" and isinstance(op.get("value"), dict):
                op["value"]["spec"]["initContainers"][-1]["securityContext"] = {"runAsUser": "abc"}
        return real(res, namespace, name, operations, **kwargs)

    client.patch_json = broken
    for check_mode in (True, False):
        audit.start()
        result = run(client, namespaces=[ns], check_mode=check_mode, defaults={"backend_service": "oap.sky.svc:11800"})
        out = result.as_dict()
        assert [e["responseStatus"]["code"] for e in writes(audit)] == [422], "the server did see it"
        (entry,) = out["invalid"]
        assert entry["status"] == 422 and entry["field"] == "patch", entry
        assert entry["reason"].startswith("the API server refused the change (422 Invalid): patch: Invalid value: "
                                          "\"{...}\": json: cannot unmarshal string into Go struct field "), entry
        assert "runAsUser of type int64" in entry["reason"] and len(entry["reason"]) < 500
        shown = json.dumps([out, result.warnings])
        assert [value for value in PLANTED if value in shown] == [], shown
        assert any(w.startswith("Deployment %s/web: not written: the API server refused" % ns) for w in result.warnings)
    assert_untouched(control_plane, created)


def test_late_refusals_leak_nothing_and_write_nothing_through_ansible(control_plane, tmp_path, audit):
    """defaults the API server would refuse only after writes started (a string runAsUser, an env var with both
    value and valueFrom) are refused before any request, naming the field, and print no credential."""
    ns = make_namespace(control_plane)
    created = create(control_plane, workload("Deployment", "web", ns, env=copy.deepcopy(CREDENTIAL_ENV)))
    env_both = [{"name": "SW_AGENT_AUTHENTICATION", "value": "LEAKME4242",
                 "valueFrom": {"secretKeyRef": {"name": "sw", "key": "token"}}}]
    for defaults, field in (({"security_context": {"runAsUser": "abc"}}, "defaults.security_context.runAsUser"),
                            ({"env": env_both}, "defaults.env[0]"),
                            ({"env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "bogus.path"}}}]},
                             "defaults.env[0].valueFrom.fieldRef.fieldPath")):
        task = {"name": "inject", "skywalking.swck.inject": {"namespaces": [ns], "defaults": dict(
            defaults, backend_service="oap.sky.svc:11800")}}
        for extra in (["--check"], []):
            audit.start()
            rc, text = run_verbose(control_plane, tmp_path, [task], "-vvv", "--diff", *extra)
            assert rc == 2 and "fatal:" in text and field in text, text[-3000:]
            assert [value for value in PLANTED if value in text] == [], text[-3000:]
            assert writes(audit) == [], "refused before the first request that writes (dry runs included)"
    assert_untouched(control_plane, created)


def test_a_missing_ca_secret_is_refused_before_the_first_write(playbook, control_plane, audit):
    has, lacks = make_namespace(control_plane), make_namespace(control_plane)
    for ns in (has, lacks):
        create(control_plane, workload("Deployment", "web", ns))
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "oap-ca", "namespace": has},
              "data": {"ca.crt": base64.b64encode(b"-----BEGIN CERTIFICATE-----\n").decode()}}
    status, body = control_plane.request("POST", PATHS["Secret"] % has, secret)
    assert status == 201, body
    args = {"namespaces": [has, lacks], "defaults": {"backend_service": "oap.sky.svc:11800", "ca_secret": "oap-ca"}}
    task = {"name": "inject", "skywalking.swck.inject": args}
    for check in (True, False):
        audit.start()
        failed = playbook.run([task], check=check, expect_rc=2)[0]
        assert failed["failed"] is True and failed["changed"] is False
        assert failed["msg"].startswith("defaults.ca_secret: Secret oap-ca does not exist in namespace(s) %s," % lacks), \
            failed["msg"]
        assert failed["namespaces"] == [lacks]
        assert writes(audit) == [], "nothing written, not even a dry run"
    assert not inject.is_injected(get(control_plane, "Deployment", has, "web"))
    keyless = dict(secret, metadata={"name": "oap-ca", "namespace": lacks}, data={"other": secret["data"]["ca.crt"]})
    status, body = control_plane.request("POST", PATHS["Secret"] % lacks, keyless)
    assert status == 201, body
    audit.start()
    failed = playbook.run([task], check=True, expect_rc=2)[0]
    assert failed["msg"].startswith("defaults.ca_secret: Secret oap-ca has no key ca.crt in namespace(s) %s," % lacks), \
        failed["msg"]
    assert writes(audit) == [], "a Secret without the key is refused like a missing one"
    status, body = control_plane.request("DELETE", (PATHS["Secret"] % lacks) + "/oap-ca")
    assert status == 200, body
    secret["metadata"]["namespace"] = lacks
    status, body = control_plane.request("POST", PATHS["Secret"] % lacks, secret)
    assert status == 201, body
    done = playbook.run([task])[0]
    assert done["changed"] is True and len(done["injected"]) == 2
    audit.start()
    again = playbook.run([task])[0]
    assert again["changed"] is False and writes(audit) == []


def test_wrong_types_and_an_empty_cluster_are_refused_naming_the_field(playbook, control_plane, audit, tmp_path):
    ns = make_namespace(control_plane)
    created = create(control_plane, workload("Deployment", "web", ns))
    cases = [({"defaults": {"image": ["registry.test/agent:1"]}}, "defaults.image: "),
             ({"defaults": {"command": "sh -c"}}, "defaults.command: "),
             ({"defaults": {"backend_service": ["oap.sky.svc:11800"]}}, "defaults.backend_service: "),
             ({"cluster": {}}, "cluster.name: "),
             ({"cluster": {"name": "sky"}}, "cluster.namespace: "),
             ({"swagents": ["name=x"]}, "swagents[0]: ")]
    audit.start()
    for extra, start in cases:
        task = {"name": "inject", "skywalking.swck.inject": dict(extra, namespaces=[ns])}
        failed = playbook.run([task], expect_rc=2)[0]
        assert failed["msg"].startswith(start), (extra, failed["msg"])
    assert failed["msg"].startswith("swagents[0]: must be a SwAgent (a mapping), got str"), failed["msg"]
    assert "IPv6" not in json.dumps(playbook.run([{"name": "inject", "skywalking.swck.inject": {
        "namespaces": [ns], "defaults": {"backend_service": ["x"]}}}], expect_rc=2)[0])
    assert "cluster: needs name and namespace" in playbook.run([{"name": "inject", "skywalking.swck.inject": {
        "namespaces": [ns], "cluster": {}}}], expect_rc=2)[0]["msg"]
    assert writes(audit) == []
    assert_untouched(control_plane, created)

    # the role: a list where a string belongs is refused by name, before the module runs
    role = {"name": "role", "ansible.builtin.include_role": {"name": "skywalking.swck.inject"},
            "vars": {"inject_namespaces": [ns], "inject_backend_service": ["oap.sky.svc:11800"]}}
    rc, text = run_verbose(control_plane, tmp_path, [role])
    assert rc == 2 and "inject_backend_service must be a string (comma-separated host:port), got list" in text, \
        text[-3000:]
    assert "IPv6" not in text and writes(audit) == []


def test_an_invalid_cluster_swagent_is_warned_naming_workload_swagent_and_field(control_plane):
    ensure_swagent_crd(control_plane)
    client = fresh_client(control_plane)
    ns = make_namespace(control_plane)
    agent = {"apiVersion": inject.SWAGENT_API_VERSION, "kind": "SwAgent", "metadata": {"name": "broken", "namespace": ns},
             "spec": {"selector": {"tier": "backend"}, "javaSidecar": {"env": [
                 {"name": "A", "value": "b", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}}}
    status, body = control_plane.request("POST", "/apis/operator.skywalking.apache.org/v1alpha1/namespaces/%s/swagents"
                                         % ns, agent)
    assert status == 201, body
    labelled = workload("Deployment", "backend", ns)
    labelled["spec"]["template"]["metadata"]["labels"]["tier"] = "backend"
    backend = create(control_plane, labelled)
    create(control_plane, workload("Deployment", "front", ns))
    result = run(client, namespaces=[ns], defaults={"backend_service": "oap.sky.svc:11800"})
    out = result.as_dict()
    (entry,) = out["invalid"]
    assert (entry["name"], entry["field"], entry["swagent"]) == ("backend", "spec.javaSidecar.env[0]", "%s/broken" % ns)
    assert any(w.startswith("Deployment %s/backend: not injected: SwAgent %s/broken: spec.javaSidecar.env[0]: "
                            % (ns, ns)) for w in result.warnings), result.warnings
    assert refs(out["injected"]) == ["Deployment %s/front" % ns], "the SwAgent's selector does not reach it"
    assert_untouched(control_plane, backend)


def test_credential_agent_annotations_are_masked_in_diff_and_verbose_output(control_plane, tmp_path):
    ns = make_namespace(control_plane)
    annotations = {inject.AGENT_PREFIX + "agent.authentication": "AnnT0kenXYZ",
                   inject.AGENT_PREFIX + "agent.service_name": "orders-visible"}
    create(control_plane, workload("Deployment", "web", ns, annotations=annotations, env=copy.deepcopy(CREDENTIAL_ENV)))
    task = {"name": "inject", "skywalking.swck.inject": {"namespaces": [ns],
                                                         "defaults": {"backend_service": "oap.sky.svc:11800"}}}
    for extra in (["--check"], []):
        rc, text = run_verbose(control_plane, tmp_path, [task], "-vvv", "--diff", *extra)
        assert rc == 0, text[-3000:]
        assert "orders-visible" in text and "agent.authentication" in text, "the diff is there"
        assert [value for value in PLANTED + ("AnnT0kenXYZ",) if value in text] == [], text[-4000:]
    env = container(template(get(control_plane, "Deployment", ns, "web")))["env"]
    assert any("agent.authentication=AnnT0kenXYZ" in (e.get("value") or "") for e in env), "still injected"
