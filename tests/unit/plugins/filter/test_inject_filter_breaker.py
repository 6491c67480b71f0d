# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The filters and the command line against odd input: plain messages naming what the user wrote."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.skywalking.swck.plugins.filter import inject_java_agent as inject_filter
from ansible_collections.skywalking.swck.plugins.filter import remove_java_agent as remove_filter
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject as inj
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject_cli

LABEL = {"swck-java-agent-injected": "true"}


def deployment(name="orders", containers=None, annotations=None):
    meta = {"labels": dict(LABEL)}
    if annotations:
        meta["annotations"] = annotations
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"namespace": "shop"},
           "spec": {"template": {"metadata": meta, "spec": {
               "containers": [{"name": "app", "image": "a"}] if containers is None else containers}}}}
    if name is not None:
        obj["metadata"]["name"] = name
    return obj


class _AnsibleLazyTemplateList(list):
    """Stands for Ansible's own list type (ansible-core 2.19 hands filters such subclasses)."""


class _AnsibleLazyTemplateDict(dict):
    """Stands for Ansible's own dict type."""


def run_main(args, text):
    out, err = io.StringIO(), io.StringIO()
    code = inject_cli.main(args, stdin=io.StringIO(text), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# --- 8. the filters ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, name", [("manifest", "string"), (5, "integer"), (None, "null"), (True, "boolean"),
                                        (1.5, "number")])
@pytest.mark.parametrize("flt", [inject_filter.inject_java_agent, remove_filter.remove_java_agent])
def test_input_that_is_no_object_is_refused(flt, data, name):
    with pytest.raises(AnsibleFilterError) as err:
        flt(data)
    assert str(err.value) == "expects a Kubernetes object, a list of them or a List; got %s" % name


@pytest.mark.parametrize("flt", [inject_filter.inject_java_agent, remove_filter.remove_java_agent])
def test_list_items_that_are_no_object_are_refused(flt):
    with pytest.raises(AnsibleFilterError) as err:
        flt([deployment(), "kind: Deployment"])
    assert str(err.value).startswith("item 1: expects a Kubernetes object (a mapping), got string (parse YAML text")


def test_ansible_types_are_objects_and_lists():
    data = _AnsibleLazyTemplateList([_AnsibleLazyTemplateDict(deployment())])
    assert inj.is_injected(inject_filter.inject_java_agent(data)[0])


@pytest.mark.parametrize("value, name", [
    (_AnsibleLazyTemplateList(), "list"), (_AnsibleLazyTemplateDict(), "mapping"), ("x", "string"), (None, "null"),
    (3, "integer"), (False, "boolean"), (2.0, "number"), ({1}, "set"), (b"x", "bytes"),
])
def test_type_names_are_plain(value, name):
    assert inj.type_name(value) == name


def test_messages_never_name_internal_types():
    messages = []
    for call in (lambda: inject_filter.inject_java_agent([deployment()], swagents=_AnsibleLazyTemplateDict()),
                 lambda: inject_filter.inject_java_agent([deployment()], defaults=_AnsibleLazyTemplateList()),
                 lambda: inject_filter.inject_java_agent([deployment()], defaults={"env": _AnsibleLazyTemplateDict()}),
                 lambda: inject_filter.inject_java_agent([deployment(containers=_AnsibleLazyTemplateDict(a=1))]),
                 lambda: inject_filter.inject_java_agent([deployment()], swagents=[{
                     "kind": "SwAgent", "metadata": {"name": "j"}, "spec": _AnsibleLazyTemplateList()}])):
        with pytest.raises(AnsibleFilterError) as err:
            call()
        messages.append(str(err.value))
    assert not any("_Ansible" in text for text in messages), messages
    assert "got mapping" in messages[0] and "got list" in messages[1] and "got mapping" in messages[2]


@pytest.mark.parametrize("kwargs, option", [
    ({"agent_image": "repo/agent 9"}, "agent_image: "),
    ({"backend_service": "oap:11800,"}, "backend_service: "),
])
def test_a_shortcut_option_error_names_the_option(kwargs, option):
    with pytest.raises(AnsibleFilterError) as err:
        inject_filter.inject_java_agent([deployment()], **kwargs)
    assert str(err.value).startswith(option) and "defaults." not in str(err.value)


def test_the_defaults_option_still_names_defaults():
    with pytest.raises(AnsibleFilterError) as err:
        inject_filter.inject_java_agent([deployment()], defaults={"image": "repo/agent 9"})
    assert str(err.value).startswith("defaults.image: ")


# --- 9. messages of the command line ----------------------------------------------------------------------------

def test_an_object_without_a_name_is_described_plainly():
    code, _out, err = run_main([], yaml.safe_dump(deployment(name=None, annotations={
        inj.CONTAINER_ANNOTATION: "("})))
    assert code == 2 and "Deployment shop/<no name>: " in err and "None" not in err
    with pytest.raises(AnsibleFilterError) as info:
        inject_filter.inject_java_agent(deployment(name=None, annotations={inj.CONTAINER_ANNOTATION: "("}))
    assert "Deployment shop/<no name>: not injected: " in str(info.value)


@pytest.mark.parametrize("containers, field, text", [
    (5, "spec.template.spec.containers", "must be a list of containers, got integer"),
    ({"name": "app"}, "spec.template.spec.containers", "must be a list of containers, got mapping"),
    ([], "spec.template.spec.containers", "has no containers"),
    ([{}], "spec.template.spec.containers[0].name", "a container needs a name"),
    ([{"name": ""}], "spec.template.spec.containers[0].name", "a container needs a name"),
    ([{"name": "app", "env": [{"name": "JAVA_TOOL_OPTIONS", "value": 5}]}],
     "spec.template.spec.containers[0].env[0].value", "JAVA_TOOL_OPTIONS to 5, which is not a string"),
])
def test_template_shape_messages(containers, field, text):
    report = inj.inject_object(deployment(containers=containers)).report
    assert report["status"] == inj.ERROR and report["field"] == field and text in report["reason"], report
    code, _out, err = run_main([], yaml.safe_dump(deployment(containers=containers)))
    assert code == 2 and text in err


def test_the_cli_warns_about_workloads_without_a_collector_address():
    code, _out, err = run_main([], yaml.safe_dump(deployment()))
    assert code == 0
    assert "warning: Deployment shop/orders: no collector address" in err
    code, _out, err = run_main(["--backend-service", "oap.sw:11800"], yaml.safe_dump(deployment()))
    assert code == 0 and "no collector address" not in err
    with_annotation = deployment(annotations={inj.AGENT_PREFIX + "collector.backend_service": "oap.sw:11800"})
    code, _out, err = run_main([], yaml.safe_dump(with_annotation))
    assert code == 0 and "no collector address" not in err


def test_reports_say_whether_a_collector_address_is_set():
    assert inj.inject_object(deployment()).report["has_collector"] is False
    assert inj.inject_object(deployment(), {"backend_service": "oap:11800"}).report["has_collector"] is True
    plain = deployment()
    plain["spec"]["template"]["metadata"]["labels"] = {}
    assert inj.inject_object(plain).report["has_collector"] is None


# --- 10. removal wording ----------------------------------------------------------------------------------------

def damaged():
    obj = inj.inject(deployment())
    annotations = obj["spec"]["template"]["metadata"]["annotations"]
    record = json.loads(annotations[inj.RECORD_ANNOTATION])
    record["volumes"] = "sky-agent"
    annotations[inj.RECORD_ANNOTATION] = json.dumps(record)
    return obj


def test_a_damaged_record_during_removal_is_worded_as_removal():
    report = inj.remove_object(damaged()).report
    assert report["status"] == inj.ERROR and report["action"] == "remove"
    assert inj.failure(report).startswith("not removed: spec.template.metadata.annotations")
    code, _out, err = run_main(["--remove"], yaml.safe_dump(damaged()))
    assert code == 2 and "error: Deployment shop/orders: not removed: " in err
    with pytest.raises(AnsibleFilterError) as info:
        remove_filter.remove_java_agent(damaged())
    assert "Deployment shop/orders: not removed: " in str(info.value)


def test_a_label_taken_away_is_a_removal_too():
    obj = damaged()
    obj["spec"]["template"]["metadata"]["labels"] = {}
    report = inj.inject_object(obj).report
    assert report["status"] == inj.ERROR and report["action"] == "remove"
    assert inj.inject_object(deployment()).report["action"] == "inject"
