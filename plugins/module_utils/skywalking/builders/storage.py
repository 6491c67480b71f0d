# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Storage: OAP's storage env, and BanyanDB in the cluster (standalone or cluster mode).  Pure.

BanyanDB facts (apache/skywalking-banyandb ``banyand/Dockerfile``, its Helm chart v0.6.0 for
0.10 and HEAD for 0.11; see the project's research notes):

* image ``apache/skywalking-banyandb:<ver>``, entrypoint ``/banyand``, first arg the role
  (``standalone``, ``liaison``, ``data``); every flag is also env ``BYDB_<FLAG>``;
* ports 17912 gRPC (OAP -> standalone/liaison, liaison -> data), 17913 HTTP (``/api/healthz``),
  18912 liaison internal gRPC, 17916 schema server (property registry, data nodes), 2121 metrics;
* data roots (``--measure-root-path`` ... ) default to ``/tmp``: the data volume is mounted there;
* cluster mode: DNS node discovery through SRV records of the headless Services
  (``_internal-grpc._tcp.<liaison-headless>`` and ``_grpc._tcp.<data-headless>``), node host
  ``$(POD_NAME).<headless>.$(POD_NAMESPACE)``; OAP's targets are the liaisons (client Service);
* OAP checks the server's API version against
  ``SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS``: we set it to the line's API version.
"""

from __future__ import annotations

from .. import names, sizing
from ..spec import line_of
from . import common

GRPC_PORT = 17912
HTTP_PORT = 17913
LIAISON_INTERNAL_PORT = 18912
SCHEMA_SERVER_PORT = 17916
METRICS_PORT = 2121

DEFAULT_PORTS = {"banyandb": GRPC_PORT, "elasticsearch": 9200, "opensearch": 9200, "mysql": 3306,
                 "postgresql": 5432}

KINDS = (("apps", "StatefulSet"), ("", "Service"), ("", "ServiceAccount"))


def in_cluster(spec):
    """Whether this cluster runs its own BanyanDB."""
    st = spec["storage"]
    return st["type"] == "banyandb" and st["banyandb"]["mode"] != "external"


def _with_port(address, kind):
    if address.startswith("["):
        return address if "]:" in address else "%s:%d" % (address, DEFAULT_PORTS[kind])
    return address if ":" in address else "%s:%d" % (address, DEFAULT_PORTS[kind])


def addresses(spec):
    kind = spec["storage"]["type"]
    return [_with_port(a, kind) for a in spec["storage"]["addresses"]]


def jdbc_url(spec):
    st = spec["storage"]
    if st["jdbc_url"]:
        return st["jdbc_url"]
    hosts = ",".join(addresses(spec))
    if st["type"] == "mysql":
        return "jdbc:mysql://%s/%s?rewriteBatchedStatements=true&allowMultiQueries=true" % (hosts, st["database"])
    return "jdbc:postgresql://%s/%s" % (hosts, st["database"])


def oap_storage_env(spec, with_knobs=True):
    """OAP's storage EnvVars (credentials only as secretKeyRef).  ``with_knobs``: add the sizing knobs."""
    st = spec["storage"]
    kind = st["type"]
    creds = st["credentials"]
    env = []
    if kind == "banyandb":
        env.append({"name": "SW_STORAGE", "value": "banyandb"})
        if in_cluster(spec):
            targets = "%s:%d" % (names.service_host(spec, names.banyandb_service(spec)), GRPC_PORT)
        else:
            targets = ",".join(addresses(spec))
        env.append({"name": "SW_STORAGE_BANYANDB_TARGETS", "value": targets})
        env.append({"name": "SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS",
                    "value": line_of(spec).banyandb_api})
        if creds["secret"]:
            env.append(common.secret_env("SW_STORAGE_BANYANDB_USER", creds["secret"], creds["username_key"]))
            env.append(common.secret_env("SW_STORAGE_BANYANDB_PASSWORD", creds["secret"], creds["password_key"]))
    elif kind in ("elasticsearch", "opensearch"):
        env.append({"name": "SW_STORAGE", "value": "elasticsearch"})
        env.append({"name": "SW_STORAGE_ES_CLUSTER_NODES", "value": ",".join(addresses(spec))})
        env.append({"name": "SW_STORAGE_ES_HTTP_PROTOCOL", "value": st["protocol"]})
        env.append(common.secret_env("SW_ES_USER", creds["secret"], creds["username_key"]))
        env.append(common.secret_env("SW_ES_PASSWORD", creds["secret"], creds["password_key"]))
    else:
        env.append({"name": "SW_STORAGE", "value": kind})
        env.append({"name": "SW_JDBC_URL", "value": jdbc_url(spec)})
        env.append(common.secret_env("SW_DATA_SOURCE_USER", creds["secret"], creds["username_key"]))
        env.append(common.secret_env("SW_DATA_SOURCE_PASSWORD", creds["secret"], creds["password_key"]))
    if with_knobs:
        for name, value in sorted(sizing.storage_knobs(kind, spec["sizing"]).items()):
            env.append({"name": name, "value": value})
    return env


def storage_schema_inputs(spec):
    """What of the storage settings shapes the schema (kind, where, which database, BanyanDB version)."""
    st = spec["storage"]
    out = {"type": st["type"], "addresses": addresses(spec)}
    if st["type"] == "banyandb":
        out["banyandb"] = {"mode": st["banyandb"]["mode"], "version": st["banyandb"]["version"]}
    if st["type"] in ("mysql", "postgresql"):
        out["jdbc_url"] = jdbc_url(spec)
    return out


def _labels(role):
    return {names.BANYANDB_ROLE_LABEL: role}


def banyandb_selector(spec, role):
    return names.selector(spec, "banyandb", **_labels(role))


def _probes():
    return {
        "startupProbe": common.http_probe("/api/healthz", HTTP_PORT, 10, 5, 60),
        "readinessProbe": common.http_probe("/api/healthz", HTTP_PORT, 10, 5, 3),
        "livenessProbe": common.http_probe("/api/healthz", HTTP_PORT, 30, 5, 5),
    }


def _srv_addresses(spec):
    return ",".join([
        "_internal-grpc._tcp.%s" % names.service_fqdn(spec, names.banyandb_headless(spec, "liaison")),
        "_grpc._tcp.%s" % names.service_fqdn(spec, names.banyandb_headless(spec, "data")),
    ])


def _cluster_env(spec, role):
    headless = names.banyandb_headless(spec, role)
    env = [
        common.field_env("POD_NAME", "metadata.name"),
        common.field_env("POD_NAMESPACE", "metadata.namespace"),
        {"name": "BYDB_NODE_HOST_PROVIDER", "value": "flag"},
        {"name": "BYDB_NODE_HOST", "value": "$(POD_NAME).%s.$(POD_NAMESPACE)" % headless},
        {"name": "BYDB_NODE_DISCOVERY_MODE", "value": "dns"},
        {"name": "BYDB_NODE_DISCOVERY_DNS_SRV_ADDRESSES", "value": _srv_addresses(spec)},
    ]
    if role == "liaison":
        data = names.banyandb(spec, "data")
        data_headless = names.banyandb_headless(spec, "data")
        nodes = ["%s-%d.%s.%s:%d" % (data, i, data_headless, spec["namespace"], GRPC_PORT)
                 for i in range(spec["storage"]["banyandb"]["data"]["replicas"])]
        env.append({"name": "BYDB_DATA_NODE_LIST", "value": ",".join(nodes)})
    else:
        env.append({"name": "BYDB_NODE_LABELS", "value": "type=hot"})
    return env


def _claim(spec, size):
    persistence = spec["storage"]["banyandb"]["persistence"]
    claim_spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if persistence["storage_class"]:
        claim_spec["storageClassName"] = persistence["storage_class"]
    return {"metadata": {"name": "data"}, "spec": claim_spec}


def statefulset(spec, ctx, role):
    """BanyanDB StatefulSet for ``role``: standalone, liaison or data."""
    bydb = spec["storage"]["banyandb"]
    match = banyandb_selector(spec, role)
    ports = [common.port("grpc", GRPC_PORT), common.port("http", HTTP_PORT)]
    if role == "liaison":
        ports.append(common.port("internal-grpc", LIAISON_INTERNAL_PORT))
    if role == "data":
        ports.append(common.port("schema-grpc", SCHEMA_SERVER_PORT))
    ports.append(common.port("metrics", METRICS_PORT))
    container = {
        "name": "banyandb",
        "image": spec["images"]["banyandb"],
        "imagePullPolicy": common.image_pull_policy(spec),
        "args": [role],
    }
    if role != "standalone":
        container["env"] = _cluster_env(spec, role)
    container["ports"] = ports
    container.update(_probes())
    container["resources"] = common.resources(bydb["resources"])
    container["securityContext"] = common.container_security(spec)
    container["volumeMounts"] = [{"name": "data", "mountPath": "/tmp"}]
    persistent = bydb["persistence"]["enabled"]
    pod = {
        "serviceAccountName": names.banyandb_account(spec),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security(spec, ctx, fs_group=True),
        "containers": [container],
    }
    if not persistent:
        pod["volumes"] = [common.empty_dir("data")]
    secrets = common.pull_secrets(spec)
    if secrets:
        pod["imagePullSecrets"] = secrets
    pod.update(common.scheduling(spec, match, spread=role != "standalone"))
    count = {"standalone": 1, "liaison": bydb["liaison"]["replicas"], "data": bydb["data"]["replicas"]}[role]
    body = {
        "replicas": count,
        "serviceName": names.banyandb_headless(spec, role),
        "selector": {"matchLabels": match},
        "podManagementPolicy": "Parallel" if role != "standalone" else "OrderedReady",
        "template": {"metadata": common.pod_metadata(spec, match, bydb["version"]), "spec": pod},
    }
    if persistent:
        size = bydb["liaison"]["storage_size"] if role == "liaison" else bydb["persistence"]["size"]
        body["volumeClaimTemplates"] = [_claim(spec, size)]
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": common.metadata(spec, names.banyandb(spec, role), "banyandb", bydb["version"],
                                        extra_labels=_labels(role)),
            "spec": body}


def banyandb_services(spec):
    bydb = spec["storage"]["banyandb"]
    client_role = "liaison" if bydb["mode"] == "cluster" else "standalone"
    client_ports = [common.service_port("grpc", GRPC_PORT), common.service_port("http", HTTP_PORT)]
    out = [common.service(spec, names.banyandb_service(spec), "banyandb", banyandb_selector(spec, client_role),
                          client_ports)]
    if bydb["mode"] == "cluster":
        out.append(common.service(spec, names.banyandb_headless(spec, "liaison"), "banyandb",
                                  banyandb_selector(spec, "liaison"),
                                  [common.service_port("internal-grpc", LIAISON_INTERNAL_PORT)],
                                  headless=True, publish_not_ready=True, extra_labels=_labels("liaison")))
        out.append(common.service(spec, names.banyandb_headless(spec, "data"), "banyandb",
                                  banyandb_selector(spec, "data"), [common.service_port("grpc", GRPC_PORT)],
                                  headless=True, publish_not_ready=True, extra_labels=_labels("data")))
    else:
        out.append(common.service(spec, names.banyandb_headless(spec), "banyandb",
                                  banyandb_selector(spec, "standalone"), client_ports, headless=True,
                                  publish_not_ready=True, extra_labels=_labels("standalone")))
    return out


def roles(spec):
    """BanyanDB roles this spec runs in the cluster ([] for external storage)."""
    if not in_cluster(spec):
        return []
    return ["liaison", "data"] if spec["storage"]["banyandb"]["mode"] == "cluster" else ["standalone"]


def build(spec, ctx):
    if not in_cluster(spec):
        return []
    out = [(common.FOUNDATION, common.service_account(spec, names.banyandb_account(spec), "banyandb", False))]
    out.extend((common.FOUNDATION, obj) for obj in banyandb_services(spec))
    out.extend((common.STORAGE, statefulset(spec, ctx, role)) for role in roles(spec))
    return out
