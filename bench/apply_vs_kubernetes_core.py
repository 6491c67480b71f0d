#!/usr/bin/env python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Benchmark: skywalking.swck.apply against kubernetes.core.k8s on the same 25 manifests.

Starts its own control plane (hack/controlplane), then runs ansible-playbook for
each way of applying the same SkyWalking-shaped stack, side by side in one
invocation, each on a fresh namespace:

  floor        a playbook with one ping task (process start-up cost)
  swck         skywalking.swck.apply, one task with the whole list
  k8s-list     kubernetes.core.k8s, one task with the whole list
  k8s-ssa      kubernetes.core.k8s, one task, apply: true + server_side_apply
  k8s-loop     kubernetes.core.k8s, one task per object (loop)

For every way: the first run (creates everything) and a no-op re-run, the wall
time of the whole ansible-playbook command (median of --runs), and the number of
write requests (create/update/patch/delete, dry runs included) the API server's
audit log recorded for each.

    .venv/bin/python bench/apply_vs_kubernetes_core.py [--runs 3] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hack"))

from controlplane.cluster import WRITE_VERBS, ControlPlane  # noqa: E402

import common  # noqa: E402  (bench/common.py)


def stack(ns: str) -> list[dict]:
    """25 objects shaped like a SkyWalking install (config, RBAC, services, workloads, policy)."""
    labels = {"app": "skywalking"}

    def meta(name, namespaced=True, **extra):
        m = {"name": name, "labels": dict(labels)}
        if namespaced:
            m["namespace"] = ns
        m.update(extra)
        return m

    def workload(kind, name, image, replicas=2, port=8080):
        tpl = {"metadata": {"labels": {"app": name}},
               "spec": {"serviceAccountName": "oap",
                        "containers": [{"name": name, "image": image,
                                        "ports": [{"containerPort": port}],
                                        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                                      "limits": {"memory": "2Gi"}}}]}}
        spec = {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": tpl}
        if kind == "StatefulSet":
            spec["serviceName"] = name
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta(name), "spec": spec}

    def service(name, port, headless=False):
        spec = {"selector": {"app": name.replace("-headless", "")},
                "ports": [{"name": "p%d" % port, "port": port, "targetPort": port}]}
        if headless:
            spec["clusterIP"] = "None"
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name), "spec": spec}

    def netpol(name, app, port):
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(name),
                "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": ["Ingress"],
                         "ingress": [{"ports": [{"port": port}]}]}}

    rbac = "rbac.authorization.k8s.io/v1"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": dict(labels)}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("oap")},
        {"apiVersion": rbac, "kind": "Role", "metadata": meta("oap"),
         "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": rbac, "kind": "RoleBinding", "metadata": meta("oap"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "oap"},
         "subjects": [{"kind": "ServiceAccount", "name": "oap", "namespace": ns}]},
        {"apiVersion": rbac, "kind": "ClusterRole", "metadata": meta(ns + "-oap", namespaced=False),
         "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]},
        {"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": meta(ns + "-oap", namespaced=False),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ns + "-oap"},
         "subjects": [{"kind": "ServiceAccount", "name": "oap", "namespace": ns}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("oap-config"),
         "data": {"application.yml": "core:\n  default:\n    role: Mixed\n", "log4j2.xml": "<Configuration/>"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("oap-dynamic"),
         "data": {"core.default.apdexThreshold": "default: 500"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta("ui-config"), "data": {"x": "y"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("storage-credentials"),
         "type": "Opaque", "data": {"password": "c2VjcmV0"}},
        service("oap", 11800),
        service("oap-headless", 12800, headless=True),
        service("ui", 8080),
        service("banyandb", 17912),
        service("satellite", 11800),
        workload("Deployment", "oap", "apache/skywalking-oap-server:10.3.0", port=12800),
        workload("Deployment", "ui", "apache/skywalking-ui:10.3.0", replicas=1),
        workload("Deployment", "satellite", "apache/skywalking-satellite:v1.3.0", replicas=1, port=11800),
        workload("StatefulSet", "banyandb", "apache/skywalking-banyandb:0.9.0", replicas=1, port=17912),
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta("oap-init"),
         "spec": {"backoffLimit": 3, "template": {"spec": {"restartPolicy": "Never", "containers": [
             {"name": "init", "image": "apache/skywalking-oap-server:10.3.0",
              "env": [{"name": "JAVA_OPTS", "value": "-Dmode=init"}]}]}}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta("oap"),
         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "oap"}}}},
        netpol("oap", "oap", 11800),
        netpol("ui", "ui", 8080),
        netpol("banyandb", "banyandb", 17912),
        {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta("oap"),
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "oap"},
                  "minReplicas": 2, "maxReplicas": 4,
                  "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                      "type": "Utilization", "averageUtilization": 80}}}]}},
    ]


def tasks_for(way: str, objects: list[dict]) -> list[dict]:
    if way == "floor":
        return [{"ansible.builtin.ping": {}}]
    if way == "swck":
        return [{"skywalking.swck.apply": {"instance": objects[0]["metadata"]["name"], "definitions": objects}}]
    if way == "k8s-list":
        return [{"kubernetes.core.k8s": {"state": "present", "definition": objects}}]
    if way == "k8s-ssa":
        return [{"kubernetes.core.k8s": {"state": "present", "apply": True,
                                         "server_side_apply": {"field_manager": "bench", "force_conflicts": True},
                                         "definition": objects}}]
    if way == "k8s-loop":
        return [{"kubernetes.core.k8s": {"state": "present", "definition": "{{ item }}"},
                 "loop": objects, "loop_control": {"label": "{{ item.kind }}/{{ item.metadata.name }}"}}]
    raise ValueError(way)


WAYS = ("floor", "swck", "k8s-list", "k8s-ssa", "k8s-loop")


def run_playbook(plane: ControlPlane, tasks: list[dict], workdir: Path) -> float:
    return common.run_playbook(plane.kubeconfig, tasks, workdir)[0]


def measure(plane: ControlPlane, way: str, runs: int, workdir: Path) -> dict:
    first, noop, first_writes, noop_writes = [], [], [], []
    for i in range(runs):
        objects = stack("bench-%s-%d" % (way.replace("-", ""), i))
        tasks = tasks_for(way, objects)
        for times, writes in ((first, first_writes), (noop, noop_writes)):
            offset = plane.audit_offset()
            times.append(run_playbook(plane, tasks, workdir))
            writes.append(len(plane.audit_events(offset, verbs=WRITE_VERBS)))
    if way == "floor":  # every run of the floor is the same task: report the median of all of them
        first = noop = first + noop
    return {"way": way, "first": statistics.median(first), "noop": statistics.median(noop),
            "first_writes": max(first_writes), "noop_writes": max(noop_writes), "runs": len(first)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions per way (median reported)")
    parser.add_argument("--ways", nargs="*", default=list(WAYS), choices=WAYS)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="swck-bench-") as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(workdir / "plane", nodes=3).start()
        try:
            version = plane.version().get("gitVersion")
            print("control plane: Kubernetes %s, %d objects per run, %d run(s) per way" % (
                version, len(stack("x")), args.runs), file=sys.stderr)
            results = []
            for way in args.ways:
                res = measure(plane, way, args.runs, workdir)
                results.append(res)
                print("%-9s first %6.2fs (%2d writes)   no-op %6.2fs (%2d writes)" % (
                    way, res["first"], res["first_writes"], res["noop"], res["noop_writes"]), file=sys.stderr)
        finally:
            plane.stop()
    if args.markdown:
        print("| way of applying the 25 objects | first run | no-op re-run | writes, first run | writes, no-op |")
        print("|---|---|---|---|---|")
        names = {"floor": "`ansible-playbook` with one `ping` task (floor)",
                 "swck": "**skywalking.swck.apply**, one task",
                 "k8s-list": "kubernetes.core.k8s, one task with the whole list",
                 "k8s-ssa": "kubernetes.core.k8s, one task, `server_side_apply`",
                 "k8s-loop": "kubernetes.core.k8s, one task per object (`loop`)"}
        for r in results:
            if r["way"] == "floor":
                print("| %s | %.2f s | | | |" % (names["floor"], r["first"]))
            else:
                row = (names[r["way"]], r["first"], r["noop"], r["first_writes"], r["noop_writes"])
                print("| %s | %.2f s | %.2f s | %d | %d |" % row)
    else:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
