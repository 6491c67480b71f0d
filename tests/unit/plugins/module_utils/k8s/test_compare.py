# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""compare.py: exact where the type is not a quantity, by key for map lists, zero equals absent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import compare, manifest, quantity
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.schema import Schemas

SCHEMAS = Schemas()


def node(api_version, kind):
    return SCHEMAS.node_for(api_version, kind)


def diffs(desired, live, api_version="v1", kind="ConfigMap"):
    return [(compare.path_text(d.path), d.want, d.have)
            for d in compare.differences(desired, live, node(api_version, kind), SCHEMAS)]


@pytest.mark.parametrize("text, value", [
    ("1", Decimal(1)), ("500m", Decimal("0.5")), ("0.5", Decimal("0.5")), ("1Ki", Decimal(1024)),
    ("2Gi", Decimal(2 * 2 ** 30)), ("1G", Decimal(10 ** 9)), ("1e3", Decimal(1000)), ("100n", Decimal("1e-7")),
    (2, Decimal(2)), ("abc", None), ("1Zi", None), (True, None), (None, None), (".5", Decimal("0.5")),
    ("1.", Decimal(1)), ("-1", Decimal(-1)), ("1.5Gi", Decimal("1.5") * 2 ** 30), ("", None), (" ", None),
])
def test_parse_quantity(text, value):
    assert quantity.parse(text) == value


def test_quantity_helpers():
    assert quantity.to_bytes("1Gi") == 2 ** 30
    assert quantity.to_millicores("0.5") == 500
    assert quantity.to_millicores("1.0001") == 1001  # rounded up, as Kubernetes does
    assert quantity.equal("1000m", "1") and not quantity.equal("1", "x")
    assert quantity.too_large("8Ei") and quantity.too_large("-1e19") and quantity.too_large("1e999")
    assert not quantity.too_large("9223372036854775807") and not quantity.too_large("7Ei")
    assert not quantity.too_large("x")


@pytest.mark.parametrize("desired, live, equal", [
    ("a", "a", True), ("a", "b", False), (1, 1.0, True), (True, True, True), (True, 1, False),
    (False, "false", False), ("8080", 8080, False), (8080, "8080", False), ("1.10", "1.1", False),
    ("1000", "1k", False), ("0.5", "500m", False), ("", "", True),
])
def test_scalars_are_exact_by_default(desired, live, equal):
    assert compare.scalars_equal(desired, live) is equal


@pytest.mark.parametrize("desired, live, equal", [
    ("1000m", "1", True), ("0.5", "500m", True), (1, "1", True), ("1Gi", "1073741824", True),
    ("1Gi", "1G", False), ("2", "3", False), ("1k", "1000", True),
    # what the API server stores (rounded away from zero to milli-units), measured on v1.35/v1.37
    ("1.23456789012", "1235m", True), ("1e-10", "1e-3", True), ("0.0001", "1m", True),
    ("1.0000000001Ki", "1024001m", True), ("1.0001", "1", False), ("0.0001", "0", False),
])
def test_scalars_by_amount_where_the_type_is_a_quantity(desired, live, equal):
    assert compare.scalars_equal(desired, live, "q") is equal


# Hand edits the comparison must see: quantity/number look-alikes outside quantity fields.
@pytest.mark.parametrize("want, have", [("1.10", "1.1"), ("1000", "1k"), ("0.5", "500m"), ("08", "8")])
def test_configmap_data_is_exact(want, have):
    desired = {"data": {"v": want}}
    assert diffs(desired, {"data": {"v": have}}) == [(".data.v", want, have)]


def test_label_values_are_exact():
    desired = {"metadata": {"labels": {"version": "9.10"}}}
    assert diffs(desired, {"metadata": {"labels": {"version": "9.1"}}}) == [(".metadata.labels.version", "9.10",
                                                                             "9.1")]


def test_container_resources_compare_by_amount():
    desired = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "0.5", "memory": "1073741824"}, "limits": {"cpu": 1}}}]}}}}
    live = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}}}]}}}}
    assert diffs(desired, live, "apps/v1", "Deployment") == []
    live["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "600m"
    assert diffs(desired, live, "apps/v1", "Deployment") == [
        (".spec.template.spec.containers[name=a].resources.requests.cpu", "0.5", "600m")]


def test_other_quantity_fields():
    pvc = {"spec": {"resources": {"requests": {"storage": "1Gi"}}}}
    assert diffs(pvc, {"spec": {"resources": {"requests": {"storage": "1073741824"}}}}, "v1",
                 "PersistentVolumeClaim") == []
    quota = {"spec": {"hard": {"pods": "10", "requests.cpu": "1"}}}
    assert diffs(quota, {"spec": {"hard": {"pods": "10", "requests.cpu": "1000m"}}}, "v1", "ResourceQuota") == []
    limits = {"spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"}}]}}
    assert diffs(limits, {"spec": {"limits": [{"type": "Container", "max": {"memory": "1024Mi"}}]}},
                 "v1", "LimitRange") == []
    empty_dir = {"spec": {"template": {"spec": {"volumes": [{"name": "t", "emptyDir": {"sizeLimit": "1Gi"}}]}}}}
    assert diffs(empty_dir, {"spec": {"template": {"spec": {"volumes": [
        {"name": "t", "emptyDir": {"sizeLimit": "1024Mi"}}]}}}}, "apps/v1", "StatefulSet") == []


def test_int_or_string_is_exact():
    desired = {"spec": {"ports": [{"port": 80, "targetPort": "8080"}]}}
    assert diffs(desired, {"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}]}},
                 "v1", "Service") == [(".spec.ports[port=80,protocol=TCP].targetPort", "8080", 8080)]


def test_map_lists_match_by_key_and_ignore_items_others_added():
    desired = {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "x", "env": [{"name": "A", "value": "1"}]}]}}}}
    live = {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "s"},
        {"name": "app", "image": "x", "env": [{"name": "EXTRA", "value": "x"}, {"name": "A", "value": "1"}]}]}}}}
    assert diffs(desired, live, "apps/v1", "Deployment") == []
    live["spec"]["template"]["spec"]["containers"][1]["env"][1]["value"] = "2"
    assert diffs(desired, live, "apps/v1", "Deployment") == [
        (".spec.template.spec.containers[name=app].env[name=A].value", "1", "2")]
    del live["spec"]["template"]["spec"]["containers"][1]["env"][1]
    assert diffs(desired, live, "apps/v1", "Deployment") == [
        (".spec.template.spec.containers[name=app].env[name=A]", {"name": "A", "value": "1"}, None)]


def test_map_list_keys_defaulted_by_the_server_still_match():
    desired = {"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]}}}}
    live = {"spec": {"template": {"spec": {"containers": [
        {"name": "a", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}}
    assert diffs(desired, live, "apps/v1", "Deployment") == []


def test_atomic_lists_are_compared_whole():
    desired = {"spec": {"template": {"spec": {"containers": [{"name": "a", "args": ["--x", "1"]}]}}}}
    live = {"spec": {"template": {"spec": {"containers": [{"name": "a", "args": ["--x", "1", "--y"]}]}}}}
    found = diffs(desired, live, "apps/v1", "Deployment")
    assert found and found[0][0] == ".spec.template.spec.containers[name=a].args"


def test_atomic_maps_must_not_gain_keys():
    desired = {"spec": {"selector": {"app": "a"}}}
    assert diffs(desired, {"spec": {"selector": {"app": "a"}}}, "v1", "Service") == []
    assert diffs(desired, {"spec": {"selector": {"app": "a", "x": "y"}}}, "v1", "Service") == [
        (".spec.selector", {"app": "a"}, {"app": "a", "x": "y"})]
    # a granular map (labels) may hold keys others added
    assert diffs({"metadata": {"labels": {"a": "1"}}}, {"metadata": {"labels": {"a": "1", "b": "2"}}}) == []


@pytest.mark.parametrize("zero", ["", 0, False, {}, []])
def test_zero_values_equal_absent(zero):
    desired = {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "E", "value": zero}]}]}}}}
    live = {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "E"}]}]}}}}
    assert diffs(desired, live, "apps/v1", "Deployment") == []


def test_set_lists_by_membership():
    desired = {"spec": {"podCIDRs": ["10.0.0.0/24"]}}
    assert diffs(desired, {"spec": {"podCIDRs": ["10.1.0.0/24", "10.0.0.0/24"]}}, "v1", "Node") == []
    assert diffs(desired, {"spec": {"podCIDRs": ["10.1.0.0/24"]}}, "v1", "Node") == [
        ('.spec.podCIDRs[=10.0.0.0/24]', "10.0.0.0/24", None)]


def test_server_added_fields_are_not_differences():
    desired = {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}
    live = {"spec": {"replicas": 2, "revisionHistoryLimit": 10,
                     "template": {"spec": {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always"}],
                                           "dnsPolicy": "ClusterFirst"}}}, "status": {"replicas": 2}}
    assert diffs(desired, live, "apps/v1", "Deployment") == []


def test_unknown_kinds_compare_generically():
    generic = Schemas(builtin=({}, {}))
    assert generic.node_for("example.com/v1", "Widget") == "g"
    desired = {"spec": {"items": [{"a": 1}]}}
    assert compare.contains(desired, {"spec": {"items": [{"a": 1, "b": 2}]}}, "g", generic)
    assert not compare.contains(desired, {"spec": {"items": [{"a": 1}, {"a": 2}]}}, "g", generic)


def test_strip_path_removes_one_field():
    body = {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}
    assert compare.strip_path(body, (("f", "spec"), ("f", "replicas")))
    assert "replicas" not in body["spec"]
    path = (("f", "spec"), ("f", "template"), ("f", "spec"), ("f", "containers"), ("k", {"name": "a"}), ("f", "image"))
    assert compare.strip_path(body, path)
    assert body["spec"]["template"]["spec"]["containers"] == [{"name": "a"}]
    assert not compare.strip_path(body, (("f", "nope"),))


def test_path_text():
    path = (("f", "spec"), ("f", "ports"), ("k", {"port": 80, "protocol": "TCP"}), ("f", "name"))
    assert compare.path_text(path) == ".spec.ports[port=80,protocol=TCP].name"
    assert compare.path_text((("f", "a"), ("i", 2), ("v", "x"))) == ".a[2][=x]"


def test_clean_strips_bookkeeping():
    obj = {"kind": "ConfigMap", "metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "generation": 2,
                                             "creationTimestamp": "t", "managedFields": [{}],
                                             "annotations": {manifest.APPLIED_ANNOTATION: "x"}},
           "status": {"a": 1}, "data": {"k": "v"}}
    assert compare.clean(obj, hidden_annotations=(manifest.APPLIED_ANNOTATION,)) == {
        "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
    assert obj["metadata"]["uid"] == "u"  # input untouched


def test_secret_masking_shows_which_values_changed():
    before = {"kind": "Secret", "data": {"same": "YQ==", "changed": "Yg==", "gone": "Yw=="}}
    after = {"kind": "Secret", "data": {"same": "YQ==", "changed": "Yw==", "new": "ZA=="}}
    b, a = compare.mask_secret_pair(before, after)
    assert b["data"] == {"same": "********", "changed": "********", "gone": "********"}
    assert a["data"] == {"same": "********", "changed": "******** (changed)", "new": "******** (changed)"}
    assert before["data"]["same"] == "YQ=="
    text = repr((b, a))
    for secret in ("YQ==", "Yg==", "Yw==", "ZA=="):
        assert secret not in text
    cm = {"kind": "ConfigMap", "data": {"a": "b"}}
    assert compare.mask_secret_pair(cm, cm) == (cm, cm)
