# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""skywalking.swck.cluster through ansible-playbook, on the real control plane.

* The matrix: every storage kind (BanyanDB standalone and cluster mode on both OAP lines, external
  BanyanDB, Elasticsearch, OpenSearch, MySQL, PostgreSQL), the L1/L2 split with Satellite,
  autoscaling, telemetry.  Each deploys into its own namespace, checks the objects it created (kinds,
  names, the OAP env that matters, credentials only as secretKeyRef), that everything is Ready, and
  that a second run reports changed=false with zero write requests (dry runs included).
* Bad input: one playbook with every refused spec as its own task (``ignore_errors``), each result
  checked for the field path and the problem; the whole run makes no write request at all.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import oap_env

from .conftest import Audit, Playbook

NAME = "sw"
FIELD_MANAGER = "skywalking.swck/sw." + NAME
INSTANCE = "app.kubernetes.io/instance"
ROLE_LABEL = "skywalking.swck/oap-role"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
READ_ONLY = {"get", "list", "watch"}
CREDENTIAL_ENV = re.compile(r"(PASSWORD|PASSWD|USER|TOKEN|SECRET|CREDENTIAL)")
USERNAME, PASSWORD = "sw-db-user", "Db-Pl4in-9f3k"


# --------------------------------------------------------------------------- helpers


def get(plane, path):
    status, body = plane.request("GET", path)
    assert status in (200, 404), (path, status, body)
    return body if status == 200 else None


def items(plane, path, selector=None):
    if selector:
        path += "?labelSelector=" + selector.replace("=", "%3D").replace(",", "%2C")
    return get(plane, path)["items"]


def create_secret(plane, namespace, name, data):
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data}
    status, reply = plane.request("POST", "/api/v1/namespaces/%s/secrets" % namespace, body)
    assert status == 201, reply


def task(namespace, name=NAME, **spec):
    args = {"name": name, "namespace": namespace}
    args.update(spec)
    return {"name": "cluster %s/%s" % (namespace, name), "skywalking.swck.cluster": args}


def deploy(playbook, audit, namespace, **spec):
    """Run the module twice: the first run converges, the second changes nothing and writes nothing."""
    first = playbook.run([task(namespace, **spec)])[0]
    assert first["changed"] is True
    assert set(first["counts"]) == {"created"}, first["counts"]
    assert first["status"]["ready"] is True, "\n".join(first["summary"])
    assert all(c["state"] == "Ready" for c in first["status"]["components"]), first["summary"]
    assert first["status"]["init_job"]["state"] == "Complete", first["summary"]
    gates = [s["gate_state"] for s in first["stages"] if s["gate"]]
    assert gates and set(gates) == {"passed"}, first["stages"]
    audit.start()
    second = playbook.run([task(namespace, **spec)])[0]
    assert second["changed"] is False
    assert set(second["counts"]) == {"unchanged"}, second["counts"]
    assert second["status"]["ready"] is True
    assert audit.writes() == []
    return first


def created(result):
    """``{(kind, name)}`` the run created; the init Job as ``("Job", "<name>-oap-init-*")``."""
    out = set()
    for obj in result["objects"]:
        assert obj["action"] == "created", obj
        name = obj["name"]
        if obj["kind"] == "Job" and name.startswith(NAME + "-oap-init-"):
            name = NAME + "-oap-init-*"
        out.add((obj["kind"], name))
    assert len(out) == len(result["objects"]), result["objects"]
    return out


def expected_objects(storage="standalone", ui=True, admin=True, split=False, extra=()):
    """What a spec of this shape creates (names from the cluster name ``sw``)."""
    out = {("ServiceAccount", "sw-oap"), ("Role", "sw-oap"), ("RoleBinding", "sw-oap"),
           ("ConfigMap", "sw-oap-dynamic-config"), ("Service", "sw-oap"), ("Service", "sw-oap-headless"),
           ("NetworkPolicy", "sw-oap"), ("Job", "sw-oap-init-*")}
    roles = ["receiver", "aggregator"] if split else [None]
    for role in roles:
        deployment = "sw-oap" if role is None else "sw-oap-" + role
        out |= {("Deployment", deployment), ("PodDisruptionBudget", deployment)}
    if admin:
        out.add(("Service", "sw-oap-admin"))
    if storage in ("standalone", "cluster"):
        out |= {("ServiceAccount", "sw-banyandb"), ("Service", "sw-banyandb"), ("NetworkPolicy", "sw-banyandb")}
        if storage == "standalone":
            out |= {("StatefulSet", "sw-banyandb"), ("Service", "sw-banyandb-headless")}
        else:
            for role in ("liaison", "data"):
                out |= {("StatefulSet", "sw-banyandb-" + role), ("Service", "sw-banyandb-%s-headless" % role)}
    if ui:
        out |= {("ServiceAccount", "sw-ui"), ("Service", "sw-ui"), ("Deployment", "sw-ui")}
    return out | set(extra)


def workloads(plane, namespace):
    """``{name: live object}`` of every Deployment, StatefulSet and Job of the cluster."""
    out = {}
    for path in ("/apis/apps/v1/namespaces/%s/deployments", "/apis/apps/v1/namespaces/%s/statefulsets",
                 "/apis/batch/v1/namespaces/%s/jobs"):
        for obj in items(plane, path % namespace, "%s=%s" % (INSTANCE, NAME)):
            out[obj["metadata"]["name"]] = obj
    return out


def container(obj, index=0):
    return obj["spec"]["template"]["spec"]["containers"][index]


def env_of(obj, index=0):
    """``{name: value or valueFrom}`` of a workload's container."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(obj, index).get("env", [])}


def init_job(found):
    jobs = [name for name in found if name.startswith(NAME + "-oap-init-")]
    assert len(jobs) == 1, sorted(found)
    return found[jobs[0]]


def secret_ref(name, key):
    return {"secretKeyRef": {"name": name, "key": key}}


def assert_no_plain_credentials(plane, namespace, run_stdout, *values):
    """Credentials only as secretKeyRef in every container; the values nowhere in objects or output."""
    found = workloads(plane, namespace)
    for obj in found.values():
        pod = obj["spec"]["template"]["spec"]
        for cont in pod.get("initContainers", []) + pod["containers"]:
            for entry in cont.get("env", []):
                if CREDENTIAL_ENV.search(entry["name"]):
                    assert "value" not in entry, (obj["metadata"]["name"], entry)
                    assert "secretKeyRef" in entry["valueFrom"], (obj["metadata"]["name"], entry)
    dumped = json.dumps(list(found.values())) + json.dumps(items(plane, "/api/v1/namespaces/%s/configmaps"
                                                                 % namespace))
    for value in values:
        assert value not in dumped
        assert value not in run_stdout


def assert_env_names_read_by(line, obj, given=()):
    """Every SW_* name the collection set (not the user: ``given``) is one this OAP line reads."""
    unknown = [n for n in env_of(obj) if n.startswith("SW_") and n not in oap_env.ENV_NAMES[line] and n not in given]
    assert unknown == [], (line, obj["metadata"]["name"], unknown)


def ports(obj):
    return {p["name"]: p["containerPort"] for p in container(obj).get("ports", [])}


def service_ports(svc):
    return {p["name"]: p["port"] for p in svc["spec"]["ports"]}


def pods(plane, namespace, selector):
    return items(plane, "/api/v1/namespaces/%s/pods" % namespace, selector)


def apply_owns(obj, path):
    """Whether our field manager's Apply entry owns ``path`` (``["f:spec", "f:replicas"]``)."""
    mine = [m for m in obj["metadata"]["managedFields"]
            if m["manager"] == FIELD_MANAGER and m["operation"] == "Apply"]
    assert mine, [m["manager"] for m in obj["metadata"]["managedFields"]]
    node = mine[0]["fieldsV1"]
    for part in path:
        if part not in node:
            return False
        node = node[part]
    return True


# --------------------------------------------------------------------------- both OAP lines, BanyanDB standalone

LINES = {
    "11.0": {"oap": "11.0.0", "banyandb": "0.11.0", "api": "0.11", "ui_image": "apache/skywalking-ui:horizon-0.7.0",
             "ui_port": 8081, "ui_health": "/api/health"},
    "10.4": {"oap": "10.4.0", "banyandb": "0.10.3", "api": "0.10", "ui_image": "apache/skywalking-ui:10.4.0",
             "ui_port": 8080, "ui_health": "/internal/l7check"},
}


@pytest.mark.parametrize("line", ["11.0", "10.4"])
def test_banyandb_standalone_on_each_oap_line(playbook, control_plane, namespace, audit, line):
    facts = LINES[line]
    spec = {"version": line, "oap": {"env": {"SW_CORE_RECORD_DATA_TTL": 5, "SW_CORE_METRIC_DATA_TTL": 9}}}
    if line == "11.0":
        users = '[{"username": "admin", "passwordHash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}]'
        create_secret(control_plane, namespace, "horizon-users", {"users.json": users})
        spec["ui"] = {"users_secret": {"name": "horizon-users"}}
    first = deploy(playbook, audit, namespace, **spec)
    admin = line == "11.0"
    assert created(first) == expected_objects(admin=admin)
    # The unknown env name is a warning with the closest name this line reads, not an error.
    typo = ("oap.env.SW_CORE_METRIC_DATA_TTL is not an environment variable OAP %s reads; did you mean "
            "SW_CORE_METRICS_DATA_TTL?" % line)
    assert typo in first["spec_warnings"] and typo in first["warnings"]

    found = workloads(control_plane, namespace)
    oap = found["sw-oap"]
    env = env_of(oap)
    assert container(oap)["image"] == "apache/skywalking-oap-server:" + facts["oap"]
    assert env["SW_STORAGE"] == "banyandb"
    assert env["SW_STORAGE_BANYANDB_TARGETS"] == "sw-banyandb.%s.svc:17912" % namespace
    assert env["SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS"] == facts["api"]
    assert env["SW_CORE_RECORD_DATA_TTL"] == "5" and env["SW_CORE_METRIC_DATA_TTL"] == "9"
    assert "-Dmode=no-init" in env["JAVA_OPTS"]
    assert env["SW_CLUSTER"] == "kubernetes" and env["SW_CORE_ROLE"] == "Mixed"
    assert_env_names_read_by(line, oap, given=spec["oap"]["env"])
    job_env = env_of(init_job(found))
    assert "-Dmode=init" in job_env["JAVA_OPTS"] and job_env["SW_STORAGE"] == "banyandb"
    assert job_env["SW_STORAGE_BANYANDB_TARGETS"] == env["SW_STORAGE_BANYANDB_TARGETS"]

    bydb = found["sw-banyandb"]
    assert bydb["spec"]["replicas"] == 1 and container(bydb)["args"] == ["standalone"]
    assert container(bydb)["image"] == "apache/skywalking-banyandb:" + facts["banyandb"]
    assert bydb["spec"]["serviceName"] == "sw-banyandb-headless"
    claim = bydb["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    services = {s["metadata"]["name"]: s for s in items(control_plane, "/api/v1/namespaces/%s/services" % namespace)}
    for svc in ("sw-banyandb", "sw-banyandb-headless"):
        assert service_ports(services[svc]) == {"grpc": 17912, "http": 17913}
    assert services["sw-banyandb-headless"]["spec"]["clusterIP"] == "None"
    selector = "app.kubernetes.io/component=banyandb,%s=%s" % (INSTANCE, NAME)
    assert [p["metadata"]["name"] for p in pods(control_plane, namespace, selector)] == ["sw-banyandb-0"]

    # The line's UI, admin server and ports.
    ui = found["sw-ui"]
    ui_env = env_of(ui)
    assert container(ui)["image"] == facts["ui_image"]
    assert ports(ui) == {"http": facts["ui_port"]}
    assert container(ui)["readinessProbe"]["httpGet"]["path"] == facts["ui_health"]
    assert services["sw-ui"]["spec"]["ports"][0]["targetPort"] == facts["ui_port"]
    query = "http://sw-oap.%s.svc:12800" % namespace
    policy = get(control_plane, "/apis/networking.k8s.io/v1/namespaces/%s/networkpolicies/sw-oap" % namespace)
    policy_ports = sorted(p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"])
    if admin:
        assert ports(oap) == {"grpc": 11800, "rest": 12800, "metrics": 1234, "admin": 17128, "admin-grpc": 17129}
        assert service_ports(services["sw-oap-admin"]) == {"admin": 17128}
        assert services["sw-oap-admin"]["spec"]["type"] == "ClusterIP"
        assert ui_env["HORIZON_OAP_QUERY_URL"] == query
        assert ui_env["HORIZON_OAP_ADMIN_URL"] == "http://sw-oap-admin.%s.svc:17128" % namespace
        assert ui_env["HORIZON_AUTH_LOCAL_USERS"] == secret_ref("horizon-users", "users.json")
        assert policy_ports == [1234, 11800, 12800, 17128, 17129]
        admin_rule = [r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 17128][0]
        assert admin_rule["from"] == [{"podSelector": {}}]  # this namespace only
    else:
        assert ports(oap) == {"grpc": 11800, "rest": 12800, "metrics": 1234}
        assert "sw-oap-admin" not in services
        assert not any(n.startswith("SW_ADMIN") for n in env)
        assert ui_env == {"SW_OAP_ADDRESS": query}
        assert policy_ports == [1234, 11800, 12800]
    assert_no_plain_credentials(control_plane, namespace, json.dumps(first))


# --------------------------------------------------------------------------- BanyanDB cluster mode


@pytest.mark.parametrize("line", ["11.0", "10.4"])
def test_banyandb_cluster_mode_liaison_and_data(playbook, control_plane, namespace, audit, line):
    facts = LINES[line]
    storage = {"banyandb": {"mode": "cluster", "liaison": {"replicas": 2, "storage_size": "4Gi"},
                            "data": {"replicas": 3}, "persistence": {"size": "8Gi", "storage_class": "standard"}}}
    first = deploy(playbook, audit, namespace, version=line, storage=storage, ui={"enabled": False})
    assert created(first) == expected_objects(storage="cluster", ui=False, admin=line == "11.0")
    found = workloads(control_plane, namespace)
    liaison, data = found["sw-banyandb-liaison"], found["sw-banyandb-data"]
    assert (liaison["spec"]["replicas"], data["spec"]["replicas"]) == (2, 3)
    assert container(liaison)["args"] == ["liaison"] and container(data)["args"] == ["data"]
    for sts, size in ((liaison, "4Gi"), (data, "8Gi")):
        assert container(sts)["image"] == "apache/skywalking-banyandb:" + facts["banyandb"]
        claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
        assert claim["resources"]["requests"]["storage"] == size and claim["storageClassName"] == "standard"
        assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert liaison["spec"]["serviceName"] == "sw-banyandb-liaison-headless"
    assert data["spec"]["serviceName"] == "sw-banyandb-data-headless"

    services = {s["metadata"]["name"]: s for s in items(control_plane, "/api/v1/namespaces/%s/services" % namespace)}
    liaison_headless, data_headless = services["sw-banyandb-liaison-headless"], services["sw-banyandb-data-headless"]
    assert liaison_headless["spec"]["clusterIP"] == data_headless["spec"]["clusterIP"] == "None"
    assert liaison_headless["spec"]["publishNotReadyAddresses"] is True
    # DNS discovery: the SRV names point at the headless Services' named ports.
    srv = env_of(data)["BYDB_NODE_DISCOVERY_DNS_SRV_ADDRESSES"].split(",")
    assert srv == ["_internal-grpc._tcp.sw-banyandb-liaison-headless.%s.svc.cluster.local" % namespace,
                   "_grpc._tcp.sw-banyandb-data-headless.%s.svc.cluster.local" % namespace]
    assert "internal-grpc" in service_ports(liaison_headless) and "grpc" in service_ports(data_headless)
    assert env_of(liaison)["BYDB_DATA_NODE_LIST"] == ",".join(
        "sw-banyandb-data-%d.sw-banyandb-data-headless.%s:17912" % (i, namespace) for i in range(3))
    assert env_of(data)["BYDB_NODE_DISCOVERY_MODE"] == "dns"

    # OAP talks to the liaisons only, through the client Service.
    oap_env_map = env_of(found["sw-oap"])
    assert oap_env_map["SW_STORAGE_BANYANDB_TARGETS"] == "sw-banyandb.%s.svc:17912" % namespace
    assert oap_env_map["SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS"] == facts["api"]
    client = services["sw-banyandb"]["spec"]["selector"]
    selected = pods(control_plane, namespace, ",".join("%s=%s" % kv for kv in sorted(client.items())))
    assert sorted(p["metadata"]["name"] for p in selected) == ["sw-banyandb-liaison-0", "sw-banyandb-liaison-1"]
    claims = items(control_plane, "/api/v1/namespaces/%s/persistentvolumeclaims" % namespace)
    assert sorted(c["metadata"]["name"] for c in claims) == [
        "data-sw-banyandb-data-0", "data-sw-banyandb-data-1", "data-sw-banyandb-data-2",
        "data-sw-banyandb-liaison-0", "data-sw-banyandb-liaison-1"]
    assert_env_names_read_by(line, found["sw-oap"])


# --------------------------------------------------------------------------- external storage


EXTERNAL = {
    "banyandb": {
        "storage": {"type": "banyandb", "banyandb": {"mode": "external"},
                    "addresses": ["bydb-0.bydb.data", "bydb-1.bydb.data:17922"],
                    "credentials": {"secret": "db-creds"}},
        "env": {"SW_STORAGE": "banyandb", "SW_STORAGE_BANYANDB_TARGETS": "bydb-0.bydb.data:17912,bydb-1.bydb.data:17922",
                "SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS": "0.11",
                "SW_STORAGE_BANYANDB_USER": secret_ref("db-creds", "username"),
                "SW_STORAGE_BANYANDB_PASSWORD": secret_ref("db-creds", "password")},
    },
    "elasticsearch": {
        "storage": {"type": "elasticsearch", "addresses": ["es-0.es:9200", "es-1.es"], "protocol": "https",
                    "credentials": {"secret": "db-creds"}},
        "env": {"SW_STORAGE": "elasticsearch", "SW_STORAGE_ES_CLUSTER_NODES": "es-0.es:9200,es-1.es:9200",
                "SW_STORAGE_ES_HTTP_PROTOCOL": "https", "SW_ES_USER": secret_ref("db-creds", "username"),
                "SW_ES_PASSWORD": secret_ref("db-creds", "password")},
    },
    "opensearch": {
        "storage": {"type": "opensearch", "addresses": ["opensearch.search:9201"],
                    "credentials": {"secret": "db-creds", "username_key": "user", "password_key": "pass"}},
        "env": {"SW_STORAGE": "elasticsearch", "SW_STORAGE_ES_CLUSTER_NODES": "opensearch.search:9201",
                "SW_STORAGE_ES_HTTP_PROTOCOL": "http", "SW_ES_USER": secret_ref("db-creds", "user"),
                "SW_ES_PASSWORD": secret_ref("db-creds", "pass")},
    },
    "mysql": {
        "storage": {"type": "mysql", "addresses": ["mysql.db"], "credentials": {"secret": "db-creds"}},
        "oap": {"ext_libs": {"image": "registry.test/mysql-connector:8.4"}},
        "env": {"SW_STORAGE": "mysql",
                "SW_JDBC_URL": "jdbc:mysql://mysql.db:3306/skywalking?rewriteBatchedStatements=true"
                               "&allowMultiQueries=true",
                "SW_DATA_SOURCE_USER": secret_ref("db-creds", "username"),
                "SW_DATA_SOURCE_PASSWORD": secret_ref("db-creds", "password")},
    },
    "postgresql": {
        "storage": {"type": "postgresql", "addresses": ["pg-primary.db:5433"], "database": "swdb",
                    "credentials": {"secret": "db-creds"}},
        "env": {"SW_STORAGE": "postgresql", "SW_JDBC_URL": "jdbc:postgresql://pg-primary.db:5433/swdb",
                "SW_DATA_SOURCE_USER": secret_ref("db-creds", "username"),
                "SW_DATA_SOURCE_PASSWORD": secret_ref("db-creds", "password")},
    },
}


@pytest.mark.parametrize("kind", sorted(EXTERNAL))
def test_external_storage_by_address_and_credentials_secret(playbook, control_plane, namespace, audit, kind):
    case = EXTERNAL[kind]
    create_secret(control_plane, namespace, "db-creds", {"username": USERNAME, "password": PASSWORD,
                                                         "user": USERNAME, "pass": PASSWORD})
    spec = {"storage": case["storage"], "ui": {"enabled": False}}
    if "oap" in case:
        spec["oap"] = case["oap"]
    first = deploy(playbook, audit, namespace, **spec)
    # No BanyanDB in the cluster: no StatefulSet, no BanyanDB Service or NetworkPolicy.
    assert created(first) == expected_objects(storage="external", ui=False)
    assert not any("mysql" in w.lower() and "jdbc" in w.lower() for w in first["spec_warnings"])
    found = workloads(control_plane, namespace)
    assert sorted(found) == sorted(["sw-oap", init_job(found)["metadata"]["name"]])
    env = env_of(found["sw-oap"])
    for name, value in case["env"].items():
        assert env[name] == value, name
    job_env = env_of(init_job(found))
    for name, value in case["env"].items():
        assert job_env[name] == value, name
    if kind == "mysql":
        for obj in (found["sw-oap"], init_job(found)):
            pod = obj["spec"]["template"]["spec"]
            assert [c["image"] for c in pod["initContainers"]] == ["registry.test/mysql-connector:8.4"]
            assert {"name": "ext-libs", "mountPath": "/skywalking/ext-libs", "readOnly": True} in \
                container(obj)["volumeMounts"]
    assert_env_names_read_by("11.0", found["sw-oap"])
    assert_no_plain_credentials(control_plane, namespace, json.dumps(first), PASSWORD, USERNAME)


# --------------------------------------------------------------------------- L1/L2 split and Satellite


def test_split_receivers_find_only_aggregators_and_satellite_finds_only_receivers(playbook, control_plane,
                                                                                  namespace, audit):
    spec = {"oap": {"mode": "split", "receiver": {"replicas": 3}, "aggregator": {"replicas": 2}},
            "satellite": {"enabled": True, "replicas": 1}, "ui": {"enabled": False}}
    first = deploy(playbook, audit, namespace, **spec)
    satellite = {("ServiceAccount", "sw-satellite"), ("Role", "sw-satellite"), ("RoleBinding", "sw-satellite"),
                 ("Service", "sw-satellite"), ("Deployment", "sw-satellite")}
    assert created(first) == expected_objects(ui=False, split=True, extra=satellite)
    components = {c["name"]: c for c in first["status"]["components"]}
    assert (components["sw-oap-receiver"]["ready"], components["sw-oap-aggregator"]["ready"]) == (3, 2)
    assert first["status"]["endpoints"]["agents"] == "sw-satellite.%s.svc:11800" % namespace

    found = workloads(control_plane, namespace)
    receiver, aggregator = found["sw-oap-receiver"], found["sw-oap-aggregator"]
    assert (receiver["spec"]["replicas"], aggregator["spec"]["replicas"]) == (3, 2)
    assert (env_of(receiver)["SW_CORE_ROLE"], env_of(aggregator)["SW_CORE_ROLE"]) == ("Receiver", "Aggregator")

    def roles_of(selector):
        return sorted(p["metadata"]["labels"].get(ROLE_LABEL) for p in pods(control_plane, namespace, selector))

    for deployment in (receiver, aggregator):
        env = env_of(deployment)
        assert env["SW_CLUSTER"] == "kubernetes" and env["SW_CLUSTER_K8S_NAMESPACE"] == namespace
        # Both roles' cluster selector finds exactly the aggregator pods.
        assert roles_of(env["SW_CLUSTER_K8S_LABEL"]) == ["aggregator", "aggregator"]
        assert_env_names_read_by("11.0", deployment)
    # The dynamic configuration ConfigMap is the one ConfigMap that selector finds.
    selected = items(control_plane, "/api/v1/namespaces/%s/configmaps" % namespace,
                     env_of(receiver)["SW_CLUSTER_K8S_LABEL"])
    assert [c["metadata"]["name"] for c in selected] == ["sw-oap-dynamic-config"]
    # Satellite's Kubernetes finder, and the agents' Service, find only receivers.
    sat_env = env_of(found["sw-satellite"])
    assert sat_env["SATELLITE_GRPC_CLIENT_FINDER"] == "kubernetes"
    assert sat_env["SATELLITE_GRPC_CLIENT_KUBERNETES_NAMESPACE"] == namespace
    assert roles_of(sat_env["SATELLITE_GRPC_CLIENT_KUBERNETES_SELECTOR_LABEL"]) == ["receiver"] * 3
    oap_service = get(control_plane, "/api/v1/namespaces/%s/services/sw-oap" % namespace)["spec"]["selector"]
    assert roles_of(",".join("%s=%s" % kv for kv in sorted(oap_service.items()))) == ["receiver"] * 3
    role = get(control_plane, RBAC + "/namespaces/%s/roles/sw-satellite" % namespace)
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]


# --------------------------------------------------------------------------- autoscaling


def test_autoscaling_leaves_replicas_to_the_hpa(playbook, control_plane, namespace, audit):
    spec = {"oap": {"autoscaling": {"enabled": True, "min_replicas": 2, "max_replicas": 5, "cpu_utilization": 60}},
            "ui": {"enabled": False}}
    first = playbook.run([task(namespace, **spec)])[0]
    assert first["changed"] is True and first["status"]["ready"] is True, first.get("summary")
    assert created(first) == expected_objects(ui=False, extra={("HorizontalPodAutoscaler", "sw-oap")})
    path = "/apis/apps/v1/namespaces/%s/deployments/sw-oap" % namespace
    live = get(control_plane, path)
    assert apply_owns(live, ["f:spec", "f:template"])  # the check itself can see our fields
    assert not apply_owns(live, ["f:spec", "f:replicas"])
    hpa = get(control_plane, "/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers/sw-oap" % namespace)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sw-oap"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 60}
    # The autoscaler (here: a scale by another manager, as the HPA controller does) owns the count.
    status, body = control_plane.request("PATCH", path + "/scale?fieldManager=hpa-stand-in", {"spec": {"replicas": 4}},
                                         content_type="application/merge-patch+json")
    assert status == 200, body
    audit.start()
    second = playbook.run([task(namespace, **spec)])[0]
    assert second["changed"] is False and set(second["counts"]) == {"unchanged"}
    assert audit.writes() == []
    assert get(control_plane, path)["spec"]["replicas"] == 4


# --------------------------------------------------------------------------- telemetry


def test_fetcher_and_event_exporter_with_least_privilege(playbook, control_plane, namespace, audit):
    spec = {"telemetry": {"fetcher": {"enabled": True, "interval": 15},
                          "event_exporter": {"enabled": True, "namespaces": [namespace, "default"]}},
            "ui": {"enabled": False}, "storage": {"banyandb": {"mode": "external"}, "addresses": ["bydb.data"]}}
    first = deploy(playbook, audit, namespace, **spec)
    cluster_wide = "skywalking-swck:%s:%s:event-exporter" % (namespace, NAME)
    telemetry = {("ServiceAccount", "sw-fetcher"), ("Role", "sw-fetcher"), ("RoleBinding", "sw-fetcher"),
                 ("ConfigMap", "sw-fetcher"), ("Deployment", "sw-fetcher"),
                 ("ServiceAccount", "sw-event-exporter"), ("ClusterRole", cluster_wide),
                 ("ClusterRoleBinding", cluster_wide), ("ConfigMap", "sw-event-exporter"),
                 ("Deployment", "sw-event-exporter")}
    assert created(first) == expected_objects(storage="external", ui=False, extra=telemetry)
    components = {c["name"]: c["state"] for c in first["status"]["components"]}
    assert components["sw-fetcher"] == components["sw-event-exporter"] == "Ready"

    found = workloads(control_plane, namespace)
    fetcher, exporter = found["sw-fetcher"], found["sw-event-exporter"]
    assert container(fetcher)["image"] == "otel/opentelemetry-collector-contrib:0.115.1"
    assert container(exporter)["image"] == "apache/skywalking-kubernetes-event-exporter:1.0.0"
    assert fetcher["spec"]["template"]["spec"]["serviceAccountName"] == "sw-fetcher"
    assert exporter["spec"]["template"]["spec"]["serviceAccountName"] == "sw-event-exporter"
    config = get(control_plane, "/api/v1/namespaces/%s/configmaps/sw-fetcher" % namespace)["data"]["config.yaml"]
    assert "sw-oap.%s.svc:11800" % namespace in config and "scrape_interval: 15s" in config

    # Namespaced read-only Roles; the only cluster-wide grant is the exporter's, named per namespace + cluster.
    roles = {r["metadata"]["name"]: r for r in items(control_plane, RBAC + "/namespaces/%s/roles" % namespace)}
    assert sorted(roles) == ["sw-fetcher", "sw-oap"]
    pods_read = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    assert roles["sw-fetcher"]["rules"] == pods_read
    binding = get(control_plane, RBAC + "/namespaces/%s/rolebindings/sw-fetcher" % namespace)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sw-fetcher"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sw-fetcher", "namespace": namespace}]
    cluster_role = get(control_plane, RBAC + "/clusterroles/" + cluster_wide)
    assert sorted(r for rule in cluster_role["rules"] for r in rule["resources"]) == ["events", "pods", "services"]
    assert all(set(rule["verbs"]) == READ_ONLY and rule["apiGroups"] == [""] for rule in cluster_role["rules"])
    for role in roles.values():
        assert all(set(rule["verbs"]) <= READ_ONLY for rule in role["rules"]), role["metadata"]["name"]
    cluster_binding = get(control_plane, RBAC + "/clusterrolebindings/" + cluster_wide)
    assert cluster_binding["roleRef"]["name"] == cluster_wide
    assert cluster_binding["subjects"] == [{"kind": "ServiceAccount", "name": "sw-event-exporter",
                                            "namespace": namespace}]
    ours = [b["metadata"]["name"] for b in items(control_plane, RBAC + "/clusterrolebindings",
                                                 "%s=%s" % (INSTANCE, NAME))
            if b["subjects"][0].get("namespace") == namespace]
    assert ours == [cluster_wide]
    exporter_config = get(control_plane, "/api/v1/namespaces/%s/configmaps/sw-event-exporter"
                          % namespace)["data"]["config.yaml"]
    assert "sw-oap.%s.svc:11800" % namespace in exporter_config
    assert "^(default|%s)$" % namespace in exporter_config


# --------------------------------------------------------------------------- a namespace the module created


def test_a_created_namespace_stays_the_clusters_on_later_runs(playbook, control_plane, audit):
    """create_namespace: the Namespace belongs to the cluster: a later run keeps it in the plan (labels applied)."""
    fresh = "t-ns-" + uuid.uuid4().hex[:6]
    spec = {"create_namespace": True, "ui": {"enabled": False},
            "storage": {"banyandb": {"mode": "external"}, "addresses": ["bydb.data"]}}
    first = playbook.run([task(fresh, **spec)])[0]
    assert ("Namespace", fresh, "created") in {(o["kind"], o["name"], o["action"]) for o in first["objects"]}
    assert get(control_plane, "/api/v1/namespaces/" + fresh)["metadata"]["labels"][INSTANCE] == NAME
    audit.start()
    again = playbook.run([task(fresh, **spec)])[0]
    assert again["changed"] is False and audit.writes() == []
    assert ("Namespace", fresh, "unchanged") in {(o["kind"], o["name"], o["action"]) for o in again["objects"]}
    labelled = playbook.run([task(fresh, namespace_labels={"team": "observability"}, **spec)])[0]
    assert ("Namespace", fresh, "configured") in {(o["kind"], o["name"], o["action"]) for o in labelled["objects"]}
    assert get(control_plane, "/api/v1/namespaces/" + fresh)["metadata"]["labels"].get("team") == "observability"


# --------------------------------------------------------------------------- bad input

CREDS = {"secret": "db-creds"}
STORAGE_PW, UI_PW, ENV_PW, INLINE_USER = "St0rage-Pl4in-pw", "Ui-Pl4in-pw-77", "Env-Pl4in-pw-31", "inline-db-user"
SECRET_VALUES = (STORAGE_PW, UI_PW, ENV_PW, INLINE_USER)
FRESH_NS = "t-never-" + uuid.uuid4().hex[:6]

# (id, spec options (namespace/name default to the test's), field path(s) the message names, fragment)
BAD = [
    # wrong types
    ("int-as-word", {"oap": {"replicas": "many"}}, "oap.replicas", "many"),
    ("bool-as-word", {"oap": {"dynamic_config": {"enabled": "maybe"}}}, "oap.dynamic_config.enabled", "maybe"),
    ("section-as-string", {"storage": "banyandb"}, "storage", "convert to dict"),
    ("label-value-list", {"labels": {"team": ["a", "b"]}}, "labels.team", "must be a string"),
    ("dynamic-value-mapping", {"oap": {"dynamic_config": {"values": {"core.default.apdexThreshold": {"a": 1}}}}},
     'oap.dynamic_config.values["core.default.apdexThreshold"]', "must be a string"),
    ("env-value-list", {"oap": {"env": {"SW_CORE_RECORD_DATA_TTL": [7]}}}, "oap.env.SW_CORE_RECORD_DATA_TTL",
     "not a list"),
    # quantities, requests > limits
    ("cpu-word", {"oap": {"resources": {"requests": {"cpu": "lots"}}}}, "oap.resources.requests.cpu",
     "'lots' is not a valid quantity"),
    ("memory-unit", {"oap": {"resources": {"limits": {"memory": "2GB"}}}}, "oap.resources.limits.memory",
     "'2GB' is not a valid quantity"),
    ("zero-volume", {"storage": {"banyandb": {"persistence": {"size": "0"}}}}, "storage.banyandb.persistence.size",
     "must be greater than 0"),
    ("negative-cpu", {"ui": {"resources": {"limits": {"cpu": "-1"}}}}, "ui.resources.limits.cpu",
     "must be greater than 0"),
    ("queue-size-space", {"storage": {"banyandb": {"mode": "cluster", "liaison": {"storage_size": "10 Gi"}}}},
     "storage.banyandb.liaison.storage_size", "is not a valid quantity"),
    ("oap-request-over-limit", {"oap": {"resources": {"requests": {"memory": "4Gi"}, "limits": {"memory": "2Gi"}}}},
     "oap.resources.requests.memory", "4Gi is more than the limit 2Gi"),
    ("satellite-request-over-limit", {"satellite": {"enabled": True, "resources": {
        "requests": {"cpu": "2"}, "limits": {"cpu": "500m"}}}},
     "satellite.resources.requests.cpu", "is more than the limit 500m"),
    ("init-request-over-limit", {"oap": {"init": {"resources": {"requests": {"memory": "3Gi"},
                                                                "limits": {"memory": "2Gi"}}}}},
     "oap.init.resources.requests.memory", "is more than the limit"),
    # storage
    ("unknown-storage-type", {"storage": {"type": "cassandra"}}, "storage.type", "cassandra"),
    ("es-without-address", {"storage": {"type": "elasticsearch", "credentials": CREDS}}, "storage.addresses",
     "is required for elasticsearch storage"),
    ("opensearch-without-secret", {"storage": {"type": "opensearch", "addresses": ["os:9200"]}},
     "storage.credentials.secret", "is required for opensearch storage"),
    ("mysql-without-address", {"storage": {"type": "mysql", "credentials": CREDS}}, "storage.addresses",
     "is required for mysql storage"),
    ("postgresql-without-secret", {"storage": {"type": "postgresql", "addresses": ["pg:5432"]}},
     "storage.credentials.secret", "is required for postgresql storage"),
    ("external-banyandb-without-address", {"storage": {"banyandb": {"mode": "external"}}}, "storage.addresses",
     "is required for external BanyanDB storage"),
    ("address-port-range", {"storage": {"type": "elasticsearch", "addresses": ["es-0:99999"], "credentials": CREDS}},
     "storage.addresses", "port must be between 1 and 65535"),
    ("address-url", {"storage": {"type": "elasticsearch", "addresses": ["https://es:9200"], "credentials": CREDS}},
     "storage.addresses", "is not host[:port]"),
    ("jdbc-url-on-es", {"storage": {"type": "elasticsearch", "addresses": ["es"], "credentials": CREDS,
                                    "jdbc_url": "jdbc:mysql://db/sw"}}, "storage.jdbc_url",
     "only applies to mysql and postgresql"),
    ("jdbc-url-scheme", {"storage": {"type": "postgresql", "jdbc_url": "postgresql://db/sw", "credentials": CREDS}},
     "storage.jdbc_url", "must start with jdbc:"),
    ("credentials-secret-name", {"storage": {"type": "mysql", "addresses": ["db"], "credentials": {
        "secret": "DB_Creds"}}}, "storage.credentials.secret", "is not a valid object name"),
    # plain credentials
    ("storage-password", {"storage": {"type": "elasticsearch", "addresses": ["es"], "password": STORAGE_PW}},
     "storage.password", "plain passwords are not accepted"),
    ("credentials-password", {"storage": {"type": "mysql", "addresses": ["db"], "credentials": {
        "secret": "db-creds", "password": STORAGE_PW}}}, "storage.credentials.password",
     "plain passwords are not accepted"),
    ("storage-username", {"storage": {"type": "mysql", "addresses": ["db"], "credentials": CREDS,
                                      "username": INLINE_USER}}, "storage.username",
     "credentials are not accepted inline"),
    ("ui-users", {"ui": {"users": [{"username": "admin", "password": UI_PW}]}}, "ui.users",
     "users with passwords are not accepted"),
    ("oap-env-password", {"oap": {"env": {"SW_ES_PASSWORD": ENV_PW}}}, "oap.env.SW_ES_PASSWORD",
     "a plain value for a credential is not accepted"),
    ("ui-env-secret", {"ui": {"env": {"OAUTH_CLIENT_SECRET": ENV_PW}}}, "ui.env.OAUTH_CLIENT_SECRET",
     "a plain value for a credential is not accepted"),
    ("satellite-env-token", {"satellite": {"enabled": True, "env": {"SATELLITE_AUTH_TOKEN": ENV_PW}}},
     "satellite.env.SATELLITE_AUTH_TOKEN", "a plain value for a credential is not accepted"),
    # names and namespaces
    ("name-uppercase", {"name": "SkyWalking"}, "name", "'SkyWalking' is not a valid name"),
    ("name-too-long", {"name": "s" * 44}, "name", "is too long: the Job"),
    ("name-too-long-for-statefulsets", {"name": "c" * 36, "storage": {"banyandb": {"mode": "cluster"}}}, "name",
     "is too long: the StatefulSet"),
    ("name-over-63", {"name": "n" * 64}, "name", "is not a valid name"),
    ("namespace-invalid", {"namespace": "Team_A"}, "namespace", "'Team_A' is not a valid name"),
    ("namespace-missing", {"namespace": "t-does-not-exist"}, "namespace",
     "namespace t-does-not-exist does not exist (set create_namespace: true"),
    ("created-namespace-untouched", {"namespace": FRESH_NS, "create_namespace": True, "oap": {"replicas": -2}},
     "oap.replicas", "must be >= 0 (got -2)"),
    # versions
    ("oap-9.7", {"version": "9.7"}, "version", "OAP 9.7 is not supported; supported release lines are 11.0.x"),
    ("oap-latest", {"version": "latest"}, "version", "is not a version"),
    ("oap-11-banyandb-0.10", {"version": "11.0", "storage": {"banyandb": {"version": "0.10.3"}}},
     "storage.banyandb.version", "OAP 11.0.0 needs BanyanDB 0.11.x; BanyanDB 0.10.3 is not compatible"),
    ("oap-10.4-banyandb-0.11", {"version": "10.4.0", "storage": {"banyandb": {"version": "0.11.0"}}},
     "storage.banyandb.version", "OAP 10.4.0 needs BanyanDB 0.10.x; BanyanDB 0.11.0 is not compatible"),
    ("oap-11-booster", {"version": "11.0", "ui": {"flavour": "booster"}}, "ui.flavour",
     "OAP 11.0.0 supports the horizon UI only, not booster"),
    ("booster-version", {"version": "10.4", "ui": {"version": "11.0.0"}}, "ui.version",
     "the booster UI 11.0.0 does not match OAP 10.4.0"),
    ("admin-server-on-10.4", {"version": "10.4", "oap": {"admin_server": {"enabled": True}}},
     "oap.admin_server.enabled", "has no admin server"),
    ("rest-tls-on-10.4", {"version": "10.4", "oap": {"tls": {"rest": {"secret": "oap-tls"}}}}, "oap.tls.rest.secret",
     "REST TLS needs OAP 11.0"),
    # roles, replicas, PDB, autoscaling
    ("split-without-receivers", {"oap": {"mode": "split", "receiver": {"replicas": 0}}}, "oap.receiver.replicas",
     "must be >= 1 in split mode"),
    ("split-without-aggregators", {"oap": {"mode": "split", "aggregator": {"replicas": 0}}},
     "oap.aggregator.replicas", "must be >= 1 in split mode"),
    ("autoscaling-min-over-max", {"oap": {"autoscaling": {"enabled": True, "min_replicas": 5, "max_replicas": 3}}},
     "oap.autoscaling.min_replicas", "must be <= oap.autoscaling.max_replicas (5 > 3)"),
    ("replicas-under-pdb", {"oap": {"replicas": 1, "pdb": {"min_available": 2}}}, "oap.replicas",
     "must be >= oap.pdb.min_available (1 < 2)"),
    ("aggregators-under-pdb", {"oap": {"mode": "split", "receiver": {"replicas": 3}, "aggregator": {"replicas": 1},
                                       "pdb": {"min_available": 2}}}, "oap.aggregator.replicas",
     "must be >= oap.pdb.min_available (1 < 2)"),
    ("autoscaling-min-under-pdb", {"oap": {"autoscaling": {"enabled": True, "min_replicas": 1},
                                           "pdb": {"min_available": 2}}}, "oap.autoscaling.min_replicas",
     "must be >= oap.pdb.min_available (1 < 2)"),
    ("heap-percent", {"oap": {"heap_percent": 95}}, "oap.heap_percent", "must be between 10 and 90 (got 95)"),
    # ports
    ("ui-port-high", {"ui": {"service": {"port": 70000}}}, "ui.service.port", "must be between 1 and 65535 (got 70000)"),
    ("ui-port-zero", {"ui": {"service": {"port": 0}}}, "ui.service.port", "must be between 1 and 65535 (got 0)"),
    # scheduling
    ("toleration-unknown-key", {"scheduling": {"tolerations": [{"key": "dedicated", "operater": "Equal"}]}},
     "scheduling.tolerations[0]", "unknown keys operater"),
    ("toleration-effect", {"scheduling": {"tolerations": [{"key": "dedicated", "operator": "Equal",
                                                           "value": "obs", "effect": "NoSchedul"}]}},
     "scheduling.tolerations[0].effect", "not 'NoSchedul'"),
    ("toleration-exists-with-value", {"scheduling": {"tolerations": [{"key": "dedicated", "operator": "Exists",
                                                                      "value": "obs"}]}},
     "scheduling.tolerations[0].value", "must be empty when operator is Exists"),
    ("toleration-seconds-without-noexecute", {"scheduling": {"tolerations": [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule",
         "tolerationSeconds": 30}]}}, "scheduling.tolerations[0].effect", "must be NoExecute"),
    ("node-selector-key", {"scheduling": {"node_selector": {"bad key!": "x"}}}, 'scheduling.node_selector["bad key!"]',
     "is not a valid label key/value pair"),
    ("priority-class", {"scheduling": {"priority_class_name": "High_Priority"}}, "scheduling.priority_class_name",
     "is not a PriorityClass name"),
    # unknown options at any depth
    ("unknown-top-level", {"replica": 3}, "replica", "Unsupported parameters"),
    ("unknown-depth-2", {"oap": {"replica": 3}}, "oap.replica", "did you mean oap.replicas?"),
    ("unknown-depth-3", {"oap": {"autoscaling": {"enabled": True, "max": 4}}}, "oap.autoscaling.max",
     "is not a known field"),
    ("unknown-depth-4", {"storage": {"banyandb": {"persistence": {"sise": "10Gi"}}}},
     "storage.banyandb.persistence.sise", "did you mean storage.banyandb.persistence.size?"),
    # UI exposure, users
    ("ingress-tls-without-host", {"ui": {"ingress": {"enabled": True, "tls_secret": "ui-tls"}}},
     "ui.ingress.tls_secret", "needs ui.ingress.host"),
    ("ingress-path", {"ui": {"ingress": {"enabled": True, "path": "ui"}}}, "ui.ingress.path", "must start with /"),
    ("ingress-host", {"ui": {"ingress": {"enabled": True, "host": "UI Example"}}}, "ui.ingress.host",
     "is not a valid object name"),
    ("route-without-route-api", {"ui": {"route": {"enabled": True}}}, "ui.route.enabled",
     "the cluster does not serve the route.openshift.io/v1 API"),
    ("users-secret-with-booster", {"version": "10.4", "ui": {"users_secret": {"name": "horizon-users"}}},
     "ui.users_secret.name", "only Horizon has local users; the booster UI has no login"),
    # env
    ("env-name-digit", {"oap": {"env": {"1ST_OPTION": "x"}}}, 'oap.env["1ST_OPTION"]',
     "is not a valid environment variable name"),
    ("env-name-dash", {"ui": {"env": {"MY-VAR": "x"}}}, "ui.env.MY-VAR", "is not a valid environment variable name"),
    ("env-reference-shape", {"oap": {"env": {"SW_CORE_RECORD_DATA_TTL": {"config_map": "ttl"}}}},
     "oap.env.SW_CORE_RECORD_DATA_TTL", "a reference must be {secret: NAME, key: KEY}"),
    ("env-empty", {"oap": {"env": {"SW_CORE_RECORD_DATA_TTL": ""}}}, "oap.env.SW_CORE_RECORD_DATA_TTL",
     "must not be empty"),
    # everything else
    ("java-opts-mode", {"oap": {"java_opts": "-Xss1m -Dmode=init"}}, "oap.java_opts", "must not set -Dmode"),
    ("reserved-label", {"labels": {"app.kubernetes.io/instance": "other"}}, "labels",
     "app.kubernetes.io/instance is set by the collection"),
    ("fetcher-without-metrics", {"telemetry": {"prometheus": False, "fetcher": {"enabled": True}}},
     "telemetry.fetcher.enabled", "needs telemetry.prometheus"),
    ("config-file-escape", {"oap": {"config_files": {"../application.yml": "x: 1"}}},
     'oap.config_files["../application.yml"]', "must be a relative path under config/"),
    ("dynamic-config-key", {"oap": {"dynamic_config": {"values": {"core default": "1"}}}},
     'oap.dynamic_config.values["core default"]', "is not a valid key"),
    ("exporter-namespace", {"telemetry": {"event_exporter": {"enabled": True, "namespaces": ["Kube_System"]}}},
     "telemetry.event_exporter.namespaces[0]", "is not a namespace name"),
    ("pull-secret-name", {"images": {"pull_secrets": ["Reg_Creds"]}}, "images.pull_secrets[0]", "is not a Secret name"),
    ("source-ranges", {"oap": {"service": {"type": "LoadBalancer", "load_balancer_source_ranges": ["everywhere"]}}},
     "oap.service.load_balancer_source_ranges", "'everywhere' (item 0) is not a CIDR"),
    ("ext-libs-path-without-image", {"oap": {"ext_libs": {"path": "/jars"}}}, "oap.ext_libs.image",
     "is required when oap.ext_libs.path is set"),
    ("run-as-root", {"security": {"run_as_user": 0}}, "security.run_as_user", "must be >= 1"),
    ("every-problem-at-once", {"oap": {"replicas": -1}, "ui": {"service": {"port": 0}},
                               "storage": {"type": "mysql", "credentials": CREDS}},
     ("oap.replicas", "ui.service.port", "storage.addresses"), "; "),
]

# Warnings, not errors (rendered to a directory: nothing is sent to the cluster).
WARNED = [
    ("11.0", {"SW_CORE_METRIC_DATA_TTL": "7"},
     "oap.env.SW_CORE_METRIC_DATA_TTL is not an environment variable OAP 11.0 reads; did you mean "
     "SW_CORE_METRICS_DATA_TTL?"),
    ("10.4", {"SW_ADMIN_SERVER_PORT": "17128"},
     "oap.env.SW_ADMIN_SERVER_PORT is not an environment variable OAP 10.4 reads"),
]


def names_field(msg, field):
    """The message names ``field`` as a whole path (``oap.replicas``, not ``replicas`` inside ``oap``)."""
    return re.search(r"(?:^|[\s;('])%s(?=[:.,\s']|$)" % re.escape(field), msg) is not None


@pytest.fixture(scope="module")
def refusals(control_plane, tmp_path_factory):
    """Every BAD case as one task of one playbook (and the WARNED renders): results by case id, writes, stdout."""
    namespace = "t-bad-" + uuid.uuid4().hex[:6]
    status, body = control_plane.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                        "metadata": {"name": namespace}})
    assert status == 201, body
    served = get(control_plane, "/apis/route.openshift.io/v1")
    assert served is None, "this module's Route case needs a control plane without route.openshift.io/v1"
    tmp = tmp_path_factory.mktemp("refusals")
    tasks = []
    for case_id, spec, _field, _fragment in BAD:
        args = {"name": "bad", "namespace": namespace}
        args.update(spec)
        tasks.append({"name": case_id, "skywalking.swck.cluster": args, "ignore_errors": True})
    for line, env, _warning in WARNED:
        tasks.append({"name": "warn-" + line, "skywalking.swck.cluster": {
            "name": "warned", "namespace": namespace, "version": line, "oap": {"env": env},
            "ui": {"enabled": False}, "render_to": str(tmp / ("render-" + line))}})
    audit = Audit(control_plane).start()
    run = Playbook(control_plane, tmp).run(tasks)
    names = [t["task"]["name"] for t in run.data["plays"][0]["tasks"]]
    assert names == [t["name"] for t in tasks]
    return {"namespace": namespace, "results": dict(zip(names, run.results)), "stdout": run.stdout,
            "writes": audit.writes(), "renders": tmp}


def test_there_are_at_least_forty_bad_cases():
    assert len(BAD) >= 40
    assert len({case[0] for case in BAD}) == len(BAD)


@pytest.mark.parametrize("case_id, spec, field, fragment", BAD, ids=[case[0] for case in BAD])
def test_bad_input_is_refused_naming_the_field(refusals, case_id, spec, field, fragment):
    result = refusals["results"][case_id]
    assert result.get("failed") is True, result
    assert result["changed"] is False
    msg = result["msg"]
    for path in (field if isinstance(field, tuple) else (field,)):
        assert names_field(msg, path), "%s: the message does not name %s: %s" % (case_id, path, msg)
    assert fragment in msg, msg


def test_bad_input_makes_no_write_request_and_creates_nothing(refusals, control_plane):
    assert refusals["writes"] == [], ["%s %s" % (e["verb"], e["requestURI"]) for e in refusals["writes"]]
    namespace = refusals["namespace"]
    for path in ("/api/v1/namespaces/%s/configmaps", "/api/v1/namespaces/%s/services",
                 "/api/v1/namespaces/%s/serviceaccounts", "/apis/apps/v1/namespaces/%s/deployments",
                 "/apis/batch/v1/namespaces/%s/jobs"):
        assert items(control_plane, path % namespace, INSTANCE + "=bad") == []
    assert get(control_plane, "/api/v1/namespaces/" + FRESH_NS) is None
    assert get(control_plane, "/api/v1/namespaces/t-does-not-exist") is None


def test_refused_credentials_never_appear_in_the_output(refusals):
    leaked = [value for value in SECRET_VALUES if value in refusals["stdout"]]
    assert leaked == []


@pytest.mark.parametrize("line, env, warning", WARNED, ids=[w[0] for w in WARNED])
def test_unknown_oap_env_name_is_a_warning_with_the_closest_name(refusals, line, env, warning):
    result = refusals["results"]["warn-" + line]
    assert not result.get("failed"), result.get("msg")
    assert any(w.startswith(warning) for w in result["spec_warnings"]), result["spec_warnings"]
    assert any(w.startswith(warning) for w in result["warnings"]), result["warnings"]
    # The unknown name is still passed on to OAP (a warning, not a filter).
    rendered = [f for f in result["files"]["all"] if f.endswith("deployment-warned-oap.yaml")]
    assert len(rendered) == 1, result["files"]["all"]
    text = (refusals["renders"] / ("render-" + line) / rendered[0]).read_text()
    for name, value in env.items():
        assert "- name: %s\n" % name in text and "value: '%s'" % value in text, text
