# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""What the benchmarks share: run one play against a control plane with the checkout's Ansible."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_playbook(kubeconfig, tasks, workdir, **env_extra):
    """Run ``tasks`` as one play on localhost; ``(seconds, stdout)``.  Exits the benchmark on failure."""
    play = [{"name": "bench", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = Path(workdir) / "play.json"
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"),
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), K8S_AUTH_KUBECONFIG=str(kubeconfig),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal", **env_extra)
    started = time.monotonic()
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i",
                           str(ROOT / "inventory" / "localhost.yml"), str(path)],
                          capture_output=True, text=True, env=env, cwd=str(workdir), check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("playbook failed:\n%s\n%s" % (proc.stdout[-4000:], proc.stderr[-2000:]))
    return elapsed, proc.stdout
