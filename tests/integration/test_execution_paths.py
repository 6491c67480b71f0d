# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The modules give the same results in the controller's worker (action plugins) and as module processes."""

from __future__ import annotations

import pytest

from .conftest import WRITE_VERBS

IN_PROCESS = {"SWCK_IN_PROCESS": "1"}
MODULE = {"SWCK_IN_PROCESS": "0"}
# What differs between two runs of the same task (timings, server-generated names are equal here).
VOLATILE = ("invocation", "_ansible_no_log", "_ansible_verbose_always", "_ansible_parsed", "deprecations")


def comparable(result):
    return {k: v for k, v in result.items() if k not in VOLATILE}


def test_apply_status_and_cluster_agree_on_both_paths(playbook, control_plane, namespace):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "paths", "namespace": namespace},
          "data": {"a": "1"}}
    tasks = [{"skywalking.swck.apply": {"instance": "paths", "namespace": namespace, "definitions": [cm]}},
             {"skywalking.swck.cluster": {"name": "paths", "namespace": namespace}},
             {"skywalking.swck.status": {"name": "paths", "namespace": namespace}},
             {"skywalking.swck.cluster_info": {}}]
    first = playbook.run(tasks, env=MODULE)
    assert first[0]["changed"] and first[1]["changed"]
    for env in (MODULE, IN_PROCESS):
        offset = control_plane.audit_offset()
        again = playbook.run(tasks, env=env)
        assert not control_plane.audit_events(offset, verbs=WRITE_VERBS), env
        assert [r["changed"] for r in again] == [False, False, False, False]
        if env is MODULE:
            module_results = [comparable(r) for r in again]
        else:
            assert [comparable(r) for r in again] == module_results


@pytest.mark.parametrize("env", [MODULE, IN_PROCESS], ids=["module", "in-process"])
def test_check_mode_diff_and_errors_on_both_paths(playbook, namespace, env):
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "checked", "namespace": namespace},
          "data": {"a": "1"}}
    run = playbook.run([{"skywalking.swck.apply": {"instance": "checked", "namespace": namespace,
                                                   "definitions": [cm]}}], check=True, diff=True, env=env)
    assert run[0]["changed"] is True and "a: '1'" in run[0]["diff"][0]["after"]
    bad = playbook.run([{"skywalking.swck.cluster": {"name": "Bad_Name", "namespace": namespace}}], expect_rc=2,
                       env=env)
    assert bad[0]["failed"] and bad[0]["msg"].startswith("name: ")


def test_task_environment_reaches_the_module_in_process(playbook, control_plane, namespace):
    """``environment:`` of the task (here the credentials) applies in the worker too."""
    task = {"skywalking.swck.cluster_info": {}, "environment": {"K8S_AUTH_KUBECONFIG": str(control_plane.kubeconfig)}}
    run = playbook.run([task], env=dict(IN_PROCESS, K8S_AUTH_KUBECONFIG="/nonexistent"))
    assert run[0]["ready_nodes"] == 3
    # and without it the (wrong) inherited value is used, proving the environment is per task
    playbook.run([{"skywalking.swck.cluster_info": {}}], env=dict(IN_PROCESS, K8S_AUTH_KUBECONFIG="/nonexistent"),
                 expect_rc=2)
