# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The inject_java_agent / remove_java_agent filters, and the inject_cli command giving the same output."""

from __future__ import annotations

import io
import json
import os
import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.skywalking.swck.plugins.filter import inject_java_agent as inject_filter
from ansible_collections.skywalking.swck.plugins.filter import remove_java_agent as remove_filter
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject as inj
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject_cli

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".venv", "collections")
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
MODULE = "ansible_collections.skywalking.swck.plugins.module_utils.skywalking.inject_cli"

MANIFESTS = """\
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: SwAgent
metadata: {name: java, namespace: shop}
spec:
  optionalPlugins: [trace, webflux]
  javaSidecar:
    env:
    - {name: SW_AGENT_NAMESPACE, value: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders, namespace: shop}
spec:
  selector: {matchLabels: {app: orders}}
  template:
    metadata:
      labels: {app: orders, swck-java-agent-injected: "true"}
      annotations:
        agent.skywalking.apache.org/agent.service_name: orders
        plugins.skywalking.apache.org/plugin.jdbc.trace_sql_parameters: "true"
        strategy.skywalking.apache.org/inject.Container: ^app$
    spec:
      initContainers:
      - {name: migrate, image: "orders-migrate:1"}
      containers:
      - name: app
        image: orders:1
        env:
        - {name: JAVA_TOOL_OPTIONS, value: -Xmx512m}
      - {name: envoy, image: envoy:1}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          labels: {swck-java-agent-injected: "True"}
          annotations:
            sidecar.skywalking.apache.org/sidecarVolumeMount.MountPath: /opt/sw
            optional-reporter.skywalking.apache.org: kafka
        spec:
          restartPolicy: Never
          containers:
          - {name: report, image: "report:1"}
---
apiVersion: v1
kind: Service
metadata: {name: orders, namespace: shop}
spec:
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: plain, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: plain}
    spec:
      containers: [{name: db, image: "db:1"}]
"""


def docs():
    return [d for d in yaml.safe_load_all(MANIFESTS) if d]


def as_text(data):
    return json.dumps(data)


def run_cli(args, text):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)
    return subprocess.run([PYTHON, "-m", MODULE] + args, input=text, capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, check=False)


def test_filter_list_injects_selected_objects_only():
    data = docs()
    out = inject_filter.inject_java_agent(data, backend_service="sw-oap.skywalking.svc:11800")
    assert len(out) == len(data)
    assert out[0] == data[0] and out[3] == data[3] and out[4] == data[4]  # SwAgent, Service, unlabelled
    deployment = out[1]["spec"]["template"]
    assert [c["name"] for c in deployment["spec"]["initContainers"]] == ["migrate", "inject-skywalking-agent"]
    app, envoy = deployment["spec"]["containers"]
    assert app["env"][0] == {"name": "JAVA_TOOL_OPTIONS",
                             "value": "-Xmx512m -javaagent:/sky/agent/skywalking-agent.jar="
                                      "agent.service_name=orders,plugin.jdbc.trace_sql_parameters=true"}
    assert [e["name"] for e in app["env"]] == ["JAVA_TOOL_OPTIONS", "SW_AGENT_COLLECTOR_BACKEND_SERVICES", "SW_AGENT_NAMESPACE"]
    assert envoy == data[1]["spec"]["template"]["spec"]["containers"][1]
    assert 'grep -E "trace|webflux"' in deployment["spec"]["initContainers"][1]["args"][1]
    cron = out[2]["spec"]["jobTemplate"]["spec"]["template"]
    assert cron["spec"]["initContainers"][0]["args"][1].startswith("mkdir -p /opt/sw && cp -r /skywalking/agent/* /opt/sw")
    assert "optional-reporter-plugins" in cron["spec"]["initContainers"][0]["args"][1]


def test_filter_keeps_the_shape_of_one_object_and_of_a_list_kind():
    deployment = docs()[1]
    one = inject_filter.inject_java_agent(deployment)
    assert isinstance(one, dict) and one["kind"] == "Deployment" and inj.is_injected(one)
    wrapped = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": docs()}
    out = inject_filter.inject_java_agent(wrapped)
    assert out["kind"] == "List" and len(out["items"]) == 5
    assert as_text(out["items"]) == as_text(inject_filter.inject_java_agent(docs()))


def test_filter_unchanged_for_unlabelled_and_already_injected():
    plain = docs()[4]
    assert inject_filter.inject_java_agent(plain) == plain
    once = inject_filter.inject_java_agent(docs())
    assert as_text(inject_filter.inject_java_agent(once)) == as_text(once)


def test_filter_does_not_modify_its_input():
    data = docs()
    inject_filter.inject_java_agent(data)
    assert data == docs()


def test_remove_filter_restores_the_manifests_exactly():
    data = docs()
    injected = inject_filter.inject_java_agent(data, defaults={"ca_secret": "sw-ca"}, backend_service="oap:11800")
    assert as_text(remove_filter.remove_java_agent(injected)) == as_text(data)
    assert as_text(remove_filter.remove_java_agent(data)) == as_text(data)


@pytest.mark.parametrize("annotations,named", [
    ({inj.CONTAINER_ANNOTATION: "("}, inj.CONTAINER_ANNOTATION),
    ({inj.AGENT_PREFIX + "agent.service_name": ""}, inj.AGENT_PREFIX + "agent.service_name"),
    ({inj.AGENT_PREFIX + "collector.backend_service": "bad host:1"}, inj.AGENT_PREFIX + "collector.backend_service"),
    ({inj.SIDECAR_PREFIX + "initcontainer.resources.limits": '{"gpu": 1}'}, inj.SIDECAR_PREFIX + "initcontainer.resources.limits"),
])
def test_filter_error_names_the_annotation(annotations, named):
    data = docs()
    data[1]["spec"]["template"]["metadata"]["annotations"].update(annotations)
    with pytest.raises(AnsibleFilterError) as info:
        inject_filter.inject_java_agent(data)
    assert named in str(info.value)
    assert "Deployment shop/orders" in str(info.value)


def test_filter_argument_errors():
    with pytest.raises(AnsibleFilterError, match="defaults.imagee"):
        inject_filter.inject_java_agent(docs(), defaults={"imagee": "x"})
    with pytest.raises(AnsibleFilterError, match="swagents"):
        inject_filter.inject_java_agent(docs(), swagents={"kind": "SwAgent"})
    with pytest.raises(AnsibleFilterError, match="defaults"):
        inject_filter.inject_java_agent(docs(), defaults="image=x")


def test_filter_warnings_go_to_the_display(monkeypatch):
    seen = []
    monkeypatch.setattr(inject_filter.display, "warning", seen.append)
    data = docs()
    data[1]["spec"]["template"]["metadata"]["annotations"][inj.AGENT_PREFIX + "agent.instnce_name"] = "x"
    inject_filter.inject_java_agent(data)
    assert seen == ["Deployment shop/orders: %sagent.instnce_name: agent.instnce_name is not a configuration key of "
                    "the Java agent 9.7.0 (did you mean agent.instance_name?)" % inj.AGENT_PREFIX]


def test_filter_plugins_are_registered():
    assert set(inject_filter.FilterModule().filters()) == {"inject_java_agent"}
    assert set(remove_filter.FilterModule().filters()) == {"remove_java_agent"}


def test_filter_and_cli_give_identical_output():
    args = ["--backend-service", "sw-oap.skywalking.svc:11800", "--agent-image", "apache/skywalking-java-agent:9.7.0-java17"]
    proc = run_cli(args, MANIFESTS)
    assert proc.returncode == 0, proc.stderr
    cli_docs = list(yaml.safe_load_all(proc.stdout))
    expected = inject_filter.inject_java_agent(docs(), backend_service="sw-oap.skywalking.svc:11800",
                                               agent_image="apache/skywalking-java-agent:9.7.0-java17")
    assert as_text(cli_docs) == as_text(expected)
    assert proc.stdout == inject_cli.dump_documents(expected)

    removed = run_cli(["--remove", "-f", "-"], proc.stdout)
    assert removed.returncode == 0, removed.stderr
    assert as_text(list(yaml.safe_load_all(removed.stdout))) == as_text(remove_filter.remove_java_agent(expected))
    assert as_text(list(yaml.safe_load_all(removed.stdout))) == as_text(docs())


def test_cli_invalid_object_exit_2_and_nothing_on_stdout():
    bad = MANIFESTS.replace("agent.skywalking.apache.org/agent.service_name: orders",
                            "agent.skywalking.apache.org/agent.service_name: ''")
    proc = run_cli([], bad)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert 'error: Deployment shop/orders: spec.template.metadata.annotations["agent.skywalking.apache.org/agent.service_name"]' \
        in proc.stderr


def run_main(args, text):
    out, err = io.StringIO(), io.StringIO()
    code = inject_cli.main(args, stdin=io.StringIO(text), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_mark_errors_writes_everything_and_still_fails():
    bad = MANIFESTS.replace("^app$", "(")
    code, out, err = run_main(["--mark-errors"], bad)
    assert code == 2
    written = list(yaml.safe_load_all(out))
    assert written[1]["metadata"]["annotations"][inj.ERROR_ANNOTATION].startswith("spec.template.metadata.annotations")
    assert not inj.is_injected(written[1]) and inj.is_injected(written[2])
    assert "error: Deployment shop/orders" in err


def test_cli_warnings_on_stderr_and_files(tmp_path):
    manifests = tmp_path / "app.yaml"
    manifests.write_text(MANIFESTS.replace("plugin.jdbc.trace_sql_parameters", "plugin.jdbc.trace_sql_params"))
    defaults = tmp_path / "defaults.yaml"
    defaults.write_text("image: reg/agent:9.7.0-alpine\nenv:\n- {name: TZ, value: UTC}\n")
    swagents = tmp_path / "swagents.yaml"
    swagents.write_text("apiVersion: operator.skywalking.apache.org/v1alpha1\nkind: SwAgent\nmetadata: {name: zz, namespace: shop}\n"
                        "spec: {javaSidecar: {name: sw-agent}}\n")
    code, out, err = run_main(["-f", str(manifests), "--defaults", str(defaults), "--swagents", str(swagents)], "")
    assert code == 0, err
    written = list(yaml.safe_load_all(out))
    init = written[1]["spec"]["template"]["spec"]["initContainers"][1]
    assert init["name"] == "sw-agent" and init["image"] == "reg/agent:9.7.0-alpine"
    assert {"name": "TZ", "value": "UTC"} in written[1]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert "warning: Deployment shop/orders: plugins.skywalking.apache.org/plugin.jdbc.trace_sql_params" in err
    assert "did you mean plugin.jdbc.trace_sql_parameters?" in err


@pytest.mark.parametrize("args,text,message", [
    ([], "a: [", "not valid YAML"),
    (["-f", "/nonexistent/x.yaml"], "", "cannot read /nonexistent/x.yaml"),
    (["--backend-service", "a b:1"], MANIFESTS, "error: --backend-service: "),  # the option, not defaults.backend_service
])
def test_cli_input_errors(args, text, message):
    code, out, err = run_main(args, text)
    assert code == 2 and out == ""
    assert message in err


def test_cli_defaults_file_must_be_a_mapping(tmp_path):
    defaults = tmp_path / "d.yaml"
    defaults.write_text("- image: x\n")
    code, out, err = run_main(["--defaults", str(defaults)], MANIFESTS)
    assert code == 2 and "one YAML mapping" in err


def test_cli_empty_input_gives_empty_output():
    assert run_main([], "---\n") == (0, "", "")


def test_cli_module_import_prints_nothing():
    proc = subprocess.run([PYTHON, "-c", "import %s" % MODULE], capture_output=True, text=True, timeout=60, check=False,
                          env=dict(os.environ, PYTHONPATH=COLLECTIONS), cwd=ROOT)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""


@pytest.mark.parametrize("value", ["plain", "ünïcödé 中文", "line\u2028break", "nel\x85x", "tab\tx"])
def test_cli_output_reads_back_as_the_same_data(value):
    data = docs()
    data[1]["metadata"]["annotations"] = {"note": value}
    assert list(yaml.safe_load_all(inject_cli.dump_documents(data))) == data


@pytest.mark.parametrize("data, named", [
    ({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {
        "metadata": {"labels": {inj.INJECTION_LABEL: "true"}, "annotations": {5: "x"}},
        "spec": {"containers": [{"name": "app"}]}}}}, "spec.template.metadata.annotations"),
    ({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {
        "metadata": {"labels": {inj.INJECTION_LABEL: "true"}},
        "spec": {"initContainers": "x", "containers": [{"name": "app"}]}}}}, "spec.template.spec.initContainers"),
    ({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {
        "metadata": {"labels": {inj.INJECTION_LABEL: "true"}},
        "spec": {"containers": [{"image": "app"}]}}}}, "spec.template.spec.containers[0].name"),
])
def test_filter_odd_objects_fail_naming_the_field(data, named):
    for run in (inject_filter.inject_java_agent, remove_filter.remove_java_agent):
        try:
            run(data)
        except AnsibleFilterError as exc:
            assert named in str(exc)
        else:
            assert run is remove_filter.remove_java_agent  # nothing to remove: unchanged


def test_filter_recursive_data_and_bad_swagents_are_filter_errors():
    loop = {"kind": "Deployment"}
    loop["spec"] = loop
    with pytest.raises(AnsibleFilterError, match="refers to itself"):
        inject_filter.inject_java_agent([loop])
    with pytest.raises(AnsibleFilterError, match=r"swagents\[0\]\.spec\.containerMatcher"):
        inject_filter.inject_java_agent([], swagents=[{"metadata": {"name": "a"}, "spec": {"containerMatcher": "(a+)+"}}])
    with pytest.raises(AnsibleFilterError, match="defaults.5"):
        inject_filter.inject_java_agent([], defaults={5: "x"})
