# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The from_swck filter: SWCK custom resource YAML in, {spec, report} out."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.skywalking.swck.plugins.filter import from_swck as filter_plugin
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec as cluster_spec
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import swck

# An OAP 11 with Horizon, external Elasticsearch and Satellite, as an SWCK user would keep it in Git.
RESOURCES = """\
# SWCK backend of the shop team
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServer
metadata:
  name: shop
spec:
  version: 11.0.0
  instances: 2
  config:
  - name: SW_CORE_METRICS_DATA_TTL
    value: "3"
  - name: SW_EXPORTER_KAFKA_SERVERS
    value: kafka.shop:9092
  - name: SW_CLUSTER_ZK_HOST_PORT
    value: zk:2181
  - name: SW_CONFIG_NACOS_PASSWORD
    value: n4cos-Passw0rd
  storage:
    name: es
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: Storage
metadata:
  name: es
spec:
  type: elasticsearch
  connectType: external
  address: http://elasticsearch.search:9200
  version: 8.13.0
  security:
    user:
      secretName: default
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: UI
metadata:
  name: shop
spec:
  version: 0.7.0
  instances: 1
  service:
    template:
      type: ClusterIP
    ingress:
      host: apm.shop.example
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: Satellite
metadata:
  name: shop
spec:
  version: v1.3.0
  instances: 2
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated
data: {a: b}
"""


def test_yaml_text_gives_spec_and_report():
    result = filter_plugin.from_swck(RESOURCES, namespace="shop")
    assert set(result) == {"spec", "report"}
    spec = result["spec"]
    assert (spec["name"], spec["namespace"], spec["version"]) == ("shop", "shop", "11.0.0")
    assert spec["oap"]["replicas"] == 2
    assert spec["oap"]["env"]["SW_CONFIG_NACOS_PASSWORD"] == {
        "secret": "shop-swck-credentials", "key": "SW_CONFIG_NACOS_PASSWORD"}
    assert spec["storage"]["addresses"] == ["elasticsearch.search:9200"]
    assert spec["storage"]["credentials"]["secret"] == "shop-swck-credentials"
    assert spec["ui"]["ingress"] == {"enabled": True, "host": "apm.shop.example"}
    assert spec["satellite"]["enabled"] is True
    lines = [e["text"] for e in result["report"]]
    assert "ConfigMap/unrelated: ignored: not a SWCK resource (v1 ConfigMap)" in lines
    assert "OAPServer/shop spec.config[0] (SW_CORE_METRICS_DATA_TTL): kept as oap.env.SW_CORE_METRICS_DATA_TTL" in lines
    # The result is what the cluster module accepts.
    cluster_spec.normalize(spec)


def test_same_result_as_the_module_utils_function():
    documents = [d for d in yaml.safe_load_all(RESOURCES) if d is not None]
    spec, report = swck.from_swck(documents, namespace="shop")
    assert filter_plugin.from_swck(RESOURCES, namespace="shop") == {"spec": spec, "report": report}


def test_objects_lists_and_list_kind_are_accepted():
    documents = [d for d in yaml.safe_load_all(RESOURCES) if d is not None]
    from_text = filter_plugin.from_swck(RESOURCES, namespace="shop")
    assert filter_plugin.from_swck(documents, namespace="shop") == from_text
    assert filter_plugin.from_swck({"apiVersion": "v1", "kind": "List", "items": documents}, namespace="shop") == \
        from_text
    single = filter_plugin.from_swck(documents[2], namespace="shop")
    assert single["spec"]["ui"]["replicas"] == 1 and "oap" not in single["spec"]


def test_options_name_namespace_and_credentials_secret():
    result = filter_plugin.from_swck(RESOURCES, name="shop-apm", namespace="observability",
                                     credentials_secret="shop-credentials")
    spec = result["spec"]
    assert (spec["name"], spec["namespace"]) == ("shop-apm", "observability")
    assert spec["storage"]["credentials"]["secret"] == "shop-credentials"
    secrets = [e for e in result["report"] if e["status"] == "needs_secret"]
    assert {e["secret"]["name"] for e in secrets} == {"shop-credentials"}


def test_credentials_never_in_the_output():
    result = filter_plugin.from_swck(RESOURCES, namespace="shop")
    text = json.dumps(result)
    assert "n4cos-Passw0rd" not in text and "changeme" not in text


def test_output_is_plain_data():
    result = filter_plugin.from_swck(RESOURCES, namespace="shop")
    assert json.loads(json.dumps(result)) == result
    assert yaml.safe_load(yaml.safe_dump(result)) == result


@pytest.mark.parametrize("data, options, expected", [
    (RESOURCES + "---\n" + RESOURCES.split("---", maxsplit=1)[0], {"namespace": "shop"},
     "OAPServer/shop metadata.name: a second OAPServer"),
    (RESOURCES.replace("version: 0.7.0", "kind: booster\n  version: 11.0.0"), {"namespace": "shop"},
     "UI/shop spec.kind: the booster UI does not work with OAP 11.0.0"),
    (RESOURCES, {}, "namespace: is required"),
    ("kind: [unclosed", {"namespace": "shop"}, "_input: is not valid YAML"),
    (42, {"namespace": "shop"}, "_input: must be a list of objects"),
    (RESOURCES, {"namespace": "shop", "name": 7}, "name: must be a string"),
    (RESOURCES.replace("instances: 2\n  config", "instances: 2\n  service:\n    template:\n      type: Headless\n"
                                                 "      loadBalancerSourceRanges: [everywhere]\n  config"),
     {"namespace": "shop"},
     "OAPServer/shop spec.service.template.loadBalancerSourceRanges (-> oap.service.load_balancer_source_ranges)"),
])
def test_errors(data, options, expected):
    with pytest.raises(AnsibleFilterError) as info:
        filter_plugin.from_swck(data, **options)
    assert expected in str(info.value)
    assert "n4cos-Passw0rd" not in str(info.value)


def test_yaml_error_does_not_echo_the_text():
    broken = "apiVersion: v1\nkind: Secret\nstringData: {password: 'Secr3t-in-yaml}\n"
    with pytest.raises(AnsibleFilterError) as info:
        filter_plugin.from_swck(broken, namespace="shop")
    assert "Secr3t-in-yaml" not in str(info.value)


def test_filter_is_registered():
    assert filter_plugin.FilterModule().filters() == {"from_swck": filter_plugin.from_swck}


@pytest.mark.parametrize("block", ["DOCUMENTATION", "EXAMPLES", "RETURN"])
def test_documentation_blocks_are_yaml(block):
    parsed = yaml.safe_load(getattr(filter_plugin, block))
    assert parsed
    if block == "DOCUMENTATION":
        assert parsed["name"] == "from_swck"
        assert set(parsed["options"]) == {"_input", "name", "namespace", "credentials_secret", "version"}
