# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import itertools

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import client as k8s_client
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import ApiError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.waiter import selector_string


def test_warning_header_parsing():
    assert k8s_client.parse_warning_header('299 - "policy/v1beta1 PodSecurityPolicy is deprecated"') == \
        "policy/v1beta1 PodSecurityPolicy is deprecated"
    assert k8s_client.parse_warning_header('299 - "say \\"hi\\""') == 'say "hi"'
    assert k8s_client.parse_warning_header("odd") == "odd"


def test_backoff_grows_and_is_capped():
    delays = list(itertools.islice(k8s_client.backoff_delays(base=0.2, cap=3.0, jitter=lambda: 0.5), 7))
    assert delays == [0.2, 0.4, 0.8, 1.6, 3.0, 3.0, 3.0]


def _err(status, reason=None, causes=None, message="m"):
    body = {"reason": reason, "details": {"causes": causes or []}}
    return ApiError(status, reason, message, body=body)


@pytest.mark.parametrize("method, query, content_type, safe", [
    ("GET", None, None, True), ("DELETE", None, None, True),
    ("PATCH", None, k8s_client.APPLY_PATCH, True), ("PATCH", None, k8s_client.MERGE_PATCH, False),
    ("POST", None, "application/json", False), ("POST", {"dryRun": "All"}, "application/json", True),
    ("PUT", None, "application/json", False),
])
def test_safe_to_repeat(method, query, content_type, safe):
    assert k8s_client.is_safe_to_repeat(method, query, content_type) is safe


def test_retry_policy():
    # transient answers: retried when the request is safe to repeat (429 always)
    assert k8s_client.should_retry("PATCH", 503, _err(503), safe=True)
    assert not k8s_client.should_retry("POST", 503, _err(503), safe=False)
    assert k8s_client.should_retry("POST", 429, _err(429, "TooManyRequests"), safe=False)
    # a 500 is often a deterministic refusal: only reads are tried again, twice
    assert not k8s_client.should_retry("PATCH", 500, _err(500), safe=True, attempts_500=1)
    assert k8s_client.should_retry("GET", 500, _err(500), safe=True, attempts_500=1)
    assert not k8s_client.should_retry("GET", 500, _err(500), safe=True, attempts_500=3)
    # 409: only an apply that is not a field conflict
    assert k8s_client.should_retry("PATCH", 409, _err(409, "Conflict", message="the object has been modified"),
                                   safe=True)
    conflict = [{"reason": "FieldManagerConflict", "field": ".data.a"}]
    assert not k8s_client.should_retry("PATCH", 409, _err(409, "Conflict", conflict), safe=True)
    assert not k8s_client.should_retry("POST", 409, _err(409, "AlreadyExists"), safe=True)
    pre = _err(409, "Conflict", message="Precondition failed: UID in precondition: 1, UID in object meta: 2")
    assert pre.is_precondition_failure
    assert not k8s_client.should_retry("DELETE", 409, pre, safe=True)
    for status in (400, 401, 403, 404, 422):
        assert not k8s_client.should_retry("GET", status, _err(status), safe=True)
    # a 422 from an API server still starting (not about the object)
    starting = _err(422, "Invalid", message="Service \"x\" is invalid: failed to allocate IP: allocator not ready")
    assert k8s_client.should_retry("PATCH", 422, starting, safe=True)


def test_version_rank_prefers_stable_and_newer():
    ranked = sorted(["v1beta1", "v2", "v1", "v1alpha1", "v2beta2"], key=k8s_client._version_rank, reverse=True)
    assert ranked == ["v2", "v1", "v2beta2", "v1beta1", "v1alpha1"]


def test_static_resources_and_paths():
    res = k8s_client._STATIC[("apps/v1", "Deployment")]
    assert res.path("ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"
    assert res.path() == "/apis/apps/v1/deployments"
    ns = k8s_client._STATIC[("v1", "Namespace")]
    assert ns.path(None, "demo") == "/api/v1/namespaces/demo"
    crb = k8s_client._STATIC[("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")]
    assert crb.path("ignored", "x") == "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/x"
    assert crb.group == "rbac.authorization.k8s.io"


def test_selector_string():
    sel = {"matchLabels": {"b": "2", "a": "1"},
           "matchExpressions": [{"key": "c", "operator": "In", "values": ["x", "y"]},
                                {"key": "d", "operator": "NotIn", "values": ["z"]},
                                {"key": "e", "operator": "Exists"}, {"key": "f", "operator": "DoesNotExist"}]}
    assert selector_string(sel) == "a=1,b=2,c in (x,y),d notin (z),e,!f"
    assert selector_string(None) == ""
