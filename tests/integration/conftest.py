# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Integration fixtures: one real control plane per test session.

The control plane (etcd, kube-apiserver, controller-manager, scheduler, KWOK)
is built from Go modules and started here.  If it cannot start, the session
fails with the reason: these tests never skip.

The Kubernetes version is $SWCK_KUBE_VERSION (e.g. ``v1.35.4`` or ``1.35``), else
the harness default (hack/controlplane/build.py).  A test that needs a feature only
some versions have says so with ``@pytest.mark.kube_version(min="1.36", reason=...)``
(and/or ``max=``); on other versions it is reported as not run, with that reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "hack"))

from controlplane.build import resolve_kube_version  # noqa: E402
from controlplane.cluster import WRITE_VERBS, ControlPlane  # noqa: E402

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.auth import connection_from_params  # noqa: E402
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.client import Client  # noqa: E402
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine  # noqa: E402

NEVER_READY_IMAGE = "registry.test/never-ready:1"
CRASH_LOOP_IMAGE = "registry.test/crash-loop:1"
FAILING_IMAGE = "registry.test/fails:1"
COLLECTIONS = ROOT / ".venv" / "collections"

_SERVER = {}
_NOT_RUN = []


def _minor(text):
    """(major, minor) of "1.36", "v1.36" or "v1.36.2"."""
    parts = text.lstrip("v").split(".")
    return int(parts[0]), int(parts[1])


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "kube_version(min=None, max=None, reason): the test needs a Kubernetes minor in "
        "[min, max] (e.g. min=\"1.36\"); on other versions it is reported as not run, with the reason")


def pytest_collection_modifyitems(config, items):
    try:
        version = resolve_kube_version()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc
    for item in items:
        for mark in item.iter_markers("kube_version"):
            low, high, reason = mark.kwargs.get("min"), mark.kwargs.get("max"), mark.kwargs.get("reason")
            if not reason or not (low or high) or mark.args:
                raise pytest.UsageError("%s: kube_version marker needs min= and/or max= and a reason=" % item.nodeid)
            if (low and _minor(version) < _minor(low)) or (high and _minor(version) > _minor(high)):
                why = "needs Kubernetes %s: %s (this run: %s)" % (
                    " and ".join(filter(None, [low and ">= " + low, high and "<= " + high])), reason, version)
                item.add_marker(pytest.mark.skip(reason=why))
                _NOT_RUN.append((item.nodeid, why))


def open_crd(group, plural, kind, status=False):
    """A namespaced CustomResourceDefinition ``<plural>.<group>`` (v1) whose schema takes any field; ``status``
    adds the status subresource."""
    version = {"name": "v1", "served": True, "storage": True,
               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}
    if status:
        version["subresources"] = {"status": {}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.%s" % (plural, group)},
            "spec": {"group": group, "scope": "Namespaced", "names": {"plural": plural, "kind": kind},
                     "versions": [version]}}


@pytest.fixture(scope="session")
def kube_version():
    """The Kubernetes version this session runs against, e.g. "v1.37.2"."""
    return resolve_kube_version()


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory, kube_version):
    plane = ControlPlane(
        tmp_path_factory.mktemp("controlplane"), nodes=3,
        pod_behaviours={"never-ready": [NEVER_READY_IMAGE], "crash-loop": [CRASH_LOOP_IMAGE],
                        "fail": [FAILING_IMAGE]},
        kube_version=kube_version,
    )
    plane.start()
    version = plane.version()
    _SERVER.update(version=version.get("gitVersion"), server=plane.server, timings=dict(plane.timings))
    print("\nintegration control plane: Kubernetes %s at %s (ready in %.1fs)"
          % (version.get("gitVersion"), plane.server, plane.timings["ready"]), file=sys.stderr)
    yield plane
    plane.stop()


def pytest_terminal_summary(terminalreporter):
    if _SERVER:
        terminalreporter.write_line(
            "integration tests ran against a real kube-apiserver: Kubernetes %s at %s "
            "(control plane ready %.1fs after start)" % (_SERVER["version"], _SERVER["server"],
                                                         _SERVER["timings"]["ready"]))
    if _NOT_RUN:
        terminalreporter.write_line("%d test(s) not run on this Kubernetes version (kube_version marker):"
                                    % len(_NOT_RUN))
        for nodeid, why in _NOT_RUN:
            terminalreporter.write_line("  %s: %s" % (nodeid, why))


@pytest.fixture
def client(control_plane):
    return Client(connection_from_params({"kubeconfig": str(control_plane.kubeconfig)}))


@pytest.fixture
def engine(client):
    return Engine(client)


@pytest.fixture
def namespace(control_plane):
    name = "t-" + uuid.uuid4().hex[:8]
    status, body = control_plane.request("POST", "/api/v1/namespaces",
                                         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert status == 201, body
    return name


class Audit(object):
    """Requests the admin user made since ``start()``, read from the API server's audit log."""

    def __init__(self, plane):
        self.plane = plane
        self.offset = plane.audit_offset()

    def start(self):
        self.offset = self.plane.audit_offset()
        return self

    def events(self, verbs=None):
        return self.plane.audit_events(self.offset, verbs=verbs)

    def writes(self, include_dry_run=True):
        out = self.events(verbs=WRITE_VERBS)
        if not include_dry_run:
            out = [e for e in out if "dryRun=All" not in e.get("requestURI", "")]
        return out


@pytest.fixture
def audit(control_plane):
    return Audit(control_plane)


class Playbook(object):
    """Run ansible-playbook against the control plane and return each task's result."""

    def __init__(self, plane, tmp_path):
        self.plane = plane
        self.tmp_path = tmp_path

    def run(self, tasks, *args, check=False, diff=False, expect_rc=0, env=None, collections=None):
        play = [{"name": "test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
        path = self.tmp_path / ("play-%s.json" % uuid.uuid4().hex[:6])
        path.write_text(json.dumps(play))
        cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(ROOT / "inventory" / "localhost.yml"),
               str(path)] + list(args)
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        full_env = dict(os.environ)
        full_env.update({
            "ANSIBLE_COLLECTIONS_PATH": str(collections or COLLECTIONS),
            "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "K8S_AUTH_KUBECONFIG": str(self.plane.kubeconfig),
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_NOCOLOR": "1",
        })
        full_env.update(env or {})
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=full_env, cwd=str(ROOT), timeout=600)
        assert proc.returncode == expect_rc, "rc=%s\nstdout:\n%s\nstderr:\n%s" % (
            proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:])
        data = json.loads(proc.stdout)
        results = [task["hosts"]["localhost"] for task in data["plays"][0]["tasks"]]
        return PlaybookRun(results, proc.stdout, data)


class PlaybookRun(object):
    def __init__(self, results, stdout, data):
        self.results = results
        self.stdout = stdout
        self.data = data

    def __getitem__(self, index):
        return self.results[index]


@pytest.fixture
def playbook(control_plane, tmp_path):
    return Playbook(control_plane, tmp_path)
