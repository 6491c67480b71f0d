# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Table-driven tests of the pure Java agent injection (SWCK's contract, and where we differ)."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject as inj

LABEL = {"app": "demo", "swck-java-agent-injected": "true"}
JAR = "-javaagent:/sky/agent/skywalking-agent.jar"
COPY = "mkdir -p /sky/agent && cp -r /skywalking/agent/* /sky/agent"


def container(name="app", **extra):
    out = {"name": name, "image": "%s:1" % name}
    out.update(extra)
    return out


def template(annotations=None, labels=None, containers=None, **spec):
    meta = {"labels": dict(LABEL if labels is None else labels)}
    if annotations is not None:
        meta["annotations"] = dict(annotations)
    body = {"containers": [container()] if containers is None else containers}
    body.update(spec)
    return {"metadata": meta, "spec": body}


def workload(kind="Deployment", ns="apps", **tpl):
    t = template(**tpl)
    obj = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "demo", "namespace": ns}}
    if kind == "Pod":
        obj["apiVersion"] = "v1"
        obj["metadata"].update(t["metadata"])
        obj["spec"] = t["spec"]
    elif kind == "CronJob":
        obj["apiVersion"] = "batch/v1"
        obj["spec"] = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": t}}}
    else:
        obj["spec"] = {"selector": {"matchLabels": {"app": "demo"}}, "template": t}
    return obj


def swagent(name, ns="apps", **spec):
    return {"apiVersion": inj.SWAGENT_API_VERSION, "kind": "SwAgent", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def tpl_of(obj):
    path = inj.template_path(obj)
    for key in path:
        obj = obj[key]
    return obj


def c(obj, name="app"):
    return [x for x in tpl_of(obj)["spec"]["containers"] if x["name"] == name][0]


def env(obj, name="app", var="JAVA_TOOL_OPTIONS"):
    found = [e for e in c(obj, name).get("env", []) if e["name"] == var]
    return found[-1].get("value") if found else None


def init(obj):
    return tpl_of(obj)["spec"]["initContainers"][-1]


def script(obj):
    return init(obj)["args"][-1]


A = inj.AGENT_PREFIX
P = inj.PLUGINS_PREFIX
S = inj.SIDECAR_PREFIX

# (id, object, inject_object kwargs, expected status, check(obj, report) or None)
CASES = [
    ("default injection", workload(), {}, "injected", lambda o, r: (
        init(o) == {"name": "inject-skywalking-agent", "image": "apache/skywalking-java-agent:9.7.0-java8",
                    "command": ["sh"], "args": ["-c", COPY],
                    "volumeMounts": [{"name": "sky-agent", "mountPath": "/sky/agent"}]}
        and tpl_of(o)["spec"]["volumes"] == [{"name": "sky-agent", "emptyDir": {}}]
        and c(o)["volumeMounts"] == [{"name": "sky-agent", "mountPath": "/sky/agent"}]
        and c(o)["env"] == [{"name": "JAVA_TOOL_OPTIONS", "value": JAR}]
        and tpl_of(o)["metadata"]["annotations"]["sidecar.skywalking.apache.org/succeed"] == "true"
        and tpl_of(o)["metadata"]["annotations"]["swck-java-agent-injected"] == "true"
        and r["containers"] == ["app"] and r["changed"])),
    ("label value is case-insensitive", workload(labels={"swck-java-agent-injected": "TRUE"}), {}, "injected", None),
    ("label false is skipped", workload(labels={"swck-java-agent-injected": "false"}), {}, "skipped",
     lambda o, r: not r["changed"] and "not labelled" in r["reason"]),
    ("no label is skipped", workload(labels={"app": "x"}), {}, "skipped", None),
    ("a kind without pod template is skipped", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}, {},
     "skipped", lambda o, r: "no pod template" in r["reason"]),
    ("Pod", workload("Pod"), {}, "injected", lambda o, r: o["spec"]["initContainers"][0]["name"] == "inject-skywalking-agent"
     and o["metadata"]["annotations"][inj.SUCCEED_ANNOTATION] == "true"),
    ("StatefulSet", workload("StatefulSet"), {}, "injected", lambda o, r: env(o) == JAR),
    ("DaemonSet", workload("DaemonSet"), {}, "injected", lambda o, r: env(o) == JAR),
    ("Job", workload("Job"), {}, "injected", lambda o, r: env(o) == JAR),
    ("CronJob template is spec.jobTemplate.spec.template", workload("CronJob"), {}, "injected",
     lambda o, r: o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"][0]["image"].endswith("9.7.0-java8")
     and "initContainers" not in o["spec"]),
    ("bare pod template", template(), {}, "injected", lambda o, r: o["spec"]["containers"][0]["env"][0]["value"] == JAR),
    ("marked by SWCK's webhook is left alone", workload(annotations={inj.SUCCEED_ANNOTATION: "true"}), {}, "skipped",
     lambda o, r: "another injector" in r["reason"]),
    ("container regex selects one of two",
     workload(annotations={inj.CONTAINER_ANNOTATION: "^app$"}, containers=[container("app"), container("envoy")]), {},
     "injected", lambda o, r: r["containers"] == ["app"] and "env" not in c(o, "envoy") and "volumeMounts" not in c(o, "envoy")),
    ("container regex finds the pattern anywhere (Go MatchString)",
     workload(annotations={inj.CONTAINER_ANNOTATION: "app"}, containers=[container("my-app-1"), container("db")]), {},
     "injected", lambda o, r: r["containers"] == ["my-app-1"]),
    ("unset regex injects every container", workload(containers=[container("a"), container("b")]), {}, "injected",
     lambda o, r: r["containers"] == ["a", "b"] and env(o, "b") == JAR),
    ("invalid container regex is an error", workload(annotations={inj.CONTAINER_ANNOTATION: "app("}), {}, "error",
     lambda o, r: r["annotation"] == inj.CONTAINER_ANNOTATION and not r["changed"]
     and r["field"] == 'spec.template.metadata.annotations["%s"]' % inj.CONTAINER_ANNOTATION),
    ("container regex matching nothing is an error", workload(annotations={inj.CONTAINER_ANNOTATION: "^web$"}), {},
     "error", lambda o, r: "matches none" in r["reason"] and r["annotation"] == inj.CONTAINER_ANNOTATION),
    ("existing init containers stay first",
     workload(initContainers=[{"name": "migrate", "image": "m"}]), {}, "injected",
     lambda o, r: [x["name"] for x in tpl_of(o)["spec"]["initContainers"]] == ["migrate", "inject-skywalking-agent"]),
    ("existing JAVA_TOOL_OPTIONS is merged, not duplicated",
     workload(containers=[container(env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}, {"name": "X", "value": "1"}])]),
     {}, "injected", lambda o, r: c(o)["env"] == [
         {"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g " + JAR}, {"name": "X", "value": "1"}]),
    ("a value already loading the agent is kept",
     workload(containers=[container(env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-javaagent:/opt/skywalking-agent.jar"}])]),
     {}, "injected", lambda o, r: env(o) == "-javaagent:/opt/skywalking-agent.jar" and "kept" in r["warnings"][0]),
    ("JAVA_TOOL_OPTIONS from valueFrom cannot be merged",
     workload(containers=[container(env=[{"name": "JAVA_TOOL_OPTIONS", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}])]),
     {}, "error", lambda o, r: "valueFrom" in r["reason"] and "app" in r["reason"]),
    ("agent options in sorted order, agent.* before plugins.*",
     workload(annotations={A + "collector.backend_service": "oap:11800", A + "agent.service_name": "demo",
                           P + "plugin.jdbc.trace_sql_parameters": "true", P + "plugin.http.include_http_headers": "a"}),
     {}, "injected", lambda o, r: env(o) == JAR + "=agent.service_name=demo,collector.backend_service=oap:11800,"
     "plugin.http.include_http_headers=a,plugin.jdbc.trace_sql_parameters=true" and r["warnings"] == []),
    ("optional plugins copied in SWCK's form", workload(annotations={inj.OPTIONAL_ANNOTATION: "trace|webflux"}), {},
     "injected", lambda o, r: script(o) == COPY + ' && cd /sky/agent/optional-plugins/ && ls | grep -E "trace|webflux"'
     '  | xargs -i cp {} /sky/agent/plugins/'),
    ("three plugin families in SWCK's order",
     workload(annotations={inj.BOOTSTRAP_ANNOTATION: "jdk-threading", inj.OPTIONAL_REPORTER_ANNOTATION: "kafka",
                           inj.OPTIONAL_ANNOTATION: "trace"}), {}, "injected",
     lambda o, r: script(o).split(" && cd ")[1:] == [
         '/sky/agent/optional-plugins/ && ls | grep -E "trace"  | xargs -i cp {} /sky/agent/plugins/',
         '/sky/agent/optional-reporter-plugins/ && ls | grep -E "kafka"  | xargs -i cp {} /sky/agent/plugins/',
         '/sky/agent/bootstrap-plugins/ && ls | grep -E "jdk-threading"  | xargs -i cp {} /sky/agent/plugins/']),
    ("plugin annotation names are case-insensitive (as SWCK)",
     workload(annotations={"Optional.SkyWalking.apache.org": "trace"}), {}, "injected",
     lambda o, r: 'grep -E "trace"' in script(o) and r["warnings"] == []),
    ("an empty plugin alternative is an error", workload(annotations={inj.OPTIONAL_ANNOTATION: "trace||webflux"}), {},
     "error", lambda o, r: r["annotation"] == inj.OPTIONAL_ANNOTATION and "every plugin" in r["reason"]),
    ("a quote in a plugin pattern is an error", workload(annotations={inj.OPTIONAL_ANNOTATION: 'a"; rm -rf /'}), {},
     "error", lambda o, r: r["annotation"] == inj.OPTIONAL_ANNOTATION),
    ("init container name, image and command overrides",
     workload(annotations={S + "initcontainer.Name": "agent", S + "initcontainer.Image": "reg/agent:9.7.0-java17",
                           S + "initcontainer.Command": "/bin/sh"}), {}, "injected",
     lambda o, r: (init(o)["name"], init(o)["image"], init(o)["command"]) == ("agent", "reg/agent:9.7.0-java17", ["/bin/sh"])),
    ("args.Option and args.Command replace the copy (verbatim), plugins still appended",
     workload(annotations={S + "initcontainer.args.Option": "-ec", S + "initcontainer.args.Command": "cp -r /a /sky/agent",
                           inj.OPTIONAL_ANNOTATION: "trace"}), {}, "injected",
     lambda o, r: init(o)["args"] == [
         "-ec", 'cp -r /a /sky/agent && cd /sky/agent/optional-plugins/ && ls | grep -E "trace"  | xargs -i cp {} /sky/agent/plugins/']),
    ("init container resources from JSON annotations",
     workload(annotations={S + "initcontainer.resources.limits": '{"cpu": "200m", "memory": "64Mi"}',
                           S + "initcontainer.resources.requests": '{"cpu": 0.1, "hugepages-2Mi": "2Mi"}'}), {}, "injected",
     lambda o, r: init(o)["resources"] == {"limits": {"cpu": "200m", "memory": "64Mi"},
                                           "requests": {"cpu": 0.1, "hugepages-2Mi": "2Mi"}}),
    ("resources: invalid JSON", workload(annotations={S + "initcontainer.resources.limits": "{cpu: 1"}), {}, "error",
     lambda o, r: r["annotation"] == S + "initcontainer.resources.limits" and "JSON" in r["reason"]),
    ("resources: non-standard name", workload(annotations={S + "initcontainer.resources.limits": '{"gpu": "1"}'}), {},
     "error", lambda o, r: "standard resource" in r["reason"]),
    ("resources: quantity must be > 0", workload(annotations={S + "initcontainer.resources.requests": '{"cpu": "0"}'}), {},
     "error", lambda o, r: "greater than 0" in r["reason"] and r["annotation"] == S + "initcontainer.resources.requests"),
    ("resources: not a quantity", workload(annotations={S + "initcontainer.resources.limits": '{"memory": "lots"}'}), {},
     "error", lambda o, r: "not a quantity" in r["reason"]),
    ("sidecarVolume.Name renames the shared volume", workload(annotations={S + "sidecarVolume.Name": "agent-files"}), {},
     "injected", lambda o, r: tpl_of(o)["spec"]["volumes"] == [{"name": "agent-files", "emptyDir": {}}]
     and c(o)["volumeMounts"][0]["name"] == "agent-files" and init(o)["volumeMounts"][0]["name"] == "agent-files"),
    ("the mount path reaches copy command, -javaagent and plugin copy",
     workload(annotations={S + "sidecarVolumeMount.MountPath": "/opt/sw", inj.OPTIONAL_ANNOTATION: "trace"}), {}, "injected",
     lambda o, r: init(o)["args"] == ["-c", 'mkdir -p /opt/sw && cp -r /skywalking/agent/* /opt/sw && cd /opt/sw/optional-plugins/'
                                            ' && ls | grep -E "trace"  | xargs -i cp {} /opt/sw/plugins/']
     and env(o) == "-javaagent:/opt/sw/skywalking-agent.jar" and c(o)["volumeMounts"][0]["mountPath"] == "/opt/sw"
     and init(o)["volumeMounts"][0]["mountPath"] == "/opt/sw"),
    ("an invalid mount path is an error", workload(annotations={S + "sidecarVolumeMount.MountPath": "sky agent"}), {},
     "error", lambda o, r: r["annotation"] == S + "sidecarVolumeMount.MountPath"),
    ("env.Name renames the variable", workload(annotations={S + "env.Name": "JDK_JAVA_OPTIONS"}), {}, "injected",
     lambda o, r: env(o, var="JDK_JAVA_OPTIONS") == JAR and env(o) is None),
    ("env.Value replaces the agent part; options are appended",
     workload(annotations={S + "env.Value": "-javaagent:/x/agent.jar", A + "agent.service_name": "s"}), {}, "injected",
     lambda o, r: env(o) == "-javaagent:/x/agent.jar=agent.service_name=s"),
    ("empty service name is an error", workload(annotations={A + "agent.service_name": ""}), {}, "error",
     lambda o, r: r["annotation"] == A + "agent.service_name" and "service name" in r["reason"]),
    ("backend service: bad host", workload(annotations={A + "collector.backend_service": "oap_!:11800"}), {}, "error",
     lambda o, r: r["annotation"] == A + "collector.backend_service"),
    ("backend service: port out of range", workload(annotations={A + "collector.backend_service": "oap:70000"}), {},
     "error", lambda o, r: "port" in r["reason"]),
    ("backend service: IPv6 literal accepted, with a warning",
     workload(annotations={A + "collector.backend_service": "[::1]:11800,oap:11800"}), {}, "injected",
     lambda o, r: "collector.backend_service=[::1]:11800,oap:11800" in env(o) and "IPv6" in r["warnings"][0]),
    ("backend service: bare IPv6 is an error", workload(annotations={A + "collector.backend_service": "::1"}), {},
     "error", lambda o, r: "brackets" in r["reason"]),
    ("backend service: only commas is an error", workload(annotations={A + "collector.backend_service": " , "}), {},
     "error", lambda o, r: "no collector address" in r["reason"]),
    ("unknown agent key: warning naming the closest key", workload(annotations={A + "agent.sevice_name": "x"}), {},
     "injected", lambda o, r: r["warnings"] == ["%sagent.sevice_name: agent.sevice_name is not a configuration key of the "
                                                "Java agent 9.7.0 (did you mean agent.service_name?)" % A]),
    ("unknown sidecar field: warning", workload(annotations={S + "initcontainer.image": "x"}), {}, "injected",
     lambda o, r: "did you mean initcontainer.Image" in r["warnings"][0] and init(o)["image"].endswith("java8")),
    ("unknown skywalking annotation family: warning", workload(annotations={"optionals.skywalking.apache.org": "x"}), {},
     "injected", lambda o, r: "did you mean optional.skywalking.apache.org" in r["warnings"][0]),
    ("an option value with whitespace is an error", workload(annotations={A + "agent.service_name": "my app"}), {},
     "error", lambda o, r: "whitespace" in r["reason"]),
    ("the same option from agent.* and plugins.* is an error",
     workload(annotations={A + "plugin.mount": "a", P + "plugin.mount": "b"}), {}, "error",
     lambda o, r: "sets plugin.mount" in r["reason"]),
    ("no containers is an error", workload(containers=[]), {}, "error", lambda o, r: r["field"] == "spec.template.spec.containers"),
    ("volume name already used is an error, naming the template's volume (no default was given)",
     workload(volumes=[{"name": "sky-agent", "emptyDir": {}}]), {}, "error",
     lambda o, r: "volume named" in r["reason"] and r["field"] == "spec.template.spec.volumes[0].name"),
    ("volume name given in defaults and already used: the error names the default",
     workload(volumes=[{"name": "agent", "emptyDir": {}}]), {"defaults": {"volume_name": "agent"}}, "error",
     lambda o, r: "volume named" in r["reason"] and r["field"] == "defaults.volume_name"),
    ("init container name already used is an error", workload(initContainers=[container("inject-skywalking-agent")]), {},
     "error", lambda o, r: "container named" in r["reason"]),
    ("mount path already used is an error",
     workload(containers=[container(volumeMounts=[{"name": "x", "mountPath": "/sky/agent"}])]), {}, "error",
     lambda o, r: "already mounts" in r["reason"]),
    # defaults (role variables)
    ("defaults: image and backend service",
     workload(containers=[container("a"), container("b", env=[{"name": inj.BACKEND_ENV, "value": "mine:11800"}])]),
     {"defaults": {"image": "reg/skywalking-java-agent:9.7.0-alpine", "backend_service": "sw-oap.sw.svc:11800"}},
     "injected", lambda o, r: init(o)["image"] == "reg/skywalking-java-agent:9.7.0-alpine"
     and env(o, "a", inj.BACKEND_ENV) == "sw-oap.sw.svc:11800" and env(o, "b", inj.BACKEND_ENV) == "mine:11800"),
    ("defaults: CA secret mounted where the agent turns TLS on", workload(), {"defaults": {"ca_secret": "oap-ca"}}, "injected",
     lambda o, r: tpl_of(o)["spec"]["volumes"][1] == {"name": "sky-agent-ca", "secret": {"secretName": "oap-ca", "items": [
         {"key": "ca.crt", "path": "ca.crt"}]}}
     and c(o)["volumeMounts"][1] == {"name": "sky-agent-ca", "mountPath": "/sky/agent/ca", "readOnly": True}),
    ("defaults: container matcher, overridden by the annotation",
     workload(annotations={inj.CONTAINER_ANNOTATION: "b"}, containers=[container("a"), container("b")]),
     {"defaults": {"container_matcher": "a"}}, "injected", lambda o, r: r["containers"] == ["b"]),
    # SwAgent
    ("SwAgent: sidecar settings, env appended only where unset",
     workload(containers=[container(env=[{"name": "SW_AGENT_NAME", "value": "mine"}])]),
     {"swagents": [swagent("a", javaSidecar={"name": "sw-init", "image": "agent:9.6.0-java11", "env": [
         {"name": "SW_AGENT_NAME", "value": "theirs"}, {"name": "SW_AGENT_NAMESPACE", "value": "prod"}]})]},
     "injected", lambda o, r: init(o)["name"] == "sw-init" and init(o)["image"] == "agent:9.6.0-java11"
     and c(o)["env"] == [{"name": "SW_AGENT_NAME", "value": "mine"}, {"name": "JAVA_TOOL_OPTIONS", "value": JAR},
                         {"name": "SW_AGENT_NAMESPACE", "value": "prod"}] and r["swagents"] == ["apps/a"]),
    ("SwAgent: selector must match the template labels",
     workload(), {"swagents": [swagent("a", selector={"app": "other"}, javaSidecar={"image": "x"})]}, "injected",
     lambda o, r: r["swagents"] == [] and init(o)["image"].endswith("9.7.0-java8")),
    ("SwAgent: another namespace does not apply", workload(), {"swagents": [swagent("a", ns="other", javaSidecar={"image": "x"})]},
     "injected", lambda o, r: r["swagents"] == []),
    ("SwAgent: all matching apply by name, the last wins field by field",
     workload(), {"swagents": [swagent("b", javaSidecar={"image": "img-b"}),
                               swagent("a", javaSidecar={"image": "img-a", "name": "from-a"}, sharedVolumeName="vol-a")]},
     "injected", lambda o, r: r["swagents"] == ["apps/a", "apps/b"] and init(o)["image"] == "img-b"
     and init(o)["name"] == "from-a" and tpl_of(o)["spec"]["volumes"][0]["name"] == "vol-a"),
    ("precedence: annotation > SwAgent > defaults",
     workload(annotations={S + "initcontainer.Image": "from-annotation"}),
     {"defaults": {"image": "from-defaults", "init_container_name": "from-defaults"},
      "swagents": [swagent("a", javaSidecar={"image": "from-swagent", "name": "from-swagent"})]},
     "injected", lambda o, r: init(o)["image"] == "from-annotation" and init(o)["name"] == "from-swagent"),
    ("SwAgent plugins: the optional annotation replaces them, optional-reporter still applies",
     workload(annotations={inj.OPTIONAL_ANNOTATION: "webflux"}),
     {"swagents": [swagent("a", optionalPlugins=["trace", "kotlin"], optionalReporterPlugins=["kafka"])]}, "injected",
     lambda o, r: 'grep -E "webflux"' in script(o) and 'grep -E "kafka"' in script(o) and "trace" not in script(o)),
    ("SwAgent plugins joined with '|'", workload(), {"swagents": [swagent("a", bootstrapPlugins=["jdk-http", "jdk-threading"])]},
     "injected", lambda o, r: script(o).endswith('cd /sky/agent/bootstrap-plugins/ && ls | grep -E "jdk-http|jdk-threading"'
                                                 '  | xargs -i cp {} /sky/agent/plugins/')),
    ("SwAgent containerMatcher, overridden by the annotation",
     workload(containers=[container("a"), container("b")]), {"swagents": [swagent("m", containerMatcher="^a$")]}, "injected",
     lambda o, r: r["containers"] == ["a"]),
    ("SwAgent containerMatcher invalid: error names the SwAgent",
     workload(), {"swagents": [swagent("m", containerMatcher="[")]}, "error",
     lambda o, r: r["field"] == "SwAgent apps/m: spec.containerMatcher" and r["annotation"] is None),
    ("SwAgent command, args and resources are honoured (SWCK ignores them)",
     workload(), {"swagents": [swagent("a", javaSidecar={
         "command": ["/bin/bash"], "args": ["-c", "cp -r /skywalking/agent/* /sky/agent"], "resources": {"limits": {"memory": "32Mi"}}})]},
     "injected",
     lambda o, r: init(o)["command"] == ["/bin/bash"] and init(o)["args"] == ["-c", "cp -r /skywalking/agent/* /sky/agent"]
     and init(o)["resources"] == {"limits": {"memory": "32Mi"}}),
    ("SwAgent CRD-defaulted command is read as unset",
     workload(annotations={S + "sidecarVolumeMount.MountPath": "/opt/sw"}),
     {"swagents": [swagent("a", javaSidecar={"command": list(inj.SWAGENT_CRD_DEFAULT_COMMAND)})]}, "injected",
     lambda o, r: init(o)["command"] == ["sh"] and init(o)["args"][1].startswith("mkdir -p /opt/sw")),
    ("SwAgent resources validated", workload(), {"swagents": [swagent("a", javaSidecar={"resources": {"requests": {"cpu": "-1"}}})]},
     "error", lambda o, r: r["field"] == "SwAgent apps/a: spec.javaSidecar.resources.requests"),
]


@pytest.mark.parametrize("obj,kwargs,status,check", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_inject_table(obj, kwargs, status, check):
    before = copy.deepcopy(obj)
    outcome = inj.inject_object(obj, **kwargs)
    assert obj == before, "the input must not be modified"
    assert outcome.report["status"] == status, outcome.report
    if check is not None:
        assert check(outcome.obj, outcome.report), (json.dumps(outcome.obj, indent=1), outcome.report)
    if status == "error":
        assert outcome.obj == obj
        assert outcome.report["field"] in outcome.report["reason"]
    if status in ("injected", "error", "skipped"):
        again = inj.inject_object(outcome.obj, **kwargs)
        assert again.obj == outcome.obj
        assert again.report["status"] == {"injected": "already_injected"}.get(status, status)
        assert json.dumps(inj.remove_object(outcome.obj).obj) == json.dumps(obj), "removal restores the input exactly"


def test_case_count():
    assert len(CASES) >= 40


def test_annotation_change_updates_the_injection_and_keeps_user_values():
    obj = workload(annotations={A + "agent.service_name": "one"},
                   containers=[container(env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-Xss1m"}])])
    first = inj.inject(obj)
    edited = copy.deepcopy(first)
    tpl_of(edited)["metadata"]["annotations"][A + "agent.service_name"] = "two"
    outcome = inj.inject_object(edited)
    assert outcome.report["status"] == "updated"
    assert env(outcome.obj) == "-Xss1m " + JAR + "=agent.service_name=two"
    assert [e["name"] for e in c(outcome.obj)["env"]] == ["JAVA_TOOL_OPTIONS"]
    assert len(tpl_of(outcome.obj)["spec"]["initContainers"]) == 1


def test_unlabelled_after_injection_is_removed():
    obj = workload(annotations={A + "agent.service_name": "one"})
    injected = inj.inject(obj)
    tpl_of(injected)["metadata"]["labels"]["swck-java-agent-injected"] = "false"
    outcome = inj.inject_object(injected)
    expected = copy.deepcopy(obj)
    tpl_of(expected)["metadata"]["labels"]["swck-java-agent-injected"] = "false"
    assert outcome.report["status"] == "removed"
    assert json.dumps(outcome.obj) == json.dumps(expected)


def test_live_object_with_server_defaults_is_already_injected():
    injected = inj.inject(workload())
    live = copy.deepcopy(injected)
    live["metadata"].update(uid="u", resourceVersion="7")
    for item in tpl_of(live)["spec"]["initContainers"] + tpl_of(live)["spec"]["containers"]:
        item.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log", resources={})
    tpl_of(live)["spec"]["dnsPolicy"] = "ClusterFirst"
    outcome = inj.inject_object(live)
    assert outcome.report["status"] == "already_injected"
    assert outcome.obj == live and not outcome.report["changed"]


def test_invalid_edit_of_an_injected_workload_keeps_the_old_injection():
    injected = inj.inject(workload())
    broken = copy.deepcopy(injected)
    tpl_of(broken)["metadata"]["annotations"][inj.CONTAINER_ANNOTATION] = "("
    outcome = inj.inject_object(broken)
    assert outcome.report["status"] == "error"
    assert outcome.obj == broken


def test_mark_errors_writes_on_the_workload_not_the_template_and_success_clears_it():
    bad = workload(annotations={A + "agent.service_name": ""})
    outcome = inj.inject_object(bad, mark_errors=True)
    assert outcome.report["status"] == "error"
    assert outcome.obj["metadata"]["annotations"][inj.ERROR_ANNOTATION] == outcome.report["reason"]
    assert tpl_of(outcome.obj) == tpl_of(bad)
    fixed = copy.deepcopy(outcome.obj)
    tpl_of(fixed)["metadata"]["annotations"][A + "agent.service_name"] = "ok"
    good = inj.inject_object(fixed, mark_errors=True)
    assert good.report["status"] == "injected"
    assert inj.ERROR_ANNOTATION not in good.obj["metadata"]["annotations"]


def test_env_var_without_value_is_merged_and_restored():
    obj = workload(containers=[container(env=[{"name": "JAVA_TOOL_OPTIONS"}])])
    injected = inj.inject(obj)
    assert c(injected)["env"] == [{"name": "JAVA_TOOL_OPTIONS", "value": JAR}]
    assert json.dumps(inj.remove(injected)) == json.dumps(obj)


def test_removal_survives_user_edits_after_injection():
    obj = workload(containers=[container(env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}])])
    injected = inj.inject(obj)
    c(injected)["env"][0]["value"] = c(injected)["env"][0]["value"].replace("-Xmx1g", "-Xmx2g")
    c(injected)["image"] = "app:2"
    removed = inj.remove(injected)
    assert c(removed) == {"name": "app", "image": "app:2", "env": [{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx2g"}]}


def test_remove_statuses():
    assert inj.remove_object(workload()).report["status"] == "not_injected"
    swck = workload(annotations={inj.SUCCEED_ANNOTATION: "true"})
    assert inj.remove_object(swck).report["status"] == "skipped"
    corrupt = workload(annotations={inj.RECORD_ANNOTATION: "{nope"})
    outcome = inj.remove_object(corrupt)
    assert outcome.report["status"] == "error" and outcome.report["annotation"] == inj.RECORD_ANNOTATION
    with pytest.raises(inj.InjectionError) as info:
        inj.remove(corrupt)
    assert info.value.annotation == inj.RECORD_ANNOTATION


def test_strict_inject_raises_naming_the_annotation():
    with pytest.raises(inj.InjectionError) as info:
        inj.inject(workload(annotations={inj.CONTAINER_ANNOTATION: "*"}))
    assert info.value.annotation == inj.CONTAINER_ANNOTATION
    assert isinstance(info.value, SpecError)
    assert str(info.value).startswith('spec.template.metadata.annotations["strategy.skywalking.apache.org/inject.Container"]: ')


@pytest.mark.parametrize("defaults,field", [
    ({"imagee": "x"}, "defaults.imagee"),
    ({"mount_path": ""}, "defaults.mount_path"),
    ({"command": "sh"}, "defaults.command"),
    ({"backend_service": "a:b"}, "defaults.backend_service"),
    ({"resources": {"limits": {"cpu": "0"}}}, "defaults.resources.limits"),
    ({"env": [{"value": "x"}]}, "defaults.env[0]"),
    ({"container_matcher": "("}, "defaults.container_matcher"),
    ("image", "defaults"),
])
def test_invalid_defaults_raise(defaults, field):
    with pytest.raises(SpecError) as info:
        inj.inject_object(workload(), defaults)
    assert info.value.field == field


def test_unknown_default_suggests_the_closest():
    with pytest.raises(SpecError, match="did you mean image"):
        inj.effective_defaults({"imagee": "x"})


@pytest.mark.parametrize("swagents,field", [
    ([{"kind": "ConfigMap", "metadata": {"name": "x"}}], "swagents[0].kind"),
    ([{"kind": "SwAgent", "metadata": {}}], "swagents[0].metadata.name"),
    (["x"], "swagents[0]"),
])
def test_invalid_swagent_arguments_raise(swagents, field):
    with pytest.raises(SpecError) as info:
        inj.inject_object(workload(), swagents=swagents)
    assert info.value.field == field


@pytest.mark.parametrize("value,ok,warnings", [
    ("oap:11800", True, 0),
    ("oap.skywalking.svc.cluster.local:11800", True, 0),
    ("10.0.0.1:11800,10.0.0.2:11800", True, 0),
    (" oap:11800 ,sat:11800 ", True, 0),
    (" oap:11800 , ,sat:11800", False, 0),  # an empty address (a stray ',') is refused
    ("oap:11800,", False, 0),
    ("oap", True, 1),
    ("[::1]:11800", True, 1),
    ("[2001:db8::1]", True, 2),
    ("[::1", False, 0),
    ("[zz::1]:11800", False, 0),
    ("[::1]11800", False, 0),
    ("2001:db8::1", False, 0),
    ("oap:0", False, 0),
    ("oap:x", False, 0),
    (":11800", False, 0),
    ("-bad:11800", False, 0),
    ("", False, 0),
    (",", False, 0),
])
def test_backend_services(value, ok, warnings):
    if ok:
        assert len(inj.validate_backend_services(value)) == warnings
    else:
        with pytest.raises(inj.InjectionError):
            inj.validate_backend_services(value)


@pytest.mark.parametrize("kwargs,expected", [
    ({"cluster": "sw", "namespace": "skywalking"}, "sw-oap.skywalking.svc:11800"),
    ({"cluster": "sw", "namespace": "skywalking", "satellite": True}, "sw-satellite.skywalking.svc:11800"),
    ({"cluster": "sw", "namespace": "obs", "oap_service": "sw-oap-receiver"}, "sw-oap-receiver.obs.svc:11800"),
    ({"cluster": "sw", "namespace": "obs", "satellite": True, "satellite_service": "sat", "port": 11900},
     "sat.obs.svc:11900"),
    ({"cluster": "sw", "namespace": "obs", "cluster_domain": "cluster.local."}, "sw-oap.obs.svc.cluster.local:11800"),
])
def test_collector_address(kwargs, expected):
    assert inj.collector_address(**kwargs) == expected
    assert inj.validate_backend_services(expected) == []


@pytest.mark.parametrize("kwargs,field", [
    ({"cluster": "sw", "namespace": "Bad_NS"}, "namespace"),
    ({"cluster": "SW", "namespace": "obs"}, "oap_service"),
    ({"cluster": "sw", "namespace": "obs", "satellite": True, "satellite_service": "a.b"}, "satellite_service"),
    ({"cluster": "sw", "namespace": "obs", "port": 0}, "port"),
])
def test_collector_address_errors(kwargs, field):
    with pytest.raises(SpecError) as info:
        inj.collector_address(**kwargs)
    assert info.value.field == field


def test_agent_keys_module_matches_the_agent_release():
    assert len(inj.AGENT_CONFIG_KEYS) == 149, "the reference file's 143 and the 6 keys with a digit it dropped"
    assert {"agent.sample_n_per_3_secs", "osinfo.ipv4_list_size", "plugin.neo4j.cypher_body_max_length"} \
        <= inj.AGENT_CONFIG_KEYS
    outcome = inj.inject_object(workload(annotations={"agent.skywalking.apache.org/agent.sample_n_per_3_secs": "10"}))
    assert outcome.report["status"] == "injected" and outcome.report["warnings"] == [], outcome.report
    assert {"agent.service_name", "collector.backend_service", "plugin.jdbc.trace_sql_parameters"} <= inj.AGENT_CONFIG_KEYS
    assert inj.closest_agent_key("collector.backend_services") == "collector.backend_service"
    assert inj.closest_agent_key("zzzz") is None


def test_record_holds_no_user_value():
    secret = "-Djavax.net.ssl.trustStorePassword=hunter2"
    obj = workload(containers=[container(env=[{"name": "JAVA_TOOL_OPTIONS", "value": secret},
                                              {"name": "TOKEN", "value": "hunter3"}])])
    record = tpl_of(inj.inject(obj))["metadata"]["annotations"][inj.RECORD_ANNOTATION]
    assert "hunter2" not in record and "hunter3" not in record


def test_is_injected():
    assert not inj.is_injected(workload())
    assert inj.is_injected(inj.inject(workload("CronJob")))
    assert not inj.is_injected({"kind": "Service"})


def test_injected_fields_hold_only_what_the_injection_set():
    obj = workload("CronJob", annotations={"keep": "me"}, containers=[
        container("app", env=[{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}, {"name": "TZ", "value": "UTC"}],
                  ports=[{"containerPort": 8080}]),
        container("envoy")], initContainers=[container("migrate")])
    tpl_of(obj)["metadata"]["annotations"][inj.CONTAINER_ANNOTATION] = "^app$"
    injected = inj.inject(obj, {"backend_service": "oap:11800"})
    body = inj.injected_fields(injected)
    assert set(body) == {"apiVersion", "kind", "metadata", "spec"}
    assert body["metadata"] == {"name": "demo", "namespace": "apps"}
    tpl = body["spec"]["jobTemplate"]["spec"]["template"]
    assert set(tpl["metadata"]["annotations"]) == {inj.SUCCEED_ANNOTATION, inj.INJECTED_ANNOTATION, inj.RECORD_ANNOTATION}
    assert [c["name"] for c in tpl["spec"]["initContainers"]] == ["inject-skywalking-agent"]
    assert tpl["spec"]["volumes"] == [{"name": "sky-agent", "emptyDir": {}}]
    assert tpl["spec"]["containers"] == [{"name": "app", "volumeMounts": [{"name": "sky-agent", "mountPath": "/sky/agent"}],
                                          "env": [{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g " + JAR},
                                                  {"name": inj.BACKEND_ENV, "value": "oap:11800"}]}]
    assert inj.injected_fields(obj) is None
    pod = inj.injected_fields(inj.inject(workload("Pod")))
    assert pod["metadata"]["annotations"][inj.SUCCEED_ANNOTATION] == "true" and pod["spec"]["containers"][0]["name"] == "app"


def test_server_normalised_quantities_still_count_as_injected():
    obj = workload(annotations={S + "initcontainer.resources.requests": '{"cpu": 0.1, "memory": "64Mi"}'})
    live = inj.inject(obj)
    init(live)["resources"]["requests"] = {"cpu": "100m", "memory": "64Mi"}
    assert inj.inject_object(live).report["status"] == "already_injected"
    init(live)["resources"]["requests"]["cpu"] = "200m"
    assert inj.inject_object(live).report["status"] == "updated"


@pytest.mark.parametrize("field,value", [("command", "sh -c cp"), ("args", [1, 2])])
def test_swagent_command_and_args_must_be_string_lists(field, value):
    outcome = inj.inject_object(workload(), swagents=[swagent("a", javaSidecar={field: value})])
    assert outcome.report["status"] == "error"
    assert outcome.report["field"] == "SwAgent apps/a: spec.javaSidecar.%s" % field


def test_list_kind_output_shares_nothing_with_the_input():
    data = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [workload()]}
    out, reports = inj.inject_all(data)
    assert [r["status"] for r in reports] == ["injected"]
    out["metadata"]["resourceVersion"] = "changed"
    assert data["metadata"]["resourceVersion"] == ""


@pytest.mark.parametrize("spec,expected", [
    ({"name": "sw", "namespace": "obs", "satellite": {"enabled": False}, "oap": {"tls": {"grpc": {"secret": None}}}},
     {"backend_service": "sw-oap.obs.svc:11800"}),
    ({"name": "sw", "namespace": "obs", "satellite": {"enabled": True}, "oap": {"tls": {"grpc": {"secret": "oap-tls"}}}},
     {"backend_service": "sw-satellite.obs.svc:11800"}),
    ({"name": "sw", "namespace": "obs", "satellite": {"enabled": False}, "oap": {"tls": {"grpc": {"secret": "oap-tls", "ca": "root.pem"}}}},
     {"backend_service": "sw-oap.obs.svc:11800", "ca_secret": "sw-agent-ca", "ca_secret_key": "ca.crt"}),
])
def test_cluster_agent_defaults(spec, expected):
    defaults = inj.cluster_agent_defaults(spec)
    assert defaults == expected
    assert inj.effective_defaults(defaults)["backend_service"] == expected["backend_service"]
