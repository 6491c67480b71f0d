# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Command line: build, start, inspect and stop the local test control plane.

    python -m controlplane build [--all]    # compile (cached) binaries
    python -m controlplane up   [--dir D]   # start; writes D/kubeconfig
    python -m controlplane status [--dir D]
    python -m controlplane down [--dir D]
    python -m controlplane versions         # the supported Kubernetes versions, newest first
    python -m controlplane wrap-kubernetes vX.Y.Z   # add a version (writes gomod/kubernetes-X.Y)

The Kubernetes version of `build` and `up` is --kube-version, else $SWCK_KUBE_VERSION,
else the default (build.DEFAULT_KUBERNETES_VERSION); `build --all` builds every
supported version.
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
    kube_help = "Kubernetes version, e.g. v1.35.4 or 1.35 (default: $%s, else %s)" % (
        build.KUBE_VERSION_ENV, build.DEFAULT_KUBERNETES_VERSION)
    p = sub.add_parser("build", help="build the binaries (no-op when cached)")
    p.add_argument("--kube-version", help=kube_help)
    p.add_argument("--all", action="store_true", help="build every supported Kubernetes version")
    sub.add_parser("versions", help="print the supported Kubernetes versions, newest first")
    p = sub.add_parser("wrap-kubernetes", help="write the wrapper module for another Kubernetes version")
    p.add_argument("version", help="e.g. v1.35.4")
    for name in ("up", "status", "down"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=str(DEFAULT_DIR), help="instance directory (default: %(default)s)")
        if name == "up":
            p.add_argument("--kube-version", help=kube_help)
            p.add_argument("--nodes", type=int, default=3)
            p.add_argument("--never-ready-image", action="append", default=[],
                           help="pods with this image run but never become Ready")
            p.add_argument("--crash-loop-image", action="append", default=[],
                           help="pods with this image crash-loop")
            p.add_argument("--failing-image", action="append", default=[],
                           help="pods with this image exit with code 1 (phase Failed)")
    args = parser.parse_args(argv)

    kube_version = None
    try:
        if args.cmd == "build":
            for found in (build.build_all() if args.all else [build.build(args.kube_version)]):
                print(f"Kubernetes {found.kube_version}: {found.kube_dir}, etcd and kwok: {found.shared_dir}")
            return 0
        if args.cmd == "versions":
            print("\n".join(build.kubernetes_versions()))
            return 0
        if args.cmd == "wrap-kubernetes":
            print(build.write_kube_wrapper(args.version))
            return 0
        if args.cmd == "up":
            kube_version = build.resolve_kube_version(args.kube_version)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    workdir = Path(args.dir).resolve()
    if args.cmd == "down":
        stopped = cluster.stop_from_state(workdir)
        print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
        return 0
    if args.cmd == "status":
        try:
            plane = cluster.attach(workdir)
            return _status(plane)
        except (OSError, cluster.ControlPlaneError, KeyError, ValueError) as exc:
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
    plane = cluster.ControlPlane(workdir, nodes=args.nodes, pod_behaviours=behaviours, kube_version=kube_version,
                                 tie_to_parent=False)
    plane.start()
    timings = ", ".join(f"{k} +{v:.1f}s" for k, v in plane.timings.items())
    print(f"control plane up in {workdir} ({timings})")
    _status(plane)
    print(f"export KUBECONFIG={plane.kubeconfig}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
