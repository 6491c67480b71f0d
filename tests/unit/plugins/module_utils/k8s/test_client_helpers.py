# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import itertools

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


def _err(status, reason=None, causes=None):
    body = {"reason": reason, "details": {"causes": causes or []}}
    return ApiError(status, reason, "m", body=body)


def test_retry_classification():
    assert k8s_client.is_retryable(503, _err(503))
    assert k8s_client.is_retryable(429, _err(429, "TooManyRequests"))
    assert k8s_client.is_retryable(409, _err(409, "Conflict"))
    conflict = [{"reason": "FieldManagerConflict", "field": ".data.a"}]
    assert not k8s_client.is_retryable(409, _err(409, "Conflict", conflict))
    assert not k8s_client.is_retryable(409, _err(409, "AlreadyExists"))
    assert not k8s_client.is_retryable(404, _err(404))
    assert not k8s_client.is_retryable(422, _err(422))


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
