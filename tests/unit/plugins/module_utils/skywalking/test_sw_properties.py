# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Properties over random valid specs: the build is deterministic and every object is well formed."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import manifest
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import names, oap_env, render, spec
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.builders import cluster

dns_label = st.from_regex(r"\A[a-z]([a-z0-9-]{0,18}[a-z0-9])?\Z")
label_value = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?\Z")
known_env = st.sampled_from(["SW_CORE_RECORD_DATA_TTL", "SW_CORE_METRICS_DATA_TTL", "SW_SEARCHABLE_TAG_KEYS",
                             "SW_CORE_GRPC_THREAD_POOL_SIZE", "SW_HEALTH_CHECKER_INTERVAL_SECONDS"])
quantity_cpu = st.sampled_from(["100m", "250m", "0.5", "1", "2"])
quantity_mem = st.sampled_from(["512Mi", "1Gi", "1.5Gi", "2048Mi", "3Gi"])


@st.composite
def storages(draw, line):
    kind = draw(st.sampled_from(["banyandb", "banyandb", "elasticsearch", "opensearch", "mysql", "postgresql"]))
    if kind == "banyandb":
        mode = draw(st.sampled_from(["standalone", "cluster", "external"]))
        out = {"type": kind, "banyandb": {"mode": mode, "persistence": {"enabled": draw(st.booleans())},
                                          "liaison": {"replicas": draw(st.integers(1, 3))},
                                          "data": {"replicas": draw(st.integers(1, 4))}}}
        if mode == "external":
            out["addresses"] = ["bydb-%d.data:17912" % i for i in range(draw(st.integers(1, 3)))]
        return out
    return {"type": kind, "addresses": ["db-%d.data" % i for i in range(draw(st.integers(1, 3)))],
            "credentials": {"secret": draw(dns_label)}}


@st.composite
def specs(draw):
    version = draw(st.sampled_from(["11.0", "11.0.2", "10.4", "10.4.1"]))
    line = version[:4]
    split = draw(st.booleans())
    autoscaled = draw(st.booleans())
    raw = {
        "name": draw(dns_label),
        "namespace": draw(dns_label),
        "version": version,
        "sizing": draw(st.sampled_from(["small", "medium", "large"])),
        "labels": draw(st.dictionaries(st.sampled_from(["team", "env", "example.com/cost"]), label_value,
                                       max_size=2)),
        "oap": {
            "mode": "split" if split else "mixed",
            "replicas": draw(st.integers(1, 5)),
            "receiver": {"replicas": draw(st.integers(1, 4))},
            "aggregator": {"replicas": draw(st.integers(1, 4))},
            "env": draw(st.dictionaries(known_env, st.integers(1, 100).map(str), max_size=3)),
            "autoscaling": {"enabled": autoscaled, "min_replicas": 1, "max_replicas": draw(st.integers(1, 8))},
            "resources": {"requests": {"cpu": draw(quantity_cpu)}, "limits": {"cpu": "2", "memory": draw(quantity_mem)}},
            "config_files": draw(st.dictionaries(st.sampled_from(["alarm-settings.yml", "oal/core.oal",
                                                                  "application.yml"]), st.text(max_size=30),
                                                 max_size=2)),
            "dynamic_config": {"enabled": draw(st.booleans()),
                               "values": draw(st.dictionaries(st.sampled_from(["core.default.apdexThreshold",
                                                                               "alarm.default.alarm-settings"]),
                                                              st.text(min_size=1, max_size=20), max_size=2))},
        },
        "storage": draw(storages(line)),
        "ui": {"enabled": draw(st.booleans()),
               "ingress": {"enabled": draw(st.booleans()), "host": "ui.example.com"}},
        "satellite": {"enabled": draw(st.booleans()), "replicas": draw(st.integers(0, 3))},
        "telemetry": {"fetcher": {"enabled": draw(st.booleans())},
                      "event_exporter": {"enabled": draw(st.booleans())}},
        "network_policies": {"enabled": draw(st.booleans())},
        "scheduling": {"topology_spread": draw(st.booleans())},
    }
    if line == "10.4" and draw(st.booleans()):
        raw["ui"]["flavour"] = "horizon"
    return raw


def _pod_labels(obj):
    return obj["spec"]["template"]["metadata"]["labels"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_build_is_deterministic_and_objects_are_valid(raw):
    value, _warnings = spec.normalize(raw)
    first = cluster.build(value)
    second = cluster.build(spec.normalize(raw)[0])
    assert json.dumps(first.objects(), sort_keys=True) == json.dumps(second.objects(), sort_keys=True)
    assert render.render(first) == render.render(second)
    assert [s.name for s in first.stages] == [s.name for s in second.stages]
    line = spec.line_of(value).name
    identities = set()
    for index, obj in enumerate(first.objects()):
        manifest.validate_object("objects[%d]" % index, obj)
        meta = obj["metadata"]
        identities.add((obj["kind"], meta["name"]))
        assert meta["labels"][names.INSTANCE_LABEL] == value["name"]
        for key, label in meta["labels"].items():
            assert manifest.is_qualified_key(key) and manifest.is_label_value(label)
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            for key, label in _pod_labels(obj).items():
                assert manifest.is_qualified_key(key) and manifest.is_label_value(label)
            if obj["kind"] != "Job":
                selector = obj["spec"]["selector"]["matchLabels"]
                assert all(_pod_labels(obj).get(k) == v for k, v in selector.items())
            for container in obj["spec"]["template"]["spec"]["containers"]:
                env = container.get("env", [])
                assert len({e["name"] for e in env}) == len(env)
                if container["name"] in ("oap", "oap-init"):
                    unknown = [e["name"] for e in env if e["name"] not in oap_env.names(line)
                               and e["name"] not in value["oap"]["env"]]
                    assert not unknown
            if obj["kind"] == "Deployment" and meta["labels"][names.COMPONENT_LABEL] == "oap":
                role = meta["labels"][names.OAP_ROLE_LABEL]
                assert ("replicas" in obj["spec"]) == (not (value["oap"]["autoscaling"]["enabled"] and
                                                            role in ("mixed", "receiver")))
    assert len(identities) == len(first)
