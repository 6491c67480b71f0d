# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

from decimal import Decimal

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import compare, manifest


@pytest.mark.parametrize("text, value", [
    ("1", Decimal(1)), ("500m", Decimal("0.5")), ("0.5", Decimal("0.5")), ("1Ki", Decimal(1024)),
    ("2Gi", Decimal(2 * 2 ** 30)), ("1G", Decimal(10 ** 9)), ("1e3", Decimal(1000)), ("100n", Decimal("1e-7")),
    (2, Decimal(2)), ("abc", None), ("1Zi", None), (True, None), (None, None),
])
def test_parse_quantity(text, value):
    assert compare.parse_quantity(text) == value


@pytest.mark.parametrize("desired, live, equal", [
    ("1000m", "1", True), ("0.5", "500m", True), (1, "1", True), ("1Gi", "1073741824", True),
    ("1Gi", "1G", False), ("a", "a", True), ("a", "b", False), (1, 1.0, True), (True, True, True),
    (True, 1, False), (False, "false", False), ("8080", 8080, True), ("http", "http", True),
])
def test_scalars_equal(desired, live, equal):
    assert compare.scalars_equal(desired, live) is equal


def test_differences_ignores_server_added_fields_and_empty_containers():
    container = {"name": "a", "image": "x", "resources": {"limits": {"cpu": "0.5"}}}
    desired = {"spec": {"replicas": 2, "template": {"spec": {"containers": [container], "tolerations": []}}},
               "metadata": {"labels": {}}}
    live = {"spec": {"replicas": 2, "revisionHistoryLimit": 10,
                     "template": {"spec": {"containers": [{"name": "a", "image": "x", "imagePullPolicy": "Always",
                                                           "resources": {"limits": {"cpu": "500m"}}}]}}},
            "metadata": {"uid": "1"}, "status": {"replicas": 2}}
    assert compare.differences(desired, live) == []
    assert compare.contains(desired, live)


def test_differences_report_paths():
    desired = {"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "y"}]}}},
               "data": {"x": "1"}}
    containers = [{"name": "a", "image": "x"}, {"name": "b"}]
    live = {"spec": {"replicas": 2, "template": {"spec": {"containers": containers}}}}
    diffs = compare.differences(desired, live)
    assert (".spec.replicas", 3, 2) in diffs
    assert (".spec.template.spec.containers", "1 item(s)", "2 item(s)") in diffs
    assert (".data", {"x": "1"}, None) in diffs


def _live(desired, manager="skywalking.swck", operation="Apply"):
    live = dict(desired)
    live["metadata"] = dict(desired["metadata"], resourceVersion="5",
                            managedFields=[{"manager": manager, "operation": operation}])
    return live


def test_in_sync_requires_fingerprint_manager_and_values():
    desired = manifest.prepare({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"},
                                "data": {"k": "v"}}, "demo")
    assert compare.in_sync(desired, _live(desired), "skywalking.swck")
    assert not compare.in_sync(desired, None, "skywalking.swck")
    assert not compare.in_sync(desired, _live(desired, manager="kubectl"), "skywalking.swck")
    assert not compare.in_sync(desired, _live(desired, operation="Update"), "skywalking.swck")
    drifted = _live(desired)
    drifted["data"] = {"k": "edited by hand"}
    assert not compare.in_sync(desired, drifted, "skywalking.swck")
    other = manifest.prepare(dict(desired, data={"k": "v", "extra": "1"}), "demo")
    assert not compare.in_sync(other, _live(desired), "skywalking.swck")


def test_clean_strips_bookkeeping():
    obj = {"kind": "ConfigMap", "metadata": {"name": "a", "uid": "u", "resourceVersion": "1", "generation": 2,
                                             "creationTimestamp": "t", "managedFields": [{}],
                                             "annotations": {manifest.APPLIED_ANNOTATION: "x"}},
           "status": {"a": 1}, "data": {"k": "v"}}
    assert compare.clean(obj) == {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}
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
