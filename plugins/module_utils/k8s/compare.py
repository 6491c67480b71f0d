# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Pure comparison: does the live object hold every desired value?  And diffs.

``differences(desired, live, node, schemas)`` walks the desired manifest beside
the live object and the kind's type node (schema.py) and reports every place
where the live object disagrees:

* only desired fields are visited: fields the server or other managers add are
  not differences;
* lists are compared the way server-side apply merges them: a ``map`` list item
  by item, matched by its keys (``containers`` by ``name``), so items other
  managers added do not count; a ``set`` by membership; any other list whole;
* a struct or map marked atomic must not hold keys beyond the desired ones;
* scalars are compared exactly by type (``"8080"`` is not ``8080``; an int and a
  float of the same value are equal, as JSON numbers are); quantities are
  compared by amount only where the type says quantity (``0.5`` == ``500m`` for a
  cpu request; ``"1.10"`` != ``"1.1"`` in a ConfigMap);
* a desired zero value (``""``, ``0``, ``false``, ``{}``, ``[]``) equals an absent
  live field: the API server drops omitted-when-empty fields.

Paths are tuples of field-path elements, the way ``managedFields`` address fields:
``("f", name)``, ``("k", {key: value})`` (an item of a map list), ``("v", value)``
(an item of a set), ``("i", index)`` (an item of an atomic list).
"""

from __future__ import annotations

import copy
import json

from . import quantity
from .schema import GENERIC, QUANTITY

NOISY_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink")
MASK = "********"


class Difference(object):
    """One desired value the live object does not hold."""

    __slots__ = ("path", "want", "have")

    def __init__(self, path, want, have):
        self.path = path
        self.want = want
        self.have = have

    def __repr__(self):
        return "Difference(%s: want %r, have %r)" % (path_text(self.path), self.want, self.have)


def path_text(path):
    """``(("f","spec"),("f","containers"),("k",{"name":"app"}),("f","image"))`` -> ``.spec.containers[name=app].image``."""
    out = []
    for kind, value in path:
        if kind == "f":
            out.append("." + value)
        elif kind == "k":
            out.append("[%s]" % ",".join("%s=%s" % (k, _scalar_text(v)) for k, v in sorted(value.items())))
        elif kind == "v":
            out.append("[=%s]" % _scalar_text(value))
        else:
            out.append("[%d]" % value)
    return "".join(out) or "."


def _scalar_text(value):
    return value if isinstance(value, str) else json.dumps(value)


def is_zero(value):
    return value is None or value == "" or value is False or value == {} or value == [] or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)


def scalars_equal(desired, live, node=GENERIC):
    """Exact, type-aware equality; by amount where ``node`` is a quantity."""
    if node == QUANTITY:
        if desired == live and type(desired) is type(live):
            return True
        return quantity.equal(desired, live)
    if isinstance(desired, bool) or isinstance(live, bool):
        return isinstance(desired, bool) and isinstance(live, bool) and desired == live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return desired == live
    return type(desired) is type(live) and desired == live


def differences(desired, live, node=GENERIC, schemas=None, limit=50, path=()):
    """List of :class:`Difference` where ``live`` does not hold ``desired`` (at most ``limit``)."""
    found = []
    _Walker(schemas, found, limit).walk(desired, live, node, path)
    return found


def contains(desired, live, node=GENERIC, schemas=None):
    """True when ``live`` already holds every desired value."""
    return not differences(desired, live, node, schemas, limit=1)


class _Walker(object):
    def __init__(self, schemas, found, limit):
        self.schemas = schemas
        self.found = found
        self.limit = limit

    def resolve(self, node):
        if isinstance(node, dict) and "r" in node:
            return self.schemas.resolve(node) if self.schemas is not None else GENERIC
        return node

    def add(self, path, want, have):
        if len(self.found) < self.limit:
            self.found.append(Difference(path, want, have))

    def walk(self, desired, live, node, path):
        if len(self.found) >= self.limit or desired is None:
            return
        node = self.resolve(node)
        if live is None:
            if not is_zero(desired):
                self.add(path, desired, None)
            return
        if isinstance(desired, dict):
            self.walk_map(desired, live, node, path)
        elif isinstance(desired, list):
            self.walk_list(desired, live, node, path)
        elif not scalars_equal(desired, live, node):
            self.add(path, desired, live)

    def walk_map(self, desired, live, node, path):
        if not isinstance(live, dict):
            self.add(path, desired, live)
            return
        fields = node.get("f") if isinstance(node, dict) else None
        values = node.get("m") if isinstance(node, dict) else None
        for key, value in desired.items():
            if fields is not None:
                sub = fields.get(key, GENERIC)
            elif values is not None:
                sub = values
            else:
                sub = GENERIC
            self.walk(value, live.get(key), sub, path + (("f", key),))
        if isinstance(node, dict) and node.get("a"):
            extra = [k for k, v in live.items() if k not in desired and not is_zero(v)]
            if extra:
                self.add(path, desired, live)

    def walk_list(self, desired, live, node, path):
        if not isinstance(live, list):
            self.add(path, desired, live)
            return
        list_type = node.get("t", "atomic") if isinstance(node, dict) and "l" in node else "atomic"
        item_node = node.get("l", GENERIC) if isinstance(node, dict) else GENERIC
        if list_type == "map":
            keys = node.get("k") or []
            for item in desired:
                if not isinstance(item, dict):
                    self.add(path, desired, live)
                    return
                match = find_item(live, item, keys)
                if match is None:
                    self.add(path + (("k", item_key(item, keys)),), item, None)
                else:
                    self.walk(item, match, item_node, path + (("k", item_key(match, keys)),))
        elif list_type == "set":
            for item in desired:
                if not any(scalars_equal(item, have, item_node) for have in live):
                    self.add(path + (("v", item),), item, None)
        else:
            if len(desired) != len(live):
                self.add(path, desired, live)
                return
            for i, (want, have) in enumerate(zip(desired, live)):
                self.walk(want, have, item_node, path + (("i", i),))


def item_key(item, keys):
    """The key fields of a map-list item that it sets."""
    return {k: item[k] for k in keys if k in item}


def find_item(items, wanted, keys):
    """The item of ``items`` whose key fields equal those ``wanted`` sets (unset keys match any value)."""
    probe = item_key(wanted, keys)
    if not probe:
        return None
    for item in items:
        if isinstance(item, dict) and all(k in item and scalars_equal(v, item[k]) for k, v in probe.items()):
            return item
    return None


def strip_path(body, path):
    """Remove the field at ``path`` (field-path elements) from ``body`` in place; True when found."""
    node = body
    for depth, (kind, value) in enumerate(path):
        last = depth == len(path) - 1
        if kind == "f":
            if not isinstance(node, dict) or value not in node:
                return False
            if last:
                del node[value]
                return True
            node = node[value]
        elif kind == "k":
            if not isinstance(node, list):
                return False
            match = None
            for item in node:
                if isinstance(item, dict) and all(item.get(k) == v for k, v in value.items()):
                    match = item
                    break
            if match is None:
                return False
            if last:
                node.remove(match)
                return True
            node = match
        elif kind == "v":
            if not isinstance(node, list) or value not in node:
                return False
            if last:
                node.remove(value)
                return True
            return False
        else:
            if not isinstance(node, list) or value >= len(node):
                return False
            if last:
                del node[value]
                return True
            node = node[value]
    return False


def clean(obj, keep_status=False, hidden_annotations=()):
    """A copy without server bookkeeping, for diffs and results."""
    if not obj:
        return {}
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    for key in NOISY_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if annotations:
        for key in tuple(hidden_annotations) + ("kubectl.kubernetes.io/last-applied-configuration",):
            annotations.pop(key, None)
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
