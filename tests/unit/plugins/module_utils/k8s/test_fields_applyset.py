# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Field ownership (managedFields), the ApplySet inventory, CRD schema checks, plans, secret masking."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import applyset, crdschema, fields, plan
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import masked_definitions, secret_forms

OURS = "skywalking.swck/demo"


def entry(manager, operation, tree, subresource=None):
    out = {"manager": manager, "operation": operation, "fieldsType": "FieldsV1", "fieldsV1": tree}
    if subresource:
        out["subresource"] = subresource
    return out


CONTAINER = 'k:{"name":"app"}'
LIVE = {"metadata": {"managedFields": [
    entry(OURS, "Apply", {"f:metadata": {"f:labels": {"f:app": {}}},
                          "f:spec": {"f:template": {"f:spec": {"f:containers": {
                              CONTAINER: {".": {}, "f:name": {}, "f:args": {}}}}}}}),
    entry("kube-controller-manager", "Update", {"f:spec": {"f:replicas": {}}}, "scale"),
    entry("kubectl-set", "Update", {"f:spec": {"f:template": {"f:spec": {"f:containers": {
        CONTAINER: {"f:image": {}}}}}}}),
    entry("kubectl-edit", "Update", {"f:data": {"f:level": {}}}),
    entry("helm", "Update", {"f:data": {"f:chart": {}}}),
    entry("other-applier", "Apply", {"f:data": {"f:owned": {}}}),
]}}

CONTAINER_PATH = (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"), ("k", {"name": "app"}))


@pytest.mark.parametrize("path, verdict, who", [
    ((("f", "spec"), ("f", "replicas")), fields.HELD, ["kube-controller-manager"]),
    (CONTAINER_PATH + (("f", "image"),), fields.DRIFT, ["kubectl-set"]),
    ((("f", "data"), ("f", "level")), fields.DRIFT, ["kubectl-edit"]),
    ((("f", "data"), ("f", "chart")), fields.HELD, ["helm"]),
    ((("f", "data"), ("f", "owned")), fields.CONFLICT, ["other-applier"]),
    ((("f", "data"), ("f", "nobody")), fields.UNOWNED, []),
    ((("f", "metadata"), ("f", "labels"), ("f", "app")), fields.OURS, []),
    # an atomic list is owned whole: an item inside it belongs to its owner
    (CONTAINER_PATH + (("f", "args"), ("i", 1)), fields.OURS, []),
    (CONTAINER_PATH[:-1] + (("k", {"name": "other"}),), fields.UNOWNED, []),
])
def test_classify(path, verdict, who):
    assert fields.classify(LIVE, path, OURS) == (verdict, who)


def test_drift_managers_are_patterns():
    assert fields.is_drift_manager("kubectl-edit") and fields.is_drift_manager("kubectl")
    assert not fields.is_drift_manager("kube-controller-manager") and not fields.is_drift_manager("helm")
    assert fields.classify(LIVE, (("f", "data"), ("f", "chart")), OURS, ("helm",))[0] == fields.DRIFT
    assert fields.has_apply_entry(LIVE, OURS) and not fields.has_apply_entry(LIVE, "kubectl-edit")


def test_applyset_id_follows_kep_3659():
    digest = hashlib.sha256(b"swck-applyset-demo.ns.ConfigMap.").digest()
    expected = "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"
    assert applyset.applyset_id("swck-applyset-demo", "ns") == expected
    assert len(expected) <= 63  # it is a label value
    assert applyset.applyset_id("swck-applyset-demo", "other") != expected


@pytest.mark.parametrize("instance, name", [
    ("demo", "swck-applyset-demo"), ("a.b-c", "swck-applyset-a.b-c"),
])
def test_parent_names(instance, name):
    assert applyset.parent_name(instance) == name


def test_parent_name_of_an_instance_with_capitals_is_valid_and_unique():
    a, b = applyset.parent_name("My_App"), applyset.parent_name("my-app")
    assert a != b and a.startswith("swck-applyset-my-app-") and a == a.lower()


def test_group_kinds_round_trip_sorted():
    gks = {("apps", "Deployment"), ("", "Secret"), ("rbac.authorization.k8s.io", "Role")}
    text = applyset.format_group_kinds(gks)
    assert text == "Deployment.apps,Role.rbac.authorization.k8s.io,Secret"
    assert applyset.parse_group_kinds(text) == gks


def test_inventory_manifest_and_records():
    inv = applyset.Inventory("swck-applyset-demo", "ns")
    body = inv.manifest({("", "ConfigMap")}, {"ns", "other"}, {"app.kubernetes.io/instance": "demo"})
    meta = body["metadata"]
    assert meta["labels"][applyset.ID_LABEL] == inv.id
    assert meta["annotations"][applyset.GROUP_KINDS_ANNOTATION] == "ConfigMap"
    assert meta["annotations"][applyset.NAMESPACES_ANNOTATION] == "other"
    live = applyset.Inventory.from_live("swck-applyset-demo", "ns", body)
    assert live.records({("", "ConfigMap")}, {"ns", "other"})
    assert not live.records({("", "ConfigMap"), ("apps", "Deployment")}, {"ns"})
    assert live.covers({("", "ConfigMap")}, {"ns"})
    assert not live.covers({("apps", "Deployment")}, {"ns"})


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced",
                "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                    "type": "object", "properties": {
                        "spec": {"type": "object", "required": ["size"], "properties": {
                            "size": {"type": "integer", "minimum": 1},
                            "port": {"x-kubernetes-int-or-string": True},
                            "mode": {"type": "string", "enum": ["a", "b"]},
                            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            "note": {"type": "string", "nullable": True}}}}}}}]}}


@pytest.mark.parametrize("spec, problem", [
    ({"size": 1}, None),
    ({"size": 1, "port": "http", "mode": "a", "extra": {"anything": 1}, "note": None}, None),
    ({"size": 0}, "spec.size"),
    ({"size": "1"}, "spec.size"),
    ({}, "'size' is a required property"),
    ({"size": 1, "mode": "c"}, "spec.mode"),
    ({"size": 1, "sizz": 2}, "Additional properties"),
    ({"size": 1, "port": 1.5}, "spec.port"),
])
def test_custom_resources_are_checked_against_their_crd(spec, problem):
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "n"},
           "spec": spec}
    problems = crdschema.validate(CRD, "v1", obj)
    if problem is None:
        assert problems == []
    else:
        assert problems and problem in problems[0]


def test_unknown_top_level_field_of_a_custom_resource():
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1},
           "sepc": {}}
    assert crdschema.validate(CRD, "v1", obj)
    assert crdschema.validate(CRD, "v2", obj) == []  # no schema for that version: left to the server


def test_plan_stages_and_gates():
    p = plan.Plan()
    p.add("storage", [{"kind": "StatefulSet", "metadata": {"name": "db"}}], plan.Gate.ready())
    p.add("schema", [{"kind": "Job", "metadata": {"name": "init"}}, {"kind": "ConfigMap", "metadata": {"name": "c"}}],
          plan.Gate.ready(targets=["Job"], name="schema init Job complete"))
    p.own_kind("networking.k8s.io", "Ingress")
    assert len(p) == 3 and [s.name for s in p.stages] == ["storage", "schema"]
    gate = p.stages[1].gate
    assert gate.selects({"kind": "Job", "metadata": {"name": "init"}})
    assert not gate.selects({"kind": "ConfigMap", "metadata": {"name": "c"}})
    assert gate.describe() == "schema init Job complete"
    assert plan.Gate.condition("Ready").describe() == "Ready=True"
    assert plan.Gate.ready(targets=[("Job", "x")]).selects({"kind": "Job", "metadata": {"name": "x"}})
    with pytest.raises(ValueError):
        p.add("storage", [])
    with pytest.raises(ValueError):
        plan.Gate("nope")
    assert ("networking.k8s.io", "Ingress") in p.kinds


def test_secret_forms_cover_every_way_a_value_shows_up():
    pem = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASC\nqwerty-line-two\n-----END KEY-----\n"
    forms = secret_forms({"pin": 909090, "pem": pem, "nested": {"deep": "s3cr3t-deep"}, "b": "YWJjZGVm"})
    assert "909090" in forms
    assert "MIIBVwIBADANBgkqhkiG9w0BAQEFAASC" in forms and "qwerty-line-two" in forms
    assert base64.b64encode(pem.encode()).decode() in forms
    assert "s3cr3t-deep" in forms and "abcdef" in forms  # the decoded form of base64 input
    assert "ab" not in forms  # too short to mask without masking everything


def test_masked_definitions_hide_values_keep_keys():
    docs = [("d[0]", {"kind": "Secret", "stringData": {"a": "x"}, "data": {"b": "eQ=="}}),
            ("d[1]", {"kind": "ConfigMap", "data": {"c": "visible"}})]
    out = masked_definitions(docs)
    assert out[0]["stringData"] == {"a": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    assert out[0]["data"] == {"b": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    assert out[1]["data"] == {"c": "visible"}
    assert docs[0][1]["stringData"] == {"a": "x"}
