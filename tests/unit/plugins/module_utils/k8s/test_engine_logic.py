# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Engine decisions that need no API server: sync classification and the normalisation note.

The client is never called in these tests (a sentinel that fails when touched), so they show
pure decisions; everything that talks to a server is in tests/integration.
"""

from __future__ import annotations

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import manifest
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine, Planned
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import ConflictError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.schema import Schemas


class Untouchable(object):
    def __getattr__(self, name):
        raise AssertionError("the client must not be used here (%s)" % name)


MANAGER = "skywalking.swck/demo"


def engine(**kw):
    e = Engine(Untouchable(), schemas=Schemas(), **kw)
    e._reset("demo")
    return e


def planned(body, live=None, managers=()):
    p = Planned("definitions[0]", manifest.prepare(body, "demo", "applyset-x-v1"))
    if live is not None:
        live = dict(live)
        live["metadata"] = dict(live.get("metadata") or {}, managedFields=list(managers))
    p.live = live
    return p


def cm(data, annotations=None):
    meta = {"name": "c", "namespace": "n"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def owned(manager, operation, tree):
    return {"manager": manager, "operation": operation, "fieldsType": "FieldsV1", "fieldsV1": tree}


def live_of(p, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": dict(p.body["metadata"]), "data": data}


def test_in_sync_needs_no_request():
    p = planned(cm({"a": "1"}))
    p.live = dict(live_of(p, {"a": "1"}))
    p.live["metadata"]["managedFields"] = [owned(MANAGER, "Apply", {"f:data": {"f:a": {}}})]
    e = engine()
    assert e._needs_apply(p) is False and p.action == "unchanged"


def test_imperative_edit_is_taken_back_with_force():
    p = planned(cm({"a": "1"}))
    p.live = dict(live_of(p, {"a": "2"}))
    p.live["metadata"]["managedFields"] = [owned(MANAGER, "Apply", {"f:metadata": {}}),
                                           owned("kubectl-edit", "Update", {"f:data": {"f:a": {}}})]
    e = engine()
    assert e._needs_apply(p) is True
    assert p.force is True and p.drift == [(".data.a", ["kubectl-edit"])]


def test_controller_held_field_is_left_alone_and_stripped_when_sent():
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}}}}
    p = planned(body)
    live = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": dict(p.body["metadata"]),
            "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}}}}
    live["metadata"]["managedFields"] = [owned(MANAGER, "Apply", {"f:spec": {"f:template": {}}}),
                                         owned("kube-controller-manager", "Update", {"f:spec": {"f:replicas": {}}})]
    p.live = live
    e = engine()
    assert e._needs_apply(p) is False, "only a held field differs: nothing to send"
    assert p.held == [(".spec.replicas", ["kube-controller-manager"])]
    # with another change, the held field is not sent
    p2 = planned(dict(body, spec=dict(body["spec"], template={"spec": {"containers": [{"name": "a", "image": "x:2"}]}})))
    p2.live = live
    assert engine()._needs_apply(p2) is True
    assert "replicas" not in p2.send["spec"] and p2.send["spec"]["template"]["spec"]["containers"][0]["image"] == "x:2"
    assert "replicas" in p2.body["spec"], "the desired manifest itself is unchanged"


def test_another_appliers_field_is_a_conflict_unless_forced():
    p = planned(cm({"a": "1"}))
    p.live = dict(live_of(p, {"a": "2"}))
    p.live["metadata"]["managedFields"] = [owned("argocd-controller", "Apply", {"f:data": {"f:a": {}}})]
    with pytest.raises(ConflictError) as err:
        engine()._needs_apply(p)
    assert err.value.conflicts == [{"field": ".data.a", "manager": "argocd-controller"}]
    p.drift, p.held = [], []
    assert engine(force_conflicts=True)._needs_apply(p) is True


def test_adopted_objects_take_every_update_field():
    p = planned(cm({"a": "1"}))
    p.adopted = True
    p.live = dict(live_of(p, {"a": "2", "notes": "keep"}))
    p.live["metadata"]["managedFields"] = [owned("helm", "Update", {"f:data": {"f:a": {}, "f:notes": {}}})]
    e = engine(adopt=True)
    assert e._needs_apply(p) is True and p.force is True and p.held == []


def test_a_value_the_server_normalises_is_named():
    e = engine()
    p = planned(cm({"a": "1"}))
    p.send = p.body
    after = live_of(p, {"a": "1.0"})
    e._explain_normalisation(p, after)
    assert e.notes == ["ConfigMap n/c: the API server stores .data.a as '1.0' (sent '1'); write that value so that "
                       "re-runs send nothing"]
    e2 = engine()
    e2._explain_normalisation(p, live_of(p, {"a": "1"}))
    assert e2.notes == []
