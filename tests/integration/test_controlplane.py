# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The test control plane itself: CLI, parallel instances, clean stop."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from controlplane import cluster

from .conftest import ROOT


def _alive(pids):
    return [p for p in pids if cluster._pid_alive(p)]


def test_cli_instance_runs_beside_the_session_instance(control_plane, tmp_path, playbook, kube_version):
    workdir = tmp_path / "second"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "hack"))
    up = subprocess.run([sys.executable, "-m", "controlplane", "up", "--dir", str(workdir), "--nodes", "1"],
                        capture_output=True, text=True, check=False, env=env, timeout=180)
    try:
        assert up.returncode == 0, up.stderr + up.stdout
        assert "kwok-node-0   Ready" in up.stdout
        assert "export KUBECONFIG=%s" % (workdir / "kubeconfig") in up.stdout
        state = json.loads((workdir / "state.json").read_text())
        assert set(state["pids"]) == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
        ours = set(control_plane.ports.values())
        assert not ours & set(state["ports"].values()), "parallel instances must not share ports"

        # Our own modules see the second instance through its kubeconfig.
        run = playbook.run([{"skywalking.swck.cluster_info": {"kubeconfig": str(workdir / "kubeconfig")}}])
        assert run[0]["ready_nodes"] == 1
        assert run[0]["server"]["host"] == state["server"]

        status = subprocess.run([sys.executable, "-m", "controlplane", "status", "--dir", str(workdir)],
                                capture_output=True, text=True, check=False, env=env, timeout=60)
        assert status.returncode == 0 and "Kubernetes %s" % kube_version in status.stdout
    finally:
        down = subprocess.run([sys.executable, "-m", "controlplane", "down", "--dir", str(workdir)],
                              capture_output=True, text=True, check=False, env=env, timeout=120)
    assert down.returncode == 0, down.stderr
    assert _alive(state["pids"].values()) == [], "every process of the stopped instance must be gone"
    # The session's instance is untouched.
    assert control_plane.request("GET", "/readyz")[0] == 200
    status = subprocess.run([sys.executable, "-m", "controlplane", "status", "--dir", str(workdir)],
                            capture_output=True, text=True, check=False, env=env, timeout=60)
    assert status.returncode == 1


def test_pods_become_ready_and_jobs_complete_on_fake_nodes(engine, namespace):
    from .test_engine import deployment

    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": namespace},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}},
                                "spec": {"containers": [{"name": "agent", "image": "registry.test/agent:1"}]}}}}
    result = engine.apply([deployment("web", namespace, replicas=2), ds], "cp-pods", wait=True, wait_timeout=60)
    assert result.counts() == {"created": 2}
    pods = engine.client.request("GET", "/api/v1/namespaces/%s/pods" % namespace)["items"]
    assert len(pods) == 5  # 2 replicas + one DaemonSet pod on each of the 3 fake nodes
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["status"]["podIP"].startswith("10.244.")
        assert pod["spec"]["nodeName"].startswith("kwok-node-")
