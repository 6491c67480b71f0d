# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The pure helpers of the injection reconcile (ops/injection.py, ops/patch.py) and the inject module's spec."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import fields
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.ops import injection, patch
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject

ROOT = Path(__file__).resolve().parents[5]


def deployment(replicas=1, annotations=None, labelled=True, volumes=None):
    labels = {"app": "web"}
    if labelled:
        labels[inject.INJECTION_LABEL] = labelled if isinstance(labelled, str) else "true"
    tpl = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": "a"}]}}
    if volumes:
        tpl["spec"]["volumes"] = volumes
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"replicas": replicas, "template": tpl}}
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    return obj


# ------------------------------------------------------------------ changed_fields
@pytest.mark.parametrize("old,new,expected", [
    ({"a": 1}, {"a": 1}, []),
    ({"a": 1}, {"a": 2}, [(("f", "a"),)]),
    ({"a": 1}, {}, [(("f", "a"),)]),
    ({}, {"a": 1}, []),  # additions are nobody's yet
    ({"a": {"b": 1, "c": 2}}, {"a": {"b": 1, "c": 3}}, [(("f", "a"), ("f", "c"))]),
    ({"args": ["x", "y"]}, {"args": ["x"]}, [(("f", "args"),)]),  # un-keyed list: whole
    ({"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]},
     {"containers": [{"name": "b", "image": "2"}, {"name": "a", "image": "1"}]},
     [(("f", "containers"), ("k", {"name": "b"}), ("f", "image"))]),  # keyed: order does not matter
    ({"env": [{"name": "J", "value": "-Xmx1g"}]}, {"env": [{"name": "J", "value": "-Xmx1g -javaagent:x"}]},
     [(("f", "env"), ("k", {"name": "J"}), ("f", "value"))]),
    ({"env": [{"name": "J", "value": "1"}, {"name": "K", "value": "2"}]}, {"env": [{"name": "K", "value": "2"}]},
     [(("f", "env"), ("k", {"name": "J"}))]),
    ({"volumeMounts": [{"name": "v", "mountPath": "/a"}]}, {"volumeMounts": [{"name": "w", "mountPath": "/a"}]},
     [(("f", "volumeMounts"), ("k", {"mountPath": "/a"}), ("f", "name"))]),
])
def test_changed_fields(old, new, expected):
    assert injection.changed_fields(old, new) == expected


def test_changed_fields_find_the_owner_of_a_merged_java_tool_options():
    live = deployment()
    container = live["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}]
    live["metadata"]["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsV1": {
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {
            "f:env": {'k:{"name":"JAVA_TOOL_OPTIONS"}': {".": {}, "f:name": {}, "f:value": {}}}}}}}}}}]
    out = inject.inject_object(live)
    paths = injection.changed_fields({"spec": live["spec"]}, {"spec": out.obj["spec"]})
    assert paths == [(("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"), ("k", {"name": "app"}),
                      ("f", "env"), ("k", {"name": "JAVA_TOOL_OPTIONS"}), ("f", "value"))]
    assert fields.owners(live, paths[0]) == [("kubectl-client-side-apply", "Update", "")]


# ------------------------------------------------------------------ selection, pacing
@pytest.mark.parametrize("value,expected", [("true", True), ("True", True), ("TRUE", True), ("false", False),
                                            ("yes", False), (False, False)])
def test_is_labelled_compares_case_insensitively(value, expected):
    assert injection.is_labelled(deployment(labelled=value)) is expected


@pytest.mark.parametrize("obj,expected", [
    (deployment(replicas=3), True),
    (deployment(replicas=0), False),
    (dict(deployment(), spec={"template": {}}), True),  # replicas unset: 1
    ({"kind": "StatefulSet", "spec": {"replicas": 0}}, False),
    ({"kind": "StatefulSet", "spec": {"replicas": 2}}, True),
    ({"kind": "DaemonSet", "spec": {}}, True),
    ({"kind": "CronJob", "spec": {}}, False),
    ({"kind": "Job", "spec": {}}, False),
])
def test_restarts_pods(obj, expected):
    assert injection.restarts_pods(obj) is expected


@pytest.mark.parametrize("items,size,expected", [
    ([], 2, []),
    ([1, 2, 3], 0, [[1, 2, 3]]),
    ([1, 2, 3], 1, [[1], [2], [3]]),
    ([1, 2, 3], 2, [[1, 2], [3]]),
    ([1, 2, 3], 5, [[1, 2, 3]]),
])
def test_batches_of(items, size, expected):
    assert injection.batches_of(items, size) == expected


@given(st.lists(st.integers(), max_size=30), st.integers(min_value=0, max_value=7))
def test_batches_keep_order_and_size(items, size):
    batches = injection.batches_of(items, size)
    assert [x for batch in batches for x in batch] == items
    assert all(len(batch) <= size for batch in batches) if size else len(batches) <= 1


def test_references_secret():
    assert injection.references_secret(deployment(volumes=[{"name": "ca", "secret": {"secretName": "sky-agent-ca"}}]),
                                       "sky-agent-ca")
    assert not injection.references_secret(deployment(volumes=[{"name": "ca", "emptyDir": {}}]), "sky-agent-ca")
    assert not injection.references_secret({"kind": "ConfigMap"}, "sky-agent-ca")


# ------------------------------------------------------------------ option checks
def test_swagent_short_form_becomes_an_object_and_is_validated():
    out = injection.swagent_objects([{"name": "java17", "namespace": "shop", "optionalPlugins": ["trace"]},
                                     {"metadata": {"name": "full"}, "spec": {"sharedVolumeName": "agent"}}])
    assert out[0] == {"apiVersion": inject.SWAGENT_API_VERSION, "kind": "SwAgent",
                      "metadata": {"name": "java17", "namespace": "shop"}, "spec": {"optionalPlugins": ["trace"]}}
    assert out[1]["kind"] == "SwAgent" and out[1]["spec"] == {"sharedVolumeName": "agent"}


@pytest.mark.parametrize("items,field,problem", [
    (["x"], "swagents[0]", "must be a SwAgent"),
    ([{"name": "a", "optionalPlugin": ["x"]}], "swagents[0].optionalPlugin", "not a SwAgent field"),
    ([{"name": "a", "namespace": "Bad_NS"}], "swagents[0].namespace", "not a namespace name"),
    ([{"namespace": "shop"}], "swagents[0].metadata.name", "needs a name"),
    ([{"name": "a", "selector": "app=x"}], "swagents[0].spec.selector", "mapping"),
    ([{"name": "a"}, {"name": "b", "javaSidecar": "img:1"}], "swagents[1].spec.javaSidecar", "(SwAgent b)"),
    ([{"name": "a", "javaSidecar": {"imag": "x"}}], "swagents[0].spec.javaSidecar.imag", "not a javaSidecar field"),
    ([{"name": "a", "optionalPlugins": "trace"}], "swagents[0].spec.optionalPlugins", "list of strings"),
    ([{"metadata": "x", "spec": {}}], "swagents[0].metadata", "must be a mapping"),
    ([{"metadata": {"name": "x"}, "spec": {"javaSidecars": {}}}], "swagents[0].spec.javaSidecars",
     "not a SwAgent spec field"),
    ([{"metadata": {"name": "x"}, "specs": {}}], "swagents[0].specs", "not a field of a SwAgent object"),
    ([{"name": "Bad_Name"}], "swagents[0].metadata.name", "not a SwAgent name"),
    ([{"name": "a", "namespace": "shop"}, {"name": "a", "namespace": "shop"}], "swagents[1]", "given twice"),
    # values, not only the shape, are checked before any request (inject.validate_swagents)
    ([{"name": "a", "containerMatcher": "^(a+)+b"}], "swagents[0].spec.containerMatcher", "repetition"),
    ([{"name": "a", "optionalPlugins": ["-x"]}], "swagents[0].spec.optionalPlugins", "-"),
    ([{"name": "a", "javaSidecar": {"resources": {"limits": {"cpu": "NaN"}}}}],
     "swagents[0].spec.javaSidecar.resources.limits", "not a quantity"),
])
def test_swagent_errors_name_the_item(items, field, problem):
    with pytest.raises(SpecError) as info:
        injection.swagent_objects(items)
    assert info.value.field == field and problem in info.value.problem


def test_injection_defaults_from_a_cluster_spec_and_overrides():
    cfg, spec, ca = injection.injection_defaults(None, {"name": "sky", "namespace": "obs"})
    assert cfg == {"backend_service": "sky-oap.obs.svc:11800"} and spec["name"] == "sky" and ca is None
    cfg, _spec, ca = injection.injection_defaults({"backend_service": "x.y:1", "image": None},
                                                  {"name": "sky", "namespace": "obs", "satellite": {"enabled": True}})
    assert cfg == {"backend_service": "x.y:1"} and ca is None
    cfg, _spec, ca = injection.injection_defaults({}, {"name": "sky", "namespace": "obs",
                                                       "oap": {"tls": {"grpc": {"secret": "oap-tls"}}}})
    assert cfg["ca_secret"] == "sky-agent-ca"
    assert ca == {"source": "oap-tls", "key": "ca.crt", "namespace": "obs", "name": "sky-agent-ca",
                  "instance": "sky-agent-ca"}
    # a CA Secret of the user's own: nothing copied
    _cfg, _spec, ca = injection.injection_defaults({"ca_secret": "mine"}, {"name": "sky", "namespace": "obs",
                                                                           "oap": {"tls": {"grpc": {"secret": "t"}}}})
    assert ca is None
    with pytest.raises(SpecError) as info:
        injection.injection_defaults({"mount_path": "relative"})
    assert info.value.field == "defaults.mount_path"


@pytest.mark.parametrize("kwargs,field", [
    ({"state": "gone"}, "state"),
    ({"namespaces": ["a"], "namespace_selector": "x=y"}, "namespaces"),
    ({"namespaces": ["Not_A_Name"]}, "namespaces[0]"),
    ({"kinds": ["Pod"]}, "kinds"),
    ({"kinds": []}, "kinds"),
    ({"max_concurrent": -1}, "max_concurrent"),
    ({"wait_timeout": 0}, "wait_timeout"),
])
def test_run_refuses_bad_options_before_any_request(kwargs, field):
    class NoClient(object):
        warnings = []

        def __getattr__(self, name):
            raise AssertionError("no request may be sent for bad options (%s)" % name)

    with pytest.raises(SpecError) as info:
        injection.Injector(NoClient()).run(**kwargs)
    assert info.value.field == field


# ------------------------------------------------------------------ JSON patch
@pytest.mark.parametrize("path,expected", [
    (("spec", "template"), "/spec/template"),
    (("metadata", "annotations", "sidecar.skywalking.apache.org/error"),
     "/metadata/annotations/sidecar.skywalking.apache.org~1error"),
    (("a~b",), "/a~0b"),
    ((), ""),
])
def test_pointer(path, expected):
    assert patch.pointer(path) == expected


def test_replace_ops_guard_on_generation_else_resource_version():
    ops = patch.replace_ops(("spec", "template"), {"x": 1}, {"metadata": {"generation": 4, "resourceVersion": "9"}})
    assert ops == [{"op": "test", "path": "/metadata/generation", "value": 4},
                   {"op": "replace", "path": "/spec/template", "value": {"x": 1}}]
    ops = patch.replace_ops(("spec",), {}, {"metadata": {"resourceVersion": "9"}})
    assert ops[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "9"}


@pytest.mark.parametrize("old,new,expected", [
    (None, None, []),
    ({"a": "1"}, {"a": "1"}, []),
    (None, {"e": "x"}, [{"op": "add", "path": "/metadata/annotations", "value": {"e": "x"}}]),
    ({"e": "x"}, {}, [{"op": "remove", "path": "/metadata/annotations"}]),
    ({"a": "1"}, {"a": "1", "b/c": "2"}, [{"op": "add", "path": "/metadata/annotations/b~1c", "value": "2"}]),
    ({"a": "1", "b": "2"}, {"a": "3"}, [{"op": "remove", "path": "/metadata/annotations/b"},
                                        {"op": "add", "path": "/metadata/annotations/a", "value": "3"}]),
])
def test_annotation_ops(old, new, expected):
    assert patch.annotation_ops(old, new) == expected


def apply_ops(obj, ops):
    """A small RFC 6902 applier (add/remove/replace/test on mappings) to check the ops' meaning."""
    obj = copy.deepcopy(obj)
    for op in ops:
        keys = [k.replace("~1", "/").replace("~0", "~") for k in op["path"].split("/")[1:]]
        parent = obj
        for key in keys[:-1]:
            parent = parent[key]
        if op["op"] == "test":
            assert parent[keys[-1]] == op["value"]
        elif op["op"] == "remove":
            del parent[keys[-1]]
        else:
            parent[keys[-1]] = copy.deepcopy(op["value"])
    return obj


@given(st.one_of(st.none(), st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=5), max_size=4)),
       st.one_of(st.none(), st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=5), max_size=4)))
def test_annotation_ops_turn_old_into_new(old, new):
    obj = {"metadata": {} if old is None else {"annotations": dict(old)}}
    out = apply_ops(obj, patch.annotation_ops(old, new))
    assert (out["metadata"].get("annotations") or {}) == (new or {})


def test_the_patch_of_an_injection_and_its_removal_round_trips():
    live = deployment(annotations={"deployment.kubernetes.io/revision": "1"})
    live["metadata"]["generation"] = 3
    injected = inject.inject_object(live).obj
    ops = patch.replace_ops(inject.template_path(live), injection.template_of(injected), live)
    after = apply_ops(live, ops)
    assert after == injected
    removed = inject.remove_object(after).obj
    assert apply_ops(after, patch.replace_ops(("spec", "template"), injection.template_of(removed), after)) == live


# ------------------------------------------------------------------ the module's option spec
def load_module(name):
    spec = importlib.util.spec_from_file_location("swck_module_" + name, ROOT / "plugins" / "modules" / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inject_module_defaults_match_the_pure_defaults():
    module = load_module("inject")
    assert set(module.DEFAULTS_SPEC) == set(inject.DEFAULTS)
    for key, option in module.DEFAULTS_SPEC.items():
        if "default" in option:
            assert option["default"] == inject.DEFAULTS[key], key
        else:
            assert inject.DEFAULTS[key] in (None, [], {}), key
    assert module.KINDS == list(injection.KINDS)


def test_swagents_must_be_a_list():
    with pytest.raises(SpecError) as info:
        injection.swagent_objects({"name": "a"})
    assert info.value.field == "swagents" and "list of SwAgents" in info.value.problem
    assert injection.swagent_objects([{"name": "a"}, {"name": "a", "namespace": "shop"}])[1]["metadata"] == \
        {"name": "a", "namespace": "shop"}, "the same name in another scope is another SwAgent"


def test_an_empty_backend_service_keeps_the_cluster_address():
    cfg, _spec, _ca = injection.injection_defaults({"backend_service": " "}, {"name": "sky", "namespace": "obs"})
    assert cfg["backend_service"] == "sky-oap.obs.svc:11800"


@pytest.mark.parametrize("annotations,env,env_from,expected", [
    ({}, [], None, False),
    ({injection.COLLECTOR_ANNOTATION: "oap:11800"}, [], None, True),
    ({}, [{"name": injection.COLLECTOR_ENV, "value": "oap:11800"}], None, True),
    ({}, [{"name": injection.COLLECTOR_ENV, "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}], None, True),
    ({}, [{"name": "JAVA_TOOL_OPTIONS", "value": "-Dskywalking.collector.backend_service=oap:11800"}], None, True),
    ({}, [], [{"configMapRef": {"name": "agent"}}], True),
])
def test_has_collector(annotations, env, env_from, expected):
    obj = deployment()
    obj["spec"]["template"]["metadata"]["annotations"] = annotations
    app = obj["spec"]["template"]["spec"]["containers"][0]
    app["env"] = env
    if env_from:
        app["envFrom"] = env_from
    assert injection.has_collector(obj, [app["name"]]) is expected
    assert injection.has_collector(obj, []) is True


def test_unhealthy_before_only_when_its_controller_saw_it():
    obj = deployment()
    obj["metadata"]["generation"] = 2
    assert injection._unhealthy_before(obj) is None, "not observed yet: nothing known"
    obj["status"] = {"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}
    assert "0 of 1 updated replicas available" in injection._unhealthy_before(obj)
    obj["status"]["availableReplicas"] = 1
    assert injection._unhealthy_before(obj) is None


def test_stop_reason_says_each_detail_once_and_names_the_already_unhealthy():
    from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import WaitTimeout

    pull = "event Failed: Failed to pull image \"x\""
    err = WaitTimeout(4, [{"ref": "Deployment s/a", "reason": "0 of 2 available; pod a-1: ImagePullBackOff; %s; "
                                                              "pod a-2: ImagePullBackOff; %s" % (pull, pull)},
                          {"ref": "Deployment s/b", "reason": "0 of 1 available"}])
    reason, already = injection._stop_reason(err, {"Deployment s/b": "0 of 1 updated replicas available"})
    assert reason.startswith("timed out after 4s waiting for 2 object(s) to become ready:")
    assert reason.count(pull) == 1 and reason.count("ImagePullBackOff") == 2
    assert "Deployment s/b: 0 of 1 available (already unhealthy before this run touched it: 0 of 1 updated " \
           "replicas available)" in reason
    assert already == ["Deployment s/b"]


def test_stop_reason_says_a_scheduling_message_once_for_pods_and_event():
    from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import WaitTimeout

    msg = "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    err = WaitTimeout(4, [{"ref": "Deployment s/a", "reason": "0 of 2 available; pod a-1: Unschedulable: %s; "
                                                              "pod a-2: Unschedulable: %s; event FailedScheduling: %s"
                                                              % (msg, msg, msg)}])
    reason, _already = injection._stop_reason(err, {})
    assert reason.count(msg) == 1, reason
    assert "pod a-2: (the same as above)" in reason and "event FailedScheduling: (the same as above)" in reason


def test_the_error_marker_goes_with_a_later_success_even_without_mark_errors():
    obj = deployment(annotations=None)
    obj["metadata"]["annotations"] = {inject.ERROR_ANNOTATION: "old problem"}
    item = injection._Item(obj, None, lambda o: inject.inject_object(o, {"backend_service": "oap:11800"}))
    item.evaluate()
    assert item.outcome.report["status"] == inject.INJECTED
    assert "annotations" not in item.outcome.obj["metadata"] and item.needs_write
    removed = injection._Item(item.outcome.obj, None, inject.remove_object)
    removed.evaluate()
    assert removed.outcome.report["status"] == inject.REMOVED


# ------------------------------------------------------------------ refusals: no object, no credential
def refused(message, causes=None, status=422):
    from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import ApiError

    body = {"details": {"causes": causes}} if causes is not None else {}
    return ApiError(status, "Invalid", message, "PATCH", "/apis/apps/v1/namespaces/s/deployments/web", body)


# what a v1.37 API server answers to a JSON patch whose result does not decode (shortened): the whole object, env
# values included, quoted in the message and in its cause
_EMBEDDED = ('{\\"apiVersion\\":\\"apps/v1\\",\\"kind\\":\\"Deployment\\",\\"spec\\":{\\"template\\":{\\"spec\\":'
             '{\\"containers\\":[{\\"name\\":\\"app\\",\\"env\\":[{\\"name\\":\\"SW_AGENT_AUTHENTICATION\\",\\"value\\":'
             '\\"LEAKME4242\\"},{\\"name\\":\\"DB_PASSWORD\\",\\"value\\":\\"Db{Pass}}777\\"}]}]}}}}')
_DECODE = "json: cannot unmarshal string into Go struct field SecurityContext.spec.template.spec.initContainers." \
          "securityContext.runAsUser of type int64"


def test_a_refusal_keeps_the_causes_without_the_object_it_quotes():
    err = refused(' "" is invalid: patch: Invalid value: "%s": %s' % (_EMBEDDED, _DECODE),
                  [{"reason": "FieldValueInvalid", "message": 'Invalid value: "%s": %s' % (_EMBEDDED, _DECODE),
                    "field": "patch"}])
    entry = injection._refusal(err)
    assert entry == {"reason": 'the API server refused the change (422 Invalid): patch: Invalid value: "{...}": '
                               + _DECODE, "field": "patch", "status": 422}
    assert "LEAKME" not in entry["reason"] and "Pass" not in entry["reason"]


def test_a_refusal_without_causes_keeps_the_short_message_and_masks_credentials():
    err = refused("Deployment.apps \"web\" is invalid: env SW_AGENT_AUTHENTICATION=LEAKME4242 and DB_PASSWORD=\"x y\", "
                  "own value HUSH1234 %s" % ("x" * 1000))
    text = injection.refusal_text(err, secrets={"HUSH1234", "ab"})
    assert "LEAKME4242" not in text and "x y" not in text and "HUSH1234" not in text
    assert "SW_AGENT_AUTHENTICATION=VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in text
    assert len(text) == injection.REFUSAL_LIMIT and text.endswith("...")
    # an object that is not closed is cut to the end; a short secret is not masked all over the text
    assert injection.strip_embedded_objects('bad: {"env": [{"value": "LEAK') == "bad: {...}"
    assert injection.strip_embedded_objects("a } b { c") == "a } b {...}"
    assert injection.mask_text("ab ab", {"ab"}) == "ab ab"


def test_credential_annotations_are_masked_with_their_values():
    tpl = {"metadata": {"annotations": {
        inject.AGENT_PREFIX + "agent.authentication": "Tok3nValue",
        inject.PLUGINS_PREFIX + "plugin.kafka.producer_config[sasl.jaas.config]": "JaasConf1g",
        inject.AGENT_PREFIX + "agent.service_name": "orders"}},
        "spec": {"containers": [{"name": "app", "env": [
            {"name": "JAVA_TOOL_OPTIONS", "value": "-javaagent:/sky/agent/skywalking-agent.jar=agent.authentication="
                                                   "Tok3nValue"}]}]}}
    shown, found = injection.mask_credential_env(tpl)
    assert found == {"Tok3nValue", "JaasConf1g"}
    assert shown["metadata"]["annotations"][inject.AGENT_PREFIX + "agent.service_name"] == "orders"
    assert "Tok3nValue" not in str(shown["metadata"]) and "JaasConf1g" not in str(shown)
    assert tpl["metadata"]["annotations"][inject.AGENT_PREFIX + "agent.authentication"] == "Tok3nValue", "a copy"


@pytest.mark.parametrize("key,expected", [
    (inject.AGENT_PREFIX + "agent.authentication", True),
    (inject.PLUGINS_PREFIX + "plugin.kafka.producer_config[sasl.jaas.config]", True),
    (inject.PLUGINS_PREFIX + "plugin.mongodb.password", True),
    (inject.AGENT_PREFIX + "plugin.elasticsearch.token", True),
    (inject.AGENT_PREFIX + "agent.service_name", False),
    (inject.AGENT_PREFIX + "collector.backend_service", False),
    ("example.com/password", False),
])
def test_is_credential_annotation(key, expected):
    assert injection.is_credential_annotation(key) is expected


# ------------------------------------------------------------------ fields of invalid workloads
def swagent(name, spec, namespace="shop"):
    return {"apiVersion": inject.SWAGENT_API_VERSION, "kind": "SwAgent",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def test_an_invalid_cluster_swagent_names_itself_and_its_field_for_the_workloads_it_applies_to():
    bad = swagent("bad", {"javaSidecar": {"env": {"A": "b"}}})
    elsewhere = swagent("elsewhere", {"selector": {"app": "other"}, "javaSidecar": {"env": {"A": "b"}}})
    good = swagent("good", {"javaSidecar": {"image": "registry.test/agent:1"}})
    found = injection.invalid_swagents([bad, elsewhere, good])
    assert [(f["swagent"], f["field"]) for f in found] == [("shop/bad", "spec.javaSidecar.env"),
                                                           ("shop/elsewhere", "spec.javaSidecar.env")]
    assert found[0]["reason"].startswith("SwAgent shop/bad: spec.javaSidecar.env: ")
    assert injection.swagent_applies(bad, deployment()) and not injection.swagent_applies(elsewhere, deployment())
    assert injection.swagent_applies(swagent("odd", {"selector": ["app"]}), deployment()), "unreadable: applies"


@pytest.mark.parametrize("report,expected", [
    ({"field": "spec.template.metadata.annotations", "reason": "x: y"}, "spec.template.metadata.annotations"),
    ({"field": None, "reason": "SwAgent shop/a: spec.javaSidecar.env: must be a list"}, "spec.javaSidecar.env"),
    ({"field": None, "reason": "defaults.env[0]: both value and valueFrom"}, "defaults.env[0]"),
    ({"field": None, "reason": "no field here"}, "no field here"),
])
def test_report_field_falls_back_to_the_reason(report, expected):
    assert injection.report_field(report) == expected


# ------------------------------------------------------------------ cluster and ca_secret
@pytest.mark.parametrize("cluster,field", [
    ({}, "cluster.name"),
    ({"namespace": "obs"}, "cluster.name"),
    ({"name": "sky"}, "cluster.namespace"),
    ({"name": "sky", "namespace": ""}, "cluster.namespace"),
    ({"name": "sky", "namespace": "obs", "oap": {"replicas": "x"}}, "cluster.oap.replicas"),
    ("sky", "cluster"),
])
def test_a_cluster_without_name_or_namespace_is_refused_naming_cluster_fields(cluster, field):
    with pytest.raises(SpecError) as info:
        injection.injection_defaults(None, cluster)
    assert info.value.field == field, info.value.msg
    if field in ("cluster.name", "cluster.namespace"):
        assert "cluster: needs name and namespace" in info.value.msg


def test_ca_mount_namespaces_are_those_where_a_write_mounts_the_secret():
    def item(namespace, defaults):
        obj = deployment()
        obj["metadata"]["namespace"] = namespace
        it = injection._Item(obj, None, lambda o: inject.inject_object(o, defaults))
        it.evaluate()
        return it

    with_ca = {"backend_service": "oap:11800", "ca_secret": "oap-ca"}
    items = [item("b", with_ca), item("a", with_ca), item("c", {"backend_service": "oap:11800"})]
    assert injection.ca_mount_namespaces(items, "oap-ca") == ["a", "b"]
    assert injection.ca_mount_namespaces(items, "other") == []


# ------------------------------------------------------------------ the module converts nothing the pure layer checks
def test_inject_module_passes_defaults_and_swagents_through_unconverted():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    module = load_module("inject")
    assert all(option["type"] == "raw" for option in module.DEFAULTS_SPEC.values())
    given = {"defaults": {"image": ["a"], "command": "sh -c", "env": [{"name": "A", "value": 1}]},
             "swagents": ["name=x"]}
    result = ArgumentSpecValidator(module.argument_spec()).validate(given)
    assert result.error_messages == []
    params = result.validated_parameters
    assert params["defaults"]["image"] == ["a"] and params["defaults"]["command"] == "sh -c"
    assert params["defaults"]["env"] == [{"name": "A", "value": 1}] and params["swagents"] == ["name=x"]
    assert params["defaults"]["mount_path"] == "/sky/agent", "documented defaults still filled in"


@pytest.mark.parametrize("spec", [[1], "str", {"javaSidecar": "str"}, {"javaSidecar": [1]}, None])
def test_old_image_warning_survives_any_swagent_shape(spec):
    runner = injection.Injector(client=None)
    broken = {"metadata": {"name": "odd", "namespace": "shop"}, "spec": spec}
    old = {"metadata": "x", "spec": {"javaSidecar": {"image": injection.SWAGENT_CRD_DEFAULT_IMAGE}}}
    runner._warn_old_agent_images([old], [broken], {"shop"})
    assert len(runner.result.warnings) == 1 and "8.16.0" in runner.result.warnings[0]
