# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Pure comparison helpers: is the live object already what we want, and diffs.

``differences(desired, live)`` walks the desired manifest and reports every
place where the live object disagrees.  Fields the server adds (defaults,
status) are ignored because only desired fields are visited.  Values that the
API server normalises are compared semantically: resource quantities
("1000m" == "1", "1Gi" == "1073741824"), ints and floats, and empty
containers versus absent fields.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal, InvalidOperation

from .manifest import APPLIED_ANNOTATION

_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")

NOISY_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink")
MASK = "********"


def parse_quantity(value):
    """Parse a Kubernetes resource quantity into a Decimal; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match:
        return None
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:
        return None
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    return number * _DECIMAL[suffix]


def _empty(value):
    return value is None or value == {} or value == []


def scalars_equal(desired, live):
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired == live and isinstance(desired, bool) and isinstance(live, bool)
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return desired == live
    # Quantities: the server canonicalises them ("0.5" -> "500m", 2 -> "2").
    if isinstance(desired, (str, int, float)) and isinstance(live, (str, int, float)):
        if isinstance(desired, str) and isinstance(live, str) and desired == live:
            return True
        a, b = parse_quantity(desired), parse_quantity(live)
        if a is not None and b is not None and (isinstance(desired, str) or isinstance(live, str)):
            return a == b
    return False


def differences(desired, live, path="", limit=20):
    """List of ``(path, desired, live)`` where ``live`` does not contain ``desired``."""
    found = []
    _walk(desired, live, path, found, limit)
    return found


def _walk(desired, live, path, found, limit):
    if len(found) >= limit:
        return
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            if not (_empty(desired) and live is None):
                found.append((path or ".", desired, live))
            return
        for key, value in desired.items():
            sub = "%s.%s" % (path, key)
            if key not in live or live[key] is None:
                if not _empty(value):
                    found.append((sub, value, None))
                continue
            _walk(value, live[key], sub, found, limit)
        return
    if isinstance(desired, list):
        if not isinstance(live, list):
            if not (_empty(desired) and live is None):
                found.append((path, desired, live))
            return
        if len(desired) != len(live):
            found.append((path, "%d item(s)" % len(desired), "%d item(s)" % len(live)))
            return
        for i, (d, l_item) in enumerate(zip(desired, live)):
            _walk(d, l_item, "%s[%d]" % (path, i), found, limit)
        return
    if desired is None:
        return
    if not scalars_equal(desired, live):
        found.append((path, desired, live))


def contains(desired, live):
    """True when ``live`` already holds every desired value."""
    return not differences(desired, live, limit=1)


def managers(live, operation=None):
    """Names of field managers recorded on a live object (optionally of one operation)."""
    out = set()
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if operation is None or entry.get("operation") == operation:
            out.add(entry.get("manager"))
    return out


def in_sync(desired, live, field_manager):
    """Whether applying ``desired`` would change nothing.

    Three things must hold: the live object carries the fingerprint of exactly
    this manifest (so the set of fields we own is the same as last time), our
    field manager still holds an Apply entry, and every desired value is live.
    """
    if not live:
        return False
    want = ((desired.get("metadata") or {}).get("annotations") or {}).get(APPLIED_ANNOTATION)
    have = ((live.get("metadata") or {}).get("annotations") or {}).get(APPLIED_ANNOTATION)
    if not want or want != have:
        return False
    if field_manager not in managers(live, "Apply"):
        return False
    return contains(desired, live)


def clean(obj, keep_status=False):
    """A copy without server bookkeeping, for diffs and results."""
    if not obj:
        return {}
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for key in NOISY_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if annotations:
        annotations.pop(APPLIED_ANNOTATION, None)
        annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
        if not annotations:
            meta.pop("annotations")
    if not keep_status:
        out.pop("status", None)
    return out


def mask_secret_pair(before, after):
    """Mask Secret values in a before/after pair; a changed value shows as changed."""
    if (before or after or {}).get("kind") != "Secret":
        return before, after
    before = copy.deepcopy(before) if before else before
    after = copy.deepcopy(after) if after else after
    old = dict((before or {}).get("data") or {})
    new = dict((after or {}).get("data") or {})
    if before and before.get("data"):
        before["data"] = {k: MASK for k in old}
    if after and after.get("data"):
        after["data"] = {k: (MASK if old.get(k) == v else MASK + " (changed)") for k, v in new.items()}
    for side in (before, after):
        if side and side.get("stringData"):
            side["stringData"] = {k: MASK for k in side["stringData"]}
    return before, after
