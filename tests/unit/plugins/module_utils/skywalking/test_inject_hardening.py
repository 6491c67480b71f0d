# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Odd and hostile input to the pure injection layer: one clear error naming the field, never a traceback."""

from __future__ import annotations

import copy
import json
import time

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject as inj
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.spec import ENV_VAR_LIMIT

LABEL = {"app": "demo", "swck-java-agent-injected": "true"}
A = inj.AGENT_PREFIX
S = inj.SIDECAR_PREFIX
REC = 'metadata.annotations["%s"]' % inj.RECORD_ANNOTATION
TPL = "spec.template"


def deployment(annotations=None, containers=None, labels=None, **spec):
    meta = {"labels": dict(LABEL if labels is None else labels)}
    if annotations is not None:
        meta["annotations"] = annotations
    body = {"containers": [{"name": "app", "image": "app:1"}] if containers is None else containers}
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "demo", "namespace": "apps"},
            "spec": {"selector": {"matchLabels": {"app": "demo"}}, "template": {"metadata": meta, "spec": body}}}


def swagent(name="java", ns="apps", **spec):
    return {"apiVersion": inj.SWAGENT_API_VERSION, "kind": "SwAgent", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def tpl(obj):
    return obj["spec"]["template"]


def run(obj, **kwargs):
    outcome = inj.inject_object(obj, **kwargs)
    return outcome.obj, outcome.report


def error_of(obj, **kwargs):
    _obj, report = run(obj, **kwargs)
    assert report["status"] == inj.ERROR, report
    assert report["reason"].startswith(report["field"] + ": ")
    return report


def defaults_error(defaults):
    """Invalid defaults are the caller's error: ``effective_defaults`` and ``inject_object`` raise it, naming the key."""
    with pytest.raises(SpecError) as err:
        inj.effective_defaults(defaults)
    with pytest.raises(SpecError) as again:
        inj.inject_object(deployment(), defaults=defaults)
    assert str(again.value) == str(err.value)
    return err.value


def with_record(record):
    obj = inj.inject_object(deployment()).obj
    tpl(obj)["metadata"]["annotations"][inj.RECORD_ANNOTATION] = record
    return obj


# --- 1. no tracebacks -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["oap:\u00b2", "oap:\u0661\u0661", "oap:11800\n", "oap:1\u00b2"])
def test_odd_ports_in_the_backend_annotation_name_it(value):
    report = error_of(deployment({A + "collector.backend_service": value}))
    assert report["annotation"] == A + "collector.backend_service"


@pytest.mark.parametrize("value", ["oap:\u00b2", "oap:11800\n"])
def test_odd_ports_in_defaults_name_the_default(value):
    with pytest.raises(SpecError) as err:
        inj.effective_defaults({"backend_service": value})
    assert err.value.field == "defaults.backend_service"


@pytest.mark.parametrize("text", ['{"cpu": NaN}', '{"cpu": Infinity}', '{"cpu": 1e999}', '{"memory": -Infinity}'])
def test_non_finite_resource_annotations_name_it(text):
    key = S + "initcontainer.resources.limits"
    report = error_of(deployment({key: text}))
    assert report["annotation"] == key


@pytest.mark.parametrize("text", ['{"cpu": "1e999"}', '{"memory": "8Ei"}', '{"memory": "9223372036854775808"}'])
def test_quantities_the_server_would_cap_are_refused(text):
    key = S + "initcontainer.resources.limits"
    report = error_of(deployment({key: text}))
    assert report["annotation"] == key and "2^63-1" in report["reason"]


def test_the_largest_quantity_the_server_keeps_is_accepted():
    inj.validate_resource_list({"memory": "9223372036854775807"}, "defaults.resources.limits")


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), 1e999, "1e999"])
def test_non_finite_resource_defaults_name_the_default(amount):
    with pytest.raises(SpecError) as err:
        inj.effective_defaults({"resources": {"requests": {"cpu": amount}}})
    assert err.value.field == "defaults.resources.requests"


@pytest.mark.parametrize("record", [
    "not json", "[1, 2]", "{}", json.dumps({"v": 1}), json.dumps({"v": 1, "containers": []}),
    json.dumps({"v": 1, "containers": {"app": "x"}}),
    json.dumps({"v": 1, "containers": {"app": {"mode": 3}}}),
    json.dumps({"v": 1, "containers": {"app": {"addedEnv": "SW_X"}}}),
    json.dumps({"v": 1, "containers": {"app": {"created": {"env": 1}}}}),
    json.dumps({"v": 1, "containers": {}, "volumes": "sky-agent"}),
    json.dumps({"v": 1, "containers": {}, "volumes": [["sky-agent"]]}),
    json.dumps({"v": 1, "containers": {}, "mounts": [1]}),
    json.dumps({"v": 1, "containers": {}, "env": ["JAVA_TOOL_OPTIONS"]}),
    json.dumps({"v": 1, "containers": {}, "token": {}}),
    json.dumps({"v": 1, "containers": {}, "initContainer": ["x"]}),
    json.dumps({"v": 1, "containers": {}, "created": []}),
    json.dumps({"v": 1, "containers": {}, "annotations": "x"}),
    json.dumps({"v": "1", "containers": {}}),
    "[" * 100000, 5, None,
])
@pytest.mark.parametrize("state", ["present", "absent"])
def test_damaged_record_is_one_error_naming_the_annotation(record, state):
    obj = with_record(record)
    if record is None:
        tpl(obj)["metadata"]["annotations"][inj.RECORD_ANNOTATION] = None
    outcome = inj.inject_object(obj) if state == "present" else inj.remove_object(obj)
    report = outcome.report
    if record is None:  # a null annotation: the API server drops it, so the template reads as injected elsewhere
        assert report["status"] in (inj.SKIPPED, inj.NOT_INJECTED, inj.ERROR)
        return
    assert report["status"] == inj.ERROR, report
    assert report["field"] == "%s.%s" % (TPL, REC)
    assert report["annotation"] == inj.RECORD_ANNOTATION


@pytest.mark.parametrize("agent, field", [
    ({"kind": "SwAgent", "metadata": "x", "spec": {}}, "swagents[0].metadata"),
    ({"kind": "SwAgent", "metadata": {"name": "a"}, "spec": "x"}, "swagents[0].spec"),
    ({"kind": "SwAgent", "metadata": {"name": "a"}, "spec": ["x"]}, "swagents[0].spec"),
    ({"kind": "SwAgent", "metadata": {"name": 5}, "spec": {}}, "swagents[0].metadata.name"),
    ({"kind": "SwAgent", "metadata": {"name": "a", "namespace": 5}}, "swagents[0].metadata.namespace"),
    (swagent(javaSidecar="x"), "swagents[0].spec.javaSidecar"),
    (swagent(javaSidecar={"resources": "x"}), "swagents[0].spec.javaSidecar.resources"),
    (swagent(javaSidecar={"resources": {"limits": {"cpu": float("nan")}}}),
     "swagents[0].spec.javaSidecar.resources.limits"),
    (swagent(javaSidecar={"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}}),
     "swagents[0].spec.javaSidecar.resources"),
    (swagent(javaSidecar={"env": "x"}), "swagents[0].spec.javaSidecar.env"),
    (swagent(javaSidecar={"env": [{"name": 5}]}), "swagents[0].spec.javaSidecar.env[0]"),
    (swagent(javaSidecar={"args": "x"}), "swagents[0].spec.javaSidecar.args"),
    (swagent(javaSidecar={"command": [1]}), "swagents[0].spec.javaSidecar.command"),
    (swagent(javaSidecar={"name": "Bad_Name"}), "swagents[0].spec.javaSidecar.name"),
    (swagent(javaSidecar={"image": "a b"}), "swagents[0].spec.javaSidecar.image"),
    (swagent(sharedVolumeName="Bad Name"), "swagents[0].spec.sharedVolumeName"),
    (swagent(containerMatcher=5), "swagents[0].spec.containerMatcher"),
    (swagent(containerMatcher="("), "swagents[0].spec.containerMatcher"),
    (swagent(optionalPlugins=[1]), "swagents[0].spec.optionalPlugins"),
    (swagent(optionalPlugins=["-v"]), "swagents[0].spec.optionalPlugins"),
    (swagent(bootstrapPlugins="a||b"), "swagents[0].spec.bootstrapPlugins"),
    (swagent(selector={"app": "x", 5: "y"}), "swagents[0].spec.selector"),
])
def test_bad_swagents_raise_naming_the_field_even_without_workloads(agent, field):
    with pytest.raises(SpecError) as err:
        inj.inject_all([], swagents=[agent])
    assert err.value.field == field
    assert "spec.spec" not in str(err.value)


def test_bad_swagent_in_the_input_is_named_by_its_name():
    with pytest.raises(SpecError) as err:
        inj.inject_all([swagent("java", containerMatcher="(a+)+$")])
    assert err.value.field == "SwAgent apps/java: spec.containerMatcher"


def test_int_annotation_key_is_an_error_naming_the_annotations():
    report = error_of(deployment({5: "x"}))
    assert report["field"] == TPL + ".metadata.annotations"


@pytest.mark.parametrize("value", [{"name": "x"}, "x", 5])
def test_init_containers_not_a_list(value):
    report = error_of(deployment(initContainers=value))
    assert report["field"] == TPL + ".spec.initContainers"


@pytest.mark.parametrize("containers, field", [
    ([{"image": "x"}], ".spec.containers[0].name"),
    ([{"name": 5}], ".spec.containers[0].name"),
    (["app"], ".spec.containers[0]"),
    ({"name": "app"}, ".spec.containers"),
    ([{"name": "app", "env": {"A": "b"}}], ".spec.containers[0].env"),
    ([{"name": "app", "volumeMounts": "x"}], ".spec.containers[0].volumeMounts"),
])
def test_odd_containers_name_the_field(containers, field):
    report = error_of(deployment(containers=containers))
    assert report["field"] == TPL + field


@pytest.mark.parametrize("state", ["present", "absent"])
def test_odd_containers_on_an_injected_workload_do_not_crash(state):
    obj = inj.inject_object(deployment()).obj
    for odd in ({"image": "x"}, "x", {"name": 5, "volumeMounts": "x", "env": 3}):
        broken = copy.deepcopy(obj)
        tpl(broken)["spec"]["containers"].append(odd)
        tpl(broken)["spec"]["initContainers"].append(odd)
        tpl(broken)["spec"]["volumes"].append(odd)
        outcome = inj.inject_object(broken) if state == "present" else inj.remove_object(broken)
        assert outcome.report["status"] in (inj.ERROR, inj.REMOVED, inj.UPDATED)


def test_odd_kinds_and_metadata_do_not_crash():
    for obj in ({"kind": ["Deployment"]}, {"kind": "Deployment", "spec": "x"}, {"kind": "Pod", "metadata": "x"},
                {"kind": "Deployment", "spec": {"template": {"metadata": "x", "spec": {"containers": []}}}}):
        for outcome in (inj.inject_object(obj, mark_errors=True), inj.remove_object(obj, mark_errors=True)):
            assert outcome.report["status"] in (inj.ERROR, inj.SKIPPED, inj.NOT_INJECTED)


def test_recursive_input_is_refused():
    loop = []
    loop.append(loop)
    with pytest.raises(SpecError) as err:
        inj.inject_all(loop)
    assert "refers to itself" in str(err.value)


# --- 2. RE2 / ReDoS ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, word", [
    (r"(a)\1", "backreference"), (r"(?=a)b", "lookahead"), (r"(?<!a)b", "lookbehind"), (r"^(a+)+b", "exponential"),
    (r"(a*b*)*c", "exponential"), (r"(\w+\s?)+$", "exponential"), (r"(x+){2,}", "exponential"), (r"a{2000}", "1000"),
    (r"(?x) a", "flag"), (r"a\Z", "\\Z"), ("a++", "possessive"), ("(?>a)", "atomic"), ("(a)?(?(1)b)", "conditional"),
])
@pytest.mark.parametrize("where", ["defaults", "annotation", "swagent"])
def test_non_re2_and_exponential_container_matchers_are_refused(pattern, word, where):
    if where == "defaults":
        with pytest.raises(SpecError) as err:
            inj.effective_defaults({"container_matcher": pattern})
        assert err.value.field == "defaults.container_matcher"
        assert word in str(err.value)
    elif where == "annotation":
        report = error_of(deployment({inj.CONTAINER_ANNOTATION: pattern}))
        assert report["annotation"] == inj.CONTAINER_ANNOTATION and word in report["reason"]
    else:
        with pytest.raises(SpecError) as err:
            inj.inject_all([deployment()], swagents=[swagent(containerMatcher=pattern)])
        assert err.value.field == "swagents[0].spec.containerMatcher"
        assert word in str(err.value)


@pytest.mark.parametrize("pattern, names, chosen", [
    ("^app$", ["app", "app2"], ["app"]), ("app", ["my-app", "db"], ["my-app"]), ("(?i)^APP", ["app-1"], ["app-1"]),
    ("^(web|api)-[0-9]+$", ["web-1", "api-x", "api-22"], ["web-1", "api-22"]), ("a{2,3}", ["aa", "a"], ["aa"]),
    (r"^\w+$", ["abc", "a-b"], ["abc"]), ("^[^d]", ["db", "app"], ["app"]), ("", ["a", "b"], ["a", "b"]),
])
def test_re2_matcher_selects_like_go(pattern, names, chosen):
    obj = deployment({inj.CONTAINER_ANNOTATION: pattern} if pattern else None,
                     containers=[{"name": n, "image": n} for n in names])
    _obj, report = run(obj)
    assert report["containers"] == chosen


@pytest.mark.parametrize("pattern, text", [("(a|b)*c(d|e)*f", "ab" * 20000), ("(a|aa)+$", "a" * 20000 + "!")])
def test_re2_matching_is_linear(pattern, text):
    compiled = inj.compile_re2(pattern)
    start = time.monotonic()
    assert not compiled.search(text)
    assert time.monotonic() - start < 5


# --- 3. anchoring -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value", [
    ("mount_path", "/sky/agent\n"), ("env_name", "JAVA_TOOL_OPTIONS\n"), ("volume_name", "sky\n"),
    ("init_container_name", "init\n"),
])
def test_trailing_newline_is_refused(key, value):
    assert defaults_error({key: value}).field == "defaults.%s" % key


@pytest.mark.parametrize("value", ["sw-oap\n", "sw-oap.ns\n"])
def test_collector_address_refuses_trailing_newlines(value):
    with pytest.raises(SpecError):
        inj.collector_address("sw", value)
    with pytest.raises(SpecError):
        inj.collector_address("sw", "ns", oap_service=value)


# --- 4. mount path ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/skywalking/agent", "/skywalking", "/skywalking/agent/x", "/", "sky/agent", "/sky/../agent", "/sky/./agent",
    "/sky//agent", "/sky/agent/", "/bin", "/usr", "/etc", "/proc/x", "/sky/agent\n", "/sky agent",
])
@pytest.mark.parametrize("where", ["defaults", "annotation"])
def test_bad_mount_paths_are_refused_naming_the_field(path, where):
    if where == "defaults":
        assert defaults_error({"mount_path": path}).field == "defaults.mount_path"
    else:
        key = S + "sidecarVolumeMount.MountPath"
        report = error_of(deployment({key: path}))
        assert report["annotation"] == key


@pytest.mark.parametrize("path", ["/sky/agent", "/opt/sw", "/skywalking-agent", "/skywalking/agent2", "/a.b/c_d",
                                  "/etc/sky"])
def test_good_mount_paths(path):
    _obj, report = run(deployment(), defaults={"mount_path": path})
    assert report["status"] == inj.INJECTED


# --- 5. plugin patterns -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [["-v"], "-v", ["-e", "trace"], ["--help"]])
def test_plugin_patterns_starting_with_a_dash_are_refused(value):
    err = defaults_error({"optional_plugins": value})
    assert err.field == "defaults.optional_plugins" and "'-'" in err.problem
    report = error_of(deployment({inj.OPTIONAL_ANNOTATION: value if isinstance(value, str) else "|".join(value)}))
    assert report["annotation"] == inj.OPTIONAL_ANNOTATION


def test_plugin_patterns_with_an_inner_dash_are_fine():
    _obj, report = run(deployment(), defaults={"optional_plugins": ["trace-ignore", "a|b-c"]})
    assert report["status"] == inj.INJECTED


# --- 6. init container resources --------------------------------------------------------------------------------

def test_limits_below_requests_in_defaults_are_refused_naming_both():
    with pytest.raises(SpecError) as err:
        inj.effective_defaults({"resources": {"limits": {"cpu": "100m"}, "requests": {"cpu": "0.2"}}})
    assert err.value.field == "defaults.resources"
    assert "100m" in str(err.value) and "0.2" in str(err.value)
    assert "limits" in str(err.value) and "requests" in str(err.value)


def test_limits_below_requests_across_layers_name_both_sources():
    lim, req = S + "initcontainer.resources.limits", S + "initcontainer.resources.requests"
    report = error_of(deployment({lim: '{"memory": "64Mi"}'}), defaults={"resources": {"requests": {"memory": "128Mi"}}})
    assert report["annotation"] == lim
    assert "defaults.resources.requests" in report["reason"] and "64Mi" in report["reason"]
    report = error_of(deployment({req: '{"memory": "1Gi"}'}), defaults={"resources": {"limits": {"memory": "128Mi"}}})
    assert report["annotation"] == req and "defaults.resources.limits" in report["reason"]


def test_equal_limits_and_requests_are_fine():
    _obj, report = run(deployment(), defaults={"resources": {"limits": {"cpu": "100m"}, "requests": {"cpu": "0.1"}}})
    assert report["status"] == inj.INJECTED


# --- 7. renamed containers, defaults named only when given ------------------------------------------------------

def test_container_renamed_after_injection_is_removed_without_a_crash():
    original = deployment(containers=[{"name": "app", "image": "a"}, {"name": "side", "image": "s"}])
    obj = inj.inject_object(original).obj
    tpl(obj)["spec"]["containers"][0]["name"] = "web"
    outcome = inj.remove_object(obj)
    assert outcome.report["status"] == inj.REMOVED
    spec = tpl(outcome.obj)["spec"]
    assert "initContainers" not in spec and "volumes" not in spec
    for item in spec["containers"]:
        assert "volumeMounts" not in item and "env" not in item
    assert any("renamed" in w for w in outcome.report["warnings"])


def test_record_naming_a_container_that_is_gone_and_not_renamed():
    obj = inj.inject_object(deployment(containers=[{"name": "app", "image": "a"}, {"name": "b", "image": "b"}])).obj
    del tpl(obj)["spec"]["containers"][0]
    outcome = inj.remove_object(obj)
    assert outcome.report["status"] == inj.REMOVED
    assert tpl(outcome.obj)["spec"]["containers"] == [{"name": "b", "image": "b"}]
    outcome = inj.inject_object(obj)
    assert outcome.report["status"] in (inj.UPDATED, inj.ALREADY_INJECTED)


def test_builtin_default_conflicts_name_the_template_field_and_the_builtin():
    report = error_of(deployment(volumes=[{"name": "sky-agent", "emptyDir": {}}]))
    assert report["field"] == TPL + ".spec.volumes[0].name"
    assert "defaults." not in report["field"] and "built-in default" in report["reason"]
    report = error_of(deployment(initContainers=[{"name": "inject-skywalking-agent", "image": "x"}]))
    assert report["field"] == TPL + ".spec.initContainers[0].name" and "built-in default" in report["reason"]
    report = error_of(deployment(containers=[{"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/sky/agent"}]}],
                                 volumes=[{"name": "v", "emptyDir": {}}]))
    assert report["field"] == TPL + ".spec.containers[0].volumeMounts[0].mountPath"


def test_given_default_conflicts_name_the_default():
    report = error_of(deployment(volumes=[{"name": "agent", "emptyDir": {}}]), defaults={"volume_name": "agent"})
    assert report["field"] == "defaults.volume_name"


def test_value_from_env_names_defaults_env_name():
    value_from = {"name": "JAVA_TOOL_OPTIONS", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}
    report = error_of(deployment(containers=[{"name": "app", "env": [value_from]}]))
    assert report["field"] == TPL + ".spec.containers[0].env[0]"
    assert "defaults.env_name" in report["reason"] and "built-in default" in report["reason"]
    value_from = dict(value_from, name="MY_OPTS")
    report = error_of(deployment(containers=[{"name": "app", "env": [value_from]}]), defaults={"env_name": "MY_OPTS"})
    assert report["field"] == "defaults.env_name"


# --- 8. agent loaded already ------------------------------------------------------------------------------------

@pytest.mark.parametrize("container", [
    {"env": [{"name": "JDK_JAVA_OPTIONS", "value": "-javaagent:/opt/sw/skywalking-agent.jar"}]},
    {"env": [{"name": "_JAVA_OPTIONS", "value": "-Xmx1g -javaagent:/x/skywalking-agent.jar=a=b"}]},
    {"command": ["java", "-javaagent:/opt/sw/skywalking-agent.jar", "-jar", "app.jar"]},
    {"args": ["-javaagent:/opt/sw/skywalking-agent.jar", "-jar", "app.jar"]},
    {"command": ["sh", "-c", "exec java -javaagent:/opt/skywalking-agent.jar -jar app.jar"]},
])
def test_agent_loaded_elsewhere_is_not_injected_twice(container):
    item = dict({"name": "app", "image": "app"}, **container)
    obj, report = run(deployment({A + "agent.service_name": "x"}, containers=[item]))
    assert report["status"] == inj.INJECTED
    app = tpl(obj)["spec"]["containers"][0]
    assert not any(e.get("name") == "JAVA_TOOL_OPTIONS" for e in app.get("env", []))
    assert any("already loads" in w and "not applied" in w for w in report["warnings"])
    assert inj.remove_object(obj).obj == deployment({A + "agent.service_name": "x"}, containers=[item])


def test_another_vendors_agent_is_not_mistaken_for_skywalking():
    item = {"name": "app", "image": "app", "args": ["-javaagent:/otel/opentelemetry-javaagent.jar"]}
    obj, report = run(deployment(containers=[item]))
    assert any(e["name"] == "JAVA_TOOL_OPTIONS" for e in tpl(obj)["spec"]["containers"][0]["env"])
    # injected next to it, with a warning naming the container and the jar (test_inject_breaker has the details)
    assert len(report["warnings"]) == 1 and "container app" in report["warnings"][0]
    assert "opentelemetry-javaagent.jar" in report["warnings"][0]


# --- 11. paths, selectors, args, sizes --------------------------------------------------------------------------

def test_selector_with_match_labels_warns():
    agent = swagent(selector={"matchLabels": {"app": "demo"}}, optionalPlugins=["trace"])
    _obj, report = run(deployment(), swagents=[agent])
    assert any("matchLabels" in w for w in report["warnings"])
    assert report["swagents"] == []


def test_args_option_only_with_plugins_is_refused_naming_the_args():
    report = error_of(deployment(), defaults={"args": ["-c"], "optional_plugins": ["trace"]})
    assert report["field"] == "defaults.args"


def test_swagent_args_with_plugins_appends_to_the_script():
    agent = swagent(javaSidecar={"args": ["-c", "mkdir -p /sky/agent && cp -r /skywalking/agent/* /sky/agent"]},
                    optionalPlugins=["trace"])
    obj, report = run(deployment(), swagents=[agent])
    args = tpl(obj)["spec"]["initContainers"][0]["args"]
    assert report["status"] == inj.INJECTED and len(args) == 2 and args[0] == "-c"
    assert args[1].startswith("mkdir -p /sky/agent && cp") and "grep -E \"trace\"" in args[1]


def test_swagent_args_option_only_with_plugins_is_refused_naming_the_swagent():
    agent = swagent(javaSidecar={"args": ["-c"]}, optionalPlugins=["trace"])
    report = error_of(deployment(), swagents=[agent])
    assert report["field"] == "SwAgent apps/java: spec.javaSidecar.args"


def test_an_agent_option_over_128_kib_is_refused():
    key = A + "agent.service_name"
    report = error_of(deployment({key: "x" * ENV_VAR_LIMIT}))
    assert report["annotation"] == key and "128 KiB" in report["reason"]


def test_options_that_sum_over_128_kib_are_refused_naming_the_env():
    half = "x" * (ENV_VAR_LIMIT // 2)
    report = error_of(deployment({A + "agent.service_name": half, A + "agent.namespace": half}))
    assert "128 KiB" in report["reason"]


def test_swagent_error_paths_are_not_doubled():
    agent = swagent(javaSidecar={"resources": {"limits": {"cpu": "bad"}}})
    with pytest.raises(SpecError) as err:
        inj.inject_all([deployment()], swagents=[agent])
    assert err.value.field == "swagents[0].spec.javaSidecar.resources.limits"
    assert str(err.value).count("spec.") == 1


# --- more odd input ---------------------------------------------------------------------------------------------

def test_deep_input_is_refused_not_a_recursion_error():
    deep = leaf = []
    for _level in range(3000):
        leaf.append([])
        leaf = leaf[0]
    with pytest.raises(SpecError) as err:
        inj.inject_all(deep)
    assert "levels deep" in str(err.value) and len(err.value.field) < 200


def test_deep_input_through_aliases_is_refused():
    chain = leaf = []
    for _level in range(150):
        leaf.append([])
        leaf = leaf[0]
    leaf.append(["x"])
    outer = leaf = []
    for _level in range(150):
        leaf.append([])
        leaf = leaf[0]
    leaf.append(chain)
    with pytest.raises(SpecError):
        inj.inject_all([chain, outer])


def test_kubernetes_depth_is_fine():
    obj = deployment()
    node = tpl(obj)["metadata"].setdefault("annotations", {})
    for level in range(60):
        node["k%d" % level] = {}
        node = node["k%d" % level]
    assert inj.inject_all([copy.deepcopy(obj)])[1][0]["status"] == inj.INJECTED


def test_unknown_non_string_default_key():
    with pytest.raises(SpecError) as err:
        inj.effective_defaults({5: "x"})
    assert err.value.field == "defaults.5"


@pytest.mark.parametrize("defaults, field", [
    ({"env": [{"name": "A", "value": 1}]}, "defaults.env[0].value"),
    ({"env": [{"value": "x"}]}, "defaults.env[0]"),
])
def test_env_values_must_be_strings(defaults, field):
    with pytest.raises(SpecError) as err:
        inj.effective_defaults(defaults)
    assert err.value.field == field
