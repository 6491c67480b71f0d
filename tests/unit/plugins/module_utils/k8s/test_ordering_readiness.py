# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import ordering, readiness


def test_phases_put_dependencies_first_and_keep_input_order():
    kinds = ["Deployment", "Service", "Namespace", "MyCustom", "ServiceAccount", "CustomResourceDefinition",
             "ClusterRoleBinding", "Job", "HorizontalPodAutoscaler", "ConfigMap"]
    got = [list(p) for p in ordering.phases(kinds, lambda k: k)]
    assert got == [["Namespace"], ["CustomResourceDefinition"],
                   ["Service", "ServiceAccount", "ConfigMap"], ["ClusterRoleBinding"],
                   ["Deployment", "Job"], ["MyCustom", "HorizontalPodAutoscaler"]]


def test_roles_come_before_their_bindings():
    kinds = ["RoleBinding", "Role", "ClusterRoleBinding", "ClusterRole"]
    got = [list(p) for p in ordering.phases(kinds, lambda k: k)]
    assert got == [["Role", "ClusterRole"], ["RoleBinding", "ClusterRoleBinding"]]


def test_data_holding_kinds_are_protected():
    assert ("", "Namespace") in ordering.PROTECTED_KINDS
    assert ("", "PersistentVolumeClaim") in ordering.PROTECTED_KINDS
    assert ("apiextensions.k8s.io", "CustomResourceDefinition") in ordering.PROTECTED_KINDS
    assert ("apps", "Deployment") not in ordering.PROTECTED_KINDS


@pytest.mark.parametrize("conditions, state, fragment", [
    ([{"type": "Ready", "status": "True", "reason": "Ok"}], readiness.READY, "Ready=True (Ok)"),
    ([{"type": "Ready", "status": "False", "message": "storage down"}], readiness.PENDING, "storage down"),
    ([], readiness.PENDING, "no Ready condition yet"),
])
def test_condition_gate(conditions, state, fragment):
    obj = {"kind": "Widget", "metadata": {"generation": 1}, "status": {"conditions": conditions}}
    got = readiness.condition(obj, "Ready")
    assert got[0] == state and fragment in got[1]


def test_condition_waits_for_the_observed_generation():
    obj = {"kind": "Widget", "metadata": {"generation": 2},
           "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}]}}
    assert readiness.condition(obj, "Ready")[0] == readiness.PENDING
    assert readiness.condition(None, "Ready") == (readiness.PENDING, "does not exist")


def deploy(replicas=2, generation=2, observed=2, updated=2, total=2, available=2, conditions=None, paused=False):
    return {"kind": "Deployment", "metadata": {"generation": generation},
            "spec": {"replicas": replicas, "paused": paused},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available, "conditions": conditions or []}}


@pytest.mark.parametrize("obj, state, fragment", [
    (deploy(), readiness.READY, "2/2"),
    (deploy(observed=1), readiness.PENDING, "observe generation 2"),
    (deploy(updated=1), readiness.PENDING, "1 of 2 replicas updated"),
    (deploy(total=3), readiness.PENDING, "1 old replica(s)"),
    (deploy(available=1), readiness.PENDING, "1 of 2 updated replicas available"),
    (deploy(paused=True), readiness.PENDING, "paused"),
    (deploy(available=0, conditions=[{"type": "Progressing", "status": "False",
                                      "reason": "ProgressDeadlineExceeded", "message": "too slow"}]),
     readiness.FAILED, "too slow"),
    (deploy(replicas=0, updated=0, total=0, available=0), readiness.READY, "0/0"),
])
def test_deployment(obj, state, fragment):
    got_state, reason = readiness.evaluate(obj)
    assert got_state == state
    assert fragment in reason


def sts(replicas=3, ready=3, updated=3, partition=None, current="r1", update="r1", strategy="RollingUpdate",
        available=None):
    spec = {"replicas": replicas, "updateStrategy": {"type": strategy}}
    if partition is not None:
        spec["updateStrategy"]["rollingUpdate"] = {"partition": partition}
    status = {"observedGeneration": 1, "readyReplicas": ready, "updatedReplicas": updated,
              "currentRevision": current, "updateRevision": update}
    if available is not None:
        status["availableReplicas"] = available
    return {"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": spec, "status": status}


@pytest.mark.parametrize("obj, state", [
    (sts(), readiness.READY),
    (sts(ready=2), readiness.PENDING),
    (sts(updated=1, current="r1", update="r2"), readiness.PENDING),
    # partition 2 of 3: only ordinal 2 must be updated; the others stay on the old revision
    (sts(updated=1, partition=2, current="r1", update="r2"), readiness.READY),
    (sts(updated=0, partition=2, current="r1", update="r2"), readiness.PENDING),
    (sts(updated=0, strategy="OnDelete", current="r1", update="r2"), readiness.READY),
    (sts(available=2), readiness.PENDING),
])
def test_statefulset(obj, state):
    assert readiness.evaluate(obj)[0] == state


def test_daemonset_job_pod_crd_namespace():
    ds = {"kind": "DaemonSet", "metadata": {"generation": 1},
          "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
                     "numberAvailable": 2}}
    assert readiness.evaluate(ds)[0] == readiness.PENDING
    ds["status"]["numberAvailable"] = 3
    assert readiness.evaluate(ds)[0] == readiness.READY

    job = {"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}}
    assert readiness.evaluate(job)[0] == readiness.READY
    failed = {"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True",
                                                        "reason": "BackoffLimitExceeded", "message": "m"}]}}
    assert readiness.evaluate(failed) == (readiness.FAILED, "job failed: BackoffLimitExceeded: m")
    assert readiness.evaluate({"kind": "Job", "spec": {"suspend": True}})[1] == "job is suspended"

    crash = {"kind": "Pod", "status": {"phase": "Running", "containerStatuses": [
        {"name": "app", "ready": False, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}
    state, reason = readiness.evaluate(crash)
    assert state == readiness.PENDING
    assert "container app waiting: CrashLoopBackOff, last exit 1 Error, 5 restarts" in reason
    unsched = {"kind": "Pod", "status": {"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available"}]}}
    assert readiness.evaluate(unsched)[1] == "not scheduled: 0/3 nodes are available"
    assert readiness.evaluate({"kind": "Pod", "status": {"phase": "Failed", "reason": "Evicted"}}) == \
        (readiness.FAILED, "pod failed: Evicted")
    assert readiness.evaluate({"kind": "CustomResourceDefinition", "status": {"conditions": [
        {"type": "Established", "status": "True"}]}})[0] == readiness.READY
    assert readiness.evaluate({"kind": "Namespace", "status": {"phase": "Terminating"}})[0] == readiness.PENDING
    assert readiness.evaluate({"kind": "ConfigMap"}) == (readiness.READY, "exists")
    assert readiness.evaluate(None)[0] == readiness.PENDING
