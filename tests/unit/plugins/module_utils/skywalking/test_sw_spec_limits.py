# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Inputs the spec used to accept that Kubernetes or SkyWalking would then refuse or mishandle.

Each is refused by ``spec.normalize`` before anything is written (naming the field), and the
nearby valid forms stay accepted.
"""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec, versions
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.builders import common, ui

BASE = {"name": "sw", "namespace": "obs"}
INT32_MAX = 2147483647


def raw(**extra):
    out = copy.deepcopy(BASE)
    out.update(extra)
    return out


def problems_of(value):
    with pytest.raises(SpecError) as info:
        spec.normalize(value)
    return info.value.problems


def record(value):
    """The spec as ops/cluster.py records it in the ApplySet parent ConfigMap."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def nested(path, value):
    out = value
    for part in reversed(path.split(".")):
        out = {part: out}
    return out


INT_OPTIONS = [path for path, opt in spec.rows() if opt.type == "int" and opt.maximum is None]


@pytest.mark.parametrize("path", INT_OPTIONS)
def test_every_int_without_a_maximum_is_int32(path):
    assert len(INT_OPTIONS) >= 20 and "security.run_as_user" in INT_OPTIONS
    fields = dict(problems_of(raw(**nested(path, INT32_MAX + 1))))
    assert fields[path] == "must be <= 2147483647 (got 2147483648): Kubernetes keeps it as a 32-bit integer"
    try:
        spec.normalize(raw(**nested(path, INT32_MAX)))
    except SpecError as exc:  # a cross check may object (e.g. PDB vs replicas), the bound does not
        assert "32-bit" not in dict(exc.problems).get(path, "")


def test_config_file_keys_and_dynamic_keys_are_configmap_keys():
    longest = "d/" * 83 + "abcdefg"  # each '/' becomes '__' in the key: 83 * 3 + 7 characters
    key = spec.file_key(longest)
    assert len(key) == 256
    fields = dict(problems_of(raw(oap={"config_files": {longest: "x"}})))
    assert "at most 253" in fields['oap.config_files["%s"]' % longest]
    fine = "d/" * 82 + "abcd"
    assert len(spec.file_key(fine)) == 250
    value, _warnings = spec.normalize(raw(oap={"config_files": {fine: "x", ".hidden.yml": "y", "oal/core.oal": "z"},
                                               "dynamic_config": {"values": {"a" * 253: "1"}}}))
    assert set(value["oap"]["config_files"]) == {fine, ".hidden.yml", "oal/core.oal"}
    for bad in ("..", "...x", "..core.default.x"):
        fields = dict(problems_of(raw(oap={"dynamic_config": {"values": {bad: "1"}}})))
        assert list(fields.values()) == ["is not a valid key (it must not be '.' or '..' or start with '..')"], bad


def test_a_file_under_a_file_is_refused():
    fields = dict(problems_of(raw(oap={"config_files": {"oal": "x", "oal/core.oal": "y", "oal/x/y.oal": "z"}})))
    assert fields == {'oap.config_files["oal/core.oal"]': "is under 'oal', which is a file: both are mounted, so the "
                                                          "pod cannot start",
                      'oap.config_files["oal/x/y.oal"]': "is under 'oal', which is a file: both are mounted, so the "
                                                         "pod cannot start"}


def test_class_names_are_object_names_and_empty_means_unset():
    fields = dict(problems_of(raw(ui={"ingress": {"enabled": True, "class_name": "Public Nginx"}},
                                  storage={"banyandb": {"persistence": {"storage_class": "ssd_fast"}}})))
    assert fields["ui.ingress.class_name"].startswith("'Public Nginx' is not a valid object name")
    assert fields["storage.banyandb.persistence.storage_class"].startswith("'ssd_fast' is not a valid object name")
    value, _warnings = spec.normalize(raw(ui={"ingress": {"enabled": True, "class_name": ""}},
                                          storage={"banyandb": {"persistence": {"storage_class": ""}}}))
    assert "ingressClassName" not in ui.ingress(value)["spec"]
    value, _warnings = spec.normalize(raw(ui={"ingress": {"enabled": True, "class_name": "nginx.example.com"}},
                                          storage={"banyandb": {"persistence": {"storage_class": "fast-ssd"}}}))
    assert ui.ingress(value)["spec"]["ingressClassName"] == "nginx.example.com"
    assert value["storage"]["banyandb"]["persistence"]["storage_class"] == "fast-ssd"


def test_secret_keys_are_checked_and_an_empty_ca_means_none():
    fields = dict(problems_of(raw(oap={"tls": {"rest": {"secret": "rest-tls", "cert": "certs/tls.crt", "ca": ".."}}})))
    assert fields["oap.tls.rest.cert"] == \
        "Secret key 'certs/tls.crt' is not a valid key (letters, digits, '-', '_', '.')"
    assert fields["oap.tls.rest.ca"].startswith("Secret key '..' is not a valid key")
    value, _warnings = spec.normalize(raw(oap={"tls": {"grpc": {"secret": "grpc-tls", "ca": ""}}}))
    assert value["oap"]["tls"]["grpc"]["ca"] == ""


@pytest.mark.parametrize("image", [
    "oap",
    "apache/skywalking-oap-server:11.0.0",
    "docker.io/apache/skywalking-oap-server:11.0.0-java21",
    "localhost:5000/apache/oap:dev_1.2",
    "Registry.Example.com:443/team/sub/oap@sha256:" + "a" * 64,
    "[fd00::1]:5000/oap:11.0.0@sha256:" + "0" * 64,
    "registry/a__b/c-d/e.f:TAG",
])
def test_image_references_accepted(image):
    assert versions.image_problem(image) is None
    value, _warnings = spec.normalize(raw(images={"oap": image}))
    assert value["images"]["oap"] == image


@pytest.mark.parametrize("image, fragment", [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("https://registry.example.com/apache/oap:1", "must not contain a scheme (https)"),
    ("oci://registry/oap", "must not contain a scheme (oci)"),
    ("apache/oap:11.0.0 ", "must not contain whitespace"),
    ("apache/oap\n", "must not contain whitespace"),
    ("apache/Oap:1", "is not an image reference"),
    ("apache//oap:1", "is not an image reference"),
    ("apache/oap:", "is not an image reference"),
    ("apache/oap:-1", "is not an image reference"),
    ("apache/oap:" + "1" * 129, "is not an image reference"),
    ("apache/oap@sha256:abc", "is not an image reference"),
    ("a" * 256, "the repository name is longer than 255 characters"),
    ("x" * 5000, "is not an image reference"),
])
def test_image_references_refused(image, fragment):
    assert fragment in versions.image_problem(image)
    for field in ("oap", "ui", "banyandb", "satellite", "otel_collector", "event_exporter"):
        assert fragment in dict(problems_of(raw(images={field: image})))["images.%s" % field]
    assert fragment in dict(problems_of(raw(oap={"ext_libs": {"image": image}})))["oap.ext_libs.image"]


def test_registry_without_a_scheme():
    for good in ("registry.example.com", "registry.example.com/mirror/", "localhost:5000", "[fd00::1]:5000/m", ""):
        assert versions.registry_problem(good) is None, good
    value, _warnings = spec.normalize(raw(images={"registry": "localhost:5000/mirror"}))
    assert value["images"]["oap"] == "localhost:5000/mirror/apache/skywalking-oap-server:11.0.0"
    value, _warnings = spec.normalize(raw(images={"registry": ""}))
    assert value["images"]["oap"] == "apache/skywalking-oap-server:11.0.0"
    for bad, fragment in (("https://registry.example.com", "must not contain a scheme (https)"),
                          ("http://localhost:5000", "must not contain a scheme (http)"),
                          ("registry.example.com/Mirror", "is not a registry"),
                          ("registry example.com", "is not a registry"),
                          ("registry.example.com//m", "is not a registry"),
                          (" ", "must not be blank")):
        assert fragment in dict(problems_of(raw(images={"registry": bad})))["images.registry"], bad


def test_cidrs_are_strict():
    fields = dict(problems_of(raw(ui={"service": {"type": "LoadBalancer",
                                                  "load_balancer_source_ranges": ["10.0.0.0/8", "10.0.0.1/8"]}},
                                  oap={"service": {"load_balancer_source_ranges": ["fd00::1/64"]}})))
    assert fields["ui.service.load_balancer_source_ranges"] == \
        "'10.0.0.1/8' (item 1) has host bits set: the network is 10.0.0.0/8"
    assert fields["oap.service.load_balancer_source_ranges"] == \
        "'fd00::1/64' (item 0) has host bits set: the network is fd00::/64"
    for bad in ("10.0.0.1", "10.0.0.0/255.0.0.0", "10.0.0.0/8 ", "fe80::/10%eth0", "010.0.0.0/8"):
        assert "is not a CIDR" in dict(problems_of(raw(ui={"service": {"load_balancer_source_ranges": [bad]}})))[
            "ui.service.load_balancer_source_ranges"], bad
    ranges = ["0.0.0.0/0", "10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "::/0"]
    value, _warnings = spec.normalize(raw(ui={"service": {"type": "LoadBalancer",
                                                          "load_balancer_source_ranges": ranges}}))
    assert ui.service(value)["spec"]["loadBalancerSourceRanges"] == ranges


def test_env_value_limit_counts_bytes_with_the_name():
    # NAME=value below 128 KiB (131072 bytes): Linux's MAX_ARG_STRLEN counts the terminating NUL too.
    fits = "x" * (128 * 1024 - len("SW_X=") - 1)
    value, _warnings = spec.normalize(raw(oap={"env": {"SW_X": fits}}))
    assert len(value["oap"]["env"]["SW_X"]) == 131066
    fields = dict(problems_of(raw(oap={"env": {"SW_X": fits + "x"}})))
    assert fields["oap.env.SW_X"].startswith("is 131072 bytes with its name; one environment variable must stay "
                                             "below 128 KiB (131072 bytes)")
    fields = dict(problems_of(raw(satellite={"env": {"SATELLITE_X": "\u00e9" * (64 * 1024)}})))
    assert fields["satellite.env.SATELLITE_X"].startswith("is 131084 bytes with its name")


def test_the_recorded_spec_stays_below_its_limit():
    assert spec.SPEC_LIMIT == 800 * 1024
    base, _warnings = spec.normalize(raw(oap={"config_files": {"a.yml": ""}}))
    room = spec.SPEC_LIMIT - len(record(base))
    value, _warnings = spec.normalize(raw(oap={"config_files": {"a.yml": "x" * room}}))
    assert len(record(value)) == spec.SPEC_LIMIT
    problems = problems_of(raw(oap={"config_files": {"a.yml": "x" * (room + 1)}}))
    assert problems == [("oap.config_files", "is %d bytes of a spec of %d bytes (as JSON); the spec is recorded in a "
                                             "ConfigMap and may be at most 819200 bytes (800 KiB): move large content "
                                             "elsewhere (e.g. into a ConfigMap the cluster does not manage)"
                         % (room + 1 + len('{"a.yml":""}'), spec.SPEC_LIMIT + 1))]
    # JSON escapes count: a newline is two bytes of the record.
    problems = problems_of(raw(oap={"config_files": {"a.yml": "\n" * (room // 2 + 1)}}))
    assert [field for field, _problem in problems] == ["oap.config_files"]


def test_the_largest_part_is_named_and_not_twice():
    env = {"SW_BIG_%d" % index: "x" * (100 * 1024) for index in range(9)}
    assert [field for field, _problem in problems_of(raw(ui={"env": env}))] == ["ui.env"]
    dynamic = {"core.default.k%d" % index: "x" * (300 * 1024) for index in range(3)}
    assert [field for field, _problem in problems_of(raw(oap={"dynamic_config": {"values": dynamic}}))] == \
        ["oap.dynamic_config.values"]
    # Files over a ConfigMap's size: one problem at oap.config_files, not two.
    problems = problems_of(raw(oap={"config_files": {"a.yml": "x" * (spec.CONFIGMAP_LIMIT + 1)}}))
    assert [field for field, _problem in problems] == ["oap.config_files"]
    assert "a ConfigMap holds at most about 1 MiB" in problems[0][1]


@pytest.mark.parametrize("host", ["192.168.1.10", "10.0.0.1", "010.0.0.1", "::1", "2001:db8::1", "0.0.0.0"])
def test_ingress_host_is_not_an_ip_address(host):
    fields = dict(problems_of(raw(ui={"ingress": {"enabled": True, "host": host}})))
    assert fields["ui.ingress.host"] == ("%r is an IP address: an Ingress host must be a DNS name (leave it unset to "
                                         "match every host)" % host)


def test_ingress_host_may_be_a_wildcard():
    value, _warnings = spec.normalize(raw(ui={"ingress": {"enabled": True, "host": "*.sw.example.com",
                                                          "tls_secret": "wildcard-tls"}}))
    body = ui.ingress(value)["spec"]
    assert body["rules"][0]["host"] == "*.sw.example.com"
    assert body["tls"] == [{"hosts": ["*.sw.example.com"], "secretName": "wildcard-tls"}]
    for bad in ("*", "*.", "a.*.example.com", "**.example.com", "*.Example.com", "*." + "a" * 252):
        assert "is not a valid object name" in dict(problems_of(raw(ui={"ingress": {"host": bad}})))[
            "ui.ingress.host"], bad
    value, _warnings = spec.normalize(raw(ui={"ingress": {"host": "1.2.3"}}))  # not an IP: a DNS name
    assert value["ui"]["ingress"]["host"] == "1.2.3"


def test_leading_v_is_dropped_with_a_warning():
    value, warnings = spec.normalize(raw(version="v10.4.1", storage={"banyandb": {"version": "v0.10.3"}},
                                         ui={"flavour": "horizon", "version": "v0.7.0"},
                                         satellite={"enabled": True, "version": "v1.3.0"}))
    assert value["version"] == "10.4.1"
    assert value["storage"]["banyandb"]["version"] == "0.10.3"
    assert value["ui"]["version"] == "0.7.0"
    assert value["satellite"]["version"] == "1.3.0"
    assert value["images"]["oap"] == "apache/skywalking-oap-server:10.4.1"
    assert value["images"]["banyandb"] == "apache/skywalking-banyandb:0.10.3"
    assert value["images"]["ui"] == "apache/skywalking-ui:horizon-0.7.0"
    assert value["images"]["satellite"] == "apache/skywalking-satellite:v1.3.0"
    assert common.pod_metadata(value, {}, value["storage"]["banyandb"]["version"])["labels"][
        "app.kubernetes.io/version"] == "0.10.3"
    assert "version: 'v10.4.1' is read as 10.4.1 (OAP's image tags have no leading 'v')" in warnings
    assert "storage.banyandb.version: 'v0.10.3' is read as 0.10.3 (the version without 'v')" in warnings
    assert "ui.version: 'v0.7.0' is read as 0.7.0 (the version without 'v')" in warnings
    assert "satellite.version: 'v1.3.0' is read as 1.3.0 (the version without 'v')" in warnings
    again, warnings = spec.normalize(value)
    assert again == value and not [w for w in warnings if "is read as" in w]


def test_suffixes_are_kept_when_they_are_image_tags():
    # Deliberate (versions.split documents it, test_sw_versions_env pins it): -rc1, -java21 are tags.
    value, warnings = spec.normalize(raw(version="11.0.0-rc1", storage={"banyandb": {"version": "0.11.0-rc2"}}))
    assert value["images"]["oap"] == "apache/skywalking-oap-server:11.0.0-rc1"
    assert value["images"]["banyandb"] == "apache/skywalking-banyandb:0.11.0-rc2"
    assert not [w for w in warnings if w.startswith(("version", "storage.banyandb.version"))]
    fields = dict(problems_of(raw(version="11.0.0+build", storage={"banyandb": {"version": "0.11.0+meta"}},
                                  satellite={"version": "1.3.0-" + "x" * 130})))
    assert fields["version"].startswith("'11.0.0+build' cannot be an image tag")
    assert fields["storage.banyandb.version"].startswith("'0.11.0+meta' cannot be an image tag")
    assert "cannot be an image tag" in fields["satellite.version"]


@pytest.mark.parametrize("field, value", [
    ("storage.banyandb.version", "0.11"),
    ("ui.version", "latest"), ("ui.version", "0.7"), ("ui.version", ""),
    ("satellite.version", "latest"), ("satellite.version", "vlatest"), ("satellite.version", "1.3"),
])
def test_versions_refused(field, value):
    fields = dict(problems_of(raw(**nested(field, value))))
    assert "version" in fields[field]
    assert len([f for f, _problem in problems_of(raw(**nested(field, value))) if f == field]) == 1


def test_component_version():
    assert versions.component_version("0.11.0") == ("0.11.0", False)
    assert versions.component_version("v1.3.0-rc1") == ("1.3.0-rc1", True)
    with pytest.raises(versions.VersionError, match=r"'0.11' is not a full version: give MAJOR.MINOR.PATCH \(e.g. "
                                                    r"0.11.0\)"):
        versions.component_version("0.11")
    with pytest.raises(versions.VersionError, match=r"'latest' is not a version \(expected MAJOR.MINOR.PATCH\)"):
        versions.component_version("latest")
    assert versions.is_image_tag("11.0.0-rc1") and versions.is_image_tag("horizon-0.7.0")
    assert not versions.is_image_tag("11.0.0+b") and not versions.is_image_tag("-x") and not versions.is_image_tag("")
