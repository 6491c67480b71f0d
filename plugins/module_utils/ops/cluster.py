# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Reconcile a SkyWalking cluster: spec -> staged plan (pure builders) -> the apply engine.

The modules ``skywalking.swck.cluster``, the component modules (``oap_server``, ``ui``,
``banyandb``, ``satellite``, ``oap_dynamic_config``) and ``skywalking.swck.status`` call into
this module; it is the only place where the SkyWalking builders meet the cluster.

Ownership: the whole cluster (``cluster`` module) is one ApplySet named after the cluster; a
component module keeps its own ApplySet ``<name>-<component>`` (its objects carry the same
``app.kubernetes.io/instance=<name>`` label), so component modules never prune each other's
objects and an object is never managed from two places (the second one is refused, naming the
first).
"""

from __future__ import annotations

import json
import os

from ..k8s import applyset, manifest
from ..k8s.engine import Engine
from ..k8s.errors import ApiError, SpecError, SwckError
from ..k8s.plan import Plan, Stage
from ..skywalking import context as sw_context
from ..skywalking import names, render, status
from ..skywalking import spec as sw_spec
from ..skywalking.builders import cluster as builders

NAMESPACE_STAGE = "namespace"
# Key of the normalised spec in the ApplySet parent's data (read by the status module).
SPEC_KEY = "spec.json"
SPEC_MODULE_KEY = "module"
# Kinds status() reads to describe a cluster (Route only where served).
STATUS_KINDS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("batch/v1", "Job"), ("v1", "Service"),
                ("networking.k8s.io/v1", "Ingress"), ("v1", "Pod"))


def discover_context(client):
    """The builders' context from one request (``/apis``): served group/versions, OpenShift or not."""
    return sw_context.Context(sorted(client.api_group_versions()))


def normalize(raw, slice_name="cluster"):
    """``(spec, warnings)`` of the module's spec options (see skywalking/spec.py); raises SpecError."""
    return sw_spec.normalize(raw, slice_name)


# ApplySets of the SkyWalking modules are named ``sw.<name>`` (the cluster module) and
# ``sw.<name>.<module>`` (a component module), so they never share one with an ``apply`` task
# whose instance happens to be the cluster's name.
APPLYSET_PREFIX = "sw."


def applyset_name(spec, module="cluster"):
    """The ApplySet (and field manager suffix) of a module for cluster ``spec["name"]``."""
    base = APPLYSET_PREFIX + spec["name"]
    return base if module == "cluster" else "%s.%s" % (base, module.replace("_", "-"))


def build_plan(spec, context, module="cluster", namespace_object=None):
    """The Plan for ``module``'s components, with the Namespace first when the module creates it."""
    plan = builders.build(spec, context, builders.MODULE_COMPONENTS[module])
    if module == "oap":
        # The dynamic configuration's values are the oap_dynamic_config module's (OAP reads them from a
        # ConfigMap it finds by label; without one it runs with the defaults).
        dynamic = names.oap_dynamic_config(spec)
        for stage in plan.stages:
            stage.objects = [o for o in stage.objects if not (o["kind"] == "ConfigMap"
                                                              and o["metadata"]["name"] == dynamic)]
        plan.stages = [s for s in plan.stages if s.objects]
    if namespace_object is not None:
        plan.stages.insert(0, Stage(NAMESPACE_STAGE, [namespace_object]))
        plan.own_kind("", "Namespace")
    return plan


def namespace_object(spec, labels=None):
    """The cluster's Namespace, with the given labels (e.g. PodSecurity ``enforce: restricted``)."""
    meta = {"name": spec["namespace"]}
    all_labels = {names.INSTANCE_LABEL: spec["name"], names.PART_OF_LABEL: names.APP}
    all_labels.update(spec.get("labels") or {})
    all_labels.update(labels or {})
    meta["labels"] = all_labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def _namespace_to_create(client, spec, create, labels):
    """The Namespace object to plan when ``create`` is set and it does not exist or is ours."""
    if not create:
        return None
    live = client.read(client.resource("v1", "Namespace"), None, spec["namespace"])
    if live is None:
        return namespace_object(spec, labels)
    set_id = applyset.applyset_id(applyset.parent_name(applyset_name(spec, "cluster")), spec["namespace"])
    verdict, _owner = manifest.ownership(live, set_id, spec["name"], legacy_ok=False)
    if verdict == manifest.OURS:
        return namespace_object(spec, labels)  # ours from an earlier run: keep it in the plan
    return None  # somebody else's namespace: use it, never adopt it


def reconcile(client, spec, module="cluster", check_mode=False, prune=True, wait_timeout=600, diff=False,
              adopt=False, force_conflicts=False, create_namespace=False, namespace_labels=None, context=None):
    """Apply ``module``'s part of the normalised ``spec``; returns ``(engine result, context)``.

    Gates between stages are always honoured (storage ready, schema init Job complete, OAP ready),
    each with its own timeout or ``wait_timeout`` seconds.  Raises SwckError (with ``changed``
    and the per-object actions when something was written).
    """
    ctx = context or discover_context(client)
    ns_obj = _namespace_to_create(client, spec, create_namespace, namespace_labels)
    if not create_namespace and not check_mode:
        if client.read(client.resource("v1", "Namespace"), None, spec["namespace"]) is None:
            raise SpecError("namespace", "namespace %s does not exist (set create_namespace: true to create it)"
                            % spec["namespace"])
    plan = build_plan(spec, ctx, module, ns_obj)
    # Also when the namespace is new: a Secret the pods need cannot be there yet, and without it
    # they never start (the deploy would stall at a gate after writing the namespace and more).
    check_secret_references(client, spec, plan)
    engine = Engine(client, check_mode=check_mode, force_conflicts=force_conflicts, adopt=adopt)
    record = {SPEC_KEY: json.dumps(spec, sort_keys=True, separators=(",", ":")), SPEC_MODULE_KEY: module}
    result = engine.apply(plan, spec["name"], namespace=spec["namespace"], prune=prune,
                          prune_kinds=["v1/Namespace"] if ns_obj is not None else None, wait=False,
                          wait_timeout=wait_timeout, diff=diff, applyset_name=applyset_name(spec, module),
                          inventory_data=record)
    return result, ctx


def _pod_specs(obj):
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {})
    template = spec.get("template")
    if isinstance(template, dict):
        yield template.get("spec") or {}


def secret_uses(plan):
    """``{secret name: {"keys": {key}, "users": [text]}}`` of every Secret the plan's pods need (not optional)."""
    out = {}

    def use(name, key, who):
        entry = out.setdefault(name, {"keys": set(), "users": []})
        if key:
            entry["keys"].add(key)
        if who not in entry["users"]:
            entry["users"].append(who)

    for obj in plan.objects():
        for pod in _pod_specs(obj):
            who = "%s %s" % (obj["kind"], obj["metadata"]["name"])
            for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
                for env in container.get("env") or []:
                    ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                    if ref and not ref.get("optional"):
                        use(ref["name"], ref.get("key"), who)
                for source in container.get("envFrom") or []:
                    ref = source.get("secretRef")
                    if ref and not ref.get("optional"):
                        use(ref["name"], None, who)
            for volume in pod.get("volumes") or []:
                ref = volume.get("secret")
                if ref and not ref.get("optional"):
                    for item in ref.get("items") or [{}]:
                        use(ref["secretName"], item.get("key"), who)
                for source in (volume.get("projected") or {}).get("sources") or []:
                    ref = source.get("secret")
                    if ref and not ref.get("optional"):
                        for item in ref.get("items") or [{}]:
                            use(ref["name"], item.get("key"), who)
    return out


def _spec_fields_naming(spec, secret, path=""):
    """Spec fields whose value is ``secret`` (the options that reference a Secret by name)."""
    found = []
    if isinstance(spec, dict):
        for key, value in spec.items():
            found.extend(_spec_fields_naming(value, secret, "%s.%s" % (path, key) if path else key))
    elif isinstance(spec, list):
        for i, value in enumerate(spec):
            found.extend(_spec_fields_naming(value, secret, "%s[%d]" % (path, i)))
    elif spec == secret and ("secret" in path or path.endswith(".name")):
        found.append(path)
    return found


def check_secret_references(client, spec, plan):
    """Every Secret the cluster's pods need exists with the keys they read; else SpecError, before any write.

    A pod whose Secret is missing never starts (the kubelet keeps it in CreateContainerConfigError),
    so the deploy would stall at its gate; this names the option and the Secret instead.
    """
    res = client.resource("v1", "Secret")
    problems = []
    planned = set(obj["metadata"]["name"] for obj in plan.objects() if obj.get("kind") == "Secret")
    for name, use in sorted(secret_uses(plan).items()):
        if name in planned:
            continue  # the plan writes it itself, before the pods that read it
        live = client.read(res, spec["namespace"], name)
        fields = _spec_fields_naming(spec, name) or ["(the spec)"]
        if live is None:
            problems.append((fields[0], "Secret %s does not exist in namespace %s (needed by %s); create it first"
                             % (name, spec["namespace"], ", ".join(use["users"]))))
            continue
        have = set((live.get("data") or {}).keys()) | set((live.get("stringData") or {}).keys())
        missing = sorted(k for k in use["keys"] if k not in have)
        if missing:
            problems.append((fields[0], "Secret %s in namespace %s has no key %s (needed by %s; it has: %s)" % (
                name, spec["namespace"], ", ".join(missing), ", ".join(use["users"]),
                ", ".join(sorted(have)) or "no keys")))
    if problems:
        raise sw_spec.SpecProblems(problems)


def recorded_spec(client, name, namespace):
    """The normalised spec the last reconcile of cluster ``name`` recorded, and by which module.

    Looks at the cluster module's ApplySet parent first, then the component modules' (the OAP
    server's first).  Returns ``(spec, module)``; raises SwckError when nothing is recorded.
    """
    res = client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
    for module in ("cluster", "oap", "banyandb", "ui", "satellite", "dynamic_config"):
        parent = client.read(res, namespace, applyset.parent_name(applyset_name({"name": name}, module)))
        text = ((parent or {}).get("data") or {}).get(SPEC_KEY)
        if text:
            try:
                return json.loads(text), module
            except ValueError:
                raise SwckError("the record of SkyWalking cluster %s in namespace %s is damaged (%s)" % (
                    name, namespace, parent["metadata"]["name"]))
    raise SwckError("no SkyWalking cluster %s in namespace %s: nothing reconciled it with this collection (no "
                    "ApplySet parent with a recorded spec)" % (name, namespace))


def recorded_modules(client, name, namespace):
    """The modules that keep a record for cluster ``name`` (``cluster`` or component modules)."""
    res = client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
    out = []
    for module in ("cluster", "oap", "banyandb", "ui", "satellite", "dynamic_config"):
        parent = client.read(res, namespace, applyset.parent_name(applyset_name({"name": name}, module)))
        if ((parent or {}).get("data") or {}).get(SPEC_KEY):
            out.append(module)
    return out


def expected_spec(spec, modules):
    """The spec as status should read it when component modules (not the cluster module) run the cluster:
    the UI and Satellite are expected only when their modules keep a record."""
    if "cluster" in modules:
        return spec
    out = json.loads(json.dumps(spec))
    out["ui"]["enabled"] = "ui" in modules
    out["satellite"]["enabled"] = "satellite" in modules
    return out


def _own_volumes(client, spec, module):
    """The PersistentVolumeClaims of this module's own StatefulSets (``<template>-<statefulset>-<ordinal>``).

    Only claims the StatefulSets that are members of this ApplySet made: a claim that merely
    carries similar labels (made by hand, or by another cluster) is never selected.
    """
    ns = spec["namespace"]
    set_id = applyset.applyset_id(applyset.parent_name(applyset_name(spec, module)), ns)
    sets = client.list(client.resource("apps/v1", "StatefulSet"), ns, label_selector=manifest.member_selector(set_id))
    patterns = []
    for sts in sets:
        if manifest.ownership(sts, set_id, spec["name"], legacy_ok=False)[0] != manifest.OURS:
            continue
        for template in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
            prefix = "%s-%s-" % (template["metadata"]["name"], sts["metadata"]["name"])
            patterns.append((prefix, sts))
    selector = None
    if not patterns:
        # The StatefulSets are gone already (an earlier teardown without delete_volumes): their
        # claims outlive them.  Fall back to the names this spec's StatefulSets have, and to the
        # selector labels the StatefulSet controller copies onto every claim it makes.
        selector = "%s=%s,%s=banyandb" % (names.INSTANCE_LABEL, spec["name"], names.COMPONENT_LABEL)
        patterns = [("data-%s-" % names.banyandb(spec, role), None) for role in ("standalone", "liaison", "data")]
    out = []
    for claim in client.list(client.resource("v1", "PersistentVolumeClaim"), ns, label_selector=selector):
        name = claim["metadata"]["name"]
        for prefix, _sts in patterns:
            if name.startswith(prefix) and name[len(prefix):].isdigit():
                out.append(claim)
                break
    return out


def teardown(client, spec, module="cluster", check_mode=False, delete_volumes=False, delete_namespace=False,
             wait=True, wait_timeout=300, diff=False):
    """Delete everything ``module`` owns for the cluster; PVCs of BanyanDB only with ``delete_volumes``.

    Returns the engine result; PersistentVolumeClaims deleted are added to its objects.
    """
    if delete_namespace:
        _check_namespace_is_only_ours(client, spec, module, delete_volumes)
    volumes = []
    if delete_volumes and module in ("cluster", "banyandb"):
        # First, so they are reported before a deleted namespace takes them along; a volume still in
        # use is kept by its protection finalizer until BanyanDB's pods are gone.
        pvc = client.resource("v1", "PersistentVolumeClaim")
        for claim in _own_volumes(client, spec, module):
            meta = claim["metadata"]
            gone = client.delete(pvc, meta["namespace"], meta["name"], uid=meta.get("uid"), dry_run=check_mode)
            volumes.append((claim, "deleted" if gone else "absent"))
    engine = Engine(client, check_mode=check_mode)
    kinds = ["v1/Namespace"] if delete_namespace else None
    result = engine.delete(None, spec["name"], namespace=spec["namespace"], delete_all=True, prune_kinds=kinds,
                           wait=wait, wait_timeout=wait_timeout, diff=diff,
                           applyset_name=applyset_name(spec, module))
    for claim, action in volumes:
        result.add(claim, action, claim, None, diff, reason="volume of BanyanDB (delete_volumes)")
    return result


# Kinds whose presence in a namespace means someone else still runs something there.
_WORKLOAD_KINDS = (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
                   ("batch/v1", "CronJob"), ("batch/v1", "Job"))


def _check_namespace_is_only_ours(client, spec, module, delete_volumes):
    """Refuse (before anything is deleted) to delete a namespace that holds more than this cluster.

    Deleting a namespace deletes everything in it: other SkyWalking clusters (other ApplySets),
    other applications' workloads, and every volume (data).  Raises SpecError naming what is there.
    """
    ns = spec["namespace"]
    ours = applyset.applyset_id(applyset.parent_name(applyset_name(spec, module)), ns)
    problems = []
    parents = client.list(client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND), ns,
                          label_selector=applyset.ID_LABEL)
    others = sorted(p["metadata"]["name"] for p in parents
                    if p["metadata"]["labels"].get(applyset.ID_LABEL) != ours)
    if others:
        problems.append("other ApplySets live there (%s)" % ", ".join(others))
    foreign = []
    for api_version, kind in _WORKLOAD_KINDS:
        for obj in client.list(client.resource(api_version, kind), ns):
            labels = obj["metadata"].get("labels") or {}
            if labels.get(manifest.APPLYSET_PART_OF_LABEL) == ours:
                continue
            if any(ref.get("controller") for ref in obj["metadata"].get("ownerReferences") or []):
                continue  # created by one of the workloads counted here (a Job of a CronJob)
            foreign.append("%s %s" % (kind, obj["metadata"]["name"]))
    if foreign:
        problems.append("workloads that are not this cluster's run there (%s)" % ", ".join(sorted(foreign)[:10]))
    if not delete_volumes:
        claims = client.list(client.resource("v1", "PersistentVolumeClaim"), ns)
        if claims:
            problems.append("it holds %d volume(s) with data (%s): set delete_volumes to delete them too" % (
                len(claims), ", ".join(sorted(c["metadata"]["name"] for c in claims)[:10])))
    if problems:
        raise SpecError("delete_namespace", "namespace %s is not deleted, nothing was: %s" % (ns, "; ".join(problems)))


def gather(client, spec, context=None):
    """The cluster's live objects that status.summarize reads (one LIST per kind, by instance label)."""
    ctx = sw_context.make(context)
    selector = "%s=%s" % (names.INSTANCE_LABEL, spec["name"])
    kinds = list(STATUS_KINDS)
    if ctx.has_routes:
        kinds.append((sw_context.ROUTE_API, "Route"))
    objects = []
    for api_version, kind in kinds:
        try:
            objects.extend(client.list(client.resource(api_version, kind), spec["namespace"], label_selector=selector))
        except SwckError as err:
            if isinstance(err, ApiError) and err.status == 403:
                continue  # a kind we may not read only makes the summary thinner
            raise
    return objects


def cluster_status(client, spec, context=None, known=None):
    """``status.summarize`` of the live cluster (see skywalking/status.py).

    ``known``: live objects the caller already has (the engine's view after a reconcile, with the
    status its gates last saw); then only the Pods are read.
    """
    if known is None:
        return status.summarize(spec, gather(client, spec, context), context)
    pods = client.list(client.resource("v1", "Pod"), spec["namespace"],
                       label_selector="%s=%s" % (names.INSTANCE_LABEL, spec["name"]))
    return status.summarize(spec, list(known) + pods, context)


RENDER_INDEX = ".skywalking-swck-render.json"


def render_to(spec, directory, context=None, module="cluster", create_namespace=False, namespace_labels=None,
              check_mode=False):
    """Write the plan as files under ``directory`` (one per object, stable names); returns
    ``(all files, written, removed)`` as paths relative to ``directory``.

    The files hold exactly what the module would apply (ownership labels and applied marker
    included), so a cluster first rendered for GitOps can later be reconciled by the module.
    An index file (``.skywalking-swck-render.json``) records, per ApplySet, the files a render
    wrote: a later render removes only those of its own files the plan no longer has, never a
    file it did not write, and refuses to overwrite one (several clusters, or other tools, may
    share the directory).  In check mode nothing is written or removed.
    Raises SpecError when a file to write exists and was not written by this render.
    """
    ctx = sw_context.make(context)
    ns_obj = namespace_object(spec, namespace_labels) if create_namespace else None
    plan = build_plan(spec, ctx, module, ns_obj)
    name = applyset_name(spec, module)
    set_id = applyset.applyset_id(applyset.parent_name(name), spec["namespace"])

    def prepare(obj):
        return manifest.prepare(obj, spec["name"], set_id)

    files = render.render(plan, prepare)
    index_path = os.path.join(directory, RENDER_INDEX)
    index = {}
    if os.path.exists(index_path):
        try:
            with open(index_path, "r") as handle:
                index = json.load(handle)
        except (IOError, OSError, ValueError) as exc:
            raise SpecError("render_to", "cannot read %s: %s" % (index_path, exc))
    key = "%s/%s" % (spec["namespace"], name)
    previous = set(index.get(key) or [])
    others = {f for k, listed in index.items() if k != key for f in listed}
    written, clashes = [], []
    for rel, text in files:
        path = os.path.join(directory, rel)
        old = None
        if os.path.exists(path):
            with open(path, "r") as handle:
                old = handle.read()
            if rel not in previous and old != text:
                clashes.append(rel + (" (another cluster's render)" if rel in others else ""))
        if old != text:
            written.append(rel)
    if clashes:
        raise SpecError("render_to", "would overwrite file(s) this cluster's render did not write: %s"
                        % ", ".join(sorted(clashes)))
    wanted = {rel for rel, _text in files}
    removed = sorted(previous - wanted)
    if not check_mode:
        for rel, text in files:
            if rel in written:
                path = os.path.join(directory, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as handle:
                    handle.write(text)
        for rel in removed:
            path = os.path.join(directory, rel)
            if os.path.exists(path):
                os.remove(path)
            folder = os.path.dirname(path)
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)
        index[key] = sorted(wanted)
        with open(index_path, "w") as handle:
            json.dump(index, handle, indent=1, sort_keys=True)
            handle.write("\n")
    return [rel for rel, _text in files], sorted(written), removed


def plan_summary(plan):
    """``[{"stage", "gate", "objects": ["Kind name", ...]}]`` for results and check mode."""
    out = []
    for stage in plan.stages:
        out.append({"stage": stage.name, "gate": stage.gate.describe() if stage.gate else None,
                    "objects": ["%s %s" % (o["kind"], o["metadata"]["name"]) for o in stage.objects]})
    return out


def empty_plan():
    return Plan()
