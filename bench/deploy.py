#!/usr/bin/env python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Benchmark: deploying the demo SkyWalking cluster, against the floor and kubernetes.core.k8s.

Starts its own control plane (hack/controlplane) and measures, in one invocation, the wall
time of whole ``ansible-playbook`` commands (median of --runs) and the write requests
(create/update/patch/delete, dry runs included) the API server's audit log recorded for each:

  floor         a playbook with one ``ping`` task (process start-up cost)
  k8s           kubernetes.core.k8s applying the manifests our deploy applies, one task with the
                whole list (its fastest usage): the cluster module renders them (``render_to``,
                not timed) and the task reads them as one multi-document file (``src``);
                first run and no-op re-run
  swck          our deploy, one skywalking.swck.cluster task with the demo spec: the first run
                waits for every gate (BanyanDB ready, the init Job complete, OAP ready, UI and
                Satellite ready); then the no-op re-run
  swck-apply    the apply phase alone (waits excluded): the wall time of the first run minus the
                seconds its gates waited, as the module reports them per stage
                (``stages[].gate_seconds``, measured inside the engine around each gate)

The spec is playbooks/vars/demo.yml's ``skywalking_cluster`` (OAP x2 with its init Job,
BanyanDB, the Horizon UI with a users Secret, Satellite), each way on its own namespace; the
namespace (restricted Pod Security labels) and the users Secret are created before the timed
run, as playbooks/demo.yml's first task does, and are not counted.

    .venv/bin/python bench/deploy.py [--runs 3] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hack"))

from controlplane.cluster import WRITE_VERBS, ControlPlane  # noqa: E402

import common  # noqa: E402  (bench/common.py)


def demo_vars() -> dict:
    return yaml.safe_load((ROOT / "playbooks" / "vars" / "demo.yml").read_text())


def cluster_args(spec: dict, namespace: str, **extra) -> dict:
    args = dict(spec, namespace=namespace)
    args.update(extra)
    return args


def prepare_namespace(plane: ControlPlane, namespace: str, demo: dict) -> None:
    """The namespace and Horizon's users Secret (what playbooks/demo.yml's first task applies)."""
    status, body = plane.request("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": namespace, "labels": demo.get("backend_namespace_labels") or {}}})
    if status != 201:
        raise SystemExit("creating namespace %s: %s %s" % (namespace, status, body))
    secret = demo["skywalking_cluster"]["ui"]["users_secret"]["name"]
    status, body = plane.request("POST", "/api/v1/namespaces/%s/secrets" % namespace, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret, "namespace": namespace},
        "stringData": {"users.json": json.dumps(demo["demo_horizon_users"])}})
    if status != 201:
        raise SystemExit("creating Secret %s/%s: %s %s" % (namespace, secret, status, body))


class Runner:
    def __init__(self, plane: ControlPlane, workdir: Path):
        self.plane = plane
        self.workdir = workdir

    def playbook(self, tasks: list[dict], where: Path | None = None) -> tuple[float, int, str]:
        """Run one play; returns (seconds, write requests, stdout)."""
        where = where or self.workdir
        offset = self.plane.audit_offset()
        elapsed, stdout = common.run_playbook(self.plane.kubeconfig, tasks, where,
                                              ANSIBLE_CALLBACK_RESULT_FORMAT="json")
        writes = len(self.plane.audit_events(offset, verbs=WRITE_VERBS))
        return elapsed, writes, stdout

    @staticmethod
    def result(stdout: str) -> dict:
        """The module result the minimal callback printed (``localhost | CHANGED => {...}``)."""
        start = stdout.find("=> {")
        if start < 0:
            raise SystemExit("no module result in:\n%s" % stdout[-2000:])
        return json.JSONDecoder().raw_decode(stdout[start + 3:])[0]

    def render(self, spec: dict, namespace: str) -> tuple[Path, int]:
        """Render the cluster for ``namespace`` with the cluster module's render_to; returns
        (one multi-document file of every rendered manifest in render order, object count)."""
        out = self.workdir / ("render-" + namespace)
        self.playbook([{"skywalking.swck.cluster": cluster_args(spec, namespace, render_to=str(out))}])
        files = sorted(out.rglob("*.yaml"))
        if not files:
            raise SystemExit("render_to wrote nothing in %s" % out)
        merged = self.workdir / ("manifests-%s.yaml" % namespace)
        merged.write_text("".join("---\n" + f.read_text() for f in files))
        return merged, len(files)


def check_gates(key: str, result: dict, gates: str, ready: bool) -> None:
    """Fail the benchmark unless every stage's gate is in state ``gates`` (and, with ``ready``, the
    cluster is ready after the run: every component Ready and the init Job Complete)."""
    states = [(s["name"], s["gate_state"]) for s in result.get("stages", []) if s.get("gate")]
    if not states or any(state != gates for _name, state in states):
        raise SystemExit("%s: expected every gate %r, got %s" % (key, gates, states))
    if ready and not (result.get("status") or {}).get("ready"):
        raise SystemExit("%s: the cluster is not ready after the run:\n%s"
                         % (key, "\n".join(result.get("summary", []))))


def measure(runner: Runner, runs: int) -> dict:
    demo = demo_vars()
    spec = demo["skywalking_cluster"]
    times = {k: [] for k in ("floor", "k8s", "k8s-noop", "swck", "swck-noop", "swck-apply")}
    writes = {k: [] for k in times}
    objects = {}
    runner.playbook([{"ansible.builtin.ping": {}}])  # warm-up: the first run of a session is slower
    for i in range(runs):
        def timed(key, tasks, where=None):
            seconds, count, out = runner.playbook(tasks, where)
            times[key].append(seconds)
            writes[key].append(count)
            print("  run %d %-10s %6.2f s %3d writes" % (i + 1, key, seconds, count), file=sys.stderr, flush=True)
            return out

        timed("floor", [{"ansible.builtin.ping": {}}])

        ns = "bench-k8s-%d" % i
        prepare_namespace(runner.plane, ns, demo)
        manifests, objects["k8s"] = runner.render(spec, ns)
        k8s_task = [{"kubernetes.core.k8s": {"state": "present", "src": str(manifests)}}]
        timed("k8s", k8s_task)
        timed("k8s-noop", k8s_task)

        ns = "bench-swck-%d" % i
        prepare_namespace(runner.plane, ns, demo)
        swck_task = [{"skywalking.swck.cluster": cluster_args(spec, ns)}]
        first = Runner.result(timed("swck", swck_task))
        check_gates(key="swck", result=first, gates="passed", ready=True)
        waited = sum(stage.get("gate_seconds") or 0.0 for stage in first["stages"])
        times["swck-apply"].append(times["swck"][-1] - waited)
        writes["swck-apply"].append(writes["swck"][-1])
        print("  run %d %-10s %6.2f s (gates waited %.2f s)" % (i + 1, "swck-apply", times["swck-apply"][-1],
                                                                waited), file=sys.stderr, flush=True)
        check_gates(key="swck-noop", result=Runner.result(timed("swck-noop", swck_task)), gates="passed",
                    ready=True)

        timed("floor", [{"ansible.builtin.ping": {}}])
    return {"median": {k: statistics.median(v) for k, v in times.items()},
            "writes": {k: max(v) for k, v in writes.items()},
            "all": times, "objects": objects.get("k8s"), "runs": runs}


def verdicts(res: dict) -> list[tuple[str, float, float, bool, str]]:
    """``(target, measured ratio, limit, met, detail)`` for the targets of issue 10."""
    m = res["median"]
    floor = m["floor"]
    out = [
        ("apply phase <= 0.6 x kubernetes.core.k8s (first run)", m["swck-apply"] / m["k8s"], 0.6,
         "%.2f s / %.2f s" % (m["swck-apply"], m["k8s"])),
        ("apply phase <= 1.4 x floor", m["swck-apply"] / floor, 1.4, "%.2f s / %.2f s" % (m["swck-apply"], floor)),
        ("full deploy, everything Ready <= 2.6 x floor", m["swck"] / floor, 2.6,
         "%.2f s / %.2f s" % (m["swck"], floor)),
        ("no-op re-run <= 1.3 x floor", m["swck-noop"] / floor, 1.3, "%.2f s / %.2f s" % (m["swck-noop"], floor)),
    ]
    rows = [(name, ratio, limit, ratio <= limit, detail) for name, ratio, limit, detail in out]
    rows.append(("no-op re-run: zero write requests", float(res["writes"]["swck-noop"]), 0.0,
                 res["writes"]["swck-noop"] == 0, "%d writes" % res["writes"]["swck-noop"]))
    return rows


NAMES = {
    "floor": "`ansible-playbook` with one `ping` task (floor)",
    "k8s": "kubernetes.core.k8s, rendered manifests, one task (`src`), first run",
    "k8s-noop": "kubernetes.core.k8s, the same, re-run",
    "swck": "**skywalking.swck.cluster**, first run, every gate and component Ready",
    "swck-apply": "**skywalking.swck.cluster**, apply phase alone (first run minus its gate waits)",
    "swck-noop": "**skywalking.swck.cluster**, no-op re-run",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="swck-bench-deploy-") as tmp:
        workdir = Path(tmp)
        plane = ControlPlane(workdir / "plane", nodes=3).start()
        try:
            print("control plane: Kubernetes %s; %d run(s)" % (plane.version().get("gitVersion"), args.runs),
                  file=sys.stderr)
            res = measure(Runner(plane, workdir), args.runs)
        finally:
            plane.stop()
    m, w = res["median"], res["writes"]
    floor = m["floor"]
    rows = verdicts(res)
    if args.markdown:
        print("| way (%d objects) | wall time | x floor | write requests |" % res["objects"])
        print("|---|---|---|---|")
        for key in ("floor", "k8s", "k8s-noop", "swck", "swck-apply", "swck-noop"):
            writes = "" if key == "floor" else str(w[key])
            print("| %s | %.2f s | %.2f | %s |" % (NAMES[key], m[key], m[key] / floor, writes))
        print()
        print("| target | measured | met |")
        print("|---|---|---|")
        for name, ratio, limit, met, detail in rows:
            shown = detail if name.startswith("no-op re-run: zero") else "%.2f (%s)" % (ratio, detail)
            print("| %s | %s | %s |" % (name, shown, "yes" if met else "**no**"))
    else:
        print(json.dumps(dict(res, targets=[dict(target=r[0], ratio=r[1], limit=r[2], met=r[3], detail=r[4])
                                            for r in rows]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
