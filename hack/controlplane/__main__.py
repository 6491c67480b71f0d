# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Command line: build, start, inspect and stop the local test control plane.

    python -m controlplane build            # compile (cached) binaries
    python -m controlplane up   [--dir D]   # start; writes D/kubeconfig
    python -m controlplane status [--dir D]
    python -m controlplane down [--dir D]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import build, cluster

DEFAULT_DIR = Path(__file__).resolve().parents[2] / ".cluster"


def _status(plane: cluster.ControlPlane) -> int:
    version = plane.version().get("gitVersion", "?")
    print(f"server {plane.server} (Kubernetes {version})")
    print(f"{'NAME':<14}{'STATUS':<10}VERSION")
    for node in plane.node_status():
        print(f"{node['name']:<14}{'Ready' if node['ready'] else 'NotReady':<10}{node['version']}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controlplane", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build the binaries (no-op when cached)")
    for name in ("up", "status", "down"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=str(DEFAULT_DIR), help="instance directory (default: %(default)s)")
        if name == "up":
            p.add_argument("--nodes", type=int, default=3)
            p.add_argument("--never-ready-image", action="append", default=[],
                           help="pods with this image run but never become Ready")
            p.add_argument("--crash-loop-image", action="append", default=[],
                           help="pods with this image crash-loop")
            p.add_argument("--failing-image", action="append", default=[],
                           help="pods with this image exit with code 1 (phase Failed)")
    args = parser.parse_args(argv)

    if args.cmd == "build":
        print(build.build())
        return 0
    workdir = Path(args.dir).resolve()
    if args.cmd == "down":
        stopped = cluster.stop_from_state(workdir)
        print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
        return 0
    if args.cmd == "status":
        try:
            plane = cluster.attach(workdir)
            return _status(plane)
        except (OSError, cluster.ControlPlaneError, KeyError) as exc:
            print(f"control plane in {workdir} is not running: {exc}", file=sys.stderr)
            return 1
    # up
    if (workdir / "state.json").exists():
        state = json.loads((workdir / "state.json").read_text())
        if any(cluster._pid_alive(pid) for pid in state.get("pids", {}).values()):
            plane = cluster.attach(workdir)
            print(f"already running in {workdir}")
            _status(plane)
            print(f"export KUBECONFIG={plane.kubeconfig}")
            return 0
    behaviours = {"never-ready": args.never_ready_image, "crash-loop": args.crash_loop_image,
                  "fail": args.failing_image}
    plane = cluster.ControlPlane(workdir, nodes=args.nodes, pod_behaviours=behaviours, tie_to_parent=False)
    plane.start()
    timings = ", ".join(f"{k} +{v:.1f}s" for k, v in plane.timings.items())
    print(f"control plane up in {workdir} ({timings})")
    _status(plane)
    print(f"export KUBECONFIG={plane.kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
