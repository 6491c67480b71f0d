# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The shared body of the SkyWalking cluster modules (``cluster`` and the component modules).

Each module file holds only its documentation and calls ``run_cluster_module(name)``; the
options come from the one spec schema (skywalking/spec.py) plus the module options below.
"""

from __future__ import annotations

from ..k8s.errors import SpecError, SwckError
from ..k8s.module import diff_list, fail, invocation, new_client, new_module

# Component modules whose component is switched on by calling them.
ENABLES = {"ui": "ui", "satellite": "satellite"}
# module name -> (spec slice, builders.MODULE_COMPONENTS key)
MODULES = {
    "cluster": ("cluster", "cluster"),
    "oap_server": ("oap", "oap"),
    "ui": ("ui", "ui"),
    "banyandb": ("banyandb", "banyandb"),
    "satellite": ("satellite", "satellite"),
    "oap_dynamic_config": ("dynamic_config", "dynamic_config"),
}

COMMON_OPTIONS = {
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "prune": {"type": "bool", "default": True},
    "adopt": {"type": "bool", "default": False},
    "force_conflicts": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 600},
}
CLUSTER_OPTIONS = {
    "create_namespace": {"type": "bool", "default": False},
    "namespace_labels": {"type": "dict", "default": {}},
    "delete_volumes": {"type": "bool", "default": False},
    "delete_namespace": {"type": "bool", "default": False},
    "render_to": {"type": "path"},
    "from_swck": {"type": "raw"},
}


def _given(params, spec_keys, raw_args=None):
    """The spec options the task set, with Ansible's type conversions, and nothing else.

    Ansible fills every option's default into ``params``; the spec's own normalisation fills
    defaults too (some depend on the version), and SWCK resources (``from_swck``) must be
    overridden only by what the task really says.  So keys are kept only where the task's
    own arguments (``raw_args``, before defaults) have them; without ``raw_args`` only None
    values are dropped.
    """

    def keep(value, raw):
        if isinstance(value, dict):
            return {k: keep(v, raw.get(k) if isinstance(raw, dict) else None) for k, v in value.items()
                    if v is not None and (raw is None or (isinstance(raw, dict) and k in raw))}
        return value

    out = {}
    for key in spec_keys:
        if params.get(key) is None:
            continue
        if raw_args is not None and key not in raw_args:
            continue
        out[key] = keep(params[key], raw_args.get(key) if raw_args is not None else None)
    return out


def shallow_argument_spec(argument_spec):
    """Only the top-level options for Ansible to check; the spec's own normalisation checks the rest.

    Ansible's checks of nested options stop at the first problem and name fields its own way
    (``argument 'replicas' is of type str found in 'oap'``); the spec reports every problem at
    once, each with its path (``oap.replicas: must be an integer, not a string``).  The
    documentation keeps the whole tree.
    """
    out = {}
    for key, entry in argument_spec.items():
        out[key] = {k: v for k, v in entry.items() if k in ("type", "required", "default", "choices", "aliases",
                                                            "no_log")}
        if entry.get("type") == "list" and "elements" in entry:
            out[key]["elements"] = entry["elements"]
    return out


MASK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def secret_values_and_masked(options, raw):
    """``(secret values, raw with them masked)``: options marked secret, and env values whose name says
    credential (the spec refuses both, but the task's arguments are echoed back at -v)."""
    from ..skywalking.spec import is_credential_env

    found = set()

    def walk(opts, value, env=False):
        if env and isinstance(value, dict):
            out = {}
            for name, item in value.items():
                if is_credential_env(str(name)) and item not in (None, "") and not isinstance(item, dict):
                    found.add(str(item))
                    out[name] = MASK
                else:
                    out[name] = item
            return out
        if not isinstance(value, dict) or not opts:
            return value
        out = {}
        for key, item in value.items():
            opt = opts.get(key)
            if opt is not None and opt.secret and item not in (None, "", [], {}):
                found.update(str(v) for v in _leaves(item))
                out[key] = MASK
            elif opt is not None and opt.type == "dict" and opt.options:
                out[key] = walk(opt.options, item)
            else:
                out[key] = walk(None, item, env=(key == "env"))
        return out

    masked = walk(options, raw)
    return {v for v in found if len(v) >= 3}, masked


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value


def task_arguments():
    """The module's arguments exactly as the task gave them (before Ansible's defaults)."""
    from ansible.module_utils.basic import _load_params

    try:
        return dict(_load_params())
    except Exception:  # noqa: BLE001 - only a refinement: without it, defaults count as given
        return None


def run_cluster_module(module_name):
    from ..skywalking import spec as sw_spec
    from . import cluster as ops

    slice_name, components_key = MODULES[module_name]
    argument_spec = shallow_argument_spec(sw_spec.argument_spec(slice_name))
    spec_keys = list(argument_spec)
    argument_spec.update(COMMON_OPTIONS)
    if module_name == "cluster":
        argument_spec.update(CLUSTER_OPTIONS)
    module = new_module(argument_spec, supports_check_mode=True)
    params = module.params
    raw = _given(params, spec_keys, task_arguments())
    secrets, masked = secret_values_and_masked(sw_spec.options(slice_name), raw)
    module.no_log_values.update(secrets)
    result = {"changed": False}
    shown = dict(masked)
    if params.get("from_swck") is not None:
        # SWCK resources may carry plaintext credentials: never echoed, even when they do not parse
        shown["from_swck"] = "(SWCK resources: not shown)"
    try:
        if params.get("from_swck") is not None:
            from ..k8s.manifest import load_definitions
            from ..skywalking import swck

            docs = [obj for _src, obj in load_definitions(params["from_swck"], field="from_swck")]
            mapped, report = swck.from_swck(docs, name=raw.get("name"), namespace=raw.get("namespace"),
                                            validate=False, version=raw.get("version"))
            raw = swck.overlay(mapped, raw)
            result["swck_report"] = swck.report_lines(report)
            shown["from_swck"] = "(%d SWCK resource(s): not shown; see swck_report)" % len(docs)
        if module_name in ENABLES:
            section = dict(raw.get(ENABLES[module_name]) or {})
            if section.get("enabled") is False:
                raise SpecError("%s.enabled" % ENABLES[module_name], "the %s module always runs its component; use "
                                "state=absent to remove it" % module_name)
            section["enabled"] = True
            raw[ENABLES[module_name]] = section
        if params["state"] == "absent" and not params.get("render_to"):
            # A teardown needs only the cluster's identity (it deletes the ApplySet's members): a problem
            # elsewhere in the spec (a value a newer release refuses) must not block the removal.
            raw = dict((key, raw[key]) for key in ("name", "namespace") if key in raw)
            if module_name in ENABLES:
                raw[ENABLES[module_name]] = {"enabled": True}
        spec, warnings = ops.normalize(raw, slice_name)
        if module_name != "cluster":
            # only what this module's options can change (the rest of the spec is at its defaults)
            warnings = [w for w in warnings if w.split(":", 1)[0].split(".", 1)[0] in spec_keys
                        and not w.startswith(("ui.", "satellite.")) or w.startswith(module_name + ".")]
        if params["state"] == "absent":
            warnings = []  # about running it; nothing runs after a removal
        result["spec"] = spec
        result["spec_warnings"] = warnings
        for warning in warnings:
            module.warn(warning)

        if params.get("render_to"):
            if params["state"] != "present":
                raise SpecError("render_to", "only renders state=present")
            everything, written, removed = ops.render_to(
                spec, params["render_to"], module=components_key,
                create_namespace=params.get("create_namespace"), namespace_labels=params.get("namespace_labels"),
                check_mode=module.check_mode)
            result.update(changed=bool(written or removed), files={"all": everything, "written": written,
                                                                   "removed": removed})
            result["plan"] = ops.plan_summary(ops.build_plan(spec, None, components_key))
            module.exit_json(invocation=invocation(module, shown), **result)

        client = new_client(module)
        if params["state"] == "absent":
            outcome = ops.teardown(client, spec, components_key, check_mode=module.check_mode,
                                   delete_volumes=params.get("delete_volumes") or False,
                                   delete_namespace=params.get("delete_namespace") or False,
                                   wait_timeout=params["wait_timeout"], diff=module._diff)
            ctx = None
        else:
            outcome, ctx = ops.reconcile(
                client, spec, components_key, check_mode=module.check_mode, prune=params["prune"],
                wait_timeout=params["wait_timeout"], diff=module._diff, adopt=params["adopt"],
                force_conflicts=params["force_conflicts"], create_namespace=params.get("create_namespace") or False,
                namespace_labels=params.get("namespace_labels"))
            result["plan"] = ops.plan_summary(ops.build_plan(spec, ctx, components_key))
        for warning in outcome.warnings:
            module.warn(warning)
        result.update(outcome.as_dict())
        result["api_warnings"] = list(client.warnings)
        if params["state"] == "present":
            # in check mode: the cluster as it is now (nothing was changed)
            known = outcome.live if module_name == "cluster" and not module.check_mode else None
            summary = ops.cluster_status(client, spec, ctx, known=known)
            result["status"] = summary
            result["summary"] = summary["summary"]
        if module._diff:
            result["diff"] = diff_list(outcome.diffs)
    except SwckError as err:
        details = dict(err.details)
        err.details = details
        for key in ("swck_report", "spec_warnings"):
            if key in result:
                details.setdefault(key, result[key])
        fail(module, err, invocation(module, shown))
    module.exit_json(invocation=invocation(module, shown), **result)
