# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import copy

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec

BASE = {"name": "sw", "namespace": "obs"}


def merged(base, extra):
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def raw(**extra):
    return merged(BASE, extra)


ES = {"type": "elasticsearch", "addresses": ["es:9200"], "credentials": {"secret": "es-creds"}}

# (spec, field, fragment of the problem)
BAD = [
    ({"namespace": "obs"}, "name", "is required"),
    ({"name": "sw"}, "namespace", "is required"),
    (raw(name="Bad_Name"), "name", "is not a valid name"),
    (raw(name="a" * 64), "name", "is not a valid name"),
    (raw(name="a" * 45), "name",
     "is too long: the ConfigMap '%s-oap-dynamic-config' would have 64 characters (at most 63)" % ("a" * 45)),
    (raw(name="a" * 36, storage={"banyandb": {"mode": "cluster"}}), "name",
     "the StatefulSet '%s-banyandb-liaison' would have 53 characters" % ("a" * 36)),
    (raw(namespace="Obs"), "namespace", "is not a valid name"),
    (raw(name=["sw"]), "name", "must be a string, not list"),
    (raw(version="9.7"), "version", "OAP 9.7 is not supported; supported release lines are 11.0.x (current) and "
                                    "10.4.x (previous)"),
    (raw(version="latest"), "version", "'latest' is not a version"),
    (raw(version=True), "version", "must be a string, not boolean"),
    (raw(replicas=3), "replicas", "is not a known field"),
    (raw(oap="yes"), "oap", "must be a mapping, not string"),
    (raw(oap={"replica": 3}), "oap.replica", "did you mean oap.replicas?"),
    (raw(oap={"replicas": "two"}), "oap.replicas", "must be an integer, not string 'two'"),
    (raw(oap={"replicas": -1}), "oap.replicas", "must be >= 0"),
    (raw(oap={"replicas": True}), "oap.replicas", "must be an integer, not boolean"),
    (raw(oap={"mode": "splt"}), "oap.mode", "did you mean split?"),
    (raw(oap={"mode": "split", "receiver": {"replicas": 0}}), "oap.receiver.replicas", "must be >= 1 in split mode"),
    (raw(oap={"mode": "split", "aggregator": {"replicas": 0}, "pdb": {"enabled": False}}), "oap.aggregator.replicas",
     "must be >= 1 in split mode"),
    (raw(oap={"replicas": 1, "pdb": {"min_available": 2}}), "oap.replicas", "must be >= oap.pdb.min_available (1 < 2)"),
    (raw(oap={"autoscaling": {"enabled": True, "min_replicas": 5, "max_replicas": 2}}), "oap.autoscaling.min_replicas",
     "must be <= oap.autoscaling.max_replicas (5 > 2)"),
    (raw(oap={"autoscaling": {"enabled": True, "min_replicas": 1}, "pdb": {"min_available": 2}}),
     "oap.autoscaling.min_replicas", "must be >= oap.pdb.min_available"),
    (raw(oap={"resources": {"requests": {"memory": "lots"}}}), "oap.resources.requests.memory",
     "string 'lots' is not a valid quantity"),
    (raw(oap={"resources": {"requests": {"cpu": "4"}, "limits": {"cpu": "2"}}}), "oap.resources.requests.cpu",
     "4 is more than the limit 2 (oap.resources.limits.cpu)"),
    (raw(ui={"resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}}),
     "ui.resources.requests.memory", "2Gi is more than the limit 1Gi"),
    (raw(oap={"heap_percent": 95}), "oap.heap_percent", "must be between 10 and 90 (got 95)"),
    (raw(oap={"java_opts": "-Xmx1g -Dmode=init"}), "oap.java_opts", "must not set -Dmode"),
    (raw(oap={"probes": {"startup_seconds": "fast"}}), "oap.probes.startup_seconds", "must be an integer"),
    (raw(oap={"env": {"SW_ES_PASSWORD": "hunter2"}}), "oap.env.SW_ES_PASSWORD",
     "a plain value for a credential is not accepted"),
    (raw(oap={"env": {"1BAD": "x"}}), 'oap.env["1BAD"]', "is not a valid environment variable name"),
    (raw(oap={"env": {"SW_CORE_RECORD_DATA_TTL": ""}}), "oap.env.SW_CORE_RECORD_DATA_TTL", "must not be empty"),
    (raw(oap={"env": {"SW_X": ["a"]}}), "oap.env.SW_X", "must be a string or a reference"),
    (raw(oap={"env": {"SW_X": {"secret": "Bad Name", "key": "k"}}}), "oap.env.SW_X", "is not a valid object name"),
    (raw(oap={"env": {"SW_X": {"secret": "s"}}}), "oap.env.SW_X", "a reference must be"),
    (raw(oap={"config_files": {"../etc/passwd": "x"}}), 'oap.config_files["../etc/passwd"]',
     "must be a relative path under config/"),
    (raw(oap={"config_files": {"a/b.yml": "x", "a__b.yml": "y"}}), 'oap.config_files["a__b.yml"]', "clashes with"),
    (raw(oap={"dynamic_config": {"values": {"bad key!": "x"}}}), 'oap.dynamic_config.values["bad key!"]',
     "is not a valid key"),
    (raw(oap={"service": {"load_balancer_source_ranges": ["10.0.0.0/33"]}}), "oap.service.load_balancer_source_ranges",
     "is not a CIDR"),
    (raw(oap={"service": {"type": "External"}}), "oap.service.type",
     "must be one of ClusterIP, NodePort, LoadBalancer"),
    (raw(version="10.4", oap={"admin_server": {"enabled": True}}), "oap.admin_server.enabled",
     "OAP 10.4.0 has no admin server"),
    (raw(version="10.4", oap={"tls": {"rest": {"secret": "rest-tls"}}}), "oap.tls.rest.secret",
     "REST TLS needs OAP 11.0"),
    (raw(oap={"tls": {"grpc": {"secret": "Not_A_Name"}}}), "oap.tls.grpc.secret", "is not a valid object name"),
    (raw(storage={"type": "cassandra"}), "storage.type",
     "must be one of banyandb, elasticsearch, opensearch, mysql, postgresql, not string 'cassandra'"),
    (raw(storage={"type": "elasticsearch", "credentials": {"secret": "c"}}), "storage.addresses",
     "is required for elasticsearch storage"),
    (raw(storage={"type": "opensearch", "addresses": ["os:9200"]}), "storage.credentials.secret",
     "is required for opensearch storage"),
    (raw(storage={"type": "postgresql", "addresses": ["pg"]}), "storage.credentials.secret",
     "is required for postgresql storage"),
    (raw(storage=dict(ES, password="hunter2")), "storage.password", "plain passwords are not accepted"),
    (raw(storage=dict(ES, username="elastic")), "storage.username", "credentials are not accepted inline"),
    (raw(storage=merged(ES, {"credentials": {"password": "hunter2"}})), "storage.credentials.password",
     "plain passwords are not accepted"),
    (raw(storage=dict(ES, addresses=["bad host!"])), "storage.addresses", "'bad host!' is not host[:port]"),
    (raw(storage=dict(ES, addresses=["es:99999"])), "storage.addresses", "port must be between 1 and 65535"),
    (raw(storage=dict(ES, addresses="es:9200", protocol="ftp")), "storage.protocol", "must be one of http, https"),
    (raw(storage={"banyandb": {"mode": "external"}}), "storage.addresses", "is required for external BanyanDB storage"),
    (raw(storage={"banyandb": {"version": "0.10.3"}}), "storage.banyandb.version",
     "OAP 11.0.0 needs BanyanDB 0.11.x; BanyanDB 0.10.3 is not compatible"),
    (raw(version="10.4.0", storage={"banyandb": {"version": "0.11.0"}}), "storage.banyandb.version",
     "OAP 10.4.0 needs BanyanDB 0.10.x; BanyanDB 0.11.0 is not compatible"),
    (raw(storage={"banyandb": {"mode": "replicated"}}), "storage.banyandb.mode", "must be one of standalone, cluster"),
    (raw(storage={"banyandb": {"persistence": {"size": "0"}}}), "storage.banyandb.persistence.size",
     "must be greater than 0"),
    (raw(storage={"banyandb": {"persistence": {"size": "50 GB"}}}), "storage.banyandb.persistence.size",
     "is not a valid quantity"),
    (raw(storage={"banyandb": {"persistence": {"size": "1e999"}}}), "storage.banyandb.persistence.size",
     "larger than the largest quantity Kubernetes keeps"),
    (raw(oap={"resources": {"limits": {"memory": "8Ei"}}}), "oap.resources.limits.memory",
     "the API server would silently cap it"),
    (raw(storage={"banyandb": {"data": {"replicas": 0}}}), "storage.banyandb.data.replicas", "must be >= 1"),
    (raw(storage={"jdbc_url": "jdbc:mysql://db/sw"}), "storage.jdbc_url", "only applies to mysql and postgresql"),
    (raw(ui={"flavour": "booster"}), "ui.flavour", "OAP 11.0.0 supports the horizon UI only, not booster"),
    (raw(version="10.4", ui={"flavour": "booster", "version": "11.0.0"}), "ui.version",
     "the booster UI 11.0.0 does not match OAP 10.4.0"),
    (raw(ui={"users": [{"username": "admin", "password": "s3cret"}]}), "ui.users",
     "users with passwords are not accepted in the spec"),
    (raw(version="10.4", ui={"users_secret": {"name": "ui-users"}}), "ui.users_secret.name",
     "only Horizon has local users"),
    (raw(ui={"service": {"port": 70000}}), "ui.service.port", "must be between 1 and 65535 (got 70000)"),
    (raw(ui={"service": {"port": 0}}), "ui.service.port", "must be between 1 and 65535 (got 0)"),
    (raw(ui={"replicas": True}), "ui.replicas", "must be an integer, not boolean"),
    (raw(ui={"ingress": {"enabled": True, "tls_secret": "tls"}}), "ui.ingress.tls_secret", "needs ui.ingress.host"),
    (raw(ui={"ingress": {"enabled": True, "host": "Not A Host"}}), "ui.ingress.host", "is not a valid object name"),
    (raw(ui={"route": {"tls_termination": "reencrypt"}}), "ui.route.tls_termination", "must be one of edge, none"),
    (raw(labels={"app.kubernetes.io/name": "x"}), "labels", "app.kubernetes.io/name is set by the collection"),
    (raw(labels={"team": "x" * 64}), "labels", "is not a valid label value"),
    (raw(labels={"bad key!": "x"}), "labels", "is not a valid label key"),
    (raw(labels={"team": ["a"]}), "labels.team", "must be a string, not list"),
    (raw(pod_annotations={"skywalking.swck/config-checksum": "x"}), "pod_annotations", "is set by the collection"),
    (raw(sizing="huge"), "sizing", "must be one of small, medium, large"),
    (raw(images={"pull_policy": "Sometimes"}), "images.pull_policy", "must be one of IfNotPresent, Always, Never"),
    (raw(images={"pull_secrets": ["Bad"]}), "images.pull_secrets[0]", "is not a Secret name"),
    (raw(network_policies={"agent_namespaces": ["apps", "Bad NS"]}), "network_policies.agent_namespaces[1]",
     "is not a namespace name"),
    (raw(network_policies={"enabled": "maybe"}), "network_policies.enabled", "must be a boolean"),
    (raw(scheduling={"tolerations": [{"key": "a", "effekt": "NoSchedule"}]}), "scheduling.tolerations[0]",
     "unknown keys effekt"),
    (raw(scheduling={"tolerations": ["dedicated"]}), "scheduling.tolerations[0]", "must be a mapping"),
    (raw(scheduling={"node_selector": {"bad key!": "x"}}), 'scheduling.node_selector["bad key!"]',
     "is not a valid label key/value pair"),
    (raw(security={"run_as_user": 0}), "security.run_as_user", "must be >= 1"),
    (raw(telemetry={"fetcher": {"enabled": True, "interval": 0}}), "telemetry.fetcher.interval", "must be >= 1"),
    (raw(telemetry={"prometheus": False, "fetcher": {"enabled": True}}), "telemetry.fetcher.enabled",
     "needs telemetry.prometheus"),
    (raw(telemetry={"event_exporter": {"namespaces": ["ok", "NOT-OK"]}}), "telemetry.event_exporter.namespaces[1]",
     "is not a namespace name"),
    (raw(satellite={"replicas": "many"}), "satellite.replicas", "must be an integer"),
    (raw(cluster_domain="Cluster Local"), "cluster_domain", "is not a valid object name"),
    # Integers Kubernetes keeps in 32 bits.
    (raw(oap={"replicas": 2 ** 31}), "oap.replicas", "must be <= 2147483647 (got 2147483648)"),
    (raw(oap={"probes": {"startup_seconds": "99999999999"}}), "oap.probes.startup_seconds",
     "Kubernetes keeps it as a 32-bit integer"),
    (raw(oap={"init": {"timeout": 1e12}}), "oap.init.timeout", "must be <= 2147483647"),
    (raw(security={"fs_group": 2 ** 32}), "security.fs_group", "must be <= 2147483647"),
    (raw(ui={"replicas": 2 ** 40}), "ui.replicas", "must be <= 2147483647"),
    # Config files and dynamic configuration keys are ConfigMap keys.
    (raw(oap={"config_files": {"..data": "x"}}), 'oap.config_files["..data"]',
     "becomes ConfigMap key '..data', which is not a valid key (it must not be '.' or '..' or start with '..')"),
    (raw(oap={"config_files": {"./core.oal": "x"}}), 'oap.config_files["./core.oal"]', "no '.' or '..' parts"),
    (raw(oap={"config_files": {"oal/./core.oal": "x"}}), 'oap.config_files["oal/./core.oal"]', "no '.' or '..' parts"),
    (raw(oap={"config_files": {"d/" * 100 + "x.yml": "x"}}), 'oap.config_files["%sx.yml"]' % ("d/" * 100),
     "is not a valid key: 305 characters, at most 253"),
    (raw(oap={"config_files": {"oal": "x", "oal/core.oal": "y"}}), 'oap.config_files["oal/core.oal"]',
     "is under 'oal', which is a file"),
    (raw(oap={"dynamic_config": {"values": {"..core.default.apdexThreshold": "1"}}}),
     'oap.dynamic_config.values["..core.default.apdexThreshold"]', "must not be '.' or '..' or start with '..'"),
    (raw(oap={"dynamic_config": {"values": {"a" * 254: "1"}}}), "oap.dynamic_config.values." + "a" * 254,
     "254 characters, at most 253"),
    # Object names and Secret keys.
    (raw(ui={"ingress": {"enabled": True, "class_name": "Nginx_Public"}}), "ui.ingress.class_name",
     "'Nginx_Public' is not a valid object name"),
    (raw(storage={"banyandb": {"persistence": {"storage_class": "Fast SSD"}}}),
     "storage.banyandb.persistence.storage_class", "is not a valid object name"),
    (raw(storage=merged(ES, {"credentials": {"password_key": "pass word"}})), "storage.credentials.password_key",
     "Secret key 'pass word' is not a valid key"),
    (raw(oap={"tls": {"grpc": {"secret": "grpc-tls", "key": "../tls.key"}}}), "oap.tls.grpc.key",
     "is not a valid key"),
    (raw(ui={"users_secret": {"name": "ui-users", "key": ".."}}), "ui.users_secret.key", "must not be '.' or '..'"),
    # Images and the registry.
    (raw(images={"oap": ""}), "images.oap", "must not be empty"),
    (raw(images={"ui": "https://docker.io/apache/skywalking-ui:10.4.0"}), "images.ui",
     "must not contain a scheme (https)"),
    (raw(images={"registry": "https://registry.example.com"}), "images.registry", "must not contain a scheme (https)"),
    (raw(images={"registry": "registry.example.com/Mirror"}), "images.registry", "is not a registry"),
    (raw(images={"banyandb": "apache/SkyWalking-BanyanDB:0.11.0"}), "images.banyandb", "is not an image reference"),
    (raw(images={"satellite": "apache/skywalking-satellite: v1.3.0"}), "images.satellite",
     "must not contain whitespace"),
    (raw(oap={"ext_libs": {"image": "http://registry/libs:1"}}), "oap.ext_libs.image", "must not contain a scheme"),
    # CIDRs: strict.
    (raw(oap={"service": {"load_balancer_source_ranges": ["10.0.0.0/8", "192.168.1.1/16"]}}),
     "oap.service.load_balancer_source_ranges", "'192.168.1.1/16' (item 1) has host bits set: the network is "
                                                "192.168.0.0/16"),
    (raw(ui={"service": {"load_balancer_source_ranges": ["10.1.2.3"]}}), "ui.service.load_balancer_source_ranges",
     "'10.1.2.3' (item 0) is not a CIDR"),
    (raw(satellite={"service": {"load_balancer_source_ranges": ["10.0.0.0/255.0.0.0"]}}),
     "satellite.service.load_balancer_source_ranges", "is not a CIDR"),
    # Env values and the whole spec's size.
    (raw(oap={"env": {"SW_BIG": "x" * 128 * 1024}}), "oap.env.SW_BIG",
     "is 131079 bytes with its name; one environment variable must stay below 128 KiB"),
    (raw(ui={"env": {"BIG": "\u00e9" * (64 * 1024)}}), "ui.env.BIG", "must stay below 128 KiB"),
    (raw(oap={"java_opts": "-Dx=" + "y" * 128 * 1024}), "oap.java_opts", "must stay below 128 KiB"),
    (raw(oap={"config_files": {"a.yml": "x" * 600 * 1024},
              "dynamic_config": {"values": {"core.default.x": "y" * 300 * 1024}}}), "oap.config_files",
     "the spec is recorded in a ConfigMap and may be at most 819200 bytes (800 KiB)"),
    # Ingress host.
    (raw(ui={"ingress": {"enabled": True, "host": "192.168.1.10"}}), "ui.ingress.host",
     "'192.168.1.10' is an IP address: an Ingress host must be a DNS name"),
    (raw(ui={"ingress": {"enabled": True, "host": "010.0.0.1"}}), "ui.ingress.host", "is an IP address"),
    # Versions.
    (raw(version="11.0.0+build.1"), "version", "'11.0.0+build.1' cannot be an image tag"),
    (raw(storage={"banyandb": {"version": "0.11"}}), "storage.banyandb.version",
     "'0.11' is not a full version: give MAJOR.MINOR.PATCH (e.g. 0.11.0)"),
    (raw(ui={"version": "latest"}), "ui.version", "'latest' is not a version (expected MAJOR.MINOR.PATCH)"),
    (raw(satellite={"version": "latest"}), "satellite.version", "'latest' is not a version"),
    (raw(version="10.4", ui={"flavour": "horizon", "version": "0.7.0+git"}), "ui.version",
     "'0.7.0+git' cannot be an image tag"),
]


@pytest.mark.parametrize("value, field, fragment", BAD, ids=["%02d-%s" % (i, c[1][:60]) for i, c in enumerate(BAD)])
def test_bad_input_names_the_field(value, field, fragment):
    with pytest.raises(SpecError) as info:
        spec.normalize(value)
    problems = dict(info.value.problems)
    assert field in problems, "expected a problem at %s, got %s" % (field, info.value.problems)
    if fragment:
        assert fragment in problems[field]
    assert "%s: %s" % (field, problems[field]) in str(info.value)


def test_at_least_forty_bad_cases():
    assert len(BAD) >= 40


def test_every_problem_is_reported_at_once_first_field_first():
    with pytest.raises(SpecError) as info:
        spec.normalize({"name": "Bad_Name", "namespace": "obs", "oap": {"replicas": "x", "mode": "splt"},
                        "storage": {"type": "mysql", "password": "hunter2"}})
    err = info.value
    fields = [f for f, _problem in err.problems]
    assert fields[0] == "name"
    assert err.field == "name"
    assert {"name", "oap.mode", "oap.replicas", "storage.password", "storage.addresses",
            "storage.credentials.secret"} <= set(fields)
    assert str(err).startswith("name: ")
    assert str(err).count("; ") == len(fields) - 1
    assert err.details["problems"][0] == {"field": "name", "problem": err.problems[0][1]}


def test_single_problem_message_is_field_colon_problem():
    with pytest.raises(SpecError) as info:
        spec.normalize(raw(oap={"replicas": -1}))
    assert str(info.value) == "oap.replicas: must be >= 0 (got -1)"
    assert info.value.field == "oap.replicas"


@pytest.mark.parametrize("value", [
    raw(storage=dict(ES, password="hunter2")),
    raw(storage=merged(ES, {"credentials": {"password": "hunter2"}})),
    raw(ui={"users": [{"username": "admin", "password": "hunter2"}]}),
    raw(oap={"env": {"SW_ES_PASSWORD": "hunter2"}}),
    raw(storage=dict(ES, password={"nested": "hunter2"})),
    raw(satellite={"env": {"SATELLITE_TOKEN": "hunter2"}}),
])
def test_secret_values_never_appear_in_messages(value):
    with pytest.raises(SpecError) as info:
        spec.normalize(value)
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(info.value.details)


def test_not_a_mapping():
    with pytest.raises(SpecError, match=r"^spec: must be a mapping, not list"):
        spec.normalize(["name"])


def test_minimal_spec_defaults():
    value, warnings = spec.normalize(BASE)
    assert value["version"] == "11.0.0"
    assert value["oap"]["mode"] == "mixed" and value["oap"]["replicas"] == 2
    assert value["storage"]["type"] == "banyandb" and value["storage"]["banyandb"]["mode"] == "standalone"
    assert value["storage"]["banyandb"]["version"] == "0.11.0"
    assert value["ui"]["enabled"] and value["ui"]["flavour"] == "horizon" and value["ui"]["version"] == "0.7.0"
    assert value["images"]["ui"] == "apache/skywalking-ui:horizon-0.7.0"
    assert value["images"]["oap"] == "apache/skywalking-oap-server:11.0.0"
    assert value["oap"]["admin_server"]["enabled"] is True
    assert value["network_policies"]["enabled"] is True
    assert value["oap"]["resources"] == {"requests": {"cpu": "500m", "memory": "2Gi"},
                                         "limits": {"cpu": "2", "memory": "2Gi"}}
    assert [w for w in warnings if w.startswith("ui.users_secret")]


def test_previous_line_defaults():
    value, _warnings = spec.normalize(raw(version="10.4"))
    assert value["version"] == "10.4.0"
    assert value["storage"]["banyandb"]["version"] == "0.10.3"
    assert value["ui"]["flavour"] == "booster" and value["ui"]["version"] == "10.4.0"
    assert value["images"]["ui"] == "apache/skywalking-ui:10.4.0"
    assert value["oap"]["admin_server"]["enabled"] is False


def test_yaml_float_version_and_patch_versions():
    assert spec.normalize(raw(version=10.4))[0]["version"] == "10.4.0"
    assert spec.normalize(raw(version="11.0.2"))[0]["version"] == "11.0.2"
    assert spec.normalize(raw(version="v10.4.1"))[0]["images"]["oap"] == "apache/skywalking-oap-server:10.4.1"


def test_sizing_profile_and_overrides_are_canonical():
    given = raw(sizing="medium", oap={"resources": {"limits": {"cpu": "4000m"}, "requests": {"cpu": 0.5}}})
    value, _warnings = spec.normalize(given)
    assert value["oap"]["resources"]["limits"] == {"cpu": "4", "memory": "4Gi"}
    assert value["oap"]["resources"]["requests"] == {"cpu": "500m", "memory": "4Gi"}


def test_one_sided_resources_stay_consistent():
    given = raw(oap={"resources": {"limits": {"memory": "512Mi"}}}, ui={"resources": {"requests": {"cpu": "3"}}})
    value, _warnings = spec.normalize(given)
    assert value["oap"]["resources"]["requests"]["memory"] == "512Mi"
    assert value["oap"]["resources"]["requests"]["cpu"] == "500m"
    assert value["ui"]["resources"]["limits"]["cpu"] == "3"
    assert value["ui"]["resources"]["limits"]["memory"] == "1Gi"


def test_registry_rewrites_default_images_only():
    value, _warnings = spec.normalize(raw(images={"registry": "registry.example.com/mirror/",
                                          "satellite": "my/satellite:dev"}, satellite={"enabled": True}))
    assert value["images"]["oap"] == "registry.example.com/mirror/apache/skywalking-oap-server:11.0.0"
    assert value["images"]["satellite"] == "my/satellite:dev"


def test_unknown_oap_env_name_is_a_warning_with_the_closest_name():
    value, warnings = spec.normalize(raw(oap={"env": {"SW_CORE_RECORD_DATA_TLL": "3", "JAVA_TOOL_OPTIONS": "-x"}}))
    assert value["oap"]["env"]["SW_CORE_RECORD_DATA_TLL"] == "3"
    hits = [w for w in warnings if "SW_CORE_RECORD_DATA_TLL" in w]
    assert hits == ["oap.env.SW_CORE_RECORD_DATA_TLL is not an environment variable OAP 11.0 reads; did you mean "
                    "SW_CORE_RECORD_DATA_TTL?"]
    assert not [w for w in warnings if "JAVA_TOOL_OPTIONS" in w]


def test_env_values_become_strings_and_references_stay():
    value, _warnings = spec.normalize(raw(oap={"env": {"SW_CORE_RECORD_DATA_TTL": 7, "SW_HEALTH_CHECKER": True,
                                               "SW_ES_PASSWORD": {"secret": "es", "key": "password"}}}))
    assert value["oap"]["env"] == {"SW_CORE_RECORD_DATA_TTL": "7", "SW_HEALTH_CHECKER": "true",
                                   "SW_ES_PASSWORD": {"secret": "es", "key": "password"}}


def test_string_forms_ansible_accepts():
    given = raw(oap={"replicas": "3", "pdb": {"enabled": "no"}}, network_policies={"agent_namespaces": "apps, web"})
    value, _warnings = spec.normalize(given)
    assert value["oap"]["replicas"] == 3
    assert value["oap"]["pdb"]["enabled"] is False
    assert value["network_policies"]["agent_namespaces"] == ["apps", "web"]


def test_none_means_default_as_ansible_passes_unset_options():
    given = {"name": "sw", "namespace": "obs", "version": None, "oap": {"replicas": None, "env": None}}
    value, _warnings = spec.normalize(given)
    assert value["version"] == "11.0.0" and value["oap"]["replicas"] == 2 and value["oap"]["env"] == {}


def test_mysql_without_driver_warns():
    _spec, warnings = spec.normalize(raw(storage={"type": "mysql", "addresses": ["db"],
                                                  "credentials": {"secret": "db"}}))
    assert any("JDBC driver" in w for w in warnings)


def test_split_with_autoscaling_allows_zero_receiver_replicas():
    given = raw(oap={"mode": "split", "receiver": {"replicas": 0}, "autoscaling": {"enabled": True}})
    value, _warnings = spec.normalize(given)
    assert value["oap"]["receiver"]["replicas"] == 0


def test_slices_refuse_options_of_other_sections():
    with pytest.raises(SpecError) as info:
        spec.normalize(raw(ui={"replicas": 2}, oap={"mode": "split", "replicas": 3}), "ui")
    problems = dict(info.value.problems)
    assert problems["oap.replicas"] == "is not an option of the ui module"
    with pytest.raises(SpecError, match="storage: is not an option of the ui module"):
        spec.normalize(raw(storage={"type": "banyandb"}), "ui")
    value, _warnings = spec.normalize(raw(ui={"replicas": 2}, oap={"mode": "split"}), "ui")
    assert value["ui"]["replicas"] == 2 and value["oap"]["mode"] == "split"


@pytest.mark.parametrize("slice_name", sorted(spec.SLICES))
def test_argument_spec_is_accepted_by_ansible_and_agrees_with_normalize(slice_name):
    argspec = spec.argument_spec(slice_name)
    validator = ArgumentSpecValidator(argspec)
    result = validator.validate({"name": "sw", "namespace": "obs"})
    assert not result.error_messages
    ansible_view, _warnings = spec.normalize(result.validated_parameters, slice_name)
    ours, _warnings = spec.normalize({"name": "sw", "namespace": "obs"}, slice_name)
    assert ansible_view == ours


def test_argument_spec_shape():
    argspec = spec.argument_spec()
    assert argspec["name"] == {"type": "str", "required": True}
    oap = argspec["oap"]
    assert oap["type"] == "dict" and "default" not in oap
    assert oap["options"]["mode"] == {"type": "str", "choices": ["mixed", "split"], "default": "mixed"}
    assert oap["options"]["resources"]["options"]["limits"]["options"]["memory"] == {"type": "raw"}
    assert "default" not in oap["options"]["admin_server"]["options"]["enabled"]
    assert argspec["storage"]["options"]["password"]["no_log"] is True
    assert argspec["ui"]["options"]["users"]["no_log"] is True
    assert argspec["storage"]["options"]["credentials"]["options"]["secret"]["no_log"] is False
    assert argspec["storage"]["options"]["credentials"]["options"]["password_key"]["no_log"] is False
    assert argspec["oap"]["options"]["tls"]["options"]["grpc"]["options"]["key"]["no_log"] is False
    pull_secrets = {"type": "list", "elements": "str", "default": [], "no_log": False}
    assert argspec["images"]["options"]["pull_secrets"] == pull_secrets
    assert argspec["ui"]["options"]["service"]["options"]["port"] == {"type": "int", "default": 80}


def test_documentation_shape():
    docs = spec.documentation()
    assert docs["name"]["required"] is True
    assert docs["oap"]["suboptions"]["replicas"]["default"] == 2
    assert "default" not in docs["ui"]["suboptions"]["flavour"]
    assert docs["ui"]["suboptions"]["flavour"]["choices"] == ["booster", "horizon"]
    assert docs["ui"]["suboptions"]["flavour"]["description"][-1].startswith("Default: V(horizon) on 11.0")
    for name, entry in docs.items():
        assert isinstance(entry["description"], list) and entry["description"], name
    assert set(spec.documentation("info")) == {"name", "namespace"}
    assert set(spec.documentation("oap_config")["oap"]["suboptions"]) == {"env", "config_files"}


def test_warnings_for_settings_that_work_but_hurt():
    _spec, warnings = spec.normalize(raw(oap={"replicas": 1}, ui={"replicas": 2}))
    assert any(w.startswith("oap.replicas: equals oap.pdb.min_available (1)") for w in warnings)
    assert any(w.startswith("ui.replicas: Horizon keeps sessions in memory") for w in warnings)
    _spec, warnings = spec.normalize(raw(satellite={"enabled": True}, oap={"tls": {"grpc": {"secret": "t"}}}))
    assert any(w.startswith("satellite.env: OAP's gRPC port uses TLS") for w in warnings)
    _spec, warnings = spec.normalize(raw(oap={"dynamic_config": {"values": {"threshold": "1"}}}))
    assert any(w.startswith("oap.dynamic_config.values.threshold: OAP's dynamic keys look like") for w in warnings)
