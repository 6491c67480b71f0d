# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Istio mesh config merge/restore, OAP env and RBAC for Envoy ALS."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import istio

ADDRESS = "sw-oap.skywalking.svc:11800"

# shaped like the mesh key Istio's installer writes
MESH = """\
accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  tracing:
    zipkin:
      address: zipkin.istio-system:9411
  envoyAccessLogService:
    tlsSettings:
      mode: SIMPLE
enablePrometheusMerge: true
extensionProviders:
- name: otel
  opentelemetry:
    port: 4317
    service: otel-collector.observability.svc.cluster.local
rootNamespace: istio-system
trustDomain: cluster.local
"""


def ordered_text(data):
    return json.dumps(data)


def test_merge_sets_the_addresses_and_keeps_everything_else():
    text, record, changed = istio.merge_mesh_config(MESH, ADDRESS)
    assert changed
    data = yaml.safe_load(text)
    original = yaml.safe_load(MESH)
    assert data["enableEnvoyAccessLogService"] is True
    assert data["defaultConfig"]["envoyAccessLogService"] == {"tlsSettings": {"mode": "SIMPLE"}, "address": ADDRESS}
    assert data["defaultConfig"]["envoyMetricsService"] == {"address": ADDRESS}
    for key in ("accessLogFile", "enablePrometheusMerge", "extensionProviders", "rootNamespace", "trustDomain"):
        assert data[key] == original[key]
    assert data["defaultConfig"]["tracing"] == original["defaultConfig"]["tracing"]
    # the order of the existing keys is kept; new keys come last
    assert list(data)[:len(original)] == list(original)
    assert list(data["defaultConfig"])[:3] == ["discoveryAddress", "tracing", "envoyAccessLogService"]
    assert [e["path"] for e in record["entries"]] == [
        ["enableEnvoyAccessLogService"],
        ["defaultConfig", "envoyAccessLogService", "address"],
        ["defaultConfig", "envoyMetricsService"],
        ["defaultConfig", "envoyMetricsService", "address"]]


def test_restore_brings_back_the_original_exactly():
    text, record, _changed = istio.merge_mesh_config(MESH, ADDRESS, stats_regexps=list(istio.OAP_STATS_REGEXPS))
    restored, kept, changed = istio.restore_mesh_config(text, istio.record_text(record))
    assert changed and kept == []
    assert ordered_text(yaml.safe_load(restored)) == ordered_text(yaml.safe_load(MESH))
    assert restored == istio.dump_mesh(yaml.safe_load(MESH))


def test_merge_is_idempotent_and_keeps_the_users_previous_values():
    previous = MESH.replace("  envoyAccessLogService:\n", "  envoyMetricsService:\n    address: old:9000\n"
                                                          "  envoyAccessLogService:\n")
    once, record, _changed = istio.merge_mesh_config(previous, ADDRESS)
    twice, record2, changed = istio.merge_mesh_config(once, ADDRESS, record=record)
    assert not changed and twice is once
    assert record2 == record
    restored, _kept, _changed = istio.restore_mesh_config(twice, record2)
    assert yaml.safe_load(restored)["defaultConfig"]["envoyMetricsService"] == {"address": "old:9000"}
    assert ordered_text(yaml.safe_load(restored)) == ordered_text(yaml.safe_load(previous))


def test_remerge_with_a_setting_dropped_restores_it_first():
    once, record, _changed = istio.merge_mesh_config(MESH, ADDRESS)
    again, record2, changed = istio.merge_mesh_config(once, ADDRESS, metrics=False, record=record)
    assert changed
    data = yaml.safe_load(again)
    assert "envoyMetricsService" not in data["defaultConfig"]
    assert data["defaultConfig"]["envoyAccessLogService"]["address"] == ADDRESS
    restored, _kept, _changed = istio.restore_mesh_config(again, record2)
    assert ordered_text(yaml.safe_load(restored)) == ordered_text(yaml.safe_load(MESH))


def test_a_value_changed_since_is_kept_on_restore():
    text, record, _changed = istio.merge_mesh_config(MESH, ADDRESS)
    edited = text.replace("address: %s\n" % ADDRESS, "address: other:11800\n", 1)
    restored, kept, _changed = istio.restore_mesh_config(edited, record)
    data = yaml.safe_load(restored)
    assert kept == ["defaultConfig.envoyAccessLogService.address"]
    assert data["defaultConfig"]["envoyAccessLogService"]["address"] == "other:11800"
    assert "envoyMetricsService" not in data["defaultConfig"] and "enableEnvoyAccessLogService" not in data


@pytest.mark.parametrize("text,expected_after_restore", [
    ("", {}),
    ("{}\n", {}),
    ("defaultConfig:\n", {"defaultConfig": None}),
    ("defaultConfig: {}\n", {"defaultConfig": {}}),
    ("enableEnvoyAccessLogService: false\n", {"enableEnvoyAccessLogService": False}),
])
def test_empty_and_null_shapes(text, expected_after_restore):
    merged, record, changed = istio.merge_mesh_config(text, ADDRESS)
    assert changed
    data = yaml.safe_load(merged)
    assert data["defaultConfig"]["envoyAccessLogService"]["address"] == ADDRESS
    restored, _kept, _changed = istio.restore_mesh_config(merged, record)
    assert yaml.safe_load(restored) == expected_after_restore


def test_already_pointed_at_skywalking_is_unchanged():
    text, _record, _changed = istio.merge_mesh_config(MESH, ADDRESS)
    again, record, changed = istio.merge_mesh_config(text, ADDRESS)
    assert not changed and again is text
    assert all(not e["absent"] and e["previous"] == e["set"] for e in record["entries"])


@pytest.mark.parametrize("kwargs,field", [
    ({"text": "defaultConfig: [a]\n", "address": ADDRESS}, "mesh.defaultConfig"),
    ({"text": "- a\n", "address": ADDRESS}, "mesh"),
    ({"text": "a: [", "address": ADDRESS}, "mesh"),
    ({"text": "", "address": "oap"}, "address"),
    ({"text": "", "address": "oap:99999"}, "address"),
    ({"text": "", "address": ADDRESS, "metrics_address": "x y:1"}, "metrics_address"),
    ({"text": "", "address": ADDRESS, "stats_regexps": ".*"}, "stats_regexps"),
    ({"text": "", "address": ADDRESS, "access_log": False, "metrics": False}, "access_log"),
])
def test_merge_errors(kwargs, field):
    with pytest.raises(SpecError) as info:
        istio.merge_mesh_config(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize("record", ["{nope", {"v": 2, "entries": []}, {"v": 1, "entries": [{"path": []}]}, None])
def test_bad_records(record):
    with pytest.raises(SpecError) as info:
        istio.restore_mesh_config(MESH, record)
    assert info.value.field == istio.RECORD_ANNOTATION


def test_separate_metrics_address_and_stats_matcher():
    text, _record, _changed = istio.merge_mesh_config("", ADDRESS, metrics_address="sw-satellite.skywalking.svc:11800",
                                                      stats_regexps=list(istio.OAP_STATS_REGEXPS))
    data = yaml.safe_load(text)
    assert data["defaultConfig"]["envoyMetricsService"]["address"] == "sw-satellite.skywalking.svc:11800"
    assert data["defaultConfig"]["proxyStatsMatcher"]["inclusionRegexps"][0] == ".*membership_healthy.*"


def test_oap_env_for_k8s_mesh():
    assert istio.oap_mesh_env() == [
        {"name": "SW_ENVOY_METRIC", "value": "default"},
        {"name": "SW_ENVOY_METRIC_SERVICE", "value": "true"},
        {"name": "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS", "value": "k8s-mesh"},
        {"name": "SW_ENVOY_METRIC_ALS_TCP_ANALYSIS", "value": "k8s-mesh"},
    ]
    env = istio.oap_mesh_env(http_analysis=["mx-mesh", "k8s-mesh", "persistence"], tcp_analysis=[], metrics_service=False)
    assert env[1]["value"] == "false" and env[2]["value"] == "mx-mesh,k8s-mesh,persistence" and len(env) == 3


@pytest.mark.parametrize("kwargs,field", [
    ({"http_analysis": ["k8s"]}, "http_analysis"),
    ({"tcp_analysis": ["persistence", "k8s-mesh"]}, "tcp_analysis"),
    ({"http_analysis": ["k8s-mesh", "k8s-mesh"]}, "http_analysis"),
])
def test_oap_env_errors(kwargs, field):
    with pytest.raises(SpecError) as info:
        istio.oap_mesh_env(**kwargs)
    assert info.value.field == field


def test_mesh_rules_are_read_only():
    rules = istio.mesh_cluster_rules()
    assert {r for rule in rules for r in rule["resources"]} == {"pods", "services", "endpoints", "serviceentries"}
    assert all(rule["verbs"] == ["get", "list", "watch"] for rule in rules)
    assert [r["apiGroups"] for r in istio.mesh_cluster_rules(service_entries=False)] == [[""], [""]]


SCALARS = st.one_of(st.booleans(), st.integers(-5, 5), st.text(max_size=8), st.none())
KEYS = st.sampled_from(["a", "b", "tracing", "discoveryAddress", "envoyAccessLogService", "envoyMetricsService",
                        "address", "tlsSettings", "proxyStatsMatcher"])


def node(depth):
    if depth == 0:
        return SCALARS
    return st.one_of(SCALARS, st.dictionaries(KEYS, node(depth - 1), max_size=3), st.lists(SCALARS, max_size=2))


@st.composite
def mesh_data(draw):
    data = draw(st.dictionaries(st.sampled_from(["accessLogFile", "rootNamespace", "enableEnvoyAccessLogService",
                                                 "enablePrometheusMerge"]), SCALARS, max_size=3))
    shape = draw(st.sampled_from(["absent", "null", "mapping"]))
    if shape == "null":
        data["defaultConfig"] = None
    elif shape == "mapping":
        default = draw(st.dictionaries(st.sampled_from(["discoveryAddress", "tracing", "concurrency"]), node(2), max_size=2))
        for service in ("envoyAccessLogService", "envoyMetricsService"):
            kind = draw(st.sampled_from(["absent", "null", "mapping"]))
            if kind == "null":
                default[service] = None
            elif kind == "mapping":
                default[service] = draw(st.dictionaries(st.sampled_from(["address", "tlsSettings", "tcpKeepalive"]),
                                                        node(1), max_size=2))
        items = draw(st.permutations(list(default.items())))
        data["defaultConfig"] = dict(items)
    items = draw(st.permutations(list(data.items())))
    return dict(items)


@settings(max_examples=300, deadline=None)
@given(data=mesh_data(), stats=st.booleans(), metrics=st.booleans())
def test_restore_after_merge_is_the_identity(data, stats, metrics):
    text = istio.dump_mesh(data) if data else ""
    merged, record, _changed = istio.merge_mesh_config(text, ADDRESS, metrics=metrics,
                                                       stats_regexps=[".*"] if stats else None)
    again, record2, changed = istio.merge_mesh_config(merged, ADDRESS, metrics=metrics,
                                                      stats_regexps=[".*"] if stats else None, record=record)
    assert not changed and again is merged and record2 == record
    restored, kept, _changed = istio.restore_mesh_config(merged, json.loads(istio.record_text(record)))
    assert kept == []
    assert ordered_text(istio.load_mesh(restored)) == ordered_text(data)


# --- hardening: a ConfigMap without a mesh key, RE2 stats regexps, odd ports, damaged records ---

def test_mesh_without_a_mesh_key_is_restored_without_one():
    text, record, changed = istio.merge_mesh_config(None, "sw-oap.sw.svc:11800")
    assert changed and text
    restored, kept, changed = istio.restore_mesh_config(text, record)
    assert restored is None and changed and not kept
    restored, kept, changed = istio.restore_mesh_config(text, istio.record_text(record))
    assert restored is None


def test_mesh_with_an_empty_mesh_key_is_restored_with_it():
    text, record, _changed = istio.merge_mesh_config("", "sw-oap.sw.svc:11800")
    restored, _kept, changed = istio.restore_mesh_config(text, record)
    assert restored is not None and istio.load_mesh(restored) == {} and changed


def test_mesh_absent_key_is_kept_across_repeated_merges():
    text, record, _changed = istio.merge_mesh_config(None, "sw-oap.sw.svc:11800")
    text, record, _changed = istio.merge_mesh_config(text, "sw-oap.sw.svc:11800", metrics=False, record=record)
    restored, _kept, _changed = istio.restore_mesh_config(text, record)
    assert restored is None


def test_mesh_absent_key_kept_when_someone_added_settings():
    text, record, _changed = istio.merge_mesh_config(None, "sw-oap.sw.svc:11800")
    text = text + "trustDomain: example.org\n"
    restored, _kept, _changed = istio.restore_mesh_config(text, record)
    assert istio.load_mesh(restored) == {"trustDomain": "example.org"}


@pytest.mark.parametrize("regexps", [[r"(a+)+$"], [r"(?=x)"], [r"(a)\1"], ["("]])
def test_mesh_stats_regexps_are_re2_checked(regexps):
    with pytest.raises(SpecError) as err:
        istio.desired_settings("sw:11800", stats_regexps=regexps)
    assert err.value.field == "stats_regexps[0]"


def test_mesh_oap_stats_regexps_pass_the_check():
    assert istio.desired_settings("sw:11800", stats_regexps=list(istio.OAP_STATS_REGEXPS))


@pytest.mark.parametrize("address", ["sw:\u00b2", "sw:11800\n", "sw:0", "sw:99999"])
def test_mesh_address_odd_ports(address):
    with pytest.raises(SpecError) as err:
        istio.desired_settings(address)
    assert err.value.field == "address"


@pytest.mark.parametrize("record", [
    "[" * 100000, "[]", json.dumps({"v": 1, "entries": [{"path": [["a"]], "set": 1}]}),
    json.dumps({"v": 1, "entries": [{"path": ["a", {}], "set": 1}]}),
    json.dumps({"v": 1, "entries": [{"path": ["a"], "absent": "yes"}]}),
    json.dumps({"v": 1, "entries": "x"}), json.dumps({"v": 1, "entries": [], "absentKey": 5}), 5, None,
])
def test_damaged_mesh_record_is_one_error(record):
    with pytest.raises(SpecError) as err:
        istio.restore_mesh_config("a: 1\n", record)
    assert err.value.field == istio.RECORD_ANNOTATION


@pytest.mark.parametrize("regexp, says", [(r"cluster\.\p{L}+", r"\p{...}"), (r"[[:alpha:]]+", "POSIX class")])
def test_mesh_stats_regexps_with_re2_only_syntax_are_refused_plainly(regexp, says):
    with pytest.raises(SpecError) as err:
        istio.desired_settings("sw:11800", stats_regexps=[regexp])
    assert err.value.field == "stats_regexps[0]" and says in err.value.problem
    assert "bad escape" not in err.value.problem


class _AnsibleLazyTemplateDict(dict):
    """Stands for Ansible's own dict type."""


def test_mesh_messages_name_plain_types():
    with pytest.raises(SpecError) as err:
        istio.desired_settings("sw:11800", stats_regexps=_AnsibleLazyTemplateDict())
    assert err.value.problem.endswith("got mapping")
    with pytest.raises(SpecError) as err:
        istio.load_mesh("- a\n- b\n")
    assert err.value.problem.endswith("got list")
