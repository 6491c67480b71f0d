# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The UI: Horizon (OAP 11.0 and 10.4) or booster (10.4), its Service, Ingress or OpenShift Route.  Pure.

Horizon (apache/skywalking-horizon-ui v0.7.0; its shipped ``horizon.yaml`` reads every field
from ``HORIZON_*`` env): port 8081, ``GET /api/health``, writes only under ``/data``; the
OAP query URL (12800) and admin URL (17128, OAP 11) come from env; OAP 10 needs
``HORIZON_TEMPLATES_MODE=readonly``; local users (argon2id hashes) come as JSON in
``HORIZON_AUTH_LOCAL_USERS``, here only from a Secret.  ``NODE_OPTIONS`` sizes the Node heap
from the memory limit (the image's default is 768 MiB).

Booster (``apache/skywalking-ui:10.4.x``): port 8080, ``SW_OAP_ADDRESS``, ``GET /internal/l7check``.
"""

from __future__ import annotations

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError

from .. import context as _context
from .. import names, quantities, versions
from ..spec import line_of
from . import common, oap

KINDS = (("apps", "Deployment"), ("", "Service"), ("", "ServiceAccount"), ("networking.k8s.io", "Ingress"))
ROUTE_KIND = ("route.openshift.io", "Route")
TLS_DIR = "/tls/oap"


def kinds(ctx):
    ctx = _context.make(ctx)
    out = set(KINDS)
    if ctx.has_routes:
        out.add(ROUTE_KIND)
    return out


def container_port(spec):
    return versions.HORIZON_PORT if spec["ui"]["flavour"] == versions.HORIZON else versions.BOOSTER_PORT


def _rest_tls(spec):
    rest = spec["oap"]["tls"]["rest"]
    return rest if rest["secret"] and line_of(spec).rest_tls else None


def oap_query_url(spec):
    scheme = "https" if _rest_tls(spec) else "http"
    return "%s://%s:%d" % (scheme, names.service_host(spec, names.oap_service(spec)), versions.OAP_REST_PORT)


def oap_admin_url(spec):
    return "http://%s:%d" % (names.service_host(spec, names.oap_admin_service(spec)), versions.ADMIN_HTTP_PORT)


def _served_over_tls(spec):
    ui = spec["ui"]
    return bool((ui["ingress"]["enabled"] and ui["ingress"]["tls_secret"]) or
                (ui["route"]["enabled"] and ui["route"]["tls_termination"] != "none"))


def _horizon_env(spec):
    ui = spec["ui"]
    line = line_of(spec)
    env = [{"name": "HORIZON_OAP_QUERY_URL", "value": oap_query_url(spec)}]
    admin = oap.admin_enabled(spec)
    if admin:
        env.append({"name": "HORIZON_OAP_ADMIN_URL", "value": oap_admin_url(spec)})
    mode = line.horizon_templates_mode if admin or line.horizon_templates_mode == "readonly" else "readonly"
    env.append({"name": "HORIZON_TEMPLATES_MODE", "value": mode})
    if ui["users_secret"]["name"]:
        env.append({"name": "HORIZON_AUTH_BACKEND", "value": "local"})
        env.append(common.secret_env("HORIZON_AUTH_LOCAL_USERS", ui["users_secret"]["name"],
                                     ui["users_secret"]["key"]))
    if _served_over_tls(spec):
        env.append({"name": "HORIZON_SESSION_COOKIE_SECURE", "value": "true"})
    limit = quantities.mebibytes(ui["resources"]["limits"]["memory"])
    if limit:
        env.append({"name": "NODE_OPTIONS", "value": "--max-old-space-size=%d" % max(128, limit * 3 // 4)})
    rest = _rest_tls(spec)
    if rest and rest["ca"]:
        env.append({"name": "NODE_EXTRA_CA_CERTS", "value": "%s/%s" % (TLS_DIR, rest["ca"])})
    return env


def _booster_env(spec):
    return [{"name": "SW_OAP_ADDRESS", "value": oap_query_url(spec)}]


def deployment(spec, ctx):
    ui = spec["ui"]
    horizon = ui["flavour"] == versions.HORIZON
    match = names.selector(spec, "ui")
    number = container_port(spec)
    health = "/api/health" if horizon else "/internal/l7check"
    env = common.merge_env(_horizon_env(spec) if horizon else _booster_env(spec), ui["env"])
    volumes = [common.empty_dir("tmp")]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    if horizon:
        volumes.append(common.empty_dir("data"))
        mounts.append({"name": "data", "mountPath": "/data"})
        rest = _rest_tls(spec)
        if rest and rest["ca"]:
            volumes.append({"name": "oap-tls", "secret": {"secretName": rest["secret"],
                                                          "items": [{"key": rest["ca"], "path": rest["ca"]}]}})
            mounts.append({"name": "oap-tls", "mountPath": TLS_DIR, "readOnly": True})
    container = {
        "name": "ui",
        "image": spec["images"]["ui"],
        "imagePullPolicy": common.image_pull_policy(spec),
        "env": env,
        "ports": [common.port("http", number)],
        "startupProbe": common.http_probe(health, number, 5, 3, 60),
        "readinessProbe": common.http_probe(health, number, 10, 3, 3),
        "livenessProbe": common.http_probe(health, number, 20, 3, 6),
        "resources": common.resources(ui["resources"]),
        "securityContext": common.container_security(spec),
        "volumeMounts": mounts,
    }
    pod = {
        "serviceAccountName": names.ui(spec),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security(spec, ctx, fs_group=horizon),
        "containers": [container],
        "volumes": volumes,
    }
    secrets = common.pull_secrets(spec)
    if secrets:
        pod["imagePullSecrets"] = secrets
    pod.update(common.scheduling(spec, match))
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": common.metadata(spec, names.ui(spec), "ui", ui["version"]),
            "spec": {"replicas": ui["replicas"], "selector": {"matchLabels": match},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                     "template": {"metadata": common.pod_metadata(spec, match, ui["version"]), "spec": pod}}}


def service(spec):
    svc = spec["ui"]["service"]
    return common.service(spec, names.ui(spec), "ui", names.selector(spec, "ui"),
                          [common.service_port("http", svc["port"], container_port(spec))], svc=svc)


def ingress(spec):
    ing = spec["ui"]["ingress"]
    rule = {"http": {"paths": [{"path": ing["path"], "pathType": "Prefix", "backend": {"service": {
        "name": names.ui(spec), "port": {"number": spec["ui"]["service"]["port"]}}}}]}}
    if ing["host"]:
        rule = dict([("host", ing["host"])] + list(rule.items()))
    body = {}
    if ing["class_name"]:
        body["ingressClassName"] = ing["class_name"]
    if ing["tls_secret"]:
        body["tls"] = [{"hosts": [ing["host"]], "secretName": ing["tls_secret"]}]
    body["rules"] = [rule]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": common.metadata(spec, names.ui(spec), "ui", annotations=ing["annotations"]),
            "spec": body}


def route(spec, ctx):
    rt = spec["ui"]["route"]
    if not _context.make(ctx).has_routes:
        raise SpecError("ui.route.enabled", "the cluster does not serve the route.openshift.io/v1 API (OpenShift "
                                            "Routes); use ui.ingress instead")
    body = {}
    if rt["host"]:
        body["host"] = rt["host"]
    body["to"] = {"kind": "Service", "name": names.ui(spec), "weight": 100}
    body["port"] = {"targetPort": "http"}
    if rt["tls_termination"] == "edge":
        body["tls"] = {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}
    body["wildcardPolicy"] = "None"
    return {"apiVersion": "route.openshift.io/v1", "kind": "Route",
            "metadata": common.metadata(spec, names.ui(spec), "ui", annotations=rt["annotations"]),
            "spec": body}


def build(spec, ctx):
    ui = spec["ui"]
    if not ui["enabled"]:
        return []
    out = [(common.FOUNDATION, common.service_account(spec, names.ui(spec), "ui", False)),
           (common.FOUNDATION, service(spec)),
           (common.FRONTENDS, deployment(spec, ctx))]
    if ui["ingress"]["enabled"]:
        out.append((common.FRONTENDS, ingress(spec)))
    if ui["route"]["enabled"]:
        out.append((common.FRONTENDS, route(spec, ctx)))
    return out
