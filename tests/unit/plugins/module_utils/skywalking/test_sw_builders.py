# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import copy
import json

import pytest
import yaml

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import manifest
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import names, oap_env, spec
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.builders import cluster, oap

OPENSHIFT = {"api_versions": ["v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1",
                              "rbac.authorization.k8s.io/v1", "route.openshift.io/v1", "security.openshift.io/v1"]}
ES = {"type": "elasticsearch", "addresses": ["es-0.es:9200", "es-1.es"], "protocol": "https",
      "credentials": {"secret": "es-creds"}}


def merged(base, extra):
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def normalized(**extra):
    value, _warnings = spec.normalize(merged({"name": "sw", "namespace": "obs"}, extra))
    return value


def build(context=None, **extra):
    return cluster.build(normalized(**extra), context)


def objects(context=None, **extra):
    return build(context, **extra).objects()


def find(objs, kind, name=None):
    hits = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    return hits


def one(objs, kind, name):
    hits = find(objs, kind, name)
    assert len(hits) == 1, "%s %s: %d found" % (kind, name, len(hits))
    return hits[0]


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def parse_selector(text):
    return dict(part.split("=", 1) for part in text.split(","))


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def pod_labels(obj):
    return obj["spec"]["template"]["metadata"]["labels"]


def containers(obj):
    pod = obj["spec"]["template"]["spec"]
    return pod.get("initContainers", []) + pod["containers"]


# Specs covering the switches; every builder test that is about invariants runs over all of them.
SPECS = {
    "default": {},
    "previous-line": {"version": "10.4"},
    "previous-horizon": {"version": "10.4", "ui": {"flavour": "horizon", "users_secret": {"name": "users"}}},
    "split": {"oap": {"mode": "split", "receiver": {"replicas": 3}, "aggregator": {"replicas": 2}}},
    "split-autoscaled": {"oap": {"mode": "split", "autoscaling": {"enabled": True}}},
    "mixed-autoscaled": {"oap": {"autoscaling": {"enabled": True, "min_replicas": 2, "max_replicas": 4}}},
    "banyandb-cluster": {"storage": {"banyandb": {"mode": "cluster", "data": {"replicas": 3}}}},
    "banyandb-cluster-10.4": {"version": "10.4.0", "storage": {"banyandb": {"mode": "cluster"}}},
    "banyandb-external": {"storage": {"banyandb": {"mode": "external"}, "addresses": ["bydb.data:17912"],
                                      "credentials": {"secret": "bydb"}}},
    "banyandb-ephemeral": {"storage": {"banyandb": {"persistence": {"enabled": False}}}},
    "elasticsearch": {"storage": ES},
    "opensearch": {"storage": dict(ES, type="opensearch")},
    "mysql": {"storage": {"type": "mysql", "addresses": ["mysql.db"], "credentials": {"secret": "db"}},
              "oap": {"ext_libs": {"image": "registry.example.com/mysql-driver:8", "path": "/jars"}}},
    "postgresql": {"version": "10.4", "storage": {"type": "postgresql", "addresses": ["pg.db:5433"],
                                                  "database": "sky", "credentials": {"secret": "pg"}}},
    "everything": {
        "sizing": "large", "labels": {"team": "platform"}, "annotations": {"owner": "platform"},
        "pod_labels": {"cost": "obs"}, "pod_annotations": {"prometheus.io/scrape": "false"},
        "images": {"pull_policy": "Always", "pull_secrets": ["regcred"]},
        "oap": {"mode": "split", "env": {"SW_CORE_RECORD_DATA_TTL": "7",
                                         "SW_ES_PASSWORD": {"secret": "other", "key": "pw"}},
                "config_files": {"alarm-settings.yml": "rules: {}\n", "oal/core.oal": "// oal\n"},
                "dynamic_config": {"values": {"core.default.apdexThreshold": "default: 500"}},
                "tls": {"grpc": {"secret": "grpc-tls"}, "rest": {"secret": "rest-tls"}},
                "service": {"type": "LoadBalancer", "load_balancer_source_ranges": ["10.0.0.0/8"]}},
        "storage": {"banyandb": {"mode": "cluster", "persistence": {"storage_class": "fast"}}},
        "ui": {"users_secret": {"name": "users"}, "ingress": {"enabled": True, "host": "sw.example.com",
                                                              "class_name": "nginx", "tls_secret": "sw-tls"}},
        "satellite": {"enabled": True},
        "telemetry": {"fetcher": {"enabled": True}, "event_exporter": {"enabled": True, "namespaces": ["apps"]}},
        "network_policies": {"agent_namespaces": ["apps"], "metrics_namespaces": ["monitoring"]},
        "scheduling": {"node_selector": {"pool": "obs"}, "priority_class_name": "high",
                       "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "obs",
                                        "effect": "NoSchedule"}]},
        "security": {"run_as_user": 2000, "fs_group": 3000},
    },
    "no-network-policies": {"network_policies": {"enabled": False}, "ui": {"enabled": False}},
    "route": {"ui": {"route": {"enabled": True, "host": "sw.apps.example.com"}}},
}


def spec_objects(key):
    context = OPENSHIFT if key == "route" else None
    return objects(context, **SPECS[key])


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_object_is_valid_and_labelled(key):
    objs = spec_objects(key)
    assert objs
    seen = set()
    for index, obj in enumerate(objs):
        manifest.validate_object("objects[%d]" % index, obj)
        ident = (obj["kind"], obj["metadata"]["name"])
        assert ident not in seen, ident
        seen.add(ident)
        labels = obj["metadata"]["labels"]
        assert labels[names.NAME_LABEL] == "skywalking"
        assert labels[names.INSTANCE_LABEL] == "sw"
        assert labels[names.COMPONENT_LABEL]
        # the engine sets app.kubernetes.io/managed-by; the application's own labels are the builders'
        assert "app.kubernetes.io/managed-by" not in labels and labels["app.kubernetes.io/part-of"] == "skywalking"
        if obj["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == "obs"
        else:
            assert "namespace" not in obj["metadata"]
        assert len(obj["metadata"]["name"]) <= (52 if obj["kind"] == "StatefulSet" else 63) or \
            obj["kind"].startswith("Cluster")
        json.dumps(obj)  # plain data only


@pytest.mark.parametrize("key", sorted(SPECS))
def test_workload_selectors_match_their_pods_and_services_select_pods(key):
    objs = spec_objects(key)
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    templates = [pod_labels(o) for o in workloads] + [pod_labels(o) for o in find(objs, "Job")]
    for obj in workloads:
        assert matches(obj["spec"]["selector"]["matchLabels"], pod_labels(obj))
        assert names.VERSION_LABEL not in obj["spec"]["selector"]["matchLabels"]
    for svc in find(objs, "Service"):
        assert any(matches(svc["spec"]["selector"], labels) for labels in templates), svc["metadata"]["name"]
        for port in svc["spec"]["ports"]:
            assert isinstance(port["port"], int) and isinstance(port["targetPort"], int)
    for pdb in find(objs, "PodDisruptionBudget"):
        assert any(matches(pdb["spec"]["selector"]["matchLabels"], labels) for labels in templates)


@pytest.mark.parametrize("key", sorted(SPECS))
def test_every_oap_env_name_is_one_the_line_reads(key):
    value = normalized(**SPECS[key])
    line = spec.line_of(value).name
    known = oap_env.names(line)
    objs = cluster.build(value, OPENSHIFT if key == "route" else None).objects()
    oap_containers = [c for o in objs if o["kind"] in ("Deployment", "Job")
                      for c in o["spec"]["template"]["spec"]["containers"] if c["name"] in ("oap", "oap-init")]
    assert len(oap_containers) == len(names.oap_roles(value)) + 1  # the serving Deployments and the init Job
    for container in oap_containers:
        user = set(value["oap"]["env"])
        for entry in container["env"]:
            if entry["name"] in user:
                continue
            assert entry["name"] in known, "%s is not read by OAP %s" % (entry["name"], line)


@pytest.mark.parametrize("key", sorted(SPECS))
def test_env_has_no_empty_values_no_duplicates_and_credentials_only_by_reference(key):
    for obj in spec_objects(key):
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        for container in containers(obj):
            env = container.get("env", [])
            assert len({e["name"] for e in env}) == len(env)
            for entry in env:
                if "value" in entry:
                    assert isinstance(entry["value"], str) and entry["value"] != ""
                    assert not spec._CREDENTIAL_ENV.search(entry["name"]), entry["name"]
                else:
                    assert set(entry["valueFrom"]) <= {"secretKeyRef", "configMapKeyRef", "fieldRef"}


@pytest.mark.parametrize("key", sorted(SPECS))
def test_restricted_pod_security_everywhere(key):
    context = OPENSHIFT if key == "route" else None
    for obj in objects(context, **SPECS[key]):
        if obj["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["enableServiceLinks"] is False
        for container in containers(obj):
            sec = container["securityContext"]
            assert sec["allowPrivilegeEscalation"] is False
            assert sec["capabilities"] == {"drop": ["ALL"]}
            assert sec["readOnlyRootFilesystem"] is True
            assert container["resources"]["limits"] and container["resources"]["requests"]
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            if container["name"] != "ext-libs":
                assert "/tmp" in mounts


def test_default_spec_objects_and_stages():
    plan = build()
    assert [s.name for s in plan.stages] == ["foundation", "storage", "schema", "oap", "frontends"]
    gates = {s.name: s.gate for s in plan.stages}
    assert gates["foundation"] is None
    assert gates["schema"].describe() == "schema init Job complete"
    assert gates["schema"].targets == ["Job"] and gates["schema"].timeout == 1200
    assert gates["storage"].describe() == "storage ready" and gates["oap"].describe() == "OAP ready"
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in plan.objects())
    assert kinds == sorted([
        ("ServiceAccount", "sw-oap"), ("Role", "sw-oap"), ("RoleBinding", "sw-oap"),
        ("ConfigMap", "sw-oap-dynamic-config"), ("Service", "sw-oap"), ("Service", "sw-oap-headless"),
        ("Service", "sw-oap-admin"), ("PodDisruptionBudget", "sw-oap"), ("ServiceAccount", "sw-banyandb"),
        ("Service", "sw-banyandb"), ("Service", "sw-banyandb-headless"), ("ServiceAccount", "sw-ui"),
        ("Service", "sw-ui"), ("NetworkPolicy", "sw-oap"), ("NetworkPolicy", "sw-banyandb"),
        ("StatefulSet", "sw-banyandb"), ("Job", oap.init_job(normalized(), None)["metadata"]["name"]),
        ("Deployment", "sw-oap"), ("Deployment", "sw-ui"),
    ])
    assert [o["kind"] for o in plan.stages[1].objects] == ["StatefulSet"]
    assert [o["kind"] for o in plan.stages[2].objects] == ["Job"]
    assert [o["kind"] for o in plan.stages[3].objects] == ["Deployment"]
    deployment = one(plan.objects(), "Deployment", "sw-oap")
    assert deployment["spec"]["replicas"] == 2


def test_plan_kinds_cover_switched_off_features():
    plan = build(network_policies={"enabled": False}, ui={"enabled": False})
    assert not find(plan.objects(), "NetworkPolicy") and not find(plan.objects(), "Ingress")
    for kind in [("networking.k8s.io", "NetworkPolicy"), ("networking.k8s.io", "Ingress"),
                 ("autoscaling", "HorizontalPodAutoscaler"), ("apps", "StatefulSet"),
                 ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
                 ("policy", "PodDisruptionBudget"), ("batch", "Job")]:
        assert kind in plan.kinds
    assert ("route.openshift.io", "Route") not in plan.kinds
    assert ("route.openshift.io", "Route") in build(OPENSHIFT).kinds


def test_components_select_part_of_the_cluster():
    value = normalized(satellite={"enabled": True})
    ui_only = cluster.build(value, components=["ui"])
    assert {o["metadata"]["name"] for o in ui_only.objects()} == {"sw-ui"}
    assert ("apps", "StatefulSet") not in ui_only.kinds
    sat = cluster.build(value, components=["satellite"]).objects()
    assert {o["kind"] for o in sat} == {"ServiceAccount", "Role", "RoleBinding", "Service", "Deployment"}


# --------------------------------------------------------------------------- OAP


def test_oap_mixed_env_probes_and_heap():
    value = normalized()
    dep = one(cluster.build(value).objects(), "Deployment", "sw-oap")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    assert env["JAVA_OPTS"] == "-Xms1228m -Xmx1228m -Dmode=no-init"
    assert env["SW_CLUSTER"] == "kubernetes" and env["SW_CLUSTER_K8S_NAMESPACE"] == "obs"
    assert parse_selector(env["SW_CLUSTER_K8S_LABEL"]) == {
        names.NAME_LABEL: "skywalking", names.INSTANCE_LABEL: "sw", names.COMPONENT_LABEL: "oap"}
    assert matches(parse_selector(env["SW_CLUSTER_K8S_LABEL"]), pod_labels(dep))
    assert env["SKYWALKING_COLLECTOR_UID"] == {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.uid"}}
    assert env["SW_CORE_ROLE"] == "Mixed" and env["SW_HEALTH_CHECKER"] == "default"
    assert env["SW_CONFIGURATION"] == "k8s-configmap" and env["SW_CONFIG_CONFIGMAP_PERIOD"] == "60"
    assert env["SW_STORAGE"] == "banyandb"
    assert env["SW_STORAGE_BANYANDB_TARGETS"] == "sw-banyandb.obs.svc:17912"
    assert env["SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS"] == "0.11"
    assert env["SW_TELEMETRY"] == "prometheus"
    assert "SW_ADMIN_SERVER" not in env
    probe = container["startupProbe"]
    assert probe["httpGet"] == {"path": "/healthcheck", "port": 12800, "scheme": "HTTP"}
    assert probe["periodSeconds"] * probe["failureThreshold"] == 300
    assert container["readinessProbe"]["failureThreshold"] == 3
    assert {p["containerPort"] for p in container["ports"]} == {11800, 12800, 1234, 17128, 17129}
    assert all(p["protocol"] == "TCP" for p in container["ports"])
    assert dep["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1,
                                                                                  "maxUnavailable": 0}}
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "sw-oap" and pod["automountServiceAccountToken"] is True
    assert pod["securityContext"]["runAsUser"] == 1000
    spread = pod["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    assert all(c["whenUnsatisfiable"] == "ScheduleAnyway" for c in spread)
    assert dep["spec"]["template"]["metadata"]["labels"][names.VERSION_LABEL] == "11.0.0"


def test_oap_rbac_is_namespaced_and_least_privilege():
    objs = objects()
    role = one(objs, "Role", "sw-oap")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                             {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    binding = one(objs, "RoleBinding", "sw-oap")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sw-oap"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sw-oap", "namespace": "obs"}]
    assert not find(objs, "ClusterRoleBinding")
    no_dynamic = one(objects(oap={"dynamic_config": {"enabled": False}}), "Role", "sw-oap")
    assert [r["resources"] for r in no_dynamic["rules"]] == [["pods"]]


def test_split_receivers_find_only_aggregators():
    objs = objects(**SPECS["split"])
    receiver = one(objs, "Deployment", "sw-oap-receiver")
    aggregator = one(objs, "Deployment", "sw-oap-aggregator")
    assert receiver["spec"]["replicas"] == 3 and aggregator["spec"]["replicas"] == 2
    for dep, role in ((receiver, "Receiver"), (aggregator, "Aggregator")):
        env = env_of(dep["spec"]["template"]["spec"]["containers"][0])
        assert env["SW_CORE_ROLE"] == role
        selector = parse_selector(env["SW_CLUSTER_K8S_LABEL"])
        assert matches(selector, pod_labels(aggregator))
        assert not matches(selector, pod_labels(receiver))
    job = find(objs, "Job")[0]
    assert not matches(selector, pod_labels(job))
    dynamic = one(objs, "ConfigMap", "sw-oap-dynamic-config")
    assert matches(selector, dynamic["metadata"]["labels"])
    service = one(objs, "Service", "sw-oap")
    assert matches(service["spec"]["selector"], pod_labels(receiver))
    assert not matches(service["spec"]["selector"], pod_labels(aggregator))
    headless = one(objs, "Service", "sw-oap-headless")
    assert matches(headless["spec"]["selector"], pod_labels(receiver))
    assert matches(headless["spec"]["selector"], pod_labels(aggregator))
    assert headless["spec"]["clusterIP"] == "None"
    pdb_names = {p["metadata"]["name"] for p in find(objs, "PodDisruptionBudget")}
    assert pdb_names == {"sw-oap-receiver", "sw-oap-aggregator"}


def test_mixed_selector_matches_only_serving_oap_pods_and_dynamic_configmap():
    objs = objects(oap={"config_files": {"log4j2.xml": "<x/>"}}, telemetry={"fetcher": {"enabled": True}})
    dep = one(objs, "Deployment", "sw-oap")
    selector = parse_selector(env_of(dep["spec"]["template"]["spec"]["containers"][0])["SW_CLUSTER_K8S_LABEL"])
    pods = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet", "Job")]
    assert [o["metadata"]["name"] for o in pods if matches(selector, pod_labels(o))] == ["sw-oap"]
    configmaps = [o["metadata"]["name"] for o in find(objs, "ConfigMap") if matches(selector, o["metadata"]["labels"])]
    assert configmaps == ["sw-oap-dynamic-config"]


def test_two_clusters_never_select_each_other():
    a = objects()
    b = cluster.build(spec.normalize({"name": "other", "namespace": "obs"})[0]).objects()
    sel_a = parse_selector(env_of(one(a, "Deployment", "sw-oap")["spec"]["template"]["spec"]["containers"][0])
                           ["SW_CLUSTER_K8S_LABEL"])
    assert not any(matches(sel_a, pod_labels(o)) for o in b if o["kind"] in ("Deployment", "StatefulSet", "Job"))
    assert not ({(o["kind"], o["metadata"]["name"]) for o in a} & {(o["kind"], o["metadata"]["name"]) for o in b})


def test_autoscaling_leaves_replicas_to_the_hpa():
    objs = objects(**SPECS["mixed-autoscaled"])
    dep = one(objs, "Deployment", "sw-oap")
    assert "replicas" not in dep["spec"]
    hpa = one(objs, "HorizontalPodAutoscaler", "sw-oap")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sw-oap"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 4)
    assert hpa["spec"]["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 75}
    split = objects(**SPECS["split-autoscaled"])
    assert "replicas" not in one(split, "Deployment", "sw-oap-receiver")["spec"]
    assert one(split, "Deployment", "sw-oap-aggregator")["spec"]["replicas"] == 2
    assert [h["metadata"]["name"] for h in find(split, "HorizontalPodAutoscaler")] == ["sw-oap-receiver"]
    plan = build(**SPECS["mixed-autoscaled"])
    assert sorted((o["kind"], o["metadata"]["name"]) for o in plan.stages[-1].objects) == [
        ("Deployment", "sw-ui"), ("HorizontalPodAutoscaler", "sw-oap")]


def test_previous_line_has_no_admin_server():
    objs = objects(version="10.4")
    assert not find(objs, "Service", "sw-oap-admin")
    container = one(objs, "Deployment", "sw-oap")["spec"]["template"]["spec"]["containers"][0]
    assert {p["containerPort"] for p in container["ports"]} == {11800, 12800, 1234}
    env = env_of(container)
    assert env["SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS"] == "0.10"
    assert "SW_ADMIN_SERVER" not in env
    policy = one(objs, "NetworkPolicy", "sw-oap")
    assert not [r for r in policy["spec"]["ingress"] if {"protocol": "TCP", "port": 17128} in r["ports"]]


def test_admin_server_disabled_on_current_line():
    objs = objects(oap={"admin_server": {"enabled": False}})
    env = env_of(one(objs, "Deployment", "sw-oap")["spec"]["template"]["spec"]["containers"][0])
    assert env["SW_ADMIN_SERVER"] == "-"
    assert not find(objs, "Service", "sw-oap-admin")
    ui_env = env_of(one(objs, "Deployment", "sw-ui")["spec"]["template"]["spec"]["containers"][0])
    assert "HORIZON_OAP_ADMIN_URL" not in ui_env and ui_env["HORIZON_TEMPLATES_MODE"] == "readonly"


def test_tls_env_mounts_and_https_probes():
    objs = objects(oap={"tls": {"grpc": {"secret": "grpc-tls"}, "rest": {"secret": "rest-tls", "ca": ""}}})
    dep = one(objs, "Deployment", "sw-oap")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    assert env["SW_CORE_GRPC_SSL_ENABLED"] == "true"
    assert env["SW_CORE_GRPC_SSL_KEY_PATH"] == "/skywalking/tls/grpc/tls.key"
    assert env["SW_CORE_GRPC_SSL_CERT_CHAIN_PATH"] == "/skywalking/tls/grpc/tls.crt"
    assert env["SW_CORE_GRPC_SSL_TRUSTED_CA_PATH"] == "/skywalking/tls/grpc/ca.crt"
    assert env["SW_CORE_REST_SSL_ENABLED"] == "true"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls-grpc"] == {"name": "tls-grpc", "secret": {"secretName": "grpc-tls"}}
    assert {"name": "tls-rest", "mountPath": "/skywalking/tls/rest", "readOnly": True} in container["volumeMounts"]
    ui_env = env_of(one(objs, "Deployment", "sw-ui")["spec"]["template"]["spec"]["containers"][0])
    assert ui_env["HORIZON_OAP_QUERY_URL"] == "https://sw-oap.obs.svc:12800"
    assert "NODE_EXTRA_CA_CERTS" not in ui_env


def test_config_files_are_mounted_one_by_one_and_schema_files_go_to_the_job():
    files = {"alarm-settings.yml": "rules: {}\n", "oal/core.oal": "// core\n", "application.yml": "core: {}\n"}
    objs = objects(oap={"config_files": files})
    cm = one(objs, "ConfigMap", "sw-oap-config")
    assert cm["data"] == {"alarm-settings.yml": "rules: {}\n", "application.yml": "core: {}\n",
                          "oal__core.oal": "// core\n"}
    assert cm["metadata"]["labels"][names.COMPONENT_LABEL] == "oap-config"
    container = one(objs, "Deployment", "sw-oap")["spec"]["template"]["spec"]["containers"][0]
    file_mounts = [m for m in container["volumeMounts"] if m["name"] == "config"]
    assert file_mounts == [
        {"name": "config", "mountPath": "/skywalking/config/alarm-settings.yml", "subPath": "alarm-settings.yml",
         "readOnly": True},
        {"name": "config", "mountPath": "/skywalking/config/application.yml", "subPath": "application.yml",
         "readOnly": True},
        {"name": "config", "mountPath": "/skywalking/config/oal/core.oal", "subPath": "oal__core.oal",
         "readOnly": True},
    ]
    job = find(objs, "Job")[0]
    job_mounts = [m["mountPath"] for m in job["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
                  if m["name"] == "config"]
    assert job_mounts == ["/skywalking/config/application.yml", "/skywalking/config/oal/core.oal"]


def test_init_job_shape():
    value = normalized()
    objs = cluster.build(value).objects()
    job = find(objs, "Job")[0]
    assert job["metadata"]["name"].startswith("sw-oap-init-") and len(job["metadata"]["name"]) == len("sw-oap-init-") + 10
    assert job["metadata"]["annotations"][names.SCHEMA_HASH_ANNOTATION].startswith(job["metadata"]["name"][-10:])
    template = job["spec"]["template"]
    assert template["metadata"]["labels"][names.ISTIO_INJECT] == "false"
    assert template["metadata"]["annotations"][names.ISTIO_INJECT] == "false"
    assert template["metadata"]["labels"][names.COMPONENT_LABEL] == "oap-init"
    pod = template["spec"]
    assert pod["restartPolicy"] == "Never" and pod["automountServiceAccountToken"] is False
    assert job["spec"]["backoffLimit"] == 3 and job["spec"]["activeDeadlineSeconds"] == 1200
    assert "selector" not in job["spec"]
    env = env_of(pod["containers"][0])
    assert env["JAVA_OPTS"].endswith("-Dmode=init") and "-Dmode=no-init" not in env["JAVA_OPTS"]
    assert env["JAVA_OPTS"].startswith("-Xms1228m -Xmx1228m")
    assert not [n for n in env if n.startswith("SW_CLUSTER")] and "SKYWALKING_COLLECTOR_UID" not in env
    assert env["SW_STORAGE"] == "banyandb"


def job_name(**extra):
    return oap.init_job(normalized(**extra), None)["metadata"]["name"]


SCHEMA_CHANGES = {
    "version": {"version": "11.0.1"},
    "image": {"images": {"oap": "registry.example.com/oap:11.0.0-patched"}},
    "storage-type": {"storage": ES},
    "storage-address": {"storage": {"banyandb": {"mode": "external"}, "addresses": ["other:17912"]}},
    "banyandb-mode": {"storage": {"banyandb": {"mode": "cluster"}}},
    "oal-file": {"oap": {"config_files": {"oal/core.oal": "// changed\n"}}},
    "application-yml": {"oap": {"config_files": {"application.yml": "x: 1\n"}}},
    "user-env": {"oap": {"env": {"SW_CORE_RECORD_DATA_TTL": "5"}}},
    "java-opts": {"oap": {"java_opts": "-XX:+UseG1GC"}},
}
OTHER_CHANGES = {
    "replicas": {"oap": {"replicas": 5}},
    "split": {"oap": {"mode": "split"}},
    "autoscaling": {"oap": {"autoscaling": {"enabled": True}}},
    "dynamic-config": {"oap": {"dynamic_config": {"values": {"core.default.apdexThreshold": "default: 900"}}}},
    "dynamic-period": {"oap": {"dynamic_config": {"period": 30}}},
    "alarm-settings": {"oap": {"config_files": {"alarm-settings.yml": "rules: {}\n"}}},
    "log4j2": {"oap": {"config_files": {"log4j2.xml": "<Configuration/>"}}},
    "sizing": {"sizing": "large"},
    "oap-resources": {"oap": {"resources": {"limits": {"cpu": "3"}}}},
    "probes": {"oap": {"probes": {"startup_seconds": 600}}},
    "ui": {"ui": {"enabled": False}},
    "satellite": {"satellite": {"enabled": True}},
    "network-policies": {"network_policies": {"enabled": False}},
    "service-type": {"oap": {"service": {"type": "LoadBalancer"}}},
    "tls": {"oap": {"tls": {"grpc": {"secret": "grpc-tls"}}}},
    "telemetry": {"telemetry": {"fetcher": {"enabled": True}}},
    "labels-of-objects": {"annotations": {"owner": "x"}},
}


@pytest.mark.parametrize("change", sorted(SCHEMA_CHANGES))
def test_init_job_name_changes_with_schema_inputs(change):
    assert job_name(**SCHEMA_CHANGES[change]) != job_name()


@pytest.mark.parametrize("change", sorted(OTHER_CHANGES))
def test_init_job_name_stays_without_schema_changes(change):
    assert job_name(**OTHER_CHANGES[change]) == job_name()


def checksum(role="mixed", **extra):
    return oap.config_checksum(normalized(**extra), role)


STATIC_CHANGES = {
    "env": {"oap": {"env": {"SW_CORE_RECORD_DATA_TTL": "5"}}},
    "file": {"oap": {"config_files": {"alarm-settings.yml": "rules: {}\n"}}},
    "tls-secret": {"oap": {"tls": {"grpc": {"secret": "grpc-tls"}}}},
    "tls-key": {"oap": {"tls": {"grpc": {"secret": "grpc-tls", "key": "key.pem"}}}},
    "storage": {"storage": ES},
    "heap": {"oap": {"heap_percent": 70}},
    "period": {"oap": {"dynamic_config": {"period": 30}}},
}


@pytest.mark.parametrize("change", sorted(STATIC_CHANGES))
def test_checksum_changes_with_static_config(change):
    assert checksum(**STATIC_CHANGES[change]) != checksum()


def test_checksum_ignores_dynamic_config_and_replicas():
    base = checksum()
    assert checksum(oap={"dynamic_config": {"values": {"core.default.apdexThreshold": "default: 900"}}}) == base
    assert checksum(oap={"replicas": 7}) == base
    assert checksum(ui={"replicas": 3}) == base
    objs = objects(oap={"dynamic_config": {"values": {"core.default.apdexThreshold": "default: 900"}}})
    dep = one(objs, "Deployment", "sw-oap")
    assert dep["spec"]["template"] == one(objects(), "Deployment", "sw-oap")["spec"]["template"]
    assert one(objs, "ConfigMap", "sw-oap-dynamic-config")["data"] == {
        "core.default.apdexThreshold": "default: 900"}


def test_checksum_annotation_is_on_the_pod_template():
    dep = one(objects(), "Deployment", "sw-oap")
    assert dep["spec"]["template"]["metadata"]["annotations"][names.CHECKSUM_ANNOTATION] == checksum()


def test_user_env_overrides_in_place_and_appends_sorted():
    dep = one(objects(oap={"env": {"SW_TELEMETRY": "none", "SW_B": "2", "SW_A": "1"}}), "Deployment", "sw-oap")
    env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
    names_in_order = [e["name"] for e in env]
    assert names_in_order.index("SW_TELEMETRY") < names_in_order.index("SW_STORAGE")
    assert names_in_order[-2:] == ["SW_A", "SW_B"]
    assert env_of(dep["spec"]["template"]["spec"]["containers"][0])["SW_TELEMETRY"] == "none"


def test_user_java_opts_with_xmx_replace_the_derived_heap():
    env = env_of(one(objects(oap={"java_opts": "-Xmx3g -XX:+UseG1GC"}), "Deployment", "sw-oap")
                 ["spec"]["template"]["spec"]["containers"][0])
    assert env["JAVA_OPTS"] == "-Xmx3g -XX:+UseG1GC -Dmode=no-init"


# --------------------------------------------------------------------------- storage


@pytest.mark.parametrize("key, expected", [
    ("elasticsearch", {"SW_STORAGE": "elasticsearch", "SW_STORAGE_ES_CLUSTER_NODES": "es-0.es:9200,es-1.es:9200",
                       "SW_STORAGE_ES_HTTP_PROTOCOL": "https"}),
    ("opensearch", {"SW_STORAGE": "elasticsearch", "SW_STORAGE_ES_CLUSTER_NODES": "es-0.es:9200,es-1.es:9200"}),
    ("mysql", {"SW_STORAGE": "mysql",
               "SW_JDBC_URL": "jdbc:mysql://mysql.db:3306/skywalking?rewriteBatchedStatements=true&allowMultiQueries=true"}),
    ("postgresql", {"SW_STORAGE": "postgresql", "SW_JDBC_URL": "jdbc:postgresql://pg.db:5433/sky"}),
    ("banyandb-external", {"SW_STORAGE": "banyandb", "SW_STORAGE_BANYANDB_TARGETS": "bydb.data:17912"}),
])
def test_external_storage_env_and_credentials_by_reference(key, expected):
    objs = spec_objects(key)
    assert not find(objs, "StatefulSet") and not find(objs, "NetworkPolicy", "sw-banyandb")
    for obj in find(objs, "Deployment", "sw-oap") + find(objs, "Job"):
        env = env_of(obj["spec"]["template"]["spec"]["containers"][0])
        for name, value in expected.items():
            assert env[name] == value
        secret_refs = {name: value["secretKeyRef"] for name, value in env.items()
                       if isinstance(value, dict) and "secretKeyRef" in value}
        assert len(secret_refs) == 2
        assert {ref["key"] for ref in secret_refs.values()} == {"username", "password"}


def test_mysql_driver_from_an_init_container():
    objs = spec_objects("mysql")
    for obj in find(objs, "Deployment", "sw-oap") + find(objs, "Job"):
        pod = obj["spec"]["template"]["spec"]
        init = pod["initContainers"][0]
        assert init["image"] == "registry.example.com/mysql-driver:8"
        assert init["command"] == ["sh", "-c", "cp /jars/*.jar /ext-libs/"]
        assert {"name": "ext-libs", "mountPath": "/skywalking/ext-libs", "readOnly": True} in \
            pod["containers"][0]["volumeMounts"]


def test_banyandb_standalone():
    objs = objects(storage={"banyandb": {"persistence": {"size": "100Gi", "storage_class": "ssd"}}})
    sts = one(objs, "StatefulSet", "sw-banyandb")
    assert sts["spec"]["replicas"] == 1 and sts["spec"]["serviceName"] == "sw-banyandb-headless"
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["standalone"] and container["image"] == "apache/skywalking-banyandb:0.11.0"
    assert container["startupProbe"]["httpGet"] == {"path": "/api/healthz", "port": 17913, "scheme": "HTTP"}
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/tmp"}]
    assert sts["spec"]["volumeClaimTemplates"] == [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "100Gi"}}, "storageClassName": "ssd"}}]
    pod = sts["spec"]["template"]["spec"]
    assert pod["securityContext"]["fsGroup"] == 1000 and pod["automountServiceAccountToken"] is False
    svc = one(objs, "Service", "sw-banyandb")
    assert [p["port"] for p in svc["spec"]["ports"]] == [17912, 17913]
    assert matches(svc["spec"]["selector"], pod_labels(sts))
    ephemeral = one(objects(**SPECS["banyandb-ephemeral"]), "StatefulSet", "sw-banyandb")
    assert "volumeClaimTemplates" not in ephemeral["spec"]
    assert ephemeral["spec"]["template"]["spec"]["volumes"] == [{"name": "data", "emptyDir": {}}]


@pytest.mark.parametrize("key, image", [("banyandb-cluster", "apache/skywalking-banyandb:0.11.0"),
                                        ("banyandb-cluster-10.4", "apache/skywalking-banyandb:0.10.3")])
def test_banyandb_cluster_mode(key, image):
    objs = spec_objects(key)
    data_replicas = 3 if key == "banyandb-cluster" else 2
    liaison = one(objs, "StatefulSet", "sw-banyandb-liaison")
    data = one(objs, "StatefulSet", "sw-banyandb-data")
    assert liaison["spec"]["replicas"] == 2 and data["spec"]["replicas"] == data_replicas
    for sts, role in ((liaison, "liaison"), (data, "data")):
        container = sts["spec"]["template"]["spec"]["containers"][0]
        assert container["args"] == [role] and container["image"] == image
        env = env_of(container)
        assert env["BYDB_NODE_DISCOVERY_MODE"] == "dns"
        assert env["BYDB_NODE_DISCOVERY_DNS_SRV_ADDRESSES"] == (
            "_internal-grpc._tcp.sw-banyandb-liaison-headless.obs.svc.cluster.local,"
            "_grpc._tcp.sw-banyandb-data-headless.obs.svc.cluster.local")
        assert env["BYDB_NODE_HOST"] == "$(POD_NAME).sw-banyandb-%s-headless.$(POD_NAMESPACE)" % role
        names_in_order = [e["name"] for e in container["env"]]
        assert names_in_order.index("POD_NAME") < names_in_order.index("BYDB_NODE_HOST")
        assert sts["spec"]["serviceName"] == "sw-banyandb-%s-headless" % role
        assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert env_of(liaison["spec"]["template"]["spec"]["containers"][0])["BYDB_DATA_NODE_LIST"] == ",".join(
        "sw-banyandb-data-%d.sw-banyandb-data-headless.obs:17912" % i for i in range(data_replicas))
    assert liaison["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "10Gi"
    client = one(objs, "Service", "sw-banyandb")
    assert matches(client["spec"]["selector"], pod_labels(liaison))
    assert not matches(client["spec"]["selector"], pod_labels(data))
    for role, port_name in (("liaison", "internal-grpc"), ("data", "grpc")):
        headless = one(objs, "Service", "sw-banyandb-%s-headless" % role)
        assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
        assert headless["spec"]["ports"][0]["name"] == port_name
    oap_env_map = env_of(find(objs, "Deployment", "sw-oap")[0]["spec"]["template"]["spec"]["containers"][0])
    assert oap_env_map["SW_STORAGE_BANYANDB_TARGETS"] == "sw-banyandb.obs.svc:17912"


# --------------------------------------------------------------------------- UI


def test_horizon_ui():
    objs = objects(ui={"users_secret": {"name": "users", "key": "users.json"}})
    dep = one(objs, "Deployment", "sw-ui")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "apache/skywalking-ui:horizon-0.7.0"
    env = env_of(container)
    assert env["HORIZON_OAP_QUERY_URL"] == "http://sw-oap.obs.svc:12800"
    assert env["HORIZON_OAP_ADMIN_URL"] == "http://sw-oap-admin.obs.svc:17128"
    assert env["HORIZON_TEMPLATES_MODE"] == "live"
    assert env["HORIZON_AUTH_LOCAL_USERS"] == {"secretKeyRef": {"name": "users", "key": "users.json"}}
    assert env["NODE_OPTIONS"] == "--max-old-space-size=768"
    assert container["ports"] == [{"name": "http", "containerPort": 8081, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    svc = one(objs, "Service", "sw-ui")
    assert svc["spec"]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8081}]


def test_booster_ui_on_the_previous_line():
    container = one(objects(version="10.4"), "Deployment", "sw-ui")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "apache/skywalking-ui:10.4.0"
    assert env_of(container) == {"SW_OAP_ADDRESS": "http://sw-oap.obs.svc:12800"}
    assert container["ports"][0]["containerPort"] == 8080
    assert container["livenessProbe"]["httpGet"]["path"] == "/internal/l7check"


def test_horizon_on_the_previous_line_is_read_only():
    env = env_of(one(spec_objects("previous-horizon"), "Deployment", "sw-ui")
                 ["spec"]["template"]["spec"]["containers"][0])
    assert env["HORIZON_TEMPLATES_MODE"] == "readonly" and "HORIZON_OAP_ADMIN_URL" not in env


def test_ingress():
    ing = one(spec_objects("everything"), "Ingress", "sw-ui")
    assert ing["spec"] == {"ingressClassName": "nginx", "tls": [{"hosts": ["sw.example.com"], "secretName": "sw-tls"}],
                           "rules": [{"host": "sw.example.com", "http": {"paths": [{
                               "path": "/", "pathType": "Prefix",
                               "backend": {"service": {"name": "sw-ui", "port": {"number": 80}}}}]}}]}
    env = env_of(one(spec_objects("everything"), "Deployment", "sw-ui")["spec"]["template"]["spec"]["containers"][0])
    assert env["HORIZON_SESSION_COOKIE_SECURE"] == "true"


def test_route_only_where_the_api_exists():
    route = one(spec_objects("route"), "Route", "sw-ui")
    assert route["apiVersion"] == "route.openshift.io/v1"
    assert route["spec"]["host"] == "sw.apps.example.com"
    assert route["spec"]["to"] == {"kind": "Service", "name": "sw-ui", "weight": 100}
    assert route["spec"]["tls"] == {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    with pytest.raises(SpecError) as info:
        build(None, **SPECS["route"])
    assert info.value.field == "ui.route.enabled"


def test_no_fixed_uid_on_openshift():
    for obj in objects(OPENSHIFT):
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            sec = obj["spec"]["template"]["spec"]["securityContext"]
            assert "runAsUser" not in sec and "runAsGroup" not in sec and "fsGroup" not in sec
            assert sec["runAsNonRoot"] is True


def test_user_ids_win():
    for obj in spec_objects("everything"):
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            sec = obj["spec"]["template"]["spec"]["securityContext"]
            assert sec["runAsUser"] == 2000
            assert sec.get("fsGroup") in (None, 3000)


# --------------------------------------------------------------------------- Satellite, telemetry, network


@pytest.mark.parametrize("mode, role", [("mixed", None), ("split", "receiver")])
def test_satellite_finds_the_serving_oap_pods(mode, role):
    objs = objects(satellite={"enabled": True}, oap={"mode": mode})
    env = env_of(one(objs, "Deployment", "sw-satellite")["spec"]["template"]["spec"]["containers"][0])
    assert env["SATELLITE_GRPC_CLIENT_FINDER"] == "kubernetes"
    assert env["SATELLITE_GRPC_CLIENT_KUBERNETES_NAMESPACE"] == "obs"
    assert env["SATELLITE_GRPC_CLIENT_KUBERNETES_KIND"] == "pod"
    assert env["SATELLITE_GRPC_CLIENT_KUBERNETES_EXTRA_PORT"] == "11800"
    selector = parse_selector(env["SATELLITE_GRPC_CLIENT_KUBERNETES_SELECTOR_LABEL"])
    oap_pods = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["labels"][names.COMPONENT_LABEL] == "oap"]
    found = [o["metadata"]["name"] for o in oap_pods if matches(selector, pod_labels(o))]
    assert found == (["sw-oap"] if role is None else ["sw-oap-receiver"])
    role_obj = one(objs, "Role", "sw-satellite")
    assert role_obj["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]


def test_fetcher_scrapes_oap_and_exports_over_otlp():
    objs = objects(telemetry={"fetcher": {"enabled": True, "interval": 15}}, oap={"mode": "split"})
    config = yaml.safe_load(one(objs, "ConfigMap", "sw-fetcher")["data"]["config.yaml"])
    scrape = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    assert scrape["job_name"] == "skywalking-so11y" and scrape["scrape_interval"] == "15s"
    selector = parse_selector(scrape["kubernetes_sd_configs"][0]["selectors"][0]["label"])
    deployments = [o for o in find(objs, "Deployment") if o["metadata"]["labels"][names.COMPONENT_LABEL] == "oap"]
    assert len(deployments) == 2 and all(matches(selector, pod_labels(o)) for o in deployments)
    assert {r.get("target_label") for r in scrape["relabel_configs"]} >= {"service", "host_name"}
    assert config["exporters"]["otlp"] == {"endpoint": "sw-oap.obs.svc:11800", "tls": {"insecure": True}}
    dep = one(objs, "Deployment", "sw-fetcher")
    assert dep["spec"]["template"]["spec"]["containers"][0]["args"] == ["--config=/conf/config.yaml"]
    assert one(objs, "Role", "sw-fetcher")["rules"][0]["resources"] == ["pods"]


def test_event_exporter_cluster_rbac_is_named_per_namespace_and_cluster():
    objs = spec_objects("everything")
    role = one(objs, "ClusterRole", "skywalking-swck:obs:sw:event-exporter")
    assert {tuple(r["resources"]) for r in role["rules"]} == {("events",), ("pods", "services")}
    assert all(set(r["verbs"]) == {"get", "list", "watch"} for r in role["rules"])
    binding = one(objs, "ClusterRoleBinding", "skywalking-swck:obs:sw:event-exporter")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "sw-event-exporter", "namespace": "obs"}]
    config = yaml.safe_load(one(objs, "ConfigMap", "sw-event-exporter")["data"]["config.yaml"])
    assert config["filters"][0]["namespace"] == "^(apps)$"
    assert config["exporters"]["skywalking"]["address"] == "sw-oap.obs.svc:11800"
    assert config["exporters"]["skywalking"]["enableTLS"] is True


def test_network_policies():
    objs = spec_objects("everything")
    policy = one(objs, "NetworkPolicy", "sw-oap")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    rules = {tuple(p["port"] for p in r["ports"]): r.get("from") for r in policy["spec"]["ingress"]}
    assert rules[(11800,)] is None
    assert rules[(12800,)] == [{"podSelector": {}}, {"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["apps"]}]}}]
    assert rules[(17128, 17129)] == [{"podSelector": {}}]
    assert rules[(1234,)][1]["namespaceSelector"]["matchExpressions"][0]["values"] == ["monitoring"]
    deployments = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["labels"][names.COMPONENT_LABEL] == "oap"]
    assert all(matches(policy["spec"]["podSelector"]["matchLabels"], pod_labels(o)) for o in deployments)
    storage = one(objs, "NetworkPolicy", "sw-banyandb")
    oap_rule, peer_rule = storage["spec"]["ingress"]
    assert [p["port"] for p in oap_rule["ports"]] == [17912, 17913]
    selector = oap_rule["from"][0]["podSelector"]
    assert selector["matchExpressions"] == [{"key": names.COMPONENT_LABEL, "operator": "In",
                                             "values": ["oap", "oap-init"]}]
    assert "ports" not in peer_rule
    for sts in find(objs, "StatefulSet"):
        assert matches(storage["spec"]["podSelector"]["matchLabels"], pod_labels(sts))
    assert not find(spec_objects("no-network-policies"), "NetworkPolicy")


# --------------------------------------------------------------------------- misc


def test_user_labels_annotations_scheduling_and_pull_secrets_everywhere():
    objs = spec_objects("everything")
    for obj in objs:
        assert obj["metadata"]["labels"]["team"] == "platform"
        assert obj["metadata"]["annotations"]["owner"] == "platform"
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            template = obj["spec"]["template"]
            assert template["metadata"]["labels"]["cost"] == "obs"
            assert template["metadata"]["labels"]["team"] == "platform"
            assert template["metadata"]["annotations"]["prometheus.io/scrape"] == "false"
            pod = template["spec"]
            assert pod["nodeSelector"] == {"pool": "obs"}
            assert pod["priorityClassName"] == "high"
            assert pod["tolerations"][0]["key"] == "dedicated"
            assert pod["imagePullSecrets"] == [{"name": "regcred"}]
            assert all(c["imagePullPolicy"] == "Always" for c in containers(obj))


def test_oap_service_exposure():
    svc = one(spec_objects("everything"), "Service", "sw-oap")
    assert svc["spec"]["type"] == "LoadBalancer"
    assert svc["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert [p["port"] for p in svc["spec"]["ports"]] == [11800, 12800]


def test_topology_spread_can_be_switched_off():
    dep = one(objects(scheduling={"topology_spread": False}), "Deployment", "sw-oap")
    assert "topologySpreadConstraints" not in dep["spec"]["template"]["spec"]


def test_canonical_quantities_in_manifests():
    dep = one(objects(oap={"resources": {"requests": {"cpu": "0.5", "memory": "1024Mi"},
                                         "limits": {"cpu": "2000m", "memory": "2048Mi"}}}), "Deployment", "sw-oap")
    assert dep["spec"]["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}}


def test_longest_allowed_names_fit():
    for name, extra in (("a" * 43, {}), ("b" * 35, {"storage": {"banyandb": {"mode": "cluster"}}})):
        value, _warnings = spec.normalize(merged({"name": name, "namespace": "obs"}, extra))
        for index, obj in enumerate(cluster.build(value).objects()):
            manifest.validate_object("o[%d]" % index, obj)
            limit = 52 if obj["kind"] == "StatefulSet" else 63
            assert len(obj["metadata"]["name"]) <= limit or obj["kind"].startswith("Cluster")


def test_sizing_knobs_for_storage():
    env = env_of(one(objects(sizing="large", storage=ES), "Deployment", "sw-oap")
                 ["spec"]["template"]["spec"]["containers"][0])
    assert env["SW_STORAGE_ES_BULK_ACTIONS"] == "20000" and env["SW_CORE_PREPARE_THREADS"] == "8"
    assert env["JAVA_OPTS"].startswith("-Xms4915m -Xmx4915m")
    small = env_of(one(objects(), "Deployment", "sw-oap")["spec"]["template"]["spec"]["containers"][0])
    assert "SW_CORE_PREPARE_THREADS" not in small


def test_config_components_and_module_map():
    value = normalized(oap={"config_files": {"alarm-settings.yml": "rules: {}\n"},
                            "dynamic_config": {"values": {"core.default.apdexThreshold": "default: 500"}}})
    dynamic = cluster.build(value, components=cluster.MODULE_COMPONENTS["dynamic_config"]).objects()
    assert [(o["kind"], o["metadata"]["name"]) for o in dynamic] == [("ConfigMap", "sw-oap-dynamic-config")]
    static = cluster.build(value, components=["config"]).objects()
    assert [(o["kind"], o["metadata"]["name"]) for o in static] == [("ConfigMap", "sw-oap-config")]
    both = cluster.build(value, components=["oap", "config", "dynamic_config"]).objects()
    assert len(both) == len({(o["kind"], o["metadata"]["name"]) for o in both}) == len(cluster.build(
        value, components=["oap"]))
    assert set(cluster.MODULE_COMPONENTS) == set(spec.SLICES) - {"info"}
    for components in cluster.MODULE_COMPONENTS.values():
        assert components is None or set(components) <= set(cluster.COMPONENTS)
    with pytest.raises(ValueError, match="unknown component"):
        cluster.build(value, components=["oap", "bogus"])


def test_network_parts_for_the_component_modules():
    value = normalized()
    oap_part = cluster.build(value, components=cluster.MODULE_COMPONENTS["oap"]).objects()
    assert [o["metadata"]["name"] for o in find(oap_part, "NetworkPolicy")] == ["sw-oap"]
    storage_part = cluster.build(value, components=cluster.MODULE_COMPONENTS["banyandb"]).objects()
    assert [o["metadata"]["name"] for o in find(storage_part, "NetworkPolicy")] == ["sw-banyandb"]
    assert not find(cluster.build(normalized(storage=ES), components=["network_banyandb"]).objects(), "NetworkPolicy")
