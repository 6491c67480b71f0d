# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import base64

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import manifest
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError


def cm(name="a", ns="ns", **extra):
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": "v"}}
    obj.update(extra)
    return obj


def test_load_yaml_text_multi_document_and_lists():
    text = """
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: x}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: x}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: x}}
---
"""
    loaded = manifest.load_definitions(text)
    assert [pair[0] for pair in loaded] == ["definitions[0]", "definitions[1].items[0]", "definitions[1].items[1]"]
    assert [pair[1]["metadata"]["name"] for pair in loaded] == ["a", "b", "c"]


def test_load_rejects_bad_yaml_and_types():
    with pytest.raises(SpecError, match="definitions: is not valid YAML"):
        manifest.load_definitions("a: [b")
    with pytest.raises(SpecError, match="must be a list"):
        manifest.load_definitions(42)


def test_load_refuses_a_key_given_twice():
    text = "kind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: '1'\n  x: '2'\n"
    with pytest.raises(SpecError, match=r"definitions: is not valid YAML: found duplicate key 'x' at line 6"):
        manifest.load_definitions(text)
    # a merge key is not a duplicate: the explicit key overrides the merged one, as YAML says
    merged = "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  x: 3\n"
    assert manifest.load_definitions(merged)[0][1]["derived"] == {"x": 3, "y": 2}
    # the same key in different mappings and documents is fine
    assert len(manifest.load_definitions("a: {x: 1}\nb: {x: 1}\n---\na: 2\n")) == 2


@pytest.mark.parametrize("mutate, field, fragment", [
    (lambda o: o.pop("apiVersion"), "definitions[0].apiVersion", "not a valid apiVersion"),
    (lambda o: o.update(apiVersion="Apps/V1"), "definitions[0].apiVersion", "not a valid apiVersion"),
    (lambda o: o.update(kind="configmap"), "definitions[0].kind", "not a valid kind"),
    (lambda o: o.pop("metadata"), "definitions[0].metadata", "is required"),
    (lambda o: o["metadata"].update(name="Bad_Name"), "definitions[0].metadata.name", "not a valid ConfigMap name"),
    (lambda o: o["metadata"].pop("name"), "definitions[0].metadata.name", "not a valid"),
    (lambda o: o["metadata"].update(name="x" * 254), "definitions[0].metadata.name", "253"),
    (lambda o: o["metadata"].update(namespace="Not-Valid"), "definitions[0].metadata.namespace", "not a valid"),
    (lambda o: o["metadata"].update(labels={"app": "x" * 64}), "definitions[0].metadata.labels.app",
     "not a valid label value"),
    (lambda o: o["metadata"].update(labels={"bad key!": "x"}), "definitions[0].metadata.labels", "not a valid key"),
    (lambda o: o["metadata"].update(annotations={"a": 1}), "definitions[0].metadata.annotations.a", "strings"),
    (lambda o: o["metadata"].update(resourceVersion="12"), "definitions[0].metadata.resourceVersion",
     "must not be set"),
    (lambda o: o["metadata"].update(generateName="x-", name=None), "definitions[0].metadata.name",
     "generateName is not supported"),
])
def test_validation_names_the_field(mutate, field, fragment):
    obj = cm()
    mutate(obj)
    with pytest.raises(SpecError) as info:
        manifest.validate_object("definitions[0]", obj)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_resource_quantities_are_checked_with_their_path():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "x"},
           "spec": {"template": {"spec": {"containers": [
               {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": 1024}}},
               {"name": "b", "resources": {"limits": {"memory": "lots"}}}]}}}}
    with pytest.raises(SpecError) as info:
        manifest.validate_object("definitions[0]", dep)
    assert info.value.field == "definitions[0].spec.template.spec.containers[1].resources.limits.memory"
    dep["spec"]["template"]["spec"]["containers"][1]["resources"]["limits"]["memory"] = "1.5Gi"
    manifest.validate_object("definitions[0]", dep)


def test_service_and_namespace_names_are_dns_labels():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a.b", "namespace": "x"}}
    with pytest.raises(SpecError, match="RFC 1123 label"):
        manifest.validate_object("d", svc)
    manifest.validate_object("d", cm(name="a.b"))  # subdomains are fine for ConfigMaps


def test_secret_data_must_be_base64():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"},
              "data": {"password": "not base64!"}}
    with pytest.raises(SpecError, match=r"definitions\[0\].data.password: is not valid base64"):
        manifest.validate_object("definitions[0]", secret)


def test_prepare_adds_ownership_labels_and_fingerprint_without_mutating_input():
    obj = cm(metadata={"name": "a", "namespace": "ns", "labels": {"app": "x"}})
    out = manifest.prepare(obj, "demo")
    assert obj["metadata"]["labels"] == {"app": "x"}
    assert out["metadata"]["labels"] == {
        "app": "x",
        "app.kubernetes.io/managed-by": "skywalking.swck",
        "skywalking.swck/instance": "demo",
    }
    fp = out["metadata"]["annotations"][manifest.APPLIED_ANNOTATION]
    assert len(fp) == 20
    # Same content, different key order -> same fingerprint; different content -> different.
    again = manifest.prepare({"data": {"k": "v"}, "metadata": {"namespace": "ns", "labels": {"app": "x"}, "name": "a"},
                              "kind": "ConfigMap", "apiVersion": "v1"}, "demo")
    assert again["metadata"]["annotations"][manifest.APPLIED_ANNOTATION] == fp
    changed = manifest.prepare(cm(metadata={"name": "a", "namespace": "ns", "labels": {"app": "y"}}), "demo")
    assert changed["metadata"]["annotations"][manifest.APPLIED_ANNOTATION] != fp
    # Re-preparing an already prepared object is stable.
    assert manifest.prepare(out, "demo") == out


def test_prepare_refuses_foreign_ownership_label():
    obj = cm(metadata={"name": "a", "namespace": "ns", "labels": {"app.kubernetes.io/managed-by": "Helm"}})
    with pytest.raises(SpecError, match="app.kubernetes.io/managed-by: is reserved"):
        manifest.prepare(obj, "demo", "definitions[0]")


def test_secret_string_data_is_folded_into_data():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"},
              "data": {"a": base64.b64encode(b"1").decode()}, "stringData": {"b": "two", "n": 3}}
    out = manifest.prepare(secret, "demo")
    assert "stringData" not in out
    assert base64.b64decode(out["data"]["b"]) == b"two"
    assert base64.b64decode(out["data"]["n"]) == b"3"
    assert base64.b64decode(out["data"]["a"]) == b"1"


@pytest.mark.parametrize("value", ["", "-x", "x" * 64, "a b", None, "sw.sky"])
def test_invalid_instance(value):
    with pytest.raises(SpecError, match="^instance: "):
        manifest.validate_instance(value)


def test_identity_ignores_version_and_ref_text():
    a = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h", "namespace": "n"}}
    b = dict(a, apiVersion="autoscaling/v2")
    assert manifest.identity(a) == manifest.identity(b)
    assert manifest.object_ref(a) == "HorizontalPodAutoscaler n/h"
    assert manifest.object_ref({"kind": "Namespace", "metadata": {"name": "n"}}) == "Namespace n"


def test_member_selector_and_field_manager():
    assert manifest.member_selector("applyset-abc-v1") == "applyset.kubernetes.io/part-of=applyset-abc-v1"
    assert manifest.field_manager_for("demo") == "skywalking.swck/demo"


def test_prepare_labels_members_of_the_applyset():
    out = manifest.prepare(cm(), "demo", "applyset-x-v1")
    assert out["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == "applyset-x-v1"


def test_fingerprint_reveals_nothing_about_secret_values():
    def secret(value):
        return manifest.prepare({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"},
                                 "stringData": {"password": value}}, "demo")
    a, b = secret("changeme"), secret("hunter2")
    assert a["metadata"]["annotations"][manifest.APPLIED_ANNOTATION] == \
        b["metadata"]["annotations"][manifest.APPLIED_ANNOTATION]
    c = manifest.prepare({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "x"},
                          "stringData": {"password": "x", "user": "y"}}, "demo")
    assert c["metadata"]["annotations"][manifest.APPLIED_ANNOTATION] != \
        a["metadata"]["annotations"][manifest.APPLIED_ANNOTATION]


def test_yaml_errors_do_not_echo_the_text():
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: \"hunter2-unterminated\n"
    with pytest.raises(SpecError) as err:
        manifest.load_definitions(text)
    assert "hunter2" not in err.value.msg
    assert "line" in err.value.msg


def test_the_applications_own_recommended_labels_are_left_to_it():
    obj = cm(metadata={"name": "a", "namespace": "ns", "labels": {"app.kubernetes.io/part-of": "shop",
                                                                  "app.kubernetes.io/instance": "shop-eu"}})
    labels = manifest.prepare(obj, "demo")["metadata"]["labels"]
    assert labels["app.kubernetes.io/part-of"] == "shop" and labels["app.kubernetes.io/instance"] == "shop-eu"
    assert labels["skywalking.swck/instance"] == "demo"


def _live(labels=None, annotations=None, owners=None):
    return {"metadata": {"name": "x", "labels": labels or {}, "annotations": annotations or {},
                         "ownerReferences": owners or []}}


@pytest.mark.parametrize("live, verdict, fragment", [
    (_live({"app.kubernetes.io/managed-by": "skywalking.swck", "skywalking.swck/instance": "a",
            "applyset.kubernetes.io/part-of": "id-a"}), manifest.OURS, "this instance"),
    # labelled by 0.1.0 (before ApplySets and the instance label of our own)
    (_live({"app.kubernetes.io/managed-by": "skywalking.swck", "app.kubernetes.io/instance": "a"}),
     manifest.OURS, "this instance"),
    (_live({"app.kubernetes.io/managed-by": "skywalking.swck", "skywalking.swck/instance": "b",
            "applyset.kubernetes.io/part-of": "id-b"}), manifest.OTHER_INSTANCE, "instance b"),
    (_live({"app.kubernetes.io/managed-by": "skywalking.swck", "skywalking.swck/instance": "a",
            "applyset.kubernetes.io/part-of": "id-other"}), manifest.OTHER_INSTANCE, "another ApplySet"),
    # the same ApplySet id with another instance: another tool derived the parent name; not ours
    (_live({"app.kubernetes.io/managed-by": "skywalking.swck", "skywalking.swck/instance": "c",
            "applyset.kubernetes.io/part-of": "id-a"}), manifest.OTHER_INSTANCE, "instance c"),
    (_live({"app.kubernetes.io/managed-by": "Helm"}, {"meta.helm.sh/release-name": "sw"}), manifest.FOREIGN,
     "Helm release sw"),
    (_live({"app.kubernetes.io/managed-by": "Helm"}), manifest.FOREIGN, "managed-by=Helm"),
    (_live({"argocd.argoproj.io/instance": "app"}), manifest.FOREIGN, "Argo CD"),
    (_live({"applyset.kubernetes.io/part-of": "applyset-kubectl-v1"}), manifest.FOREIGN, "ApplySet"),
    (_live(owners=[{"kind": "CronJob", "name": "c", "controller": True}]), manifest.FOREIGN, "controlled by CronJob"),
    (_live(), manifest.UNMANAGED, "created outside"),
])
def test_ownership(live, verdict, fragment):
    got = manifest.ownership(live, "id-a", "a")
    assert got[0] == verdict and fragment in got[1]


@pytest.mark.parametrize("check, value", [
    (manifest.is_dns_label, "web\n"), (manifest.is_dns_subdomain, "a.b\n"), (manifest.is_label_value, "v1\n"),
    (manifest.is_qualified_key, "app\n"), (manifest.is_qualified_key, "example.com\n/app"),
])
def test_a_trailing_line_break_is_no_name(check, value):
    assert check(value.replace("\n", "")) and not check(value)
