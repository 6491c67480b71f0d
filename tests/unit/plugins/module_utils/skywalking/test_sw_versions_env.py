# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import oap_env, quantities, versions


@pytest.mark.parametrize("requested, line, full", [
    (None, "11.0", "11.0.0"),
    ("", "11.0", "11.0.0"),
    ("11.0", "11.0", "11.0.0"),
    ("11.0.3", "11.0", "11.0.3"),
    ("v11.0.1", "11.0", "11.0.1"),
    ("10.4", "10.4", "10.4.0"),
    (10.4, "10.4", "10.4.0"),
    ("10.4.2-rc1", "10.4", "10.4.2-rc1"),
])
def test_resolve_oap(requested, line, full):
    resolved_line, resolved = versions.resolve_oap(requested)
    assert resolved_line.name == line and resolved == full


@pytest.mark.parametrize("requested, message", [
    ("9.7", "OAP 9.7 is not supported; supported release lines are 11.0.x (current) and 10.4.x (previous)"),
    ("10.3.0", "OAP 10.3.0 is not supported"),
    ("12.0", "OAP 12.0 is not supported"),
    ("eleven", "'eleven' is not a version"),
    ("11", "'11' is not a version"),
    (True, "True is not a version"),
])
def test_resolve_oap_refuses(requested, message):
    with pytest.raises(versions.VersionError) as info:
        versions.resolve_oap(requested)
    assert message in str(info.value)


def test_banyandb_compatibility_names_both_versions():
    versions.check_banyandb(versions.LINES["11.0"], "0.11.2")
    versions.check_banyandb(versions.LINES["10.4"], "0.10.3")
    with pytest.raises(versions.VersionError) as info:
        versions.check_banyandb(versions.LINES["11.0"], "0.10.3", "11.0.1")
    assert "OAP 11.0.1 needs BanyanDB 0.11.x; BanyanDB 0.10.3 is not compatible" in str(info.value)
    assert "SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS=0.11" in str(info.value)
    with pytest.raises(versions.VersionError, match="BanyanDB 0.11.0 is not compatible"):
        versions.check_banyandb(versions.LINES["10.4"], "0.11.0")
    with pytest.raises(versions.VersionError, match="not a version"):
        versions.check_banyandb(versions.LINES["10.4"], "latest")


def test_ui_compatibility():
    versions.check_ui(versions.LINES["11.0"], "horizon", "0.7.0")
    versions.check_ui(versions.LINES["10.4"], "booster", "10.4.1")
    versions.check_ui(versions.LINES["10.4"], "horizon", "0.9.0")
    with pytest.raises(versions.VersionError, match="OAP 11.0.0 supports the horizon UI only, not booster"):
        versions.check_ui(versions.LINES["11.0"], "booster", "10.4.0")
    with pytest.raises(versions.VersionError, match="the booster UI 10.3.0 does not match OAP 10.4.0"):
        versions.check_ui(versions.LINES["10.4"], "booster", "10.3.0")


def test_the_matrix():
    rows = {row["line"]: row for row in versions.matrix()}
    assert list(rows) == ["11.0", "10.4"]
    assert rows["11.0"]["status"] == "current" and rows["10.4"]["status"] == "previous"
    assert rows["11.0"]["banyandb_line"] == "0.11" and rows["10.4"]["banyandb_line"] == "0.10"
    assert rows["11.0"]["ui_flavours"] == ["horizon"] and rows["10.4"]["default_ui"] == "booster"
    assert rows["11.0"]["admin_ports"] == [17128, 17129] and rows["10.4"]["admin_ports"] == []
    assert rows["11.0"]["rest_tls"] and not rows["10.4"]["rest_tls"]
    assert rows["10.4"]["ui_image"] == "apache/skywalking-ui:10.4.0"
    assert rows["11.0"]["ui_image"] == "apache/skywalking-ui:horizon-0.7.0"
    assert rows["11.0"]["satellite_version"] == "1.3.0" and rows["11.0"]["java_agent_version"] == "9.7.0"


@pytest.mark.parametrize("image, tag, version", [
    ("apache/skywalking-oap-server:11.0.0", "11.0.0", "11.0.0"),
    ("registry:5000/apache/skywalking-ui:horizon-0.7.0", "horizon-0.7.0", "0.7.0"),
    ("apache/skywalking-satellite:v1.3.0", "v1.3.0", "1.3.0"),
    ("registry:5000/oap", None, None),
    ("oap:1.2@sha256:abc", "1.2", "1.2"),
    (None, None, None),
])
def test_image_tags(image, tag, version):
    assert versions.image_tag(image) == tag
    assert versions.version_from_image(image) == version


def test_default_images():
    assert versions.satellite_image("1.3.0") == "apache/skywalking-satellite:v1.3.0"
    assert versions.satellite_image("v1.3.0", "mirror.io") == "mirror.io/apache/skywalking-satellite:v1.3.0"
    assert versions.java_agent_image("9.7.0", "java21") == "apache/skywalking-java-agent:9.7.0-java21"


def test_env_lists():
    assert len(oap_env.names("10.4")) == 513 and len(oap_env.names("11.0")) == 579
    for line in ("10.4", "11.0"):
        known = oap_env.names(line)
        assert {"JAVA_OPTS", "SKYWALKING_COLLECTOR_UID", "SW_CLUSTER_K8S_LABEL", "SW_STORAGE_BANYANDB_TARGETS",
                "SW_CONFIG_CONFIGMAP_PERIOD"} <= known
    assert "SW_ADMIN_SERVER" in oap_env.names("11.0") and "SW_ADMIN_SERVER" not in oap_env.names("10.4")
    assert "SW_CORE_REST_SSL_ENABLED" in oap_env.names("11.0") and "SW_CORE_REST_SSL_ENABLED" not in \
        oap_env.names("10.4")
    with pytest.raises(KeyError):
        oap_env.names("9.7")


def test_check_env_names():
    warnings = oap_env.check_env_names("11.0", ["SW_STORAGE", "SW_STORGE", "TZ", "SW_ADMIN_SERVER",
                                                "SW_TOTALLY_UNKNOWN_THING_XYZ"])
    assert warnings[0] == "SW_STORGE is not an environment variable OAP 11.0 reads; did you mean SW_STORAGE?"
    assert warnings[1].startswith("SW_TOTALLY_UNKNOWN_THING_XYZ is not an environment variable OAP 11.0 reads")
    assert len(warnings) == 2
    previous = oap_env.check_env_names("10.4", ["SW_ADMIN_SERVER"])
    assert len(previous) == 1
    assert previous[0].startswith("SW_ADMIN_SERVER is not an environment variable OAP 10.4 reads")


@pytest.mark.parametrize("name, valid", [("SW_X", True), ("_X1", True), ("1X", False), ("A-B", False), ("", False),
                                         (None, False)])
def test_env_name_shape(name, valid):
    assert oap_env.is_env_name(name) is valid


@pytest.mark.parametrize("value, canonical", [
    ("0.5", "500m"), ("500m", "500m"), ("1000m", "1"), ("1.5", "1500m"), (2, "2"), (0.25, "250m"),
    ("2000", "2k"), ("1500000", "1500k"), ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"), ("1.5Gi", "1536Mi"),
    ("100Ki", "100Ki"), ("2048Ki", "2Mi"), ("0.5Ki", "512"), ("1e3", "1e3"), ("1E6", "1e6"), ("0", "0"),
    ("1n", "1n"), ("0.0000000001", "1n"), ("x", None), (True, None),
])
def test_canonical_quantities(value, canonical):
    assert quantities.canonical(value) == canonical


def test_quantity_helpers():
    assert quantities.compare("1Gi", "1024Mi") == 0 and quantities.compare("1", "999m") == 1
    assert quantities.mebibytes("2Gi") == 2048 and quantities.cpu_millicores("0.5") == 500
    with pytest.raises(ValueError):
        quantities.compare("x", "1")
