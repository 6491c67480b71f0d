# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Defects a QA attack on the injection found in the pure layer: each test failed before its fix."""

from __future__ import annotations

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject as inj

LABEL = {"app": "demo", "swck-java-agent-injected": "true"}
A = inj.AGENT_PREFIX
S = inj.SIDECAR_PREFIX
TPL_ANN = 'spec.template.metadata.annotations["%s"]'


def deployment(annotations=None, containers=None, name="demo", ns="apps"):
    meta = {"labels": dict(LABEL)}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": "demo"}}, "template": {"metadata": meta, "spec": {
                "containers": [{"name": "app", "image": "app:1"}] if containers is None else containers}}}}


def swagent(spec, name="java", ns="apps"):
    return {"apiVersion": inj.SWAGENT_API_VERSION, "kind": "SwAgent", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def report_of(obj, **kwargs):
    return inj.inject_object(obj, **kwargs).report


def error_of(obj, **kwargs):
    report = report_of(obj, **kwargs)
    assert report["status"] == inj.ERROR, report
    assert report["field"] and report["reason"].startswith(report["field"] + ": "), report
    return report


def defaults_error(defaults):
    with pytest.raises(SpecError) as err:
        inj.effective_defaults(defaults)
    return err.value


# --- 1. SwAgents of any shape: an error report for the workloads they apply to, never an exception -------------

BAD_SPECS = [
    ([1], "SwAgent apps/java: spec", "must be a mapping, got list"),
    ("str", "SwAgent apps/java: spec", "must be a mapping, got string"),
    ({"javaSidecar": "str"}, "SwAgent apps/java: spec.javaSidecar", "must be a mapping, got string"),
    ({"javaSidecar": [1]}, "SwAgent apps/java: spec.javaSidecar", "must be a mapping, got list"),
    ({"selector": [1]}, "SwAgent apps/java: spec.selector", "must be a mapping of labels"),
    ({"selector": "app"}, "SwAgent apps/java: spec.selector", "must be a mapping of labels"),
    ({"javaSidecar": {"resources": [1]}}, "SwAgent apps/java: spec.javaSidecar.resources", "must be a mapping"),
    ({"javaSidecar": {"env": "x"}}, "SwAgent apps/java: spec.javaSidecar.env", "must be a list of env vars"),
    ({"javaSidecar": {"env": [1]}}, "SwAgent apps/java: spec.javaSidecar.env[0]", "must be an env var"),
    ({"javaSidecar": {"command": "sh"}}, "SwAgent apps/java: spec.javaSidecar.command", "must be a list of strings"),
    ({"javaSidecar": {"image": 5}}, "SwAgent apps/java: spec.javaSidecar.image", "image reference"),
    ({"javaSidecar": {"image": "a\x00b"}}, "SwAgent apps/java: spec.javaSidecar.image", "control character"),
    ({"optionalPlugins": ["trace\x7f"]}, "SwAgent apps/java: spec.optionalPlugins[0]", "control character"),
    ({"optionalPlugins": "trace"}, "SwAgent apps/java: spec.optionalPlugins", "must be a list of strings"),
]


@pytest.mark.parametrize("spec, field, problem", BAD_SPECS)
def test_a_badly_shaped_swagent_is_an_error_report_of_the_workloads(spec, field, problem):
    report = error_of(deployment(), swagents=[swagent(spec)])
    assert report["field"] == field and problem in report["reason"]
    assert report["annotation"] is None


@pytest.mark.parametrize("spec, field, problem", BAD_SPECS)
def test_validate_swagents_names_every_shape(spec, field, problem):
    with pytest.raises(SpecError) as err:
        inj.validate_swagents([swagent(spec)], named=True)
    assert err.value.field == field and problem in err.value.problem
    with pytest.raises(SpecError) as err:
        inj.validate_swagents([swagent(spec)])
    assert err.value.field == field.replace("SwAgent apps/java: ", "swagents[0].")


def test_a_badly_shaped_swagent_of_another_namespace_is_no_concern():
    report = report_of(deployment(ns="shop"), swagents=[swagent([1])])
    assert report["status"] == inj.INJECTED


def test_a_bad_swagent_whose_selector_does_not_match_is_no_concern():
    report = report_of(deployment(), swagents=[swagent({"selector": {"app": "other"}, "javaSidecar": "x"})])
    assert report["status"] == inj.INJECTED


def test_inject_all_still_refuses_bad_swagents_of_the_input_naming_them():
    with pytest.raises(SpecError) as err:
        inj.inject_all([swagent({"javaSidecar": [1]}), deployment()])
    assert err.value.field == "SwAgent apps/java: spec.javaSidecar"


# --- 3. defaults checked whole, one error naming defaults.<key> -------------------------------------------------

@pytest.mark.parametrize("defaults, field, problem", [
    ({"env": [{"name": "A", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]},
     "defaults.env[0]", "both value and valueFrom"),
    ({"env": [{"name": "A"}]}, "defaults.env[0]", "needs value"),
    ({"env": [{"name": "1A", "value": "x"}]}, "defaults.env[0]", "valid name"),
    ({"env": [{"name": "A", "valu": "x"}]}, "defaults.env[0].valu", "did you mean value?"),
    ({"env": [{"name": "A", "value": 5}]}, "defaults.env[0].value", "must be a string"),
    ({"env": [{"name": "A", "valueFrom": "s"}]}, "defaults.env[0].valueFrom", "must be a mapping"),
    ({"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s"}}}]},
     "defaults.env[0].valueFrom.secretKeyRef", "needs key"),
    ({"env": [{"name": "A", "valueFrom": {"secretRef": {"name": "s", "key": "k"}}}]},
     "defaults.env[0].valueFrom.secretRef", "did you mean secretKeyRef?"),
    ({"env": [{"name": "A", "valueFrom": {}}]}, "defaults.env[0].valueFrom", "exactly one of"),
    ({"env": "A=1"}, "defaults.env", "must be a list of env vars, got string"),
    ({"security_context": "restricted"}, "defaults.security_context", "must be a mapping, got string"),
    ({"security_context": {"runAsUser": True}}, "defaults.security_context.runAsUser", "integer"),
    ({"security_context": {"runAsUser": -1}}, "defaults.security_context.runAsUser", "integer"),
    ({"security_context": {"runAsGroup": "1000"}}, "defaults.security_context.runAsGroup", "integer"),
    ({"security_context": {"runAsNonRoot": "true"}}, "defaults.security_context.runAsNonRoot", "true or false"),
    ({"security_context": {"privileged": 0}}, "defaults.security_context.privileged", "true or false"),
    ({"security_context": {"capabilities": {"drop": "ALL"}}}, "defaults.security_context.capabilities.drop",
     "list of strings"),
    ({"security_context": {"capabilities": {"remove": ["ALL"]}}}, "defaults.security_context.capabilities.remove",
     "unknown field"),
    ({"security_context": {"seccompProfile": {"type": "runtime/default"}}},
     "defaults.security_context.seccompProfile.type", "RuntimeDefault"),
    ({"security_context": {"seccompProfile": {"type": "Localhost"}}}, "defaults.security_context.seccompProfile",
     "localhostProfile"),
    ({"security_context": {"seLinuxOptions": {"level": 5}}}, "defaults.security_context.seLinuxOptions.level",
     "must be a string"),
    ({"security_context": {"runAsNonroot": True}}, "defaults.security_context.runAsNonroot",
     "did you mean runAsNonRoot?"),
    ({"security_context": {"procMount": "Masked"}}, "defaults.security_context.procMount", "Default, Unmasked"),
    ({"security_context": {"windowsOptions": []}}, "defaults.security_context.windowsOptions", "mapping"),
    ({"image": ""}, "defaults.image", "non-empty"),
    ({"image": "repo/agent:9 7"}, "defaults.image", "whitespace"),
    ({"image": 9}, "defaults.image", "image reference"),
    ({"command": "sh"}, "defaults.command", "must be a list of strings"),
    ({"args": "-c cp"}, "defaults.args", "must be a list of strings"),
    ({"args": ["-c", 5]}, "defaults.args", "must be a list of strings"),
    ({"env_value": "-javaagent:/a.jar -Dx=1"}, "defaults.env_value", "whitespace"),
    ({"init_container_name": "Init"}, "defaults.init_container_name", "DNS label"),
    ({"ca_secret": "CA secret"}, "defaults.ca_secret", "Secret"),
    ({"ca_secret_key": "ca/crt"}, "defaults.ca_secret_key", "Secret key"),
    ({"backend_service": "sw\x00:11800"}, "defaults.backend_service", "control character"),
    ({"container_matcher": "app\x1b"}, "defaults.container_matcher", "control character"),
    ({"env": [{"name": "A", "value": "a\x00"}]}, "defaults.env[0].value", "control character"),
    ({"args": ["-c", "cp\x07"]}, "defaults.args[1]", "control character"),
    ({"security_context": {"seLinuxOptions": {"level": "s0\x85"}}}, "defaults.security_context.seLinuxOptions.level",
     "control character"),
])
def test_defaults_are_checked_whole(defaults, field, problem):
    err = defaults_error(defaults)
    assert err.field == field and problem in err.problem, str(err)
    # the same error from every entry point: inject_object, inject_all (filter, CLI)
    with pytest.raises(SpecError) as again:
        inj.inject_object(deployment(), defaults)
    assert str(again.value) == str(err)
    with pytest.raises(SpecError) as again:
        inj.inject_all([], defaults)
    assert str(again.value) == str(err)


@pytest.mark.parametrize("defaults", [
    {"security_context": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
                          "runAsUser": 1000, "runAsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"},
                          "readOnlyRootFilesystem": True, "privileged": False, "procMount": "Default",
                          "seLinuxOptions": {"level": "s0:c123,c456"}, "appArmorProfile": {"type": "RuntimeDefault"},
                          "windowsOptions": {"runAsUserName": "app", "hostProcess": False}}},
    {"security_context": {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/agent.json"}}},
    {"security_context": {"runAsUser": None}},
    {"env": [{"name": "A", "value": ""}, {"name": "B", "value": "line1\nline2\tx"},
             {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k", "optional": True}}},
             {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
             {"name": "E", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": 1}}}]},
    {"args": ["-c", "set -e\nmkdir -p /sky/agent\ncp -r /skywalking/agent/* /sky/agent\n"]},
    {"env_value": "-javaagent:/sky/agent/skywalking-agent.jar"},
    {"ca_secret": "sw.agent-ca", "ca_secret_key": "ca.crt"},
])
def test_good_defaults_pass(defaults):
    inj.effective_defaults(defaults)
    assert report_of(deployment(), defaults=defaults)["status"] == inj.INJECTED


def test_swagent_env_gets_the_same_checks():
    spec = {"javaSidecar": {"env": [{"name": "SW_AGENT_AUTHENTICATION", "value": "x",
                                     "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}}
    report = error_of(deployment(), swagents=[swagent(spec)])
    assert report["field"] == "SwAgent apps/java: spec.javaSidecar.env[0]" and "both" in report["reason"]


# --- 2. a container that loads a Java agent already -------------------------------------------------------------

def app(**fields):
    item = {"name": "app", "image": "app:1"}
    item.update(fields)
    return item


def env_of(obj):
    return dict((e["name"], e.get("value")) for e in obj["spec"]["template"]["spec"]["containers"][0].get("env") or [])


@pytest.mark.parametrize("container", [
    app(env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g -javaagent:/opt/sw/skywalking-agent.jar"}]),
    app(env=[{"name": "JDK_JAVA_OPTIONS", "value": "-javaagent:/opt/sw/skywalking-agent.jar"}]),
    app(env=[{"name": "_JAVA_OPTIONS", "value": "-javaagent:/opt/sw/skywalking-agent.jar=agent.service_name=x"}]),
    app(command=["java", "-javaagent:/opt/sw/skywalking-agent.jar", "-jar", "app.jar"]),
    app(args=["sh", "-c", "exec java \"-javaagent:/opt/sw/skywalking-agent-9.7.0.jar\" -jar app.jar"]),
])
def test_the_skywalking_agent_loaded_already_gets_no_second_one(container):
    outcome = inj.inject_object(deployment(containers=[container]))
    value = env_of(outcome.obj).get("JAVA_TOOL_OPTIONS") or ""
    assert "/sky/agent/skywalking-agent.jar" not in value
    assert any(w.startswith("container app: ") and "skywalking-agent" in w for w in outcome.report["warnings"])


@pytest.mark.parametrize("container, jar, where", [
    (app(env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-javaagent:/otel/opentelemetry-javaagent.jar"}]),
     "opentelemetry-javaagent.jar", "JAVA_TOOL_OPTIONS"),
    (app(env=[{"name": "JDK_JAVA_OPTIONS", "value": "-javaagent:/dd/dd-java-agent.jar"}]), "dd-java-agent.jar",
     "JDK_JAVA_OPTIONS"),
    (app(args=["-javaagent:/opt/appdynamics/javaagent.jar", "-jar", "app.jar"]), "javaagent.jar", "its args"),
    (app(command=["java", "-javaagent:/elastic/elastic-apm-agent.jar=service_name=x"]), "elastic-apm-agent.jar",
     "its command"),
])
def test_another_tracing_agent_is_injected_next_to_with_a_conflict_warning(container, jar, where):
    outcome = inj.inject_object(deployment(containers=[container]))
    assert outcome.report["status"] == inj.INJECTED
    assert "-javaagent:/sky/agent/skywalking-agent.jar" in env_of(outcome.obj)["JAVA_TOOL_OPTIONS"]
    warning, = outcome.report["warnings"]
    assert warning.startswith("container app: ") and jar in warning and where in warning
    assert "two tracing agents in one JVM can conflict" in warning


def test_a_metrics_agent_gets_a_neutral_note():
    container = app(env=[{"name": "JAVA_TOOL_OPTIONS",
                          "value": "-javaagent:/jmx/jmx_prometheus_javaagent.jar=9404:/etc/jmx.yaml"}])
    outcome = inj.inject_object(deployment(containers=[container]))
    assert env_of(outcome.obj)["JAVA_TOOL_OPTIONS"] == (
        "-javaagent:/jmx/jmx_prometheus_javaagent.jar=9404:/etc/jmx.yaml -javaagent:/sky/agent/skywalking-agent.jar")
    warning, = outcome.report["warnings"]
    assert "container app" in warning and "jmx_prometheus_javaagent.jar" in warning
    assert "conflict" not in warning and "added next to it" in warning
    assert inj.remove(outcome.obj) == deployment(containers=[container])


def test_java_agents_parses_options():
    assert inj.java_agents("-Xmx1g -javaagent:/a/b.jar=x=1,y=2 '-javaagent:/c d.jar'") == ["/a/b.jar", "/c d.jar"]
    assert inj.java_agents(None) == []
    assert inj.is_skywalking_jar("/x/skywalking-agent.jar") and not inj.is_skywalking_jar("/x/skywalking-agent.jar2")


# --- 4. control characters in annotations --------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [
    (A + "agent.service_name", "orders\x00"),
    (A + "agent.service_name", "orders\x7f"),
    (A + "agent.service_name", "orders\x9b31m"),
    ("plugins.skywalking.apache.org/plugin.jdbc.trace_sql_parameters", "tr\x1bue"),
    (S + "initcontainer.Image", "agent:9\x00"),
    (S + "initcontainer.args.Command", "cp -r /a /b\x07"),
    (S + "env.Value", "-javaagent:/a.jar\x01"),
    (inj.CONTAINER_ANNOTATION, "^app\x00$"),
    (inj.OPTIONAL_ANNOTATION, "trace\x85"),
])
def test_control_characters_in_annotations_are_refused_naming_them(key, value):
    report = error_of(deployment({key: value}))
    assert report["annotation"] == key and report["field"] == TPL_ANN % key
    assert "control character" in report["reason"]


# --- 5. mount paths: the tool and library directories alike ----------------------------------------------------

@pytest.mark.parametrize("path", ["/usr/lib64", "/usr/libexec", "/usr/local/bin", "/usr/local/sbin", "/usr/local",
                                  "/lib32", "/usr/lib32", "/usr/local/lib"])
def test_tool_and_library_directories_are_refused(path):
    assert "system directory" in inj.mount_path_problem(path)


@pytest.mark.parametrize("path", ["/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu/sky", "/usr/lib/jvm",
                                  "/opt/java/openjdk", "/opt"])
def test_the_c_library_and_jvm_directories_are_refused(path):
    assert "the C library or the JVM" in inj.mount_path_problem(path)


@pytest.mark.parametrize("text, jars", [
    ('"-javaagent:/opt/Sky Walking/skywalking-agent.jar" -Xmx1g', ["/opt/Sky Walking/skywalking-agent.jar"]),
    ("-javaagent:'/opt/a b/otel.jar'=k=v -javaagent:/x/y.jar", ["/opt/a b/otel.jar", "/x/y.jar"]),
    ("java -javaagent:/sky/agent/skywalking-agent.jar=agent.service_name=x -jar app.jar",
     ["/sky/agent/skywalking-agent.jar"]),
])
def test_quoted_agent_paths_are_read_whole(text, jars):
    assert inj.java_agents(text) == jars


def test_a_quoted_skywalking_agent_is_not_loaded_twice():
    quoted = '"-javaagent:/opt/Sky Walking/skywalking-agent.jar"'
    obj = deployment({})
    obj["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "JAVA_TOOL_OPTIONS", "value": quoted}]
    outcome = inj.inject_object(obj, {"backend_service": "oap:11800"})
    env = {e["name"]: e.get("value") for e in outcome.obj["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["JAVA_TOOL_OPTIONS"].count("skywalking-agent.jar") == 1, env


@pytest.mark.parametrize("path", ["/usr/lib64/sky", "/usr/local/sky", "/usr/share/sky", "/opt/sky"])
def test_paths_inside_or_beside_them_are_fine(path):
    assert inj.mount_path_problem(path) is None


# --- 6. RE2 syntax Python lacks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, says", [
    (r"\p{Han}", r"\p{...}"), (r"^\pL+$", r"\p{...}"), (r"[\p{L}0-9]", r"\p{...}"), (r"\P{L}", r"\P{...}"),
    (r"[[:alpha:]]", "POSIX class [:alpha:]"), (r"a\z", r"\z"), (r"\Qa.b\E", r"\Q"),
])
def test_re2_only_syntax_is_refused_plainly_naming_the_annotation(pattern, says):
    report = error_of(deployment({inj.CONTAINER_ANNOTATION: pattern}))
    assert report["annotation"] == inj.CONTAINER_ANNOTATION
    assert says in report["reason"] and "does not support" in report["reason"]
    assert "bad escape" not in report["reason"]
    with pytest.raises(SpecError) as err:
        inj.effective_defaults({"container_matcher": pattern})
    assert err.value.field == "defaults.container_matcher" and "bad escape" not in err.value.problem


@pytest.mark.parametrize("pattern", [r"\\p", r"[]a]", r"^app$", r"[a[:]", r"\d+"])
def test_lookalikes_are_still_fine(pattern):
    assert inj.re2_problem(pattern) is None


# --- 7. collector addresses -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["oap:11800,", ",oap:11800", "oap:11800,,sat:11800", "oap:11800, "])
def test_an_empty_collector_address_is_refused_naming_the_annotation(value):
    key = A + "collector.backend_service"
    report = error_of(deployment({key: value}))
    assert report["annotation"] == key and report["field"] == TPL_ANN % key and "empty" in report["reason"]
    with pytest.raises(SpecError) as err:
        inj.effective_defaults({"backend_service": value})
    assert err.value.field == "defaults.backend_service"


def test_collector_warnings_name_the_annotation_in_the_pod_template():
    key = A + "collector.backend_service"
    report = report_of(deployment({key: "[::1]:11800,oap"}))
    assert report["status"] == inj.INJECTED
    addresses = [w for w in report["warnings"] if "IPv6" in w or "no port" in w]
    assert len(addresses) == 2
    assert all(w.startswith(TPL_ANN % key + ": ") for w in addresses), addresses
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": dict(LABEL), "annotations": {
        key: "oap"}}, "spec": {"containers": [{"name": "app", "image": "a"}]}}
    warning, = report_of(pod)["warnings"]
    assert warning.startswith('metadata.annotations["%s"]: ' % key)


# --- 11. credentials in annotations -----------------------------------------------------------------------------

def test_credential_annotations_get_a_warning_and_can_be_masked():
    annotations = {A + "agent.authentication": "s3cr3t", A + "agent.service_name": "orders",
                   "plugins.skywalking.apache.org/plugin.kafka.sasl_jaas_config": "x",
                   A + "plugin.elasticsearch.password": "pw", "other/token": "t"}
    assert inj.credential_annotation_keys(annotations) == [
        A + "agent.authentication", A + "plugin.elasticsearch.password",
        "plugins.skywalking.apache.org/plugin.kafka.sasl_jaas_config"]
    assert inj.credential_annotation_keys(None) == []
    assert inj.credential_annotation_keys({A + "plugin.x.pass": "", A + "agent.service_name": "", A + "a.pwd": "",
                                           "plugins.skywalking.apache.org/plugin.kafka.producer_config"
                                           "[sasl.jaas.config]": ""}) == [
        A + "a.pwd", A + "plugin.x.pass", "plugins.skywalking.apache.org/plugin.kafka.producer_config[sasl.jaas.config]"]
    outcome = inj.inject_object(deployment(annotations))
    text = [w for w in outcome.report["warnings"] if "plain text" in w]
    assert len(text) == 3
    assert (A + "agent.authentication: credentials in annotations are stored in plain text in the pod spec; give "
            "SW_AGENT_AUTHENTICATION from a Secret (valueFrom)") in text
    value = env_of(outcome.obj)["JAVA_TOOL_OPTIONS"]
    masked = inj.mask_credential_options(value, annotations)
    assert "s3cr3t" not in masked and "agent.authentication=********" in masked and "pw" not in masked
    assert "agent.service_name=orders" in masked


def test_the_env_value_annotation_is_one_jvm_option_too():
    key = S + "env.Value"
    report = error_of(deployment({key: "-javaagent:/a/skywalking-agent.jar -Dx=1"}))
    assert report["annotation"] == key and "whitespace" in report["reason"]


# --- env sources the API server would refuse are refused first ---------------------------------------------------

@pytest.mark.parametrize("source, field, says", [
    ({"fieldRef": {"fieldPath": "bogus.path"}}, "valueFrom.fieldRef.fieldPath", "not a field an env var can read"),
    ({"fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v2"}}, "valueFrom.fieldRef.apiVersion", "v1"),
    ({"configMapKeyRef": {"name": "BAD NAME", "key": "k"}}, "valueFrom.configMapKeyRef.name", "not a ConfigMap name"),
    ({"secretKeyRef": {"name": "s", "key": "a b"}}, "valueFrom.secretKeyRef.key", "not a valid key"),
    ({"resourceFieldRef": {"resource": "limits.gpu"}}, "valueFrom.resourceFieldRef.resource", "container resource"),
    ({"resourceFieldRef": {"resource": "limits.cpu", "divisor": "0"}}, "valueFrom.resourceFieldRef.divisor",
     "greater than 0"),
])
def test_env_sources_the_api_server_refuses(source, field, says):
    with pytest.raises(SpecError) as err:
        inj.check_env_var({"name": "A", "valueFrom": source}, "defaults.env[0]")
    assert err.value.field == "defaults.env[0]." + field and says in err.value.problem


@pytest.mark.parametrize("source", [{"fieldRef": {"fieldPath": "metadata.labels['app']"}},
                                    {"fieldRef": {"fieldPath": "status.podIP", "apiVersion": "v1"}},
                                    {"resourceFieldRef": {"resource": "requests.memory", "divisor": "1Mi"}},
                                    {"secretKeyRef": {"name": "sw-auth", "key": "token", "optional": True}}])
def test_env_sources_the_api_server_accepts(source):
    inj.check_env_var({"name": "A", "valueFrom": source}, "defaults.env[0]")
