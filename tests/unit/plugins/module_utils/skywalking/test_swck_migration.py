# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""SWCK custom resources -> cluster spec (module_utils/skywalking/swck.py).

The samples are modelled on SWCK's own operator/config/samples and test/e2e resources (an OAP with
its UI, BanyanDB, Satellite, static and dynamic config, the fetcher and the event exporter; internal
and external Elasticsearch), with the versions the collection supports.
"""

from __future__ import annotations

import copy
import itertools
import json
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec as cluster_spec
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import swck

API = "operator.skywalking.apache.org/v1alpha1"

# A whole SWCK 10.4 stack: every backend kind once.
STACK = """
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServer
metadata: {name: demo, namespace: observability}
spec:
  version: 10.4.0
  instances: 3
  image: apache/skywalking-oap-server:10.4.0
  config:
  - {name: SW_CORE_RECORD_DATA_TTL, value: "5"}
  - {name: SW_OTEL_RECEIVER, value: default}
  - {name: JAVA_OPTS, value: -Xms3g -Xmx3g}
  - {name: SW_CONFIGURATION, value: k8s-configmap}
  - {name: SW_STORAGE, value: banyandb}
  - {name: SW_STORAGE_BANYANDB_TARGETS, value: "store-banyandb-grpc.observability:17912"}
  - name: SW_RECEIVER_ZIPKIN_REST_PORT
    value: 9411
  service:
    template: {type: ClusterIP}
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: UI
metadata: {name: demo, namespace: observability}
spec:
  kind: booster
  version: 10.4.0
  instances: 1
  OAPServerAddress: http://demo-oap.observability:12800
  service:
    template: {type: LoadBalancer, loadBalancerSourceRanges: [192.168.0.0/16]}
    ingress:
      host: skywalking.example.org
      ingressClassName: nginx
      annotations: {nginx.ingress.kubernetes.io/proxy-body-size: 8m}
      tls: [{hosts: [skywalking.example.org], secretName: skywalking-ui-tls}]
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: BanyanDB
metadata: {name: store, namespace: observability}
spec:
  version: 0.10.3
  counts: 1
  image: apache/skywalking-banyandb:0.10.3
  config: [standalone, --measure-root-path=/data/bydb]
  storages:
  - name: bydb-data
    path: /data/bydb
    persistentVolumeClaimSpec:
      accessModes: [ReadWriteOnce]
      storageClassName: fast-ssd
      resources: {requests: {storage: 20Gi}}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: disk, operator: In, values: [ssd]}]
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: Satellite
metadata: {name: demo, namespace: observability}
spec:
  version: v1.3.0
  instances: 2
  image: apache/skywalking-satellite:v1.3.0
  config:
  - {name: SATELLITE_GRPC_ACCEPT_LIMIT_CPU_UTILIZATION, value: "75"}
  service:
    template: {type: ClusterIP}
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServerConfig
metadata: {name: demo-static, namespace: observability}
spec:
  version: 10.4.0
  env:
  - {name: SW_CORE_RECORD_DATA_TTL, value: "7"}
  - {name: SW_CONFIG_CONFIGMAP_PERIOD, value: "15"}
  file:
  - name: gateways.yml
    path: /skywalking/config
    data: |
      gateways:
        - name: edge
          instances:
            - host: 10.0.0.7
              port: 8080
  - name: core.oal
    path: /skywalking/config/oal
    data: |
      service_resp_time = from(Service.latency).longAvg();
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServerDynamicConfig
metadata: {name: demo-dynamic, namespace: observability}
spec:
  version: 10.4.0
  labelSelector: app=collector,release=skywalking
  data:
  - {name: agent-analyzer.default.slowDBAccessThreshold, value: "default:200,mongodb:100"}
  - name: core.default.apdexThreshold
    value: |
      default: 500
      checkout: 1000
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: Fetcher
metadata: {name: self-metrics, namespace: observability}
spec:
  type: [prometheus]
  OAPServerAddress: demo-oap:11800
  clusterName: prod-eu
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: EventExporter
metadata: {name: events, namespace: observability}
spec:
  version: 1.0.0
  replicas: 1
  config: |
    filters:
      - namespace: "^(shop|payments)$"
        kind: "Pod|Service"
        exporters: [skywalking]
    exporters:
      skywalking:
        address: "demo-oap.observability:11800"
        template:
          source: {service: "{{ .Service.Name }}", serviceInstance: "{{ .Pod.Name }}"}
          message: "{{ .Event.Message }}"
"""

EXTERNAL_ES = """
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServer
metadata: {name: sw, namespace: apm}
spec:
  version: 11.0.0
  instances: 2
  storage: {name: es}
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: Storage
metadata: {name: es, namespace: apm}
spec:
  type: elasticsearch
  connectType: external
  address: https://es.apm.svc:9200
  version: 8.13.0
  security:
    user: {secretName: es-auth}
"""

INTERNAL_ES = """
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServer
metadata: {name: sw, namespace: apm}
spec:
  version: 10.4.0
  instances: 2
  storage: {name: local}
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: Storage
metadata: {name: local, namespace: apm}
spec:
  type: elasticsearch
  connectType: internal
  version: 7.17.0
  instances: 3
  image: docker.elastic.co/elasticsearch/elasticsearch:7.17.0
  servicename: local-es
  resource: {limit: "2", requests: "1"}
  security:
    user: {secretName: default}
"""

# SWCK's minimal/default samples use OAP 9.x, which the collection does not run.
OLD_SAMPLE = """
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: OAPServer
metadata: {name: default}
spec:
  version: 9.5.0
  instances: 1
  image: apache/skywalking-oap-server:9.5.0
  service:
    template: {type: ClusterIP}
---
apiVersion: operator.skywalking.apache.org/v1alpha1
kind: UI
metadata: {name: default}
spec:
  kind: horizon
  version: 9.5.0
  instances: 1
  service:
    template: {type: ClusterIP}
    ingress: {host: demo.ui.skywalking}
"""


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def oap(spec=None, name="sw", namespace="apm", version="10.4.0", **extra):
    body = {"version": version, "instances": 2}
    body.update(spec or {})
    obj = {"apiVersion": API, "kind": "OAPServer", "metadata": {"name": name, "namespace": namespace}, "spec": body}
    obj.update(extra)
    return obj


def cr(kind, name, spec, namespace="apm"):
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def env(*pairs):
    return [{"name": n, "value": v} for n, v in pairs]


def by_field(report, document, field):
    return [e for e in report if e["document"] == document and e["field"] == field]


def one(report, document, field, status=None):
    found = [e for e in by_field(report, document, field) if status is None or e["status"] == status]
    assert found, "no report entry for %s %s (%s) in:\n%s" % (document, field, status, "\n".join(
        swck.report_lines(report)))
    return found[0]


def normalized(raw):
    spec, warnings = cluster_spec.normalize(copy.deepcopy(raw))
    return spec, warnings


# --------------------------------------------------------------------------- a whole stack


@pytest.fixture(scope="module")
def stack():
    return swck.from_swck(docs(STACK))


def test_stack_maps_every_kind_and_normalizes(stack):
    raw, report = stack
    spec, _warnings = normalized(raw)
    assert spec["name"] == "demo" and spec["namespace"] == "observability"
    assert spec["version"] == "10.4.0"
    assert spec["oap"]["replicas"] == 3
    assert spec["ui"]["flavour"] == "booster" and spec["ui"]["version"] == "10.4.0"
    assert spec["storage"]["type"] == "banyandb" and spec["storage"]["banyandb"]["mode"] == "standalone"
    assert spec["storage"]["banyandb"]["version"] == "0.10.3"
    assert spec["satellite"]["enabled"] and spec["satellite"]["replicas"] == 2 and spec["satellite"]["version"] == "1.3.0"
    assert spec["telemetry"]["fetcher"]["enabled"]
    assert spec["telemetry"]["event_exporter"]["enabled"]
    assert spec["telemetry"]["event_exporter"]["namespaces"] == ["payments", "shop"]
    assert spec["oap"]["dynamic_config"]["enabled"] and spec["oap"]["dynamic_config"]["period"] == 15
    kinds = {e["document"].split("/")[0] for e in report if e["status"] == swck.MAPPED and e["document"]}
    assert kinds == set(swck.KINDS) - {"Storage"}


@pytest.mark.parametrize("document, field, target, value", [
    ("OAPServer/demo", "spec.version", "version", "10.4.0"),
    ("OAPServer/demo", "spec.instances", "oap.replicas", 3),
    ("OAPServer/demo", "spec.service.template.type", "oap.service.type", "ClusterIP"),
    ("OAPServer/demo", "spec.config[1]", "oap.env.SW_OTEL_RECEIVER", "default"),
    ("OAPServer/demo", "spec.config[2]", "oap.java_opts", "-Xms3g -Xmx3g"),
    ("OAPServer/demo", "spec.config[3]", "oap.dynamic_config.enabled", True),
    ("OAPServer/demo", "spec.config[4]", "storage.type", "banyandb"),
    ("OAPServer/demo", "spec.config[6]", "oap.env.SW_RECEIVER_ZIPKIN_REST_PORT", "9411"),
    ("OAPServerConfig/demo-static", "spec.env[0]", "oap.env.SW_CORE_RECORD_DATA_TTL", "7"),
    ("OAPServerConfig/demo-static", "spec.env[1]", "oap.dynamic_config.period", 15),
    ("OAPServerConfig/demo-static", "spec.file[0]", 'oap.config_files["gateways.yml"]', None),
    ("OAPServerConfig/demo-static", "spec.file[1]", 'oap.config_files["oal/core.oal"]', None),
    ("OAPServerDynamicConfig/demo-dynamic", "spec.data[0]",
     'oap.dynamic_config.values["agent-analyzer.default.slowDBAccessThreshold"]', "default:200,mongodb:100"),
    ("UI/demo", "spec.kind", "ui.flavour", "booster"),
    ("UI/demo", "spec.version", "ui.version", "10.4.0"),
    ("UI/demo", "spec.instances", "ui.replicas", 1),
    ("UI/demo", "spec.service.template.type", "ui.service.type", "LoadBalancer"),
    ("UI/demo", "spec.service.template.loadBalancerSourceRanges", "ui.service.load_balancer_source_ranges",
     ["192.168.0.0/16"]),
    ("UI/demo", "spec.service.ingress.ingressClassName", "ui.ingress.class_name", "nginx"),
    ("UI/demo", "spec.service.ingress.annotations", "ui.ingress.annotations",
     {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}),
    ("UI/demo", "spec.service.ingress.tls[0].secretName", "ui.ingress.tls_secret", "skywalking-ui-tls"),
    ("BanyanDB/store", "spec.version", "storage.banyandb.version", "0.10.3"),
    ("BanyanDB/store", "spec.storages[0].persistentVolumeClaimSpec.resources.requests.storage",
     "storage.banyandb.persistence.size", "20Gi"),
    ("BanyanDB/store", "spec.storages[0].persistentVolumeClaimSpec.storageClassName",
     "storage.banyandb.persistence.storage_class", "fast-ssd"),
    ("Satellite/demo", "spec.version", "satellite.version", "1.3.0"),
    ("Satellite/demo", "spec.instances", "satellite.replicas", 2),
    ("Satellite/demo", "spec.config[0]", "satellite.env.SATELLITE_GRPC_ACCEPT_LIMIT_CPU_UTILIZATION", "75"),
    ("Fetcher/self-metrics", "spec.type", "telemetry.fetcher.enabled", True),
])
def test_stack_field_goes_to_target(stack, document, field, target, value):
    raw, report = stack
    entry = [e for e in by_field(report, document, field) if e["target"] == target]
    assert entry and entry[0]["status"] == swck.MAPPED, swck.report_lines(report)
    if value is not None:
        node = raw
        for part in re.findall(r'\["([^"]+)"\]|([^.\[\]]+)', target):
            node = node[part[0] or part[1]]
        assert node == value


def test_stack_config_file_contents_are_copied(stack):
    raw, _report = stack
    assert "edge" in raw["oap"]["config_files"]["gateways.yml"]
    assert raw["oap"]["config_files"]["oal/core.oal"].startswith("service_resp_time")


@pytest.mark.parametrize("document, field, reason", [
    ("BanyanDB/store", "spec.config[1]", "raw container args"),
    ("BanyanDB/store", "spec.affinity", "scheduling.affinity"),
    ("BanyanDB/store", "spec.storages[0].name", "not reused"),
    ("BanyanDB/store", "spec.storages[0].path", "its own path"),
    ("Fetcher/self-metrics", "spec.clusterName", "cluster label"),
    ("EventExporter/events", "spec.config filters[0].kind", "by namespace only"),
    ("EventExporter/events", "spec.config exporters.skywalking.template", "standard template"),
])
def test_stack_unmappable_fields_are_reported(stack, document, field, reason):
    _raw, report = stack
    entry = one(report, document, field, swck.NOT_MAPPED)
    assert entry["text"].startswith("%s %s" % (document, field))
    assert ": not mapped: " in entry["text"]
    if reason:
        assert reason in entry["message"]


def test_stack_earlier_env_is_reported_as_overridden(stack):
    _raw, report = stack
    entry = one(report, "OAPServer/demo", "spec.config[0]", swck.NOT_MAPPED)
    assert "overridden by OAPServerConfig/demo-static spec.env[0]" in entry["message"]


def test_stack_in_cluster_banyandb_targets_are_not_kept_as_env(stack):
    raw, report = stack
    assert "SW_STORAGE_BANYANDB_TARGETS" not in raw["oap"].get("env", {})
    assert "SW_STORAGE" not in raw["oap"].get("env", {})
    entry = one(report, "OAPServer/demo", "spec.config[5]", swck.MAPPED)
    assert "in-cluster BanyanDB (BanyanDB/store)" in entry["message"]


def _leaves(node, path):
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, "%s.%s" % (path, key))
    elif isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        for index, value in enumerate(node):
            yield from _leaves(value, "%s[%d]" % (path, index))
    else:
        yield path


def _covers(entry_field, leaf):
    return leaf == entry_field or any(leaf.startswith(entry_field + sep) for sep in (".", "[")) or \
        entry_field.startswith(leaf + " ") or entry_field.startswith(leaf + "[") or entry_field.startswith(leaf + ".")


@pytest.mark.parametrize("text", [STACK, EXTERNAL_ES, INTERNAL_ES, OLD_SAMPLE],
                         ids=["stack", "external-es", "internal-es", "old-sample"])
def test_no_field_is_dropped_silently(text):
    """Every leaf of every SWCK document's spec has a report entry (mapped, not mapped, ...)."""
    documents = docs(text)
    _raw, report = swck.from_swck(documents, namespace="apm", version="11.0.0" if text is OLD_SAMPLE else None)
    for obj in documents:
        label = "%s/%s" % (obj["kind"], obj["metadata"]["name"])
        entries = [e for e in report if e["document"] == label]
        whole = [e for e in entries if e["field"] is None and e["status"] in (swck.NOT_MAPPED, swck.IGNORED)]
        for leaf in _leaves(obj["spec"], "spec"):
            assert whole or any(e["field"] and _covers(e["field"], leaf) for e in entries), \
                "%s %s is not in the report:\n%s" % (label, leaf, "\n".join(swck.report_lines(report)))


# --------------------------------------------------------------------------- storage


def test_external_elasticsearch_with_credentials_secret():
    raw, report = swck.from_swck(docs(EXTERNAL_ES))
    assert raw["storage"] == {"type": "elasticsearch", "protocol": "https", "addresses": ["es.apm.svc:9200"],
                              "credentials": {"secret": "es-auth", "username_key": "username",
                                              "password_key": "password"}}
    normalized(raw)
    assert "not mapped: SWCK ignores it for external storage" in one(report, "Storage/es", "spec.version")["message"]


def test_user_and_password_in_the_storage_address_are_removed():
    documents = docs(EXTERNAL_ES)
    documents[1]["spec"]["address"] = "https://elastic:Pa55word@es.apm.svc:9200"
    raw, report = swck.from_swck(documents)
    assert raw["storage"]["addresses"] == ["es.apm.svc:9200"]
    entry = one(report, "Storage/es", "spec.address", swck.NEEDS_SECRET)
    assert entry["secret"] == {"name": "es-auth", "keys": ["username", "password"]}
    assert entry["text"] == ("Storage/es spec.address: not copied: the user name and password in the URL were removed; "
                             "they belong in Secret es-auth under keys username and password (storage.credentials)")
    assert "Pa55word" not in json.dumps([raw, report])


def test_report_is_in_document_order(stack):
    _raw, report = stack
    order = [e["document"].split("/")[0] for e in report if e["document"]]
    # Each document's entries together, documents in input order.
    assert [kind for kind, _group in itertools.groupby(order)] == [
        "OAPServer", "UI", "BanyanDB", "Satellite", "OAPServerConfig", "OAPServerDynamicConfig", "Fetcher",
        "EventExporter"]


def test_internal_elasticsearch_keeps_swcks_address_and_needs_a_secret_for_the_default_user():
    raw, report = swck.from_swck(docs(INTERNAL_ES))
    assert raw["storage"]["addresses"] == ["local-elasticsearch:9200"]
    assert raw["storage"]["credentials"] == {"secret": "sw-swck-credentials", "username_key": "username",
                                             "password_key": "password"}
    normalized(raw)
    entry = one(report, "Storage/local", "spec.security.user.secretName", swck.NEEDS_SECRET)
    assert entry["secret"] == {"name": "sw-swck-credentials", "keys": ["username", "password"]}
    assert "changeme" not in json.dumps([raw, report])
    assert "does NOT run Elasticsearch" in one(report, "Storage/local", "spec.connectType")["message"]
    for field in ("spec.image", "spec.instances", "spec.servicename", "spec.resource", "spec.version"):
        assert "does not run Elasticsearch" in one(report, "Storage/local", field, swck.NOT_MAPPED)["message"]


def test_internal_elasticsearch_with_tls_uses_https_and_reports_the_trust_store():
    documents = docs(INTERNAL_ES)
    documents[1]["spec"]["security"]["tls"] = True
    raw, report = swck.from_swck(documents)
    assert raw["storage"]["protocol"] == "https"
    assert raw["storage"]["addresses"] == ["skywalking-storage:9200"]
    assert "trust store" in one(report, "Storage/local", "spec.security.tls", swck.NOT_MAPPED)["text"]


def test_storage_without_user_needs_a_secret_anyway():
    documents = docs(EXTERNAL_ES)
    del documents[1]["spec"]["security"]
    raw, report = swck.from_swck(documents)
    assert raw["storage"]["credentials"]["secret"] == "sw-swck-credentials"
    entry = [e for e in report if e["status"] == swck.NEEDS_SECRET][0]
    assert "empty values if the store has no authentication" in entry["message"]


def test_elasticsearch_from_env_with_secret_references():
    source = {"valueFrom": {"secretKeyRef": {"name": "es-creds", "key": "user"}}}
    documents = [oap({"config": env(("SW_STORAGE", "elasticsearch"),
                                    ("SW_STORAGE_ES_CLUSTER_NODES", "es-0:9200, es-1:9200"),
                                    ("SW_STORAGE_ES_HTTP_PROTOCOL", "https")) + [
        dict(source, name="SW_ES_USER"),
        {"name": "SW_ES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "es-creds", "key": "pass"}}}]})]
    raw, _report = swck.from_swck(documents)
    assert raw["storage"] == {"type": "elasticsearch", "addresses": ["es-0:9200", "es-1:9200"], "protocol": "https",
                              "credentials": {"secret": "es-creds", "password_key": "pass", "username_key": "user"}}
    assert "env" not in raw["oap"]
    normalized(raw)


def test_storage_document_supersedes_storage_env():
    documents = docs(EXTERNAL_ES)
    documents[0]["spec"]["config"] = env(("SW_STORAGE", "banyandb"), ("SW_STORAGE_ES_CLUSTER_NODES", "old:9200"))
    raw, report = swck.from_swck(documents)
    assert raw["storage"]["type"] == "elasticsearch" and raw["storage"]["addresses"] == ["es.apm.svc:9200"]
    for index in (0, 1):
        assert "superseded by Storage/es" in one(report, "OAPServer/sw", "spec.config[%d]" % index)["message"]


def test_mysql_jdbc_url_credentials_are_stripped():
    documents = [oap({"config": env(("SW_STORAGE", "mysql"),
                                    ("SW_JDBC_URL", "jdbc:mysql://db:3306/sw?user=sky&password=Wh4tever&useSSL=true"),
                                    ("SW_DATA_SOURCE_PASSWORD", "Wh4tever"))})]
    raw, report = swck.from_swck(documents)
    assert raw["storage"]["jdbc_url"] == "jdbc:mysql://db:3306/sw?useSSL=true"
    assert raw["storage"]["credentials"]["secret"] == "sw-swck-credentials"
    assert "Wh4tever" not in json.dumps([raw, report])
    normalized(raw)


def test_banyandb_external_targets():
    documents = [oap({"config": env(("SW_STORAGE", "banyandb"), ("SW_STORAGE_BANYANDB_TARGETS", "bydb.data:17912"))},
                     version="11.0.0")]
    raw, _report = swck.from_swck(documents)
    assert raw["storage"] == {"type": "banyandb", "banyandb": {"mode": "external"}, "addresses": ["bydb.data:17912"]}
    normalized(raw)


def test_banyandb_pre_10_host_env_points_at_the_banyandb_document():
    """SWCK's e2e used SW_STORAGE_BANYANDB_HOST=<banyandb>-banyandb-grpc.<ns>."""
    documents = [oap({"config": env(("SW_STORAGE_BANYANDB_HOST", "store-banyandb-grpc.apm"))}),
                 cr("BanyanDB", "store", {"version": "0.10.3", "counts": 1, "image": "apache/skywalking-banyandb:0.10.3",
                                          "config": ["standalone"]})]
    raw, report = swck.from_swck(documents)
    assert raw["storage"]["banyandb"] == {"mode": "standalone", "version": "0.10.3"}
    assert "images" not in raw  # the default image of 0.10.3
    assert "in-cluster BanyanDB" in one(report, "OAPServer/sw", "spec.config[0]")["message"]
    normalized(raw)


def test_banyandb_not_used_by_oap_is_reported():
    unused = cr("BanyanDB", "unused", {"version": "0.11.0", "counts": 1, "image": "apache/skywalking-banyandb:0.11.0"})
    documents = docs(EXTERNAL_ES) + [unused]
    raw, report = swck.from_swck(documents)
    assert raw["storage"]["type"] == "elasticsearch"
    assert "OAP does not use it" in one(report, "BanyanDB/unused", None, swck.NOT_MAPPED)["message"]


def test_unreferenced_storage_is_reported():
    documents = docs(EXTERNAL_ES)
    del documents[0]["spec"]["storage"]
    raw, report = swck.from_swck(documents)
    assert "storage" not in raw
    assert "no OAPServer" in one(report, "Storage/es", None, swck.NOT_MAPPED)["message"]


def test_h2_is_not_mapped():
    raw, report = swck.from_swck([oap({"config": env(("SW_STORAGE", "h2"))})])
    assert "storage" not in raw
    assert "H2" in one(report, "OAPServer/sw", "spec.config[0]", swck.NOT_MAPPED)["message"]


# --------------------------------------------------------------------------- secrets

SECRET = "S3cr3t-Value-42"


def _secret_documents(secret):
    return [
        oap({"config": env(("SW_STORAGE", "elasticsearch"), ("SW_STORAGE_ES_CLUSTER_NODES", "es:9200"),
                           ("SW_ES_USER", "elastic"), ("SW_ES_PASSWORD", secret),
                           ("SW_CLUSTER_NACOS_PASSWORD", secret), ("SW_EXPORTER_KAFKA_SERVERS", "kafka:9092"),
                           ("SW_API_PIPELINE_URL", "https://bot:%s@pipeline.example.org/x" % secret))}),
        cr("OAPServerConfig", "files", {"version": "10.4.0", "file": [
            {"name": "alarm-settings.yml", "path": "/skywalking/config",
             "data": "rules: {}\ndingtalkHooks:\n  textTemplate: x\n  webhooks:\n    - url: https://x\n      secret: %s\n"
                     % secret},
            {"name": "application.yml", "path": "/skywalking/config",
             "data": "storage:\n  elasticsearch:\n    password: ${SW_ES_PASSWORD:\"\"}\n"}]}),
        cr("UI", "sw", {"kind": "horizon", "version": "0.7.0", "instances": 1,
                        "config": "auth:\n  local:\n    users:\n      - username: admin\n        password: %s\n" % secret}),
        cr("Satellite", "sw", {"version": "v1.3.0", "instances": 1, "config": env(
            ("SATELLITE_GRPC_CLIENT_KUBERNETES_BASIC_AUTH_PASSWORD", secret))}),
    ]


def test_plaintext_credentials_are_never_copied_or_echoed():
    raw, report = swck.from_swck(_secret_documents(SECRET))
    dumped = json.dumps([raw, report])
    assert SECRET not in dumped
    assert raw["oap"]["env"]["SW_CLUSTER_NACOS_PASSWORD"] == {
        "secret": "sw-swck-credentials", "key": "SW_CLUSTER_NACOS_PASSWORD"}
    assert raw["oap"]["env"]["SW_API_PIPELINE_URL"] == {"secret": "sw-swck-credentials", "key": "SW_API_PIPELINE_URL"}
    assert raw["satellite"]["env"]["SATELLITE_GRPC_CLIENT_KUBERNETES_BASIC_AUTH_PASSWORD"]["secret"] == \
        "sw-swck-credentials"
    assert raw["storage"]["credentials"] == {"secret": "sw-swck-credentials", "username_key": "username",
                                             "password_key": "password"}
    assert "alarm-settings.yml" not in raw["oap"]["config_files"]
    assert raw["oap"]["config_files"]["application.yml"].startswith("storage:")  # a ${...} placeholder is fine
    secrets = [e for e in report if e["status"] == swck.NEEDS_SECRET]
    fields = {(e["document"], e["field"]) for e in secrets}
    assert {("OAPServer/sw", "spec.config[2]"), ("OAPServer/sw", "spec.config[3]"), ("OAPServer/sw", "spec.config[4]"),
            ("OAPServer/sw", "spec.config[6]"), ("OAPServerConfig/files", "spec.file[0]"),
            ("Satellite/sw", "spec.config[0]")} <= fields
    assert "line 6 (key secret)" in one(report, "OAPServerConfig/files", "spec.file[0]")["message"]
    assert "not copied: it may hold users" in one(report, "UI/sw", "spec.config")["text"]
    normalized(raw)


@settings(max_examples=60, deadline=None)
@given(secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%+,-.=^_~",
                      min_size=12, max_size=40).map(lambda s: "Zq" + s))
def test_property_no_credential_value_reaches_spec_report_or_errors(secret):
    documents = _secret_documents(secret)
    raw, report = swck.from_swck(documents)
    assert secret not in json.dumps([raw, report])
    # Also when the migration fails: the error names the document, never the value.
    documents.append(oap(name="second", spec={"config": env(("SW_ES_PASSWORD", secret))}))
    with pytest.raises(SpecError) as info:
        swck.from_swck(documents)
    assert secret not in str(info.value) and "OAPServer/second" in str(info.value)


def test_credentials_secret_name_can_be_chosen():
    raw, report = swck.from_swck(_secret_documents(SECRET), credentials_secret="migrated")
    assert raw["oap"]["env"]["SW_CLUSTER_NACOS_PASSWORD"]["secret"] == "migrated"
    referenced = [e for e in report if e["status"] == swck.NEEDS_SECRET and "secret" in e]
    assert len(referenced) >= 4 and all(e["secret"]["name"] == "migrated" for e in referenced)


def test_env_references_are_kept_as_references():
    documents = [oap({"config": [
        {"name": "SW_AUTHENTICATION", "valueFrom": {"secretKeyRef": {"name": "oap-token", "key": "token"}}},
        {"name": "SW_NAMESPACE", "valueFrom": {"configMapKeyRef": {"name": "oap-settings", "key": "ns"}}},
        {"name": "SW_CORE_GRPC_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "SW_CORE_PREPARE_THREADS", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
    ]})]
    raw, report = swck.from_swck(documents)
    assert raw["oap"]["env"] == {"SW_AUTHENTICATION": {"secret": "oap-token", "key": "token"},
                                 "SW_NAMESPACE": {"config_map": "oap-settings", "key": "ns"},
                                 "SW_CORE_GRPC_HOST": {"field": "status.podIP"}}
    assert "SWCK passed an empty value" in one(report, "OAPServer/sw", "spec.config[0]")["message"]
    assert "resourceFieldRef" in one(report, "OAPServer/sw", "spec.config[3]", swck.NOT_MAPPED)["message"]
    normalized(raw)


# --------------------------------------------------------------------------- OAP options from env


@pytest.mark.parametrize("name, value, target, expected", [
    ("SW_TELEMETRY", "none", ("telemetry", "prometheus"), False),
    ("SW_TELEMETRY", "prometheus", ("telemetry", "prometheus"), True),
    ("SW_CONFIGURATION", "none", ("oap", "dynamic_config", "enabled"), False),
    ("SW_CONFIGURATION", "nacos", ("oap", "env", "SW_CONFIGURATION"), "nacos"),
    ("SW_CONFIG_CONFIGMAP_PERIOD", "20", ("oap", "dynamic_config", "period"), 20),
    ("SW_ADMIN_SERVER", "-", ("oap", "admin_server", "enabled"), False),
    ("SW_CORE_ROLE", "Mixed", ("oap", "mode"), "mixed"),
    ("JAVA_OPTS", "-Dmode=init -XX:+UseG1GC", ("oap", "java_opts"), "-XX:+UseG1GC"),
])
def test_oap_env_mapped_onto_options(name, value, target, expected):
    raw, _report = swck.from_swck([oap({"config": env((name, value))}, version="11.0.0")])
    node = raw
    for key in target:
        node = node[key]
    assert node == expected
    normalized(raw)


@pytest.mark.parametrize("name, value, reason", [
    ("SW_CLUSTER", "standalone", "kubernetes coordinator"),
    ("SW_CLUSTER_K8S_LABEL", "app=oap", "kubernetes coordinator"),
    ("SW_CORE_ROLE", "Receiver", "oap.mode: split"),
    ("SW_CORE_GRPC_SSL_ENABLED", "true", "oap.tls.grpc.secret"),
    ("SW_CORE_REST_SSL_KEY_PATH", "/k", "oap.tls.rest.secret"),
    ("SW_HEALTH_CHECKER", "-", "health checker"),
    ("SW_TELEMETRY", "zabbix", "telemetry.prometheus"),
    ("SW_CONFIG_CONFIGMAP_PERIOD", "soon", "number of seconds"),
    ("SW_CORE_RECORD_DATA_TTL", "", "empty value"),
    ("9BAD", "x", "not a valid environment variable name"),
])
def test_oap_env_not_mapped(name, value, reason):
    raw, report = swck.from_swck([oap({"config": env((name, value))})])
    entry = one(report, "OAPServer/sw", "spec.config[0]", swck.NOT_MAPPED)
    assert reason in entry["message"]
    assert name not in raw.get("oap", {}).get("env", {})


def test_instances_zero_turns_the_pdb_off_and_one_gives_a_note():
    raw, report = swck.from_swck([oap({"instances": 0})])
    assert raw["oap"]["replicas"] == 0 and raw["oap"]["pdb"]["enabled"] is False
    normalized(raw)
    _raw, report = swck.from_swck([oap({"instances": 1})])
    assert "PodDisruptionBudget" in one(report, "OAPServer/sw", "spec.instances", swck.NOTE)["message"]
    assert any(e["status"] == swck.WARNING and e["document"] == "OAPServer/sw" for e in report)


def test_oap_service_fields_without_option():
    raw, report = swck.from_swck([oap({"service": {"template": {"type": "NodePort", "clusterIP": "10.0.0.9",
                                                                "externalIPs": ["1.2.3.4"]},
                                                   "ingress": {"host": "oap.example.org"}}})])
    assert raw["oap"]["service"] == {"type": "NodePort"}
    for field in ("spec.service.template.clusterIP", "spec.service.template.externalIPs", "spec.service.ingress"):
        one(report, "OAPServer/sw", field, swck.NOT_MAPPED)


def test_custom_oap_image_is_kept():
    raw, report = swck.from_swck([oap({"image": "registry.example.org/sw/oap:10.4.0-custom"})])
    assert raw["images"]["oap"] == "registry.example.org/sw/oap:10.4.0-custom"
    raw, report = swck.from_swck([oap({"image": "apache/skywalking-oap-server:latest"})])
    assert "images" not in raw
    assert "not a pinned version" in one(report, "OAPServer/sw", "spec.image", swck.NOT_MAPPED)["message"]


# --------------------------------------------------------------------------- config documents


def test_config_documents_of_another_version_were_not_in_effect():
    documents = [oap(), cr("OAPServerConfig", "old", {"version": "9.5.0", "env": env(("SW_CORE_RECORD_DATA_TTL", "9"))}),
                 cr("OAPServerDynamicConfig", "old-dyn", {"version": "9.5.0", "data": [{"name": "a.b.c", "value": "1"}]})]
    raw, report = swck.from_swck(documents)
    assert "oap" not in raw or "env" not in raw["oap"]
    assert "not in effect" in one(report, "OAPServerConfig/old", None, swck.NOT_MAPPED)["message"]
    assert "not in effect" in one(report, "OAPServerDynamicConfig/old-dyn", None, swck.NOT_MAPPED)["message"]


def test_files_outside_config_dir_are_not_mapped():
    documents = [oap(), cr("OAPServerConfig", "c", {"version": "10.4.0", "file": [
        {"name": "agent.config", "path": "/skywalking/agent", "data": "x"}]})]
    raw, report = swck.from_swck(documents)
    assert "config_files" not in raw.get("oap", {})
    assert "under /skywalking/config/ only" in one(report, "OAPServerConfig/c", "spec.file[0]")["message"]


def test_dynamic_config_with_another_configuration_center_is_not_mapped():
    documents = [oap({"config": env(("SW_CONFIGURATION", "none"))}),
                 cr("OAPServerDynamicConfig", "d", {"version": "10.4.0", "data": [{"name": "a.b.c", "value": "1"}]})]
    raw, report = swck.from_swck(documents)
    assert "values" not in raw["oap"]["dynamic_config"]
    assert "never read this ConfigMap" in one(report, "OAPServerDynamicConfig/d", None, swck.NOT_MAPPED)["message"]


def test_swcks_sample_field_enable_dynamic_configuration_is_unknown():
    documents = [oap(), cr("OAPServerConfig", "c", {"version": "10.4.0", "labelSelector": "app=collector",
                                                    "enableDynamicConfiguration": True})]
    _raw, report = swck.from_swck(documents)
    for field in ("spec.labelSelector", "spec.enableDynamicConfiguration"):
        assert "not a field of SWCK's OAPServerConfig" in one(report, "OAPServerConfig/c", field)["message"]


# --------------------------------------------------------------------------- versions, UI, telemetry


def test_unsupported_oap_version_is_refused_unless_a_version_is_given():
    # never a silent upgrade: another OAP version migrates the storage schema
    with pytest.raises(SpecError, match=r"^OAPServer/default spec.version: .*not supported.*Set version to the "
                                        r"supported OAP version to move to"):
        swck.from_swck(docs(OLD_SAMPLE), namespace="skywalking")
    for unsupported in ("9.0.0", "latest", "8.8.1"):
        with pytest.raises(SpecError, match="OAPServer/sw spec.version"):
            swck.from_swck([oap(version=unsupported)])
    raw, report = swck.from_swck(docs(OLD_SAMPLE), namespace="skywalking", version="11.0.0")
    assert raw["version"] == "11.0.0" and "images" not in raw
    message = one(report, "OAPServer/default", "spec.version", swck.NOT_MAPPED)["message"]
    assert "not supported" in message and "version 11.0.0 (given) applies" in message
    assert "0.x" in one(report, "UI/default", "spec.version", swck.NOT_MAPPED)["message"]
    spec, _warnings = normalized(raw)
    assert spec["version"] == "11.0.0" and spec["ui"]["ingress"]["host"] == "demo.ui.skywalking"


def test_booster_ui_without_a_mapped_oap_version_is_not_mapped():
    documents = docs(OLD_SAMPLE)
    documents[1]["spec"]["kind"] = "booster"
    raw, report = swck.from_swck(documents, namespace="skywalking", version="11.0.0")
    assert "flavour" not in raw["ui"]
    one(report, "UI/default", "spec.kind", swck.NOT_MAPPED)
    normalized(raw)


def test_horizon_image_and_default_name_note():
    ui = cr("UI", "sw", {"version": "0.7.0", "instances": 1, "image": "apache/skywalking-horizon-ui:0.7.0"})
    documents = [oap(version="11.0.0"), ui]
    raw, _report = swck.from_swck(documents)
    assert raw["ui"]["flavour"] == "horizon" and raw["images"]["ui"] == "apache/skywalking-horizon-ui:0.7.0"
    documents[1]["spec"].pop("image")
    raw, report = swck.from_swck(documents)
    assert "images" not in raw
    assert "apache/skywalking-ui:horizon-0.7.0" in one(report, "UI/sw", "spec.image", swck.NOTE)["message"]


def test_ui_pointed_at_another_oap_is_reported():
    documents = [oap(), cr("UI", "sw", {"kind": "booster", "version": "10.4.0", "instances": 1,
                                        "OAPServerAddress": "http://elsewhere-oap.other:12800"})]
    _raw, report = swck.from_swck(documents)
    one(report, "UI/sw", "spec.OAPServerAddress", swck.NOT_MAPPED)


def test_event_exporter_regex_that_is_not_exact_and_latest_version():
    config = 'filters:\n  - namespace: "prod-.*"\n    exporters: [skywalking]\n'
    documents = [oap(), cr("EventExporter", "ev", {"version": "latest", "config": config})]
    raw, report = swck.from_swck(documents)
    assert raw["telemetry"]["event_exporter"] == {"enabled": True}
    assert "exact namespaces" in one(report, "EventExporter/ev", "spec.config filters[0].namespace")["message"]
    assert "not a pinned version" in one(report, "EventExporter/ev", "spec.version", swck.NOT_MAPPED)["message"]


def test_fetcher_for_another_oap():
    documents = [oap(), cr("Fetcher", "f", {"type": ["prometheus"], "OAPServerAddress": "other-oap:11800"})]
    raw, report = swck.from_swck(documents)
    assert raw["telemetry"]["fetcher"]["enabled"] is True
    one(report, "Fetcher/f", "spec.OAPServerAddress", swck.NOT_MAPPED)


def test_satellite_defaults_to_its_own_name_for_the_oap():
    documents = [oap(), cr("Satellite", "proxy", {"version": "1.3.0", "instances": 1, "config": env(
        ("SATELLITE_GRPC_CLIENT_FINDER", "static"))})]
    raw, report = swck.from_swck(documents)
    assert raw["satellite"]["enabled"] is True and "env" not in raw["satellite"]
    assert "OAPServer 'proxy'" in one(report, "Satellite/proxy", "spec.OAPServerName", swck.NOTE)["message"]
    one(report, "Satellite/proxy", "spec.config[0]", swck.NOT_MAPPED)


# --------------------------------------------------------------------------- documents, identity, format


def test_list_objects_and_other_objects():
    documents = [{"apiVersion": "v1", "kind": "List", "items": [
        oap(), {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv"}},
        cr("SwAgent", "java", {"optionalPlugins": ["webflux"]}),
        {"apiVersion": "operator.skywalking.apache.org/v1beta1", "kind": "OAPServer", "metadata": {"name": "x"}}]},
        None]
    raw, report = swck.from_swck(documents)
    assert raw["oap"]["replicas"] == 2
    assert one(report, "PersistentVolume/pv", None, swck.IGNORED)
    assert "inject" in one(report, "SwAgent/java", None, swck.NOT_MAPPED)["message"]
    one(report, "OAPServer/x", "apiVersion", swck.NOT_MAPPED)


def test_server_metadata_status_and_labels_are_reported():
    obj = oap(status={"availableReplicas": 2})
    obj["metadata"].update({"uid": "u", "resourceVersion": "5", "labels": {"team": "a"},
                            "annotations": {swck._LAST_APPLIED: "{}"}})  # pylint: disable=protected-access
    _raw, report = swck.from_swck([obj])
    assert "resourceVersion" in one(report, "OAPServer/sw", "metadata", swck.IGNORED)["message"]
    one(report, "OAPServer/sw", "status", swck.IGNORED)
    one(report, "OAPServer/sw", "metadata.labels", swck.NOT_MAPPED)
    assert not by_field(report, "OAPServer/sw", "metadata.annotations")


def test_name_and_namespace_arguments_win():
    raw, report = swck.from_swck([oap()], name="prod", namespace="observability")
    assert (raw["name"], raw["namespace"]) == ("prod", "observability")
    assert "prod-oap" in one(report, "OAPServer/sw", "metadata.name", swck.NOTE)["message"]
    one(report, "OAPServer/sw", "metadata.namespace", swck.NOTE)


def test_report_text_format():
    documents = [oap({"config": env(("SW_FOO_BAR", "1"))}, name="default"),
                 cr("UI", "default", {"kind": "booster", "version": "10.4.0", "instances": 1,
                                      "service": {"template": {"type": "NodePort"}}}),
                 cr("BanyanDB", "x", {"version": "0.10.3", "counts": 1, "image": "apache/skywalking-banyandb:0.10.3",
                                      "config": ["standalone", "--stream-root-path=/data"]})]
    _raw, report = swck.from_swck(documents)
    lines = swck.report_lines(report)
    assert "OAPServer/default spec.config[0] (SW_FOO_BAR): kept as oap.env.SW_FOO_BAR" in lines
    assert "UI/default spec.service.template.type: mapped to ui.service.type" in lines
    assert ("BanyanDB/x spec.config[1] (--stream-root-path=/data): not mapped: raw container args; the collection "
            "builds BanyanDB's args: set storage.banyandb.* instead") in lines
    assert all(e["status"] in (swck.NOT_MAPPED, swck.NEEDS_SECRET, swck.WARNING) for e in swck.unmapped(report))
    assert json.loads(json.dumps(report)) == report


def test_validate_false_returns_the_raw_spec_unchecked():
    documents = [oap({"service": {"template": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["nope"]}}})]
    raw, _report = swck.from_swck(documents, validate=False)
    assert raw["oap"]["service"]["load_balancer_source_ranges"] == ["nope"]


# --------------------------------------------------------------------------- errors


ERRORS = [
    ("second OAPServer", [oap(), oap(name="sw2")], "OAPServer/sw2 metadata.name"),
    ("second UI", [cr("UI", "a", {"version": "0.7.0"}), cr("UI", "b", {"version": "0.7.0"})], "UI/b metadata.name"),
    ("second BanyanDB", [cr("BanyanDB", "a", {}), cr("BanyanDB", "b", {})], "BanyanDB/b metadata.name"),
    ("namespaces differ", [oap(), cr("UI", "ui", {"version": "0.7.0"}, namespace="other")], "UI/ui metadata.namespace"),
    ("missing Storage", [oap({"storage": {"name": "es"}})], "OAPServer/sw spec.storage.name"),
    ("storage not a mapping", [oap({"storage": "es"})], "OAPServer/sw spec.storage"),
    ("Storage type", [oap({"storage": {"name": "s"}}), cr("Storage", "s", {"type": "mysql", "connectType": "external"})],
     "Storage/s spec.type"),
    ("Storage connectType", [oap({"storage": {"name": "s"}}),
                             cr("Storage", "s", {"type": "elasticsearch", "connectType": "remote"})],
     "Storage/s spec.connectType"),
    ("external without address", [oap({"storage": {"name": "s"}}),
                                  cr("Storage", "s", {"type": "elasticsearch", "connectType": "external"})],
     "Storage/s spec.address"),
    ("unsupported SW_STORAGE", [oap({"config": env(("SW_STORAGE", "influxdb"))})], "OAPServer/sw spec.config[0]"),
    ("BanyanDB version for OAP 11", [oap(version="11.0.0"), cr("BanyanDB", "b", {"version": "0.10.3", "counts": 1})],
     "BanyanDB/b spec.version"),
    ("BanyanDB image for OAP 11", [oap(version="11.0.0"),
                                   cr("BanyanDB", "b", {"counts": 1, "image": "apache/skywalking-banyandb:0.10.3"})],
     "BanyanDB/b spec.image"),
    ("booster with OAP 11", [oap(version="11.0.0"), cr("UI", "u", {"kind": "booster", "version": "11.0.0"})],
     "UI/u spec.kind"),
    ("booster of another line", [oap(), cr("UI", "u", {"kind": "booster", "version": "10.3.0"})], "UI/u spec.version"),
    ("unknown UI kind", [oap(), cr("UI", "u", {"kind": "classic", "version": "1.0.0"})], "UI/u spec.kind"),
    ("Satellite for another OAP", [oap(), cr("Satellite", "s", {"version": "1.3.0", "OAPServerName": "other"})],
     "Satellite/s spec.OAPServerName"),
    ("OAP image of another line", [oap({"image": "apache/skywalking-oap-server:10.4.0"}, version="11.0.0")],
     "OAPServer/sw spec.image"),
    ("two static configs", [oap(), cr("OAPServerConfig", "a", {"version": "10.4.0"}),
                            cr("OAPServerConfig", "b", {"version": "10.4.0"})], "OAPServerConfig/b spec.version"),
    ("no name", [cr("UI", None, {})], "UI (documents[0]) metadata.name"),
    ("not an object", ["text"], "documents[0]"),
    ("no namespace", [oap(namespace=None)], "namespace"),
    # Problems the spec finds are traced back to the SWCK field.
    ("spec problem traced back", [oap({"service": {"template": {"type": "LoadBalancer",
                                                                "loadBalancerSourceRanges": ["nope"]}}})],
     "OAPServer/sw spec.service.template.loadBalancerSourceRanges (-> oap.service.load_balancer_source_ranges)"),
    ("UI host traced back", [oap(), cr("UI", "sw", {"kind": "booster", "version": "10.4.0",
                                                    "service": {"ingress": {"host": "Not A Host"}}})],
     "UI/sw spec.service.ingress.host (-> ui.ingress.host)"),
]


@pytest.mark.parametrize("documents, field", [(d, f) for _n, d, f in ERRORS], ids=[n for n, _d, _f in ERRORS])
def test_errors_name_the_document_and_field(documents, field):
    with pytest.raises(SpecError) as info:
        swck.from_swck(copy.deepcopy(documents))
    assert info.value.field == field, str(info.value)
    assert str(info.value).startswith(field + ": ")


def test_normalize_problems_are_all_reported_with_origins():
    documents = [oap({"service": {"template": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["nope"]}}}),
                 cr("UI", "sw", {"kind": "booster", "version": "10.4.0", "service": {"ingress": {"host": "Bad Host"}}})]
    with pytest.raises(cluster_spec.SpecProblems) as info:
        swck.from_swck(documents)
    fields = [f for f, _p in info.value.problems]
    assert any(f.startswith("OAPServer/sw spec.service.template.loadBalancerSourceRanges") for f in fields)
    assert any(f.startswith("UI/sw spec.service.ingress.host") for f in fields)


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("url, clean, removed", [
    ("https://user:pw@es:9200", "https://es:9200", True),
    ("jdbc:postgresql://db:5432/sw?user=a&password=b&ssl=true", "jdbc:postgresql://db:5432/sw?ssl=true", True),
    ("jdbc:mysql://db:3306/sw?password=b", "jdbc:mysql://db:3306/sw", True),
    ("http://es:9200", "http://es:9200", False),
])
def test_strip_url_credentials(url, clean, removed):
    assert swck.strip_url_credentials(url) == (clean, removed)


@pytest.mark.parametrize("data, found", [
    ("password: ${SW_ES_PASSWORD:\"\"}\n", None),
    ("  password: ${SW_DATA_SOURCE_PASSWORD:root@1234}\n", None),
    ("# password: old\nuser: x\n", None),
    ("storage:\n  password: letmein\n", (2, "password")),
    ("hooks:\n  - accessKey: AKIA\n", (2, "accessKey")),
    ("token: ''\n", None),
])
def test_file_credential_detection(data, found):
    assert swck._file_credentials(data) == found  # pylint: disable=protected-access


def test_overlay_explicit_options_win():
    base = {"name": "a", "oap": {"replicas": 2, "env": {"A": "1"}}, "ui": {"flavour": "booster"}}
    explicit = {"oap": {"env": {"B": "2"}, "replicas": None}, "ui": {"flavour": "horizon"}, "version": None}
    assert swck.overlay(base, explicit) == {"name": "a", "oap": {"replicas": 2, "env": {"A": "1", "B": "2"}},
                                            "ui": {"flavour": "horizon"}}
    assert base["oap"]["env"] == {"A": "1"}


# --------------------------------------------------------------------------- robustness

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 5), st.sampled_from(
    ["", "x", "standalone", "latest", "10.4.0", "11.0.0", "0.10.3", "0.11.0", "v1.3.0", "ClusterIP", "horizon",
     "booster", "elasticsearch", "external", "internal", "prometheus", "http://sw-oap.apm:12800", "/skywalking/config",
     "SW_STORAGE", "SW_ES_PASSWORD", "JAVA_OPTS", "filters: [{namespace: '^a$'}]"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["name", "value", "valueFrom", "template", "ingress", "type", "host", "tls",
                                     "secretName", "user", "path", "data", "persistentVolumeClaimSpec", "resources",
                                     "requests", "storage", "secretKeyRef", "key", "hosts"]), inner, max_size=4)),
    max_leaves=8)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(swck.KINDS), data=st.data(), with_oap=st.booleans())
def test_property_any_shape_gives_a_result_or_a_spec_error(kind, data, with_oap):
    """Arbitrary field values never crash the mapping: a result, or a SpecError naming a field."""
    spec = data.draw(st.dictionaries(st.sampled_from(swck.FIELDS[kind] + ("unknownField",)), _VALUES, max_size=6))
    documents = [cr(kind, "x", spec)]
    if with_oap and kind != "OAPServer":
        documents.insert(0, oap(name="x"))
    for validate in (False, True):
        try:
            raw, report = swck.from_swck(copy.deepcopy(documents), validate=validate)
        except SpecError as exc:
            assert exc.field
            continue
        assert raw["name"] == "x" and all(e["text"] for e in report)


@pytest.mark.parametrize("image, flavour", [
    ("apache/skywalking-ui:10.4.0", "booster"),
    ("apache/skywalking-ui:horizon-0.7.0", "horizon"),
    ("apache/skywalking-horizon-ui:0.7.0", "horizon"),
    ("registry.local:5000/apache/skywalking-ui:10.4.0", "booster"),
    ("apache/skywalking-ui", None),
    ("example/other:1", None),
    (None, None),
])
def test_ui_flavour_from_the_image_when_kind_is_not_set(image, flavour):
    assert swck._flavour_of_image(image) == flavour
