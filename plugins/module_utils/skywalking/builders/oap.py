# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""OAP: Deployments (mixed, or receivers + aggregators), Services, RBAC, config, init Job, PDB, HPA.  Pure.

Facts encoded here (SkyWalking docs and source, the Helm chart; see the project's research notes):

* ports 11800 gRPC, 12800 REST (``GET /healthcheck``: 200 healthy, 503 not; registered by the
  health checker module ``SW_HEALTH_CHECKER=default``), 1234 Prometheus (``SW_TELEMETRY=prometheus``),
  and on 11.0 the admin server 17128 HTTP / 17129 gRPC (``SW_ADMIN_SERVER``; ``-`` disables a module);
* cluster coordinator ``SW_CLUSTER=kubernetes`` with ``SW_CLUSTER_K8S_NAMESPACE``,
  ``SW_CLUSTER_K8S_LABEL`` and the pod uid in ``SKYWALKING_COLLECTOR_UID`` (downward API); it and
  the ``k8s-configmap`` dynamic configuration need get/list/watch on pods and configmaps;
* ``JAVA_OPTS`` is put unquoted on the java command line by the image's entrypoint and replaces
  the image's ``-Xms2G``; ``-Dmode=init`` makes OAP create the schema and exit, ``-Dmode=no-init``
  makes it wait for the schema;
* the image runs as root and its entrypoint copies ``ext-config/`` into ``config/``; we instead
  mount each config file with ``subPath`` at ``/skywalking/config/<path>`` (nothing is written,
  so the root filesystem can be read-only) and give ``/tmp`` an emptyDir (JVM, Netty).
  subPath mounts never update in place: the checksum annotation rolls the pods instead.
"""

from __future__ import annotations

import math

from .. import names, quantities, sizing, versions
from ..spec import file_key, line_of, schema_file
from . import common, config, storage

CONFIG_DIR = "/skywalking/config"
TLS_DIR = "/skywalking/tls"
EXT_LIBS_DIR = "/skywalking/ext-libs"

KINDS = (
    ("apps", "Deployment"), ("batch", "Job"), ("", "Service"), ("", "ServiceAccount"), ("", "ConfigMap"),
    ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
    ("policy", "PodDisruptionBudget"), ("autoscaling", "HorizontalPodAutoscaler"),
)

RBAC_REASONS = ("pods get/list/watch: OAP's Kubernetes cluster coordinator (SW_CLUSTER=kubernetes) finds its peers; "
                "configmaps get/list/watch: the k8s-configmap dynamic configuration")


def java_opts(spec, init=False):
    """``JAVA_OPTS``: heap from the memory limit (unless the user's options set -Xmx), the user's options, -Dmode."""
    oap = spec["oap"]
    extra = (oap["java_opts"] or "").strip()
    parts = []
    if "-Xmx" not in extra:
        res = oap["init"]["resources"] if init else oap["resources"]
        limit = quantities.memory_bytes(res["limits"]["memory"])
        heap = sizing.heap_mebibytes(limit, oap["heap_percent"])
        parts.append("-Xms%dm -Xmx%dm" % (heap, heap))
    if extra:
        parts.append(extra)
    parts.append("-Dmode=init" if init else "-Dmode=no-init")
    return " ".join(parts)


def _tls_path(kind, key):
    return "%s/%s/%s" % (TLS_DIR, kind, key)


def serving_env(spec, role):
    """The env of a serving OAP container of ``role`` (mixed, receiver, aggregator), in a stable order."""
    oap = spec["oap"]
    line = line_of(spec)
    env = [
        {"name": "JAVA_OPTS", "value": java_opts(spec)},
        {"name": "SW_CLUSTER", "value": "kubernetes"},
        {"name": "SW_CLUSTER_K8S_NAMESPACE", "value": spec["namespace"]},
        {"name": "SW_CLUSTER_K8S_LABEL", "value": names.selector_text(names.oap_coordinator_selector(spec))},
        common.field_env("SKYWALKING_COLLECTOR_UID", "metadata.uid"),
        {"name": "SW_CORE_ROLE", "value": names.OAP_ROLES[role]},
        {"name": "SW_HEALTH_CHECKER", "value": "default"},
        {"name": "SW_TELEMETRY", "value": "prometheus" if spec["telemetry"]["prometheus"] else "none"},
    ]
    if oap["dynamic_config"]["enabled"]:
        env.append({"name": "SW_CONFIGURATION", "value": "k8s-configmap"})
        env.append({"name": "SW_CONFIG_CONFIGMAP_PERIOD", "value": str(oap["dynamic_config"]["period"])})
    else:
        env.append({"name": "SW_CONFIGURATION", "value": "none"})
    if line.admin_server and not oap["admin_server"]["enabled"]:
        env.append({"name": "SW_ADMIN_SERVER", "value": "-"})
    env.extend(storage.oap_storage_env(spec))
    grpc = oap["tls"]["grpc"]
    if grpc["secret"]:
        env.append({"name": "SW_CORE_GRPC_SSL_ENABLED", "value": "true"})
        env.append({"name": "SW_CORE_GRPC_SSL_KEY_PATH", "value": _tls_path("grpc", grpc["key"])})
        env.append({"name": "SW_CORE_GRPC_SSL_CERT_CHAIN_PATH", "value": _tls_path("grpc", grpc["cert"])})
        if grpc["ca"]:
            env.append({"name": "SW_CORE_GRPC_SSL_TRUSTED_CA_PATH", "value": _tls_path("grpc", grpc["ca"])})
    rest = oap["tls"]["rest"]
    if rest["secret"] and line.rest_tls:
        env.append({"name": "SW_CORE_REST_SSL_ENABLED", "value": "true"})
        env.append({"name": "SW_CORE_REST_SSL_KEY_PATH", "value": _tls_path("rest", rest["key"])})
        env.append({"name": "SW_CORE_REST_SSL_CERT_CHAIN_PATH", "value": _tls_path("rest", rest["cert"])})
    return common.merge_env(env, oap["env"])


def init_env(spec):
    """The init Job's env: JAVA_OPTS with -Dmode=init, storage, the user's env (cluster: standalone default)."""
    env = [{"name": "JAVA_OPTS", "value": java_opts(spec, init=True)}]
    env.extend(storage.oap_storage_env(spec, with_knobs=False))
    return common.merge_env(env, spec["oap"]["env"])


def _file_mounts(spec, schema_only=False):
    mounts = []
    for path in sorted(spec["oap"]["config_files"]):
        if schema_only and not schema_file(path):
            continue
        mounts.append({"name": "config", "mountPath": "%s/%s" % (CONFIG_DIR, path), "subPath": file_key(path),
                       "readOnly": True})
    return mounts


def _volumes_and_mounts(spec, schema_only=False, with_tls=True):
    oap = spec["oap"]
    volumes = [common.empty_dir("tmp")]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    files = _file_mounts(spec, schema_only)
    if files:
        volumes.append({"name": "config", "configMap": {"name": names.oap_config(spec)}})
        mounts.extend(files)
    if with_tls:
        for kind in ("grpc", "rest"):
            tls = oap["tls"][kind]
            if tls["secret"] and (kind == "grpc" or line_of(spec).rest_tls):
                volumes.append({"name": "tls-%s" % kind, "secret": {"secretName": tls["secret"]}})
                mounts.append({"name": "tls-%s" % kind, "mountPath": "%s/%s" % (TLS_DIR, kind), "readOnly": True})
    if oap["ext_libs"]["image"]:
        volumes.append(common.empty_dir("ext-libs"))
        mounts.append({"name": "ext-libs", "mountPath": EXT_LIBS_DIR, "readOnly": True})
    return volumes, mounts


def _ext_libs_init(spec):
    libs = spec["oap"]["ext_libs"]
    if not libs["image"]:
        return []
    return [{
        "name": "ext-libs",
        "image": libs["image"],
        "imagePullPolicy": common.image_pull_policy(spec),
        "command": ["sh", "-c", "cp %s/*.jar /ext-libs/" % libs["path"].rstrip("/")],
        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}, "requests": {"cpu": "10m", "memory": "16Mi"}},
        "securityContext": common.container_security(spec),
        "volumeMounts": [{"name": "ext-libs", "mountPath": "/ext-libs"}],
    }]


def config_checksum(spec, role):
    """Hash of the static config of ``role``'s pods: env, config files, TLS Secrets' names and keys.

    Dynamic config is not part of it (a change there must not roll OAP).
    """
    oap = spec["oap"]
    return common.digest({
        "env": serving_env(spec, role),
        "files": oap["config_files"],
        "tls": {kind: oap["tls"][kind] for kind in ("grpc", "rest") if oap["tls"][kind]["secret"]},
        "ext_libs": oap["ext_libs"] if oap["ext_libs"]["image"] else None,
    })


def _probes(spec):
    probes = spec["oap"]["probes"]
    scheme = "HTTPS" if spec["oap"]["tls"]["rest"]["secret"] and line_of(spec).rest_tls else "HTTP"
    period, timeout, failure = probes["period_seconds"], probes["timeout_seconds"], probes["failure_threshold"]
    startup_failures = max(1, int(math.ceil(probes["startup_seconds"] / float(period))))
    return {
        "startupProbe": common.http_probe("/healthcheck", versions.OAP_REST_PORT, period, timeout, startup_failures,
                                          scheme),
        "readinessProbe": common.http_probe("/healthcheck", versions.OAP_REST_PORT, period, timeout, failure, scheme),
        "livenessProbe": common.http_probe("/healthcheck", versions.OAP_REST_PORT, period, timeout, failure * 2,
                                           scheme),
    }


def _ports(spec):
    ports = [common.port("grpc", versions.OAP_GRPC_PORT), common.port("rest", versions.OAP_REST_PORT)]
    if spec["telemetry"]["prometheus"]:
        ports.append(common.port("metrics", versions.OAP_METRICS_PORT))
    if admin_enabled(spec):
        ports.append(common.port("admin", versions.ADMIN_HTTP_PORT))
        ports.append(common.port("admin-grpc", versions.ADMIN_GRPC_PORT))
    return ports


def admin_enabled(spec):
    return line_of(spec).admin_server and spec["oap"]["admin_server"]["enabled"]


def autoscaled(spec, role):
    return spec["oap"]["autoscaling"]["enabled"] and role in (names.MIXED, names.RECEIVER)


def replicas(spec, role):
    oap = spec["oap"]
    if role == names.MIXED:
        return oap["replicas"]
    return oap[role]["replicas"]


def deployment(spec, ctx, role):
    oap = spec["oap"]
    match = names.oap_pod_selector(spec, role)
    volumes, mounts = _volumes_and_mounts(spec)
    container = {
        "name": "oap",
        "image": spec["images"]["oap"],
        "imagePullPolicy": common.image_pull_policy(spec),
        "env": serving_env(spec, role),
        "ports": _ports(spec),
    }
    container.update(_probes(spec))
    container["resources"] = common.resources(oap["resources"])
    container["securityContext"] = common.container_security(spec)
    container["volumeMounts"] = mounts
    pod = {
        "serviceAccountName": names.oap_account(spec),
        "automountServiceAccountToken": True,
        "enableServiceLinks": False,
        "securityContext": common.pod_security(spec, ctx),
        "terminationGracePeriodSeconds": 60,
    }
    init = _ext_libs_init(spec)
    if init:
        pod["initContainers"] = init
    pod["containers"] = [container]
    pod["volumes"] = volumes
    secrets = common.pull_secrets(spec)
    if secrets:
        pod["imagePullSecrets"] = secrets
    pod.update(common.scheduling(spec, match))
    body = {}
    if not autoscaled(spec, role):
        body["replicas"] = replicas(spec, role)
    body["selector"] = {"matchLabels": match}
    body["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    body["template"] = {
        "metadata": common.pod_metadata(spec, match, spec["version"],
                                        annotations={names.CHECKSUM_ANNOTATION: config_checksum(spec, role)}),
        "spec": pod,
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": common.metadata(spec, names.oap(spec, role), "oap", spec["version"],
                                        extra_labels={names.OAP_ROLE_LABEL: role}),
            "spec": body}


def init_job(spec, ctx):
    """The schema init Job, named after a hash of everything in it.

    A Job's pod template is immutable, so the name must change whenever anything in the Job
    changes: the hash covers the whole Job.  What goes into the Job is deliberately only what
    shapes the schema (OAP version and image, storage settings, the user's env and JVM options,
    the schema-affecting config files) plus what the pod needs to run (its own resources,
    scheduling, security, pull secrets).  Replicas, roles, dynamic config, UI, Satellite,
    probes, autoscaling and the serving pods' sizing are not in it, so they never re-run the
    init.  The pod opts out of Istio sidecar injection (a sidecar keeps a Job from completing).
    """
    oap = spec["oap"]
    match = names.selector(spec, "oap-init")
    volumes, mounts = _volumes_and_mounts(spec, schema_only=True, with_tls=False)
    container = {
        "name": "oap-init",
        "image": spec["images"]["oap"],
        "imagePullPolicy": common.image_pull_policy(spec),
        "env": init_env(spec),
        "resources": common.resources(oap["init"]["resources"]),
        "securityContext": common.container_security(spec),
        "volumeMounts": mounts,
    }
    pod = {
        "restartPolicy": "Never",
        "serviceAccountName": names.oap_account(spec),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security(spec, ctx),
    }
    init = _ext_libs_init(spec)
    if init:
        pod["initContainers"] = init
    pod["containers"] = [container]
    pod["volumes"] = volumes
    secrets = common.pull_secrets(spec)
    if secrets:
        pod["imagePullSecrets"] = secrets
    pod.update(common.scheduling(spec, match, spread=False))
    template = {
        "metadata": common.pod_metadata(spec, match, spec["version"],
                                        annotations={names.ISTIO_INJECT: "false"},
                                        extra_labels={names.ISTIO_INJECT: "false"}),
        "spec": pod,
    }
    body = {"backoffLimit": oap["init"]["backoff_limit"], "activeDeadlineSeconds": oap["init"]["timeout"],
            "template": template}
    schema_inputs = {
        "version": spec["version"],
        "image": spec["images"]["oap"],
        "storage": storage.storage_schema_inputs(spec),
        "files": {path: content for path, content in oap["config_files"].items() if schema_file(path)},
    }
    full = common.digest({"job": body, "inputs": schema_inputs})
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": common.metadata(spec, names.oap_init_job(spec, full), "oap-init", spec["version"],
                                        annotations={names.SCHEMA_HASH_ANNOTATION: full}),
            "spec": body}


def service_account(spec):
    return common.service_account(spec, names.oap_account(spec), "oap", True)


def rbac(spec):
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    if spec["oap"]["dynamic_config"]["enabled"]:
        rules.append({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]})
    role_obj = common.role(spec, names.oap_account(spec), "oap", rules)
    role_obj["metadata"].setdefault("annotations", {})["skywalking.swck/rbac-reasons"] = RBAC_REASONS
    binding = common.role_binding(spec, names.oap_account(spec), "oap", names.oap_account(spec),
                                  names.oap_account(spec))
    return [role_obj, binding]


def services(spec):
    out = [common.service(spec, names.oap_service(spec), "oap", names.oap_serving_selector(spec),
                          [common.service_port("grpc", versions.OAP_GRPC_PORT),
                           common.service_port("rest", versions.OAP_REST_PORT)],
                          svc=spec["oap"]["service"])]
    headless_ports = [common.service_port("grpc", versions.OAP_GRPC_PORT),
                      common.service_port("rest", versions.OAP_REST_PORT)]
    if spec["telemetry"]["prometheus"]:
        headless_ports.append(common.service_port("metrics", versions.OAP_METRICS_PORT))
    out.append(common.service(spec, names.oap_headless(spec), "oap", names.oap_all_selector(spec), headless_ports,
                              headless=True))
    if admin_enabled(spec):
        out.append(common.service(spec, names.oap_admin_service(spec), "oap", names.oap_all_selector(spec),
                                  [common.service_port("admin", versions.ADMIN_HTTP_PORT)]))
    return out


def pdbs(spec):
    pdb = spec["oap"]["pdb"]
    if not pdb["enabled"] or pdb["min_available"] < 1:
        return []
    out = []
    for role in names.oap_roles(spec):
        out.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                    "metadata": common.metadata(spec, names.oap(spec, role), "oap",
                                                extra_labels={names.OAP_ROLE_LABEL: role}),
                    "spec": {"minAvailable": pdb["min_available"],
                             "selector": {"matchLabels": names.oap_pod_selector(spec, role)}}})
    return out


def hpas(spec):
    auto = spec["oap"]["autoscaling"]
    if not auto["enabled"]:
        return []
    role = names.RECEIVER if spec["oap"]["mode"] == "split" else names.MIXED
    return [{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
             "metadata": common.metadata(spec, names.oap(spec, role), "oap",
                                         extra_labels={names.OAP_ROLE_LABEL: role}),
             "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": names.oap(spec, role)},
                      "minReplicas": auto["min_replicas"], "maxReplicas": auto["max_replicas"],
                      "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                          "type": "Utilization", "averageUtilization": auto["cpu_utilization"]}}}]}}]


def build(spec, ctx):
    """``[(stage, object)]`` of OAP's objects (static config and dynamic config included)."""
    out = [(common.FOUNDATION, service_account(spec))]
    out.extend((common.FOUNDATION, obj) for obj in rbac(spec))
    out.extend(config.build(spec, ctx))
    out.extend((common.FOUNDATION, obj) for obj in services(spec))
    out.extend((common.FOUNDATION, obj) for obj in pdbs(spec))
    out.append((common.SCHEMA, init_job(spec, ctx)))
    out.extend((common.OAP, deployment(spec, ctx, role)) for role in names.oap_roles(spec))
    out.extend((common.FRONTENDS, obj) for obj in hpas(spec))
    return out
