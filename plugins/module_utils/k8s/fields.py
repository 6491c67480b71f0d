# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Who owns a field: reading ``metadata.managedFields``.  Pure.

Every write records, per field manager and operation (``Apply`` for server-side
apply, ``Update`` for create/update/patch), the set of fields it set, as a
``fieldsV1`` tree: ``{"f:spec": {"f:replicas": {}}}``, list items by key
(``"k:{\\"name\\":\\"app\\"}"``), set items by value (``"v:\\"x\\""``), atomic
list items by index (``"i:0"``); ``"."`` marks the item itself.

The engine uses this to tell three kinds of disagreement apart (see
``classify``): a field an imperative edit changed (drift, taken back), a field a
controller or another tool holds (left alone and reported), and a field another
server-side applier owns (a conflict).
"""

from __future__ import annotations

import fnmatch
import json

APPLY = "Apply"
UPDATE = "Update"

# Managers people use by hand.  Their ``Update`` writes are drift from the desired
# state: a reconcile takes those fields back.  kubectl's managers are kubectl-edit,
# kubectl-patch, kubectl-set, kubectl-scale, kubectl-label, kubectl-annotate,
# kubectl-replace, kubectl-create, kubectl-client-side-apply, kubectl-rollout and plain
# "kubectl" (older releases); k9s and web consoles (user agent "Mozilla") edit the same
# way; "OpenAPI-Generator" is the Python client's default (scripts, kubernetes.core's
# non-apply modes).
DEFAULT_DRIFT_MANAGERS = ("kubectl", "kubectl-*", "k9s", "Mozilla", "OpenAPI-Generator")

# Drift: take back.  Held: leave alone, report.  Conflict: fail unless forced.
DRIFT = "drift"
HELD = "held"
CONFLICT = "conflict"
UNOWNED = "unowned"
OURS = "ours"


def entries(live):
    """The managedFields entries of a live object (list of dicts)."""
    return (live.get("metadata") or {}).get("managedFields") or []


def has_apply_entry(live, manager):
    return any(e.get("manager") == manager and e.get("operation") == APPLY for e in entries(live))


def managers(live, operation=None):
    """Names of field managers recorded on a live object (optionally of one operation)."""
    return {e.get("manager") for e in entries(live) if operation is None or e.get("operation") == operation}


def _child(node, element):
    """The key of ``node`` (a fieldsV1 dict) for one path element, or None."""
    kind, value = element
    if kind == "f":
        key = "f:" + value
        return key if key in node else None
    if kind == "i":
        key = "i:%d" % value
        return key if key in node else None
    prefix = "k:" if kind == "k" else "v:"
    for key in node:
        if not key.startswith(prefix):
            continue
        try:
            parsed = json.loads(key[2:])
        except ValueError:
            continue
        if kind == "v" and parsed == value:
            return key
        if kind == "k" and isinstance(parsed, dict) and all(parsed.get(k) == v for k, v in value.items()):
            return key
    return None


def owns(fields_v1, path):
    """Whether a fieldsV1 tree covers ``path``: the field itself, a whole atomic parent, or part of it."""
    node = fields_v1 or {}
    for element in path:
        if not node:  # an empty dict is a leaf: an atomic value owned whole
            return True
        key = _child(node, element)
        if key is None:
            return False
        node = node[key]
    return True


def owners(live, path):
    """``[(manager, operation, subresource)]`` of every entry covering ``path``."""
    out = []
    for entry in entries(live):
        if path and not entry.get("fieldsV1"):
            continue
        if owns(entry.get("fieldsV1"), path):
            out.append((entry.get("manager"), entry.get("operation"), entry.get("subresource") or ""))
    return out


def is_drift_manager(name, patterns=DEFAULT_DRIFT_MANAGERS):
    return any(fnmatch.fnmatchcase(name or "", pattern) for pattern in patterns)


def classify(live, path, manager, drift_managers=DEFAULT_DRIFT_MANAGERS):
    """Why the live value at ``path`` differs from ours: ``(verdict, [other managers])``.

    * OURS — we own it (the server normalised our value, or it is ours and unchanged);
    * CONFLICT — another manager *applied* it (server-side apply): a co-ownership conflict;
    * DRIFT — only imperative edits (``drift_managers`` with operation Update) changed it;
    * HELD — a controller or another tool updated it (an HPA writing ``/scale``, Helm): not ours to take;
    * UNOWNED — nobody owns it (the field is missing): applying sets it.
    """
    found = [(m, op, sub) for m, op, sub in owners(live, path) if m != manager]
    mine = any(m == manager for m, _op, _sub in owners(live, path))
    others = sorted({m for m, _op, _sub in found})
    if not found:
        return (OURS if mine else UNOWNED), []
    if any(op == APPLY for _m, op, _sub in found):
        return CONFLICT, sorted({m for m, op, _sub in found if op == APPLY})
    if all(is_drift_manager(m, drift_managers) for m, _op, _sub in found):
        return DRIFT, others
    return HELD, sorted({m for m, _op, _sub in found if not is_drift_manager(m, drift_managers)})
