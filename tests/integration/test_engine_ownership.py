# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Ownership, ApplySets, drift versus controller-held fields, exact prune — on a real API server.

Each test replays a report of what goes wrong with apply tools (kubectl, Helm, Argo CD,
kubernetes.core) and checks the engine's answer, with write counts from the audit log.
"""

from __future__ import annotations

import time

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import applyset, manifest
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.auth import connection_from_params
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.client import Client
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError, SwckError

from .conftest import WRITE_VERBS, open_crd

RBAC = "rbac.authorization.k8s.io/v1"


def get(plane, path):
    status, body = plane.request("GET", path)
    return body if status == 200 else None


def cm(name, ns, data=None, labels=None):
    meta = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"k": "v"}}


def deployment(name, ns, replicas=2, env=None):
    container = {"name": "app", "image": "registry.test/app:1"}
    if env is not None:
        container["env"] = env
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


def writes(audit, user="swck-admin"):
    return list(audit.plane.audit_events(audit.offset, user=user, verbs=WRITE_VERBS))


def real_writes(audit, user="swck-admin"):
    return [e for e in writes(audit, user) if "dryRun=All" not in e.get("requestURI", "")]


def patch_as(plane, path, patch, manager, content_type="application/strategic-merge-patch+json"):
    """An imperative edit (operation Update) by ``manager``, as kubectl edit/set/scale do."""
    status, body = plane.request("PATCH", path + "?fieldManager=" + manager, patch, content_type=content_type)
    assert status == 200, body
    return body


# ---------------------------------------------------------------- owners
def test_a_second_instance_never_takes_an_object_over(client, control_plane, audit):
    role = {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "shared-reader-" + str(id(audit))},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    path = "/apis/%s/clusterroles/%s" % (RBAC, role["metadata"]["name"])
    Engine(client).apply([role], "own-x")
    audit.start()
    with pytest.raises(SwckError) as info:
        Engine(client).apply([role], "own-y")
    assert "is owned by skywalking.swck instance own-x: not taken over" in info.value.msg
    assert "ClusterRole %s" % role["metadata"]["name"] in info.value.msg
    assert writes(audit) == []
    assert get(control_plane, path)["metadata"]["labels"][manifest.INSTANCE_LABEL] == "own-x"
    # Alternating runs never flip it; x still reconciles it without a write.
    audit.start()
    assert Engine(client).apply([role], "own-x").counts() == {"unchanged": 1}
    assert writes(audit) == []
    # y's prune never looks at it; x's own prune deletes it once x stops listing it.
    Engine(client).apply([cm("y-only", "default")], "own-y", prune=True)
    assert get(control_plane, path) is not None
    result = Engine(client).apply([cm("x-keeps", "default")], "own-x", prune=True)
    assert ("ClusterRole", "pruned") in {(o["kind"], o["action"]) for o in result.objects}
    assert get(control_plane, path) is None


def test_objects_created_by_hand_or_by_other_tools_are_refused_unless_adopted(client, control_plane, namespace,
                                                                              audit):
    base = "/api/v1/namespaces/%s/configmaps" % namespace
    assert control_plane.request("POST", base, cm("by-hand", namespace, {"owner": "ops", "notes": "keep"}))[0] == 201
    helm = cm("from-helm", namespace, {"x": "1"}, labels={"app.kubernetes.io/managed-by": "Helm"})
    helm["metadata"]["annotations"] = {"meta.helm.sh/release-name": "skywalking"}
    assert control_plane.request("POST", base, helm)[0] == 201
    desired = [cm("by-hand", namespace, {"owner": "swck"}), cm("from-helm", namespace, {"x": "2"}),
               cm("new-one", namespace)]
    audit.start()
    with pytest.raises(SwckError) as info:
        Engine(client).apply(desired, "adopt-me")
    msg = info.value.msg
    assert "2 object(s) belong to someone else; nothing was changed" in msg
    assert "ConfigMap %s/by-hand) already exists and is not managed by instance adopt-me (created outside" % (
        namespace) in msg
    assert "Helm release skywalking" in msg and "set adopt=true" in msg
    assert writes(audit) == []
    assert get(control_plane, base + "/new-one") is None

    result = Engine(client, adopt=True).apply(desired, "adopt-me")
    assert result.counts() == {"configured": 2, "created": 1}
    assert any("adopted (Helm release skywalking)" in w for w in result.warnings)
    adopted = get(control_plane, base + "/by-hand")
    assert adopted["data"] == {"owner": "swck", "notes": "keep"}  # the undeclared key is left as it was
    assert adopted["metadata"]["labels"][manifest.INSTANCE_LABEL] == "adopt-me"
    audit.start()
    assert not Engine(client).apply(desired, "adopt-me").changed
    assert writes(audit) == []


def test_controller_held_fields_are_left_alone_and_reported(client, control_plane, namespace, audit):
    dep = deployment("scaled", namespace, replicas=2)
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "scaled", "namespace": namespace},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scaled"},
                    "minReplicas": 5, "maxReplicas": 6,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                        "type": "Utilization", "averageUtilization": 80}}}]}}
    Engine(client).apply([dep, hpa], "hpa")
    path = "/apis/apps/v1/namespaces/%s/deployments/scaled" % namespace
    # The HPA controller syncs every 2 s here (hack/controlplane); after the tests that stop the API server its
    # informers may first have to re-list (with back-off), hence the generous deadline.
    deadline = time.monotonic() + 180
    while get(control_plane, path)["spec"]["replicas"] != 5 and time.monotonic() < deadline:
        time.sleep(0.5)
    live = get(control_plane, path)
    assert live["spec"]["replicas"] == 5, "the HPA controller scales to minReplicas:\n%s" % "\n".join(
        line for line in (control_plane.workdir / "kube-controller-manager.log").read_text().splitlines()
        if "scaled" in line or "horizontal" in line.lower())[-3000:]
    assert any(m["manager"] == "kube-controller-manager" and m.get("subresource") == "scale"
               for m in live["metadata"]["managedFields"])
    for check_mode in (True, False, False):
        audit.start()
        result = Engine(client, check_mode=check_mode).apply([dep, hpa], "hpa")
        assert not result.changed
        assert result.held == [{"object": "Deployment %s/scaled" % namespace, "fields": [".spec.replicas"],
                                "managers": ["kube-controller-manager"]}]
        assert any(".spec.replicas held by kube-controller-manager" in w for w in result.warnings)
        assert writes(audit) == [], "never fights the autoscaler (no dry run either)"
    assert get(control_plane, path)["spec"]["replicas"] == 5
    # A real change elsewhere is applied without touching replicas.
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.test/app:2"
    result = Engine(client).apply([dep, hpa], "hpa")
    assert ("Deployment", "configured") in {(o["kind"], o["action"]) for o in result.objects}
    after = get(control_plane, path)
    assert after["spec"]["replicas"] == 5
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.test/app:2"


def test_imperative_edits_are_taken_back_and_check_mode_reports_them(client, control_plane, namespace, audit):
    dep = deployment("edited", namespace, replicas=2)
    config = cm("tuning", namespace, {"ratio": "1.10", "limit": "1000"}, labels={"version": "9.10"})
    Engine(client).apply([dep, config], "drift")
    dpath = "/apis/apps/v1/namespaces/%s/deployments/edited" % namespace
    cpath = "/api/v1/namespaces/%s/configmaps/tuning" % namespace
    status, body = control_plane.request("PATCH", dpath + "/scale?fieldManager=kubectl-scale",
                                         {"spec": {"replicas": 4}}, content_type="application/merge-patch+json")
    assert status == 200, body
    patch_as(control_plane, cpath, {"data": {"ratio": "1.1", "limit": "1k"}, "metadata": {"labels": {
        "version": "9.1"}}}, "kubectl-edit")

    audit.start()
    preview = Engine(client, check_mode=True).apply([dep, config], "drift")
    assert {(t["object"], tuple(sorted(t["fields"]))) for t in preview.taken_back} == {
        ("Deployment %s/edited" % namespace, (".spec.replicas",)),
        ("ConfigMap %s/tuning" % namespace, (".data.limit", ".data.ratio", ".metadata.labels.version"))}
    assert any("would take back .spec.replicas from kubectl-scale" in w for w in preview.warnings)
    assert real_writes(audit) == []
    assert get(control_plane, dpath)["spec"]["replicas"] == 4

    result = Engine(client).apply([dep, config], "drift")
    assert {o["kind"]: o["action"] for o in result.objects} == {"Deployment": "configured",
                                                                "ConfigMap": "configured"}
    assert get(control_plane, dpath)["spec"]["replicas"] == 2
    fixed = get(control_plane, cpath)
    assert fixed["data"] == {"ratio": "1.10", "limit": "1000"}
    assert fixed["metadata"]["labels"]["version"] == "9.10"
    audit.start()
    assert not Engine(client).apply([dep, config], "drift").changed
    assert writes(audit) == []


# ------------------------------------------------------------ in sync
def test_items_other_managers_add_and_empty_values_cost_no_write(client, control_plane, namespace, audit):
    dep = deployment("env", namespace, env=[{"name": "SW_EMPTY", "value": ""}, {"name": "SW_A", "value": "8080"}])
    Engine(client).apply([dep], "sync")
    path = "/apis/apps/v1/namespaces/%s/deployments/env" % namespace
    live = get(control_plane, path)
    env = live["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "SW_EMPTY"} in env  # the server dropped the empty value
    # kubectl set env EXTRA=x (a strategic merge patch adding one list item, operation Update)
    status, body = control_plane.request(
        "PATCH", path + "?fieldManager=kubectl-set",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "EXTRA", "value": "x"}]}]}}}},
        content_type="application/strategic-merge-patch+json")
    assert status == 200, body
    for _attempt in range(2):
        audit.start()
        result = Engine(client).apply([dep], "sync")
        assert result.counts() == {"unchanged": 1}
        assert writes(audit) == [], "neither a dry run nor a patch"
    # Our own items must still match: a hand edit of one of them is drift.
    patch_as(control_plane, path, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "env": [{"name": "SW_A", "value": "8081"}]}]}}}}, "kubectl-set")
    assert Engine(client).apply([dep], "sync").counts() == {"configured": 1}
    env = get(control_plane, path)["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "SW_A", "value": "8080"} in env and {"name": "EXTRA", "value": "x"} in env


# --------------------------------------------------------------- prune
def test_prune_uses_the_applyset_and_spares_what_controllers_create(client, control_plane, namespace, audit):
    group = "prune-%s.example.com" % namespace
    crd = open_crd(group, "gadgets", "Gadget")
    gadget = {"apiVersion": group + "/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": namespace},
              "spec": {"a": 1}}
    webhook = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
               "metadata": {"name": "stale-" + namespace},
               "webhooks": [{"name": "stale.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                             "failurePolicy": "Fail", "clientConfig": {"url": "https://127.0.0.1:1/validate"},
                             "namespaceSelector": {"matchLabels": {"never": namespace}},
                             "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                        "resources": ["configmaps"]}]}]}
    limits = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits", "namespace": namespace},
              "spec": {"limits": [{"type": "Container", "max": {"memory": "2Gi"}}]}}
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": namespace},
            "spec": {"schedule": "0 0 1 1 *", "jobTemplate": {"metadata": {"labels": {"app": "tick"}}, "spec": {
                "template": {"spec": {"restartPolicy": "Never",
                                      "containers": [{"name": "t", "image": "registry.test/tick:1"}]}}}}}}
    keep = cm("keep", namespace)
    first = Engine(client).apply([crd, gadget, webhook, limits, cron, keep], "pruner", namespace=namespace)
    assert first.counts() == {"created": 6}
    parent = get(control_plane, "/api/v1/namespaces/%s/configmaps/%s" % (namespace, applyset.parent_name("pruner")))
    kinds = applyset.parse_group_kinds(parent["metadata"]["annotations"][applyset.GROUP_KINDS_ANNOTATION])
    assert kinds == {("apiextensions.k8s.io", "CustomResourceDefinition"), (group, "Gadget"),
                     ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"), ("", "LimitRange"),
                     ("batch", "CronJob"), ("", "ConfigMap")}
    # A Job the CronJob spawned, carrying every label its template copied from us (as a CronJob's Jobs do).
    cron_live = get(control_plane, "/apis/batch/v1/namespaces/%s/cronjobs/tick" % namespace)
    spawned = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": "tick-1", "namespace": namespace, "labels": dict(cron_live["metadata"]["labels"]),
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick",
                             "uid": cron_live["metadata"]["uid"], "controller": True}]},
               "spec": cron_live["spec"]["jobTemplate"]["spec"]}
    assert control_plane.request("POST", "/apis/batch/v1/namespaces/%s/jobs" % namespace, spawned)[0] == 201

    audit.start()
    unchanged = Engine(client).apply([crd, gadget, webhook, limits, cron, keep], "pruner", namespace=namespace,
                                     prune=True)
    assert not unchanged.changed, unchanged.objects
    assert writes(audit) == []
    assert get(control_plane, "/apis/batch/v1/namespaces/%s/jobs/tick-1" % namespace) is not None

    # Whole kinds drop out of the plan: the inventory still names them, so they are pruned.
    result = Engine(client).apply([crd, keep], "pruner", namespace=namespace, prune=True)
    pruned = sorted((o["kind"], o["name"]) for o in result.objects if o["action"] == "pruned")
    assert pruned == [("CronJob", "tick"), ("Gadget", "g"), ("LimitRange", "limits"),
                      ("ValidatingWebhookConfiguration", "stale-" + namespace)]
    parent = get(control_plane, "/api/v1/namespaces/%s/configmaps/%s" % (namespace, applyset.parent_name("pruner")))
    assert parent["metadata"]["annotations"][applyset.GROUP_KINDS_ANNOTATION] == \
        "ConfigMap,CustomResourceDefinition.apiextensions.k8s.io"
    # members carry the KEP-3659 label, so kubectl finds them the same way
    live_keep = get(control_plane, "/api/v1/namespaces/%s/configmaps/keep" % namespace)
    assert live_keep["metadata"]["labels"][manifest.APPLYSET_PART_OF_LABEL] == \
        parent["metadata"]["labels"][applyset.ID_LABEL]


def test_absent_needs_an_explicit_delete_all(client, control_plane, namespace, audit):
    Engine(client).apply([cm("a", namespace), cm("b", namespace)], "absent-all", namespace=namespace)
    audit.start()
    for empty in ([], "", None):
        with pytest.raises(SpecError, match="delete_all"):
            Engine(client).delete(empty, "absent-all", namespace=namespace)
    assert writes(audit) == []
    result = Engine(client).delete(None, "absent-all", namespace=namespace, delete_all=True, wait=True,
                                   wait_timeout=30)
    assert sorted((o["name"], o["action"]) for o in result.objects) == [("a", "deleted"), ("b", "deleted")]
    assert get(control_plane, "/api/v1/namespaces/%s/configmaps/%s" % (namespace,
                                                                       applyset.parent_name("absent-all"))) is None


# ----------------------------------------------- namespace-scoped users
@pytest.fixture
def namespace_admin(control_plane, namespace):
    """A user bound to the 'admin' ClusterRole in one namespace only (the usual AWX credential)."""
    user = "ns-admin-" + namespace
    status, body = control_plane.request("POST", "/apis/%s/namespaces/%s/rolebindings" % (RBAC, namespace), {
        "apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "ns-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]})
    assert status == 201, body
    kubeconfig = control_plane.user_kubeconfig(user)
    return Client(connection_from_params({"kubeconfig": str(kubeconfig)})), user


def test_namespace_admin_can_apply_prune_and_delete(namespace_admin, control_plane, namespace, audit):
    client, user = namespace_admin
    stack = [
        {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "reader", "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
         "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": namespace}]},
        {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": "reader", "namespace": namespace},
         "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app", "namespace": namespace}},
        cm("settings", namespace), deployment("app", namespace, replicas=1),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app", "namespace": namespace},
         "spec": {"selector": {"app": "app"}, "ports": [{"port": 80}]}},
    ]
    first = Engine(client).apply(stack, "tenant", namespace=namespace, prune=True)
    assert first.counts() == {"created": 6}
    audit.start()
    assert Engine(client).apply(stack, "tenant", namespace=namespace, prune=True).counts() == {"unchanged": 6}
    assert writes(audit, user) == []
    lists = list(audit.plane.audit_events(audit.offset, user=user, verbs=("list",)))
    assert lists and all(e["objectRef"].get("namespace") == namespace for e in lists), "nothing cluster-wide"
    pruned = Engine(client).apply(stack[:3], "tenant", namespace=namespace, prune=True)
    assert sorted(o["kind"] for o in pruned.objects if o["action"] == "pruned") == [
        "ConfigMap", "Deployment", "Service"]
    gone = Engine(client).delete(None, "tenant", namespace=namespace, delete_all=True)
    assert sorted(o["kind"] for o in gone.objects if o["action"] == "deleted") == [
        "Role", "RoleBinding", "ServiceAccount"]


def test_a_forbidden_watch_ends_the_wait_at_once(control_plane, namespace):
    user = "no-watch-" + namespace
    req = control_plane.request
    assert req("POST", "/apis/%s/namespaces/%s/roles" % (RBAC, namespace), {
        "apiVersion": RBAC, "kind": "Role", "metadata": {"name": "no-watch"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                   "verbs": ["get", "list", "create", "patch", "delete"]}]})[0] == 201
    assert req("POST", "/apis/%s/namespaces/%s/rolebindings" % (RBAC, namespace), {
        "apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "no-watch"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "no-watch"},
        "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]})[0] == 201
    client = Client(connection_from_params({"kubeconfig": str(control_plane.user_kubeconfig(user))}))
    target = cm("slow-to-go", namespace)
    target["metadata"]["finalizers"] = ["example.com/hold"]
    Engine(client).apply([target], "forbidden", namespace=namespace)
    try:
        with pytest.raises(SwckError) as info:
            Engine(client).delete([target], "forbidden", namespace=namespace, wait=True, wait_timeout=600)
        assert "403" in info.value.msg and "watch" in info.value.msg
        assert "timed out" not in info.value.msg
    finally:
        req("PATCH", "/api/v1/namespaces/%s/configmaps/slow-to-go" % namespace, {"metadata": {"finalizers": None}},
            content_type="application/merge-patch+json")


def test_check_mode_never_deletes(client, control_plane, namespace):
    """Prune and state=absent in check mode are dry runs: every object is still there afterwards."""
    base = "/api/v1/namespaces/%s/configmaps" % namespace
    Engine(client).apply([cm("keep", namespace), cm("stale", namespace)], "dry-del", namespace=namespace)
    preview = Engine(client, check_mode=True).apply([cm("keep", namespace)], "dry-del", namespace=namespace,
                                                    prune=True)
    assert ("stale", "pruned") in {(o["name"], o["action"]) for o in preview.objects}
    gone = Engine(client, check_mode=True).delete(None, "dry-del", namespace=namespace, delete_all=True)
    assert {o["name"] for o in gone.objects if o["action"] == "deleted"} == {"keep", "stale"}
    time.sleep(0.5)
    assert get(control_plane, base + "/keep") is not None
    assert get(control_plane, base + "/stale") is not None, "a dry-run delete must not delete"


def test_a_run_that_only_updates_the_applyset_record_reports_changed(client, control_plane, namespace, audit):
    """changed=false promises zero writes: a write to the ApplySet parent alone is a change too."""
    objects = [cm("recorded", namespace)]
    parent = "/api/v1/namespaces/%s/configmaps/%s" % (namespace, applyset.parent_name("rec"))
    assert Engine(client).apply(objects, "rec", namespace=namespace, inventory_data={"note": "1"}).changed
    audit.start()
    preview = Engine(client, check_mode=True).apply(objects, "rec", namespace=namespace, inventory_data={"note": "2"})
    assert preview.changed and preview.counts() == {"unchanged": 1}
    assert real_writes(audit) == []
    updated = Engine(client).apply(objects, "rec", namespace=namespace, inventory_data={"note": "2"})
    assert updated.changed and updated.counts() == {"unchanged": 1}
    assert [e["objectRef"]["name"] for e in real_writes(audit)] == [applyset.parent_name("rec")]
    assert get(control_plane, parent)["data"]["note"] == "2"
    audit.start()
    again = Engine(client).apply(objects, "rec", namespace=namespace, inventory_data={"note": "2"})
    assert not again.changed and writes(audit) == []
    # a teardown whose objects are already gone still deletes the parent: that is a change
    control_plane.request("DELETE", "/api/v1/namespaces/%s/configmaps/recorded" % namespace)
    gone = Engine(client).delete(None, "rec", namespace=namespace, delete_all=True)
    assert gone.changed and get(control_plane, parent) is None
    assert not Engine(client).delete(None, "rec", namespace=namespace, delete_all=True).changed
