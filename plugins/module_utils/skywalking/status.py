# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""A pure summary of a live SkyWalking cluster, for the info module and the deploy playbook.

``summarize(spec, objects, context=None) -> dict``: ``objects`` are the cluster's live objects as
the API returns them (Deployments, StatefulSets, Jobs, Services, Ingresses, Routes; Pods optional,
they add restart counts and waiting reasons).  The result::

    {"ready": bool,
     "components": [{"component", "kind", "name", "desired", "ready", "updated", "available",
                     "version", "image", "state", "conditions": [...], "restarts", "waiting": [...]}],
     "init_job": {"name", "expected", "state", "current", "others": [...]},
     "endpoints": {"agents", "oap_rest", "ui", "ui_external"},
     "summary": ["COMPONENT ...", ...]}

States: ``Ready``, ``Progressing``, ``Failed`` (Deployment progress deadline exceeded, Job failed),
``ScaledToZero``, ``Missing`` (expected but not found).  Init Job states: ``Complete``, ``Running``,
``Failed``, ``Missing``.
"""

from __future__ import annotations

from . import context as _context
from . import names, versions
from .builders import oap as oap_builder
from .builders import storage as storage_builder
from .builders import ui as ui_builder


def _meta(obj):
    return obj.get("metadata") or {}


def _index(objects):
    out = {}
    for obj in objects or []:
        out[(obj.get("kind"), _meta(obj).get("name"))] = obj
    return out


def expected(spec):
    """``[(component, kind, name, container)]`` of the workloads the spec asks for."""
    out = []
    for role in names.oap_roles(spec):
        label = "oap" if role == names.MIXED else "oap-%s" % role
        out.append((label, "Deployment", names.oap(spec, role), "oap"))
    for role in storage_builder.roles(spec):
        label = "banyandb" if role == "standalone" else "banyandb-%s" % role
        out.append((label, "StatefulSet", names.banyandb(spec, role), "banyandb"))
    if spec["ui"]["enabled"]:
        out.append(("ui", "Deployment", names.ui(spec), "ui"))
    if spec["satellite"]["enabled"]:
        out.append(("satellite", "Deployment", names.satellite(spec), "satellite"))
    if spec["telemetry"]["fetcher"]["enabled"]:
        out.append(("fetcher", "Deployment", names.fetcher(spec), "fetcher"))
    if spec["telemetry"]["event_exporter"]["enabled"]:
        out.append(("event-exporter", "Deployment", names.event_exporter(spec), "event-exporter"))
    return out


def _conditions(obj):
    out = []
    for cond in (obj.get("status") or {}).get("conditions") or []:
        item = {"type": cond.get("type"), "status": cond.get("status")}
        if cond.get("reason"):
            item["reason"] = cond["reason"]
        if cond.get("message"):
            item["message"] = cond["message"]
        out.append(item)
    return out


def _container(obj, name):
    containers = ((((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or [])
    for container in containers:
        if container.get("name") == name:
            return container
    return containers[0] if containers else {}


def _workload_state(kind, obj, desired, ready, updated):
    status = obj.get("status") or {}
    meta = _meta(obj)
    if kind == "Deployment":
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Progressing" and cond.get("status") == "False" and \
                    cond.get("reason") == "ProgressDeadlineExceeded":
                return "Failed"
    if desired == 0:
        return "ScaledToZero"
    observed = status.get("observedGeneration")
    current = observed is None or meta.get("generation") is None or observed >= meta["generation"]
    if kind == "StatefulSet" and status.get("updateRevision") and \
            status.get("currentRevision") != status.get("updateRevision"):
        current = False
    if current and ready >= desired and updated >= desired:
        return "Ready"
    return "Progressing"


def _pods_of(pods, match_labels):
    out = []
    for pod in pods:
        labels = _meta(pod).get("labels") or {}
        if all(labels.get(k) == v for k, v in match_labels.items()):
            out.append(pod)
    return out


def _pod_health(pods):
    restarts = 0
    waiting = []
    for pod in pods:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            # a pod no node takes (no node matches, volumes unbound): no container status says so
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                reason = cond.get("reason") or "Unschedulable"
                if reason not in waiting:
                    waiting.append(reason)
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            restarts += status.get("restartCount") or 0
            reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            if reason and reason not in waiting:
                waiting.append(reason)
    return restarts, waiting


def component_status(component, kind, name, container_name, obj, pods=None):
    """The status of one workload (``obj`` None: Missing)."""
    if obj is None:
        return {"component": component, "kind": kind, "name": name, "desired": None, "ready": 0, "updated": 0,
                "available": 0, "version": None, "image": None, "state": "Missing", "conditions": [],
                "restarts": 0, "waiting": []}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    desired = spec.get("replicas")
    if desired is None:
        desired = 1
    ready = status.get("readyReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    available = status.get("availableReplicas") or (ready if kind == "StatefulSet" else 0)
    image = _container(obj, container_name).get("image")
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    restarts, waiting = _pod_health(_pods_of(pods or [], selector)) if selector else (0, [])
    return {
        "component": component, "kind": kind, "name": name, "desired": desired, "ready": ready,
        "updated": updated, "available": available,
        "version": (_meta(obj).get("labels") or {}).get(names.VERSION_LABEL) or versions.version_from_image(image),
        "image": image, "state": _workload_state(kind, obj, desired, ready, updated),
        "conditions": _conditions(obj), "restarts": restarts, "waiting": waiting,
    }


def _job_state(job):
    if job is None:
        return "Missing"
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") in ("Complete", "SuccessCriteriaMet"):
            return "Complete"
        if cond.get("type") in ("Failed", "FailureTarget"):
            return "Failed"
    return "Running"


def init_job_status(spec, objects, ctx):
    """State of the current (hash-named) init Job, plus other init Jobs of this cluster still present."""
    want = oap_builder.init_job(spec, ctx)["metadata"]["name"]
    prefix = names.oap_init_prefix(spec)
    jobs = [o for o in objects if o.get("kind") == "Job" and str(_meta(o).get("name", "")).startswith(prefix)]
    current = next((j for j in jobs if _meta(j).get("name") == want), None)
    others = sorted("%s (%s)" % (_meta(j)["name"], _job_state(j)) for j in jobs if _meta(j).get("name") != want)
    if current is None and jobs:
        newest = sorted(jobs, key=lambda j: _meta(j).get("creationTimestamp") or "")[-1]
        return {"name": _meta(newest).get("name"), "expected": want, "state": _job_state(newest), "current": False,
                "others": others}
    return {"name": want, "expected": want, "state": _job_state(current), "current": current is not None,
            "others": others}


def _service_external(svc):
    if not svc or (svc.get("spec") or {}).get("type") != "LoadBalancer":
        return None
    ingress = (((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])
    if not ingress:
        return None
    return ingress[0].get("hostname") or ingress[0].get("ip")


def endpoints(spec, index):
    """Where agents and people connect (in-cluster DNS names; external ones when known)."""
    agent_service = names.satellite(spec) if spec["satellite"]["enabled"] else names.oap_service(spec)
    out = {
        "agents": "%s:%d" % (names.service_host(spec, agent_service), versions.OAP_GRPC_PORT),
        "oap_rest": ui_builder.oap_query_url(spec),
        "ui": None,
        "ui_external": None,
    }
    agent_svc = index.get(("Service", agent_service))
    external = _service_external(agent_svc)
    if external:
        out["agents_external"] = "%s:%d" % (external, versions.OAP_GRPC_PORT)
    ui = spec["ui"]
    if not ui["enabled"]:
        return out
    out["ui"] = "http://%s:%d" % (names.service_host(spec, names.ui(spec)), ui["service"]["port"])
    if ui["ingress"]["enabled"]:
        ing = index.get(("Ingress", names.ui(spec)))
        host = ui["ingress"]["host"]
        if not host and ing:
            lb = (((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])
            host = (lb[0].get("hostname") or lb[0].get("ip")) if lb else None
        if host:
            out["ui_external"] = "%s://%s%s" % ("https" if ui["ingress"]["tls_secret"] else "http", host,
                                                ui["ingress"]["path"])
    elif ui["route"]["enabled"]:
        route = index.get(("Route", names.ui(spec)))
        host = ui["route"]["host"]
        if not host and route:
            ingress = ((route.get("status") or {}).get("ingress") or [])
            host = ingress[0].get("host") if ingress else None
        if host:
            out["ui_external"] = "%s://%s/" % ("https" if ui["route"]["tls_termination"] != "none" else "http", host)
    else:
        external = _service_external(index.get(("Service", names.ui(spec))))
        if external:
            out["ui_external"] = "http://%s:%d" % (external, ui["service"]["port"])
    return out


def table(rows):
    """Lines of a left-aligned table (first row is the header), like ``kubectl get``."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["   ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def summarize(spec, objects, context=None):
    """See the module docstring.  ``spec`` is a normalised spec; ``objects`` a list of live objects."""
    ctx = _context.make(context)
    objects = list(objects or [])
    index = _index(objects)
    pods = [o for o in objects if o.get("kind") == "Pod"]
    components = [component_status(component, kind, name, container, index.get((kind, name)), pods)
                  for component, kind, name, container in expected(spec)]
    job = init_job_status(spec, objects, ctx)
    ready = all(c["state"] in ("Ready", "ScaledToZero") for c in components) and job["state"] == "Complete" \
        and job["current"]
    rows = [("COMPONENT", "KIND", "NAME", "READY", "UP-TO-DATE", "VERSION", "STATUS")]
    for c in components:
        shown = "-" if c["desired"] is None else "%d/%d" % (c["ready"], c["desired"])
        state = c["state"] if not c["waiting"] else "%s (%s)" % (c["state"], ", ".join(c["waiting"]))
        rows.append((c["component"], c["kind"], c["name"], shown, c["updated"], c["version"] or "-", state))
    rows.append(("init", "Job", job["name"], "1/1" if job["state"] == "Complete" else "0/1", "-", spec["version"],
                 job["state"] if job["current"] or job["state"] == "Missing" else "%s (not current: expected %s)" % (
                     job["state"], job["expected"])))
    eps = endpoints(spec, index)
    lines = table(rows)
    lines.append("")
    external = " (external %s)" % eps["agents_external"] if eps.get("agents_external") else ""
    lines.append("agents: %s%s" % (eps["agents"], external))
    if eps["ui"]:
        lines.append("ui:     %s" % eps["ui"] + (" (external %s)" % eps["ui_external"] if eps["ui_external"] else ""))
    return {"ready": ready, "components": components, "init_job": job, "endpoints": eps, "summary": lines}
