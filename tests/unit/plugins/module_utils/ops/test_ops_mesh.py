# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The pure parts of the mesh reconcile (ops/mesh.py): ConfigMap names, the patch plan, RBAC objects."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.ops import mesh
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import istio

TEXT = """\
# Istio's own comment
accessLogFile: "/dev/stdout"
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
"""
ADDRESS = "sky-oap.obs.svc:11800"
SPEC = {"name": "sky", "namespace": "obs", "satellite": {"enabled": False}}


def configmap(text=TEXT, annotations=None, rv="7"):
    meta = {"name": "istio", "namespace": "istio-system", "resourceVersion": rv}
    if annotations is not None:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"mesh": text, "meshNetworks": "x"}}


def applied(live, patch):
    """A JSON merge patch applied to the ConfigMap (data and annotations)."""
    out = {"data": dict(live["data"]), "annotations": dict(live["metadata"].get("annotations") or {})}
    out["data"].update(patch.get("data") or {})
    for key, value in ((patch.get("metadata") or {}).get("annotations") or {}).items():
        if value is None:
            out["annotations"].pop(key, None)
        else:
            out["annotations"][key] = value
    return configmap(out["data"]["mesh"], out["annotations"], rv="8")


@pytest.mark.parametrize("revision,name,expected", [(None, None, "istio"), ("1-24", None, "istio-1-24"),
                                                    (None, "mesh-config", "mesh-config")])
def test_configmap_name(revision, name, expected):
    assert mesh.configmap_name(revision, name) == expected


@pytest.mark.parametrize("revision,name,field", [("Bad_Rev", None, "revision"), (None, "no/slash", "configmap")])
def test_configmap_name_errors(revision, name, field):
    with pytest.raises(SpecError) as info:
        mesh.configmap_name(revision, name)
    assert info.value.field == field


def test_merge_then_remove_gives_back_the_text_with_its_comment():
    live = configmap()
    patch, info = mesh.plan_change(live, "present", ADDRESS)
    assert patch["metadata"]["resourceVersion"] == "7"
    assert patch["metadata"]["annotations"][mesh.TEXT_ANNOTATION] == TEXT
    assert set(patch["data"]) == {"mesh"}, "only the mesh key"
    merged = applied(live, patch)
    data = yaml.safe_load(merged["data"]["mesh"])
    assert data["defaultConfig"]["envoyAccessLogService"] == {"address": ADDRESS}
    assert data["accessLogFile"] == "/dev/stdout"
    assert info["before"] == TEXT and info["after"] == merged["data"]["mesh"]
    assert mesh.plan_change(merged, "present", ADDRESS)[0] is None, "nothing to do twice"
    patch, info = mesh.plan_change(merged, "absent")
    restored = applied(merged, patch)
    assert restored["data"]["mesh"] == TEXT
    assert restored["metadata"]["annotations"] == {}
    assert mesh.plan_change(restored, "absent")[0] is None


def test_removal_after_other_edits_keeps_them_and_drops_the_saved_text():
    merged = applied(configmap(), mesh.plan_change(configmap(), "present", ADDRESS)[0])
    data = yaml.safe_load(merged["data"]["mesh"])
    data["enableTracing"] = True
    data["defaultConfig"]["envoyAccessLogService"]["address"] = "other:11800"
    edited = configmap(yaml.safe_dump(data, sort_keys=False), merged["metadata"]["annotations"])
    patch, info = mesh.plan_change(edited, "absent")
    restored = yaml.safe_load(applied(edited, patch)["data"]["mesh"])
    assert restored["enableTracing"] is True
    assert restored["defaultConfig"]["envoyAccessLogService"]["address"] == "other:11800"
    assert "envoyMetricsService" not in restored["defaultConfig"]
    assert info["kept"] == ["defaultConfig.envoyAccessLogService.address"]
    assert applied(edited, patch)["metadata"]["annotations"] == {}


def test_changing_the_address_keeps_the_first_saved_text():
    merged = applied(configmap(), mesh.plan_change(configmap(), "present", ADDRESS)[0])
    patch, _info = mesh.plan_change(merged, "present", "other.obs.svc:11800")
    assert mesh.TEXT_ANNOTATION not in patch["metadata"]["annotations"]
    moved = applied(merged, patch)
    assert moved["metadata"]["annotations"][mesh.TEXT_ANNOTATION] == TEXT
    assert applied(moved, mesh.plan_change(moved, "absent")[0])["data"]["mesh"] == TEXT


def test_absent_without_a_record_changes_nothing():
    assert mesh.plan_change(configmap(), "absent") == (None, {"before": TEXT, "after": TEXT, "record": None,
                                                              "kept": []})


def test_rbac_objects_and_address():
    role, binding = mesh.rbac_objects(SPEC)
    assert role["metadata"]["name"] == binding["metadata"]["name"] == "skywalking-swck:obs:sky:oap-mesh"
    assert role["rules"] == istio.mesh_cluster_rules()
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sky-oap", "namespace": "obs"}]
    assert mesh.rbac_objects(SPEC, service_entries=False)[0]["rules"] == istio.mesh_cluster_rules(False)
    assert mesh.mesh_address(SPEC) == ADDRESS
    assert mesh.mesh_address(dict(SPEC, satellite={"enabled": True}), via_satellite=True) == \
        "sky-satellite.obs.svc:11800"
    with pytest.raises(SpecError) as info:
        mesh.mesh_address(SPEC, via_satellite=True)
    assert info.value.field == "via_satellite"


def test_a_configmap_without_a_mesh_key_gets_none_back_on_removal():
    live = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "istio", "namespace": "istio-system", "resourceVersion": "3"},
            "data": {"meshNetworks": "x"}}
    patch, info = mesh.plan_change(live, "present", ADDRESS)
    assert info["before"] is None and "envoyAccessLogService" in patch["data"]["mesh"]
    assert mesh.TEXT_ANNOTATION not in (patch["metadata"]["annotations"] or {}), "no text to save"
    merged = applied(live, patch)
    patch, _info = mesh.plan_change(merged, "absent")
    assert patch["data"] == {"mesh": None}, "a JSON merge patch null deletes the key"
    assert patch["metadata"]["annotations"][istio.RECORD_ANNOTATION] is None
