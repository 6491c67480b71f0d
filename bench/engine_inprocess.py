#!/usr/bin/env python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Time the apply engine in-process (no Ansible): first run and no-op on the 25-object stack.

Starts its own control plane.  Prints the median of --runs for each, and the
requests sent per HTTP method.

    .venv/bin/python bench/engine_inprocess.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "hack"))
sys.path.insert(0, str(ROOT / ".venv" / "collections"))
sys.path.insert(0, str(ROOT / "bench"))

from apply_vs_kubernetes_core import stack  # noqa: E402
from controlplane.cluster import ControlPlane  # noqa: E402

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.auth import connection_from_params  # noqa: E402
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.client import Client  # noqa: E402
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="swck-bench-") as tmp:
        plane = ControlPlane(Path(tmp) / "plane", nodes=3).start()
        try:
            first, noop = [], []
            counts = {"first": Counter(), "no-op": Counter()}
            phase = ["first"]
            for i in range(args.runs):
                client = Client(connection_from_params({"kubeconfig": str(plane.kubeconfig)}))
                original = client.request

                def counting(method, path, _orig=original, **kw):
                    counts[phase[0]][method] += 1
                    return _orig(method, path, **kw)

                client.request = counting
                objects = stack("inproc-%d" % i)
                phase[0] = "first"
                started = time.monotonic()
                Engine(client).apply(objects, "inproc-%d" % i)
                first.append(time.monotonic() - started)
                phase[0] = "no-op"
                started = time.monotonic()
                Engine(client).apply(objects, "inproc-%d" % i)
                noop.append(time.monotonic() - started)
        finally:
            plane.stop()

    def per_run(name):
        return ", ".join("%s %.0f" % (m, n / args.runs) for m, n in sorted(counts[name].items()))

    print("first run %.3f s (%s), no-op %.3f s (%s); median of %d runs" % (
        statistics.median(first), per_run("first"), statistics.median(noop), per_run("no-op"), args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
