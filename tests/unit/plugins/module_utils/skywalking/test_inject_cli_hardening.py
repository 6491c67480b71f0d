# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""inject_cli on odd input: one "error: ..." line on stderr, exit status 2, nothing on stdout; never a traceback."""

from __future__ import annotations

import io
import time

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject_cli


def test_alias_bomb_is_refused_quickly():
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in range(1, 9):
        text += "l%d: &l%d [%s]\n" % (level, level, ", ".join(["*%s" % ("a" if level == 1 else "l%d" % (level - 1))] * 10))
    out, err = io.StringIO(), io.StringIO()
    start = time.monotonic()
    assert inject_cli.main([], stdin=io.StringIO(text), stdout=out, stderr=err) == inject_cli.EXIT_ERROR
    assert time.monotonic() - start < 10
    assert "YAML aliases" in err.getvalue() and out.getvalue() == ""


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", "refers to itself"),
    ("&a [*a]\n", "refers to itself"),
    ("[" * 5000 + "]" * 5000, "error:"),
])
def test_cli_recursive_or_deep_yaml(text, message):
    out, err = io.StringIO(), io.StringIO()
    assert inject_cli.main([], stdin=io.StringIO(text), stdout=out, stderr=err) == inject_cli.EXIT_ERROR
    assert message in err.getvalue() and "Traceback" not in err.getvalue()


def test_cli_invalid_utf8_on_stdin():
    stdin = io.TextIOWrapper(io.BytesIO(b"kind: Pod\nmetadata: {name: \xff\xfe}\n"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert inject_cli.main([], stdin=stdin, stdout=out, stderr=err) == inject_cli.EXIT_ERROR
    assert "UTF-8" in err.getvalue() and "stdin" in err.getvalue()


def test_cli_int_annotation_key_and_dict_init_containers():
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: a, namespace: apps}
spec:
  template:
    metadata:
      labels: {swck-java-agent-injected: "true"}
      annotations: {5: x}
    spec:
      containers: [{name: app, image: app}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b, namespace: apps}
spec:
  template:
    metadata:
      labels: {swck-java-agent-injected: "true"}
    spec:
      initContainers: {name: x}
      containers: [{image: app}]
"""
    out, err = io.StringIO(), io.StringIO()
    assert inject_cli.main([], stdin=io.StringIO(text), stdout=out, stderr=err) == inject_cli.EXIT_ERROR
    assert "spec.template.metadata.annotations" in err.getvalue()
    assert "spec.template.spec.initContainers" in err.getvalue()


@pytest.mark.parametrize("args", [["--swagents", "-"], ["--defaults", "-"], ["-f", "-", "--swagents", "-"]])
def test_cli_two_readers_of_stdin_are_refused(args):
    out, err = io.StringIO(), io.StringIO()
    assert inject_cli.main(args, stdin=io.StringIO("kind: Pod\n"), stdout=out, stderr=err) == inject_cli.EXIT_ERROR
    assert "stdin" in err.getvalue() and out.getvalue() == ""


def test_cli_stdin_for_swagents_with_a_file_input(tmp_path):
    manifests = tmp_path / "app.yaml"
    manifests.write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    out, err = io.StringIO(), io.StringIO()
    code = inject_cli.main(["-f", str(manifests), "--swagents", "-"], stdin=io.StringIO(
        "kind: SwAgent\nmetadata: {name: a}\nspec: {}\n"), stdout=out, stderr=err)
    assert code == inject_cli.EXIT_OK, err.getvalue()


def test_cli_validates_swagents_without_workloads(tmp_path):
    agents = tmp_path / "agents.yaml"
    agents.write_text("kind: SwAgent\nmetadata: {name: a}\nspec: {containerMatcher: '(a+)+b'}\n")
    out, err = io.StringIO(), io.StringIO()
    code = inject_cli.main(["--swagents", str(agents)], stdin=io.StringIO(""), stdout=out, stderr=err)
    assert code == inject_cli.EXIT_ERROR and "swagents[0].spec.containerMatcher" in err.getvalue()


def test_cli_swagents_file_of_a_scalar(tmp_path):
    agents = tmp_path / "agents.yaml"
    agents.write_text("just text\n")
    out, err = io.StringIO(), io.StringIO()
    code = inject_cli.main(["--swagents", str(agents)], stdin=io.StringIO(""), stdout=out, stderr=err)
    assert code == inject_cli.EXIT_ERROR and "swagents[0]" in err.getvalue()


@pytest.mark.parametrize("text", ["a: !!int x\n", "a: 2024-13-01\n", "- - - - - " * 3000 + "x\n"])
def test_cli_unusable_yaml_is_an_error(text):
    out, err = io.StringIO(), io.StringIO()
    assert inject_cli.main([], stdin=io.StringIO(text), stdout=out, stderr=err) == inject_cli.EXIT_ERROR
    assert err.getvalue().startswith("error: ") and out.getvalue() == ""
