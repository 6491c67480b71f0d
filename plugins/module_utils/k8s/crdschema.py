# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Validate a custom resource against the schema of a CustomResourceDefinition in the same run.

The API server cannot dry-run a custom resource before its definition exists, so
the engine checks it client-side against the definition's ``openAPIV3Schema``
with the ``jsonschema`` library: types, required fields, enums, patterns,
bounds, and unknown fields (the engine applies with ``fieldValidation=Strict``,
so an unknown field is an error there too).  The Kubernetes extensions are
translated: ``x-kubernetes-int-or-string``, ``nullable``,
``x-kubernetes-preserve-unknown-fields`` and ``x-kubernetes-embedded-resource``.
CEL rules (``x-kubernetes-validations``) and formats are left to the server.
"""

from __future__ import annotations

import copy

_OPENAPI_ONLY = ("nullable", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields",
                 "x-kubernetes-embedded-resource", "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
                 "x-kubernetes-map-type", "x-kubernetes-validations", "format")


def to_json_schema(schema, root=False):
    """An OpenAPI v3 structural schema -> a JSON Schema (draft 7) with the same meaning."""
    if not isinstance(schema, dict):
        return {}
    out = {k: copy.deepcopy(v) for k, v in schema.items() if k not in _OPENAPI_ONLY
           and k not in ("properties", "items", "additionalProperties", "allOf", "anyOf", "oneOf", "not")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out[key] = out.get(key, []) + [to_json_schema(s) for s in schema[key]]
    if "not" in schema:
        out["not"] = to_json_schema(schema["not"])
    if "items" in schema:
        out["items"] = to_json_schema(schema["items"])
    props = schema.get("properties")
    if props is not None:
        out["properties"] = {k: to_json_schema(v) for k, v in props.items()}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = to_json_schema(extra)
    elif isinstance(extra, bool):
        out["additionalProperties"] = extra
    elif props is not None and not schema.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if schema.get("x-kubernetes-embedded-resource") or root:
        out.setdefault("properties", {})
        for key in ("apiVersion", "kind"):
            out["properties"].setdefault(key, {"type": "string"})
        out["properties"]["metadata"] = {"type": "object"}  # validated by the engine itself
    return out


def version_schema(crd, version):
    """The ``openAPIV3Schema`` of one version of a CRD manifest (or None)."""
    spec = crd.get("spec") or {}
    for entry in spec.get("versions") or []:
        if entry.get("name") == version:
            return ((entry.get("schema") or {}).get("openAPIV3Schema")
                    or ((spec.get("validation") or {}).get("openAPIV3Schema")))
    return None


def validate(crd, version, obj, limit=10):
    """Problems (list of ``"path: message"`` strings) of ``obj`` against the CRD's schema for ``version``.

    Returns an empty list when the object is valid, when the version has no schema,
    or when the ``jsonschema`` library is not installed (the server validates then).
    """
    schema = version_schema(crd, version)
    if not schema:
        return []
    try:
        import jsonschema
    except ImportError:
        return []
    validator = jsonschema.Draft7Validator(to_json_schema(schema, root=True))
    problems = []
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path) or "(root)"
        message = error.message
        if len(message) > 200:
            message = message[:200] + "..."
        problems.append("%s: %s" % (path, message))
        if len(problems) >= limit:
            break
    return problems
