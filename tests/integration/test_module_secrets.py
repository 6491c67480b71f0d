# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""No Secret value in any output of ansible-playbook, at any verbosity, on success or failure."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid

import pytest

from .conftest import COLLECTIONS, ROOT

PEM_LINES = ["MIIBVwIBADANBgkqhkiG9w0BAQEFAASCAUEwggE9AgEAAkEA0Zn1vW", "q8rT7ZxHpLm2dNf4kW9yXcV3bQ6sJhE1uG0"]
PLANTED = {
    "password": "pl4nted-Passw0rd",
    "pin": 909090,
    "key": "-----BEGIN PRIVATE KEY-----\n%s\n%s\n-----END PRIVATE KEY-----\n" % tuple(PEM_LINES),
    "nested": "n3sted-S3cret",
}


def every_form():
    values = [PLANTED["password"], str(PLANTED["pin"]), PLANTED["nested"], "pl4nted-data-V4lue"] + PEM_LINES
    forms = set(values)
    for value in values + [PLANTED["key"]]:
        forms.add(base64.b64encode(value.encode()).decode())
    return forms


def secret_yaml(namespace, broken=False):
    key = "\n".join("    " + line for line in PLANTED["key"].splitlines())
    text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: planted\n  namespace: %s\n"
            "data:\n  extra: %s\n"
            "stringData:\n  password: %s\n  pin: %d\n  key: |\n%s\n"
            % (namespace, base64.b64encode(b"pl4nted-data-V4lue").decode(), PLANTED["password"], PLANTED["pin"], key))
    if broken:
        text += '  nested: "%s\n' % PLANTED["nested"]  # unterminated quote: a YAML syntax error
    else:
        text += "  nested: %s\n" % PLANTED["nested"]
    return text


@pytest.fixture(params=["in-process", "module"])
def execution(request):
    """Both ways a task runs: inside the worker (the action plugin) and as a module process."""
    return {"SWCK_IN_PROCESS": "1" if request.param == "in-process" else "0"}


def run_playbook(plane, tmp_path, tasks, *args, callback="default", env=None):
    play = [{"name": "secrets", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = tmp_path / ("play-%s.json" % uuid.uuid4().hex[:6])
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               K8S_AUTH_KUBECONFIG=str(plane.kubeconfig), ANSIBLE_STDOUT_CALLBACK=callback, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", **(env or {}))
    proc = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i",
                           str(ROOT / "inventory" / "localhost.yml"), str(path)] + list(args),
                          capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=300, check=False)
    return proc


def leaked(proc):
    text = proc.stdout + proc.stderr
    return sorted(form for form in every_form() if form in text)


@pytest.mark.parametrize("verbosity", ["", "-vvv"])
@pytest.mark.parametrize("callback", ["default", "ansible.posix.json"])
def test_text_definitions_never_print_secret_values(control_plane, namespace, tmp_path, verbosity, callback,
                                                    execution):
    task = {"skywalking.swck.apply": {"instance": "sec-" + namespace, "namespace": namespace,
                                      "definitions": secret_yaml(namespace)}}
    args = [verbosity, "--diff"] if verbosity else ["--diff"]
    proc = run_playbook(control_plane, tmp_path, [task], *args, callback=callback, env=execution)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "planted" in proc.stdout  # the Secret is there, by name
    assert leaked(proc) == []
    # a failing run after the Secret was written (an invalid second object) prints nothing either
    failing = {"skywalking.swck.apply": {"instance": "sec-" + namespace, "namespace": namespace,
                                         "definitions": secret_yaml(namespace) + "---\napiVersion: v1\nkind: "
                                         "ConfigMap\nmetadata: {name: Bad_Name}\n"}}
    proc = run_playbook(control_plane, tmp_path, [failing], *args, callback=callback, env=execution)
    assert proc.returncode == 2
    assert "Bad_Name" in proc.stdout
    assert leaked(proc) == []


@pytest.mark.parametrize("verbosity", ["", "-vvv"])
def test_yaml_syntax_errors_never_print_secret_values(control_plane, namespace, tmp_path, verbosity, execution):
    task = {"skywalking.swck.apply": {"instance": "sec-" + namespace, "namespace": namespace,
                                      "definitions": secret_yaml(namespace, broken=True)}}
    proc = run_playbook(control_plane, tmp_path, [task], *([verbosity] if verbosity else []), env=execution)
    assert proc.returncode == 2
    assert "is not valid YAML" in proc.stdout and "line" in proc.stdout
    assert leaked(proc) == []


def test_structured_definitions_with_numbers_and_nesting(control_plane, namespace, tmp_path, execution):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "structured", "namespace": namespace},
              "stringData": {"password": PLANTED["password"], "pin": PLANTED["pin"], "key": PLANTED["key"]}}
    task = {"skywalking.swck.apply": {"instance": "sec2-" + namespace, "namespace": namespace,
                                      "definitions": [secret]}}
    for args in (["-vvv"], ["-vvv", "--check", "--diff"]):
        proc = run_playbook(control_plane, tmp_path, [task], *args, env=execution)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert leaked(proc) == []
    # a nested value is invalid; the error names the field, never the value
    secret["stringData"]["nested"] = {"deep": PLANTED["nested"]}
    proc = run_playbook(control_plane, tmp_path, [task], "-vvv", env=execution)
    assert proc.returncode == 2
    assert leaked(proc) == []


def test_alias_resource_definition_is_masked_too(control_plane, namespace, tmp_path, execution):
    """The ``resource_definition`` alias echoes its own copy of the input: it is masked like ``definitions``."""
    task = {"skywalking.swck.apply": {"instance": "sec3-" + namespace, "namespace": namespace,
                                      "resource_definition": secret_yaml(namespace)}}
    proc = run_playbook(control_plane, tmp_path, [task], "-vvv", env=execution)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "resource_definition" in proc.stdout  # the echoed arguments are there, masked
    assert leaked(proc) == []


@pytest.mark.parametrize("module", ["oap_config", "cluster"])
def test_plain_credential_env_is_refused_and_never_printed(control_plane, namespace, tmp_path, module, execution):
    """A plain env value whose name says credential is refused, naming the field, and its value never shown."""
    args = {"name": "cred", "namespace": namespace, "oap": {"env": {"sw_storage_es_Password": PLANTED["password"]}}}
    if module == "oap_config":
        args["version"] = "10.3.0"
    proc = run_playbook(control_plane, tmp_path, [{"skywalking.swck.%s" % module: args}], "-vvv", env=execution)
    assert proc.returncode == 2
    assert "oap.env.sw_storage_es_Password" in proc.stdout
    assert "put it in a Secret" in proc.stdout
    assert leaked(proc) == []


def test_from_swck_that_does_not_parse_is_never_printed(control_plane, namespace, tmp_path, execution):
    """SWCK resources can carry plaintext passwords; a syntax error names the line, not the text."""
    text = ("apiVersion: operator.skywalking.apache.org/v1alpha1\nkind: OAPServer\nmetadata: {name: old}\n"
            "spec:\n  config:\n  - name: SW_ES_PASSWORD\n    value: \"%s\n" % PLANTED["password"])
    task = {"skywalking.swck.cluster": {"name": "swck", "namespace": namespace, "from_swck": text}}
    proc = run_playbook(control_plane, tmp_path, [task], "-vvv", env=execution)
    assert proc.returncode == 2
    assert "from_swck" in proc.stdout
    assert leaked(proc) == []
