# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Contribute OAP static configuration to OAP Deployments another module owns (``oap_config`` module).

See skywalking/builders/static_config.py for what is contributed.  The config module owns a
ConfigMap (its own ApplySet ``sw.<name>.oap-config``, through the engine) and *fields* of the OAP
Deployments (server-side apply under its field manager ``skywalking.swck/sw.<name>.oap-config``),
never the Deployments themselves.  A re-run with nothing to change sends nothing: a Deployment
is in sync when its pod template carries the current checksum and the field manager has its
Apply entry.  Removing the configuration applies an empty manifest, which releases exactly the
contributed fields.
"""

from __future__ import annotations

from ..k8s import applyset, fields, manifest
from ..k8s.engine import CONFIGURED, UNCHANGED, Engine, Result
from ..k8s.errors import ApiError, ConflictError, SpecError, SwckError
from ..k8s.plan import Plan, Stage
from ..k8s.waiter import Waiter
from ..skywalking.builders import static_config as builder
from .cluster import applyset_name

MODULE = "oap-config"


def field_manager(spec):
    return manifest.field_manager_for(applyset_name(spec, MODULE))


def _deployments(client, spec):
    res = client.resource("apps/v1", "Deployment")
    return res, client.list(res, spec["namespace"], label_selector=builder.oap_selector(spec))


def _contribute(client, res, live, body, manager, check_mode, force_conflicts):
    """Apply ``body`` to ``live`` under ``manager``; returns (action, after)."""
    annotation = builder.CHECKSUM_ANNOTATION
    want = ((((body.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("annotations") or {}).get(
        annotation)
    have = ((live["spec"]["template"].get("metadata") or {}).get("annotations") or {}).get(annotation)
    owned = fields.has_apply_entry(live, manager)
    if (want is None and not owned) or (want is not None and want == have and owned):
        return UNCHANGED, live
    try:
        after = client.apply(res, body, manager, force=force_conflicts, dry_run=check_mode)
    except ApiError as err:
        if not err.is_field_conflict:
            raise
        conflicts = [{"field": c.get("field", "?"), "manager": (c.get("message") or "").split('"')[1]
                      if '"' in (c.get("message") or "") else "another manager"} for c in err.causes]
        raise ConflictError(manifest.object_ref(live), conflicts)
    return CONFIGURED, after


def _parent_exists(client, spec):
    res = client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
    name = applyset.parent_name(applyset_name(spec, MODULE))
    return client.read(res, spec["namespace"], name) is not None


def reconcile(client, spec, state="present", check_mode=False, force_conflicts=False, wait_timeout=600, diff=False):
    """Contribute (or, with ``state=absent``, withdraw) the static configuration; returns an engine Result.

    Order: the ConfigMap first when there are files (a Deployment must not mount a missing one),
    then the Deployments (each change dry-run first, so a conflict stops the run before any
    write), then the ConfigMap's removal when it is no longer wanted.
    """
    problems = builder.problems(spec) if state == "present" else []
    if problems:
        from ..skywalking.spec import SpecProblems

        raise SpecProblems(problems)
    res, deployments = _deployments(client, spec)
    if state == "present" and not deployments:
        raise SpecError("name", "cluster %s has no OAP servers in namespace %s: deploy them first "
                                "(skywalking.swck.oap_server or skywalking.swck.cluster)" % (spec["name"],
                                                                                             spec["namespace"]))
    manager = field_manager(spec)
    bodies = []
    for live in deployments:
        meta = live["metadata"]
        body = builder.contribution(spec, meta["name"], meta["namespace"]) if state == "present" else \
            builder.release(meta["name"], meta["namespace"])
        bodies.append((live, body))
    # every change validated (and its conflicts found) before the first write
    for live, body in bodies:
        _contribute(client, res, live, body, manager, True, force_conflicts)
    engine = Engine(client, check_mode=check_mode, force_conflicts=force_conflicts)
    name = applyset_name(spec, MODULE)
    cm = builder.config_map(spec) if state == "present" else None
    if cm is not None:
        outcome = engine.apply(Plan([Stage("config", [cm])]), spec["name"], namespace=spec["namespace"], prune=True,
                               diff=diff, applyset_name=name)
    else:
        outcome = Result()
    rolled = []
    for live, body in bodies:
        action, after = _contribute(client, res, live, body, manager, check_mode, force_conflicts)
        outcome.add(live, action, live, after, diff and action == CONFIGURED)
        if action == CONFIGURED and not check_mode:
            rolled.append((res, after))
    if cm is None and _parent_exists(client, spec):
        removed = engine.delete(None, spec["name"], namespace=spec["namespace"], delete_all=True, diff=diff,
                                applyset_name=name)
        outcome.objects[:0] = removed.objects
        outcome.diffs.extend(removed.diffs)
    if rolled:
        try:
            Waiter(client).wait(rolled, wait_timeout)
        except SwckError as err:
            err.details.update(changed=True, objects=outcome.objects, counts=outcome.counts())
            raise
    return outcome
