#!/usr/bin/env python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Benchmark: skywalking.swck.inject against kubernetes.core.k8s applying the same injected manifests.

Starts its own control plane (hack/controlplane), creates N labelled Deployments (replicas 0, so pod
churn does not blur the API cost) in M namespaces labelled ``swck-injection=enabled``, and runs
ansible-playbook for each way, side by side in one invocation:

  floor      a playbook with one ping task (process start-up cost)
  k8s        kubernetes.core.k8s, one task (``src``: a multi-document file) applying the M namespaces and
             the N Deployments already injected (rendered with the inject_java_agent filter's function,
             ``inject.inject_all``): the first run (un-injected -> injected) and a no-op re-run
  inject     skywalking.swck.inject, one task, selecting by SWCK's namespace label: the first pass and a
             no-op re-run

Before each first run the Deployments are un-injected again (skywalking.swck.inject state=absent, not
timed) and the control plane is left to settle (every Deployment's status caught up with its spec).
For each: the wall time of the whole ansible-playbook command (median of --runs), and the write and
read requests the API server's audit log recorded for the admin user (writes: create, update, patch,
delete, dry runs included; reads: get, list, watch).  Reads are also measured for the inject module at
a tenth of the size, to show that they do not grow with workloads or namespaces.

    .venv/bin/python bench/inject.py [--runs 3] [--namespaces 50] [--per-namespace 10] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hack"))
sys.path.insert(0, str(ROOT / ".venv" / "collections"))

from controlplane.cluster import WRITE_VERBS, ControlPlane  # noqa: E402

import common  # noqa: E402  (bench/common.py)

from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject  # noqa: E402

READ_VERBS = ("get", "list", "watch")
BACKEND = "skywalking-oap.skywalking.svc:11800"


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {inject.NAMESPACE_LABEL: inject.NAMESPACE_LABEL_VALUE}}}


def deployment(name, ns):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name, inject.INJECTION_LABEL: "true"},
                                               "annotations": {inject.AGENT_PREFIX + "agent.service_name": name}},
                                  "spec": {"containers": [{"name": "app", "image": "registry.test/%s:1" % name,
                                                           "env": [{"name": "JAVA_TOOL_OPTIONS",
                                                                    "value": "-Xmx512m"}]}]}}}}


def objects(prefix, namespaces, per_namespace):
    spaces = ["%s-%02d" % (prefix, i) for i in range(namespaces)]
    return spaces, [deployment("app-%02d" % j, ns) for ns in spaces for j in range(per_namespace)]


def create_all(plane, spaces, deployments):
    for ns in spaces:
        status, body = plane.request("POST", "/api/v1/namespaces", namespace(ns))
        assert status == 201, body

    def post(obj):
        status, body = plane.request("POST", "/apis/apps/v1/namespaces/%s/deployments" % obj["metadata"]["namespace"],
                                     obj, timeout=60)
        assert status == 201, body

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(post, deployments))


def delete_namespaces(plane, spaces, timeout=180):
    for ns in spaces:
        plane.request("DELETE", "/api/v1/namespaces/" + ns)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(plane.request("GET", "/api/v1/namespaces/" + ns)[0] == 404 for ns in spaces):
            return
        time.sleep(1)
    raise SystemExit("namespaces were not deleted within %ds" % timeout)


def settle(plane, timeout=300):
    """Wait until every Deployment's status caught up with its spec (the controllers are idle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = plane.request("GET", "/apis/apps/v1/deployments", timeout=60)[1]["items"]
        if all((d.get("status") or {}).get("observedGeneration") == d["metadata"]["generation"] for d in items):
            time.sleep(1.0)  # ReplicaSet bookkeeping trails the Deployment status a little
            return
        time.sleep(0.5)
    raise SystemExit("the control plane did not settle within %ds" % timeout)


def run_playbook(plane, tasks, workdir):
    return common.run_playbook(plane.kubeconfig, tasks, workdir)[0]


def measured(plane, tasks, workdir):
    """(seconds, writes, reads) of one ansible-playbook run."""
    offset = plane.audit_offset()
    seconds = run_playbook(plane, tasks, workdir)
    writes = len(plane.audit_events(offset, verbs=WRITE_VERBS))
    return seconds, writes, len(plane.audit_events(offset, verbs=READ_VERBS))


INJECT = [{"skywalking.swck.inject": {"defaults": {"backend_service": BACKEND}}}]
UNINJECT = [{"skywalking.swck.inject": {"state": "absent"}}]


def k8s_tasks(src):
    return [{"kubernetes.core.k8s": {"state": "present", "src": str(src)}}]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--per-namespace", type=int, default=10)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = parser.parse_args()
    rows = {}

    def record(way, sample):
        rows.setdefault(way, []).append(sample)

    with tempfile.TemporaryDirectory(prefix="swck-bench-inject-") as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(workdir / "plane", nodes=1).start()
        try:
            version = plane.version().get("gitVersion")
            # reads at a tenth of the size (then those namespaces are deleted)
            small_ns, small = objects("small", max(1, args.namespaces // 10), args.per_namespace)
            create_all(plane, small_ns, small)
            settle(plane)
            record("inject-small-first", measured(plane, INJECT, workdir))
            settle(plane)
            record("inject-small-noop", measured(plane, INJECT, workdir))
            delete_namespaces(plane, small_ns)

            spaces, deployments = objects("bench", args.namespaces, args.per_namespace)
            create_all(plane, spaces, deployments)
            rendered, reports = inject.inject_all([namespace(ns) for ns in spaces] + deployments,
                                                  {"backend_service": BACKEND})
            assert sum(1 for r in reports if r["status"] == inject.INJECTED) == len(deployments)
            src = workdir / "injected.yaml"
            src.write_text(yaml.safe_dump_all(rendered, sort_keys=False))
            print("control plane: Kubernetes %s; %d Deployments in %d namespaces (%d manifests for k8s); "
                  "%d run(s)" % (version, len(deployments), len(spaces), len(rendered), args.runs), file=sys.stderr)
            for number in range(args.runs):
                record("floor", measured(plane, [{"ansible.builtin.ping": {}}], workdir))
                settle(plane)
                record("k8s-first", measured(plane, k8s_tasks(src), workdir))
                settle(plane)
                record("k8s-noop", measured(plane, k8s_tasks(src), workdir))
                settle(plane)
                run_playbook(plane, UNINJECT, workdir)
                settle(plane)
                record("inject-first", measured(plane, INJECT, workdir))
                settle(plane)
                record("inject-noop", measured(plane, INJECT, workdir))
                settle(plane)
                run_playbook(plane, UNINJECT, workdir)
                print("run %d: %s" % (number + 1, ", ".join("%s %.2fs" % (way, samples[-1][0])
                                                            for way, samples in rows.items()
                                                            if not way.startswith("inject-small"))), file=sys.stderr)
        finally:
            plane.stop()

    summary = {}
    for way, samples in rows.items():
        summary[way] = {"seconds": statistics.median(s[0] for s in samples), "writes": max(s[1] for s in samples),
                        "reads": max(s[2] for s in samples), "runs": len(samples)}
    summary["ratios"] = {
        "first": summary["inject-first"]["seconds"] / summary["k8s-first"]["seconds"],
        "noop": summary["inject-noop"]["seconds"] / summary["k8s-noop"]["seconds"],
    }
    if args.markdown:
        n, m = args.namespaces * args.per_namespace, args.namespaces
        print("| way (%d Deployments, %d namespaces) | wall time | write requests | read requests |" % (n, m))
        print("|---|---|---|---|")
        names = [("floor", "`ansible-playbook` with one `ping` task (floor)"),
                 ("k8s-first", "kubernetes.core.k8s, one task, %d injected manifests: first run" % (n + m)),
                 ("k8s-noop", "kubernetes.core.k8s, the same: no-op re-run"),
                 ("inject-first", "**skywalking.swck.inject**: first pass"),
                 ("inject-noop", "**skywalking.swck.inject**: no-op re-run"),
                 ("inject-small-first", "skywalking.swck.inject at a tenth of the size: first pass"),
                 ("inject-small-noop", "skywalking.swck.inject at a tenth of the size: no-op re-run")]
        for way, label in names:
            row = summary[way]
            if way == "floor":
                print("| %s | %.2f s | | |" % (label, row["seconds"]))
            else:
                print("| %s | %.2f s | %d | %d |" % (label, row["seconds"], row["writes"], row["reads"]))
        print()
        print("inject / k8s: first %.2f (target <= 0.5), no-op %.2f (target <= 0.2)"
              % (summary["ratios"]["first"], summary["ratios"]["noop"]))
    else:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
