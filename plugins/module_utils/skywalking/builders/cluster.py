# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""A whole SkyWalking cluster as one staged plan.  Pure.

``build(spec, context=None, components=None) -> Plan`` with the stages

1. ``foundation``: ServiceAccounts, Roles/RoleBindings (and the event exporter's
   ClusterRole/Binding named per namespace and cluster), ConfigMaps, Services,
   NetworkPolicies, PodDisruptionBudgets -- no gate;
2. ``storage``: BanyanDB StatefulSets (when in the cluster) -- gate "storage ready";
3. ``schema``: the hash-named OAP init Job -- gate "schema init Job complete" (with
   ``oap.init.timeout``), so no serving OAP pod is created or rolled before the schema exists;
4. ``oap``: the OAP Deployments -- gate "OAP ready";
5. ``frontends``: UI, Satellite, fetcher, event exporter, Ingress/Route, HPA -- gate
   "frontends ready".

Empty stages are left out.  ``Plan.kinds`` lists every kind the cluster may own whatever the
spec's switches, so that switching a feature off still prunes its objects.
"""

from __future__ import annotations

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.plan import Gate, Plan

from .. import context as _context
from . import common, config, network, oap, satellite, storage, telemetry, ui


class _Part(object):
    """A builder function exposed as a component (its objects are also part of a larger component)."""

    def __init__(self, build, kinds):
        self.build = build
        self.KINDS = kinds  # pylint: disable=invalid-name


# component name -> builder (a module or a part with build(spec, ctx) and KINDS or kinds(ctx))
COMPONENTS = {
    "oap": oap,
    "storage": storage,
    "ui": ui,
    "satellite": satellite,
    "telemetry": telemetry,
    "network": network,
    "config": _Part(config.build_static, config.KINDS),
    "dynamic_config": _Part(config.build_dynamic, config.KINDS),
    "network_oap": _Part(network.build_oap, network.KINDS),
    "network_banyandb": _Part(network.build_banyandb, network.KINDS),
}

# Which components each module of the collection reconciles (None: everything).  The static
# config module also needs the OAP Deployments (their checksum annotation is what rolls OAP)
# and the init Job (schema-shaping files), i.e. the oap component.
MODULE_COMPONENTS = {
    "cluster": None,
    "oap": ("oap", "network_oap"),
    "ui": ("ui",),
    "banyandb": ("storage", "network_banyandb"),
    "satellite": ("satellite",),
    "oap_config": ("oap",),
    "dynamic_config": ("dynamic_config",),
}

GATES = {
    common.STORAGE: "storage ready",
    common.SCHEMA: "schema init Job complete",
    common.OAP: "OAP ready",
    common.FRONTENDS: "frontends ready",
}


def kinds(ctx, components=None):
    """``{(group, kind)}`` the selected components may own."""
    out = set()
    for name, module in COMPONENTS.items():
        if components is None or name in components:
            out.update(module.kinds(ctx) if callable(getattr(module, "kinds", None)) else module.KINDS)
    return out


def objects(spec, context=None, components=None):
    """``[(stage, object)]`` of the selected components (all by default), in build order."""
    ctx = _context.make(context)
    if components is not None:
        unknown = sorted(set(components) - set(COMPONENTS))
        if unknown:
            raise ValueError("unknown component(s) %s; known: %s" % (", ".join(unknown), ", ".join(COMPONENTS)))
    out = []
    seen = set()
    for name, module in COMPONENTS.items():
        if components is None or name in components:
            for stage, obj in module.build(spec, ctx):
                ident = (obj["kind"], obj["metadata"]["name"])
                if ident not in seen:
                    seen.add(ident)
                    out.append((stage, obj))
    return out


def build(spec, context=None, components=None):
    """The staged Plan of a normalised spec (see the module docstring).

    ``context``: see :mod:`..context`.  ``components``: names from :data:`COMPONENTS` (None: all),
    for the component modules.  Raises SpecError for what only the context can tell (an OpenShift
    Route asked for where the API is not served).
    """
    ctx = _context.make(context)
    by_stage = {stage: [] for stage in common.STAGES}
    for stage, obj in objects(spec, ctx, components):
        by_stage[stage].append(obj)
    plan = Plan(kinds=kinds(ctx, components))
    for stage in common.STAGES:
        items = by_stage[stage]
        if not items:
            continue
        gate = None
        if stage == common.SCHEMA:
            gate = Gate.ready(targets=["Job"], timeout=spec["oap"]["init"]["timeout"], name=GATES[stage])
        elif stage in GATES:
            gate = Gate.ready(name=GATES[stage])
        plan.add(stage, items, gate)
    return plan
