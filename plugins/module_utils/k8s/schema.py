# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""What the comparison needs to know about a kind's fields: list and map types, quantities.

The source of truth is the cluster's OpenAPI v3 document (``/openapi/v3``): its
``x-kubernetes-list-type`` / ``x-kubernetes-list-map-keys`` say how server-side
apply merges a list (by key, as a set, or whole), ``x-kubernetes-map-type`` how
it merges a map or struct, and ``$ref`` to ``io.k8s.apimachinery.pkg.api.resource.Quantity``
marks the values the API server canonicalises (``0.5`` is stored as ``500m``).

``reduce_openapi`` turns an OpenAPI v3 document into a small type graph that
keeps only that information.  For the built-in kinds the graph was generated
once from the API server (``hack/gen_schema.py`` -> ``schema_data.py``), so the
common case costs no request; other kinds (custom resources) are reduced from
the server's document on demand and cached on disk by the document's content
hash (``~/.cache/skywalking-swck/openapi``).

Type nodes (JSON-friendly, so they can be generated and cached):

* ``"q"`` — a resource quantity: compared by amount;
* ``"g"`` — anything else: scalars compared exactly, maps key by key, lists whole;
* ``{"f": {field: node}, "a": 1}`` — a struct with the listed fields (others ``"g"``);
  ``"a"`` marks it atomic (one owner replaces it whole);
* ``{"m": node, "a": 1}`` — a map of string to ``node``; ``"a"``: atomic;
* ``{"l": node, "t": "map", "k": [keys]}`` — a list merged by the item keys;
  ``"t": "set"`` — a list of unique scalars; ``"t": "atomic"`` (or no ``t``) — a whole list;
* ``{"r": name}`` — the named definition.
"""

from __future__ import annotations

import json
import os
import threading

GENERIC = "g"
QUANTITY = "q"
QUANTITY_REF = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_REF_PREFIX = "#/components/schemas/"


def _ref_of(schema):
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if ref is None:
        for sub in schema.get("allOf") or []:
            ref = _ref_of(sub)
            if ref:
                break
    if ref and ref.startswith(_REF_PREFIX):
        return ref[len(_REF_PREFIX):]
    return ref


class _Reducer(object):
    """Reduce OpenAPI v3 schemas to type nodes, keeping named definitions as references."""

    def __init__(self, schemas, short=None):
        self.schemas = schemas
        self.short = short or (lambda name: name)
        self.definitions = {}
        self._state = {}  # name -> "busy" | "done"

    def definition(self, name):
        """The node for definition ``name``: GENERIC when it holds nothing of interest."""
        if name == QUANTITY_REF:
            return QUANTITY
        state = self._state.get(name)
        if state == "busy":
            return {"r": self.short(name)}  # recursive type: resolved through the table
        if state == "done":
            node = self.definitions.get(self.short(name), GENERIC)
            return GENERIC if node == GENERIC else {"r": self.short(name)}
        schema = self.schemas.get(name)
        if schema is None:
            return GENERIC
        self._state[name] = "busy"
        node = self.node(schema)
        self._state[name] = "done"
        if node != GENERIC:
            self.definitions[self.short(name)] = node
            return {"r": self.short(name)}
        return GENERIC

    def node(self, schema):
        if not isinstance(schema, dict):
            return GENERIC
        ref = _ref_of(schema)
        if ref:
            return self.definition(ref)
        if schema.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-preserve-unknown-fields"):
            if not schema.get("properties"):
                return GENERIC
        kind = schema.get("type")
        if kind == "array" or "items" in schema:
            item = self.node(schema.get("items") or {})
            list_type = schema.get("x-kubernetes-list-type") or "atomic"
            if list_type == "atomic" and item == GENERIC:
                return GENERIC
            out = {"l": item, "t": list_type}
            if list_type == "map":
                out["k"] = list(schema.get("x-kubernetes-list-map-keys") or [])
            return out
        atomic = schema.get("x-kubernetes-map-type") == "atomic"
        props = schema.get("properties")
        if props:
            fields = {}
            for field, sub in sorted(props.items()):
                node = self.node(sub)
                if node != GENERIC:
                    fields[field] = node
            if not fields and not atomic:
                return GENERIC
            out = {"f": fields}
            if atomic:
                out["a"] = 1
            return out
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            value = self.node(extra)
            if value == GENERIC and not atomic:
                return GENERIC
            out = {"m": value}
            if atomic:
                out["a"] = 1
            return out
        if atomic:
            return {"f": {}, "a": 1}
        return GENERIC


def short_name(name):
    """Shorter definition names for the generated table (``io.k8s.api.core.v1.PodSpec`` -> ``core.v1.PodSpec``)."""
    for prefix in ("io.k8s.api.", "io.k8s.apimachinery.pkg.apis.", "io.k8s.kube-aggregator.pkg.apis.",
                   "io.k8s.apiextensions-apiserver.pkg.apis."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def reduce_openapi(doc, short=short_name):
    """An OpenAPI v3 document -> ``(definitions, kinds)``.

    ``definitions``: {short name: node} for every definition that holds a list
    type, map type or quantity; ``kinds``: {"apiVersion/Kind": node} for every
    definition carrying ``x-kubernetes-group-version-kind``.
    """
    schemas = ((doc or {}).get("components") or {}).get("schemas") or {}
    reducer = _Reducer(schemas, short)
    kinds = {}
    for name in sorted(schemas):
        schema = schemas[name]
        gvks = schema.get("x-kubernetes-group-version-kind") if isinstance(schema, dict) else None
        node = reducer.definition(name)
        for gvk in gvks or []:
            group, version, kind = gvk.get("group"), gvk.get("version"), gvk.get("kind")
            if not kind or kind.endswith("List") or kind in ("Status", "WatchEvent", "DeleteOptions"):
                continue
            api_version = "%s/%s" % (group, version) if group else version
            kinds["%s/%s" % (api_version, kind)] = node
    return reducer.definitions, kinds


class Schemas(object):
    """Look up type nodes: the built-in table first, then (optionally) the server's OpenAPI v3.

    ``client`` is optional: without it unknown kinds are compared generically.
    """

    def __init__(self, client=None, cache_dir=None, builtin=None):
        if builtin is None:
            from . import schema_data

            builtin = (schema_data.DEFINITIONS, schema_data.KINDS)
        self.definitions = dict(builtin[0])
        self.kinds = dict(builtin[1])
        self.client = client
        self.cache_dir = cache_dir if cache_dir is not None else _default_cache_dir()
        self._lock = threading.Lock()
        self._index = None
        self._loaded = set()

    def node_for(self, api_version, kind):
        """Type node of a whole object of ``kind`` (GENERIC when nothing is known)."""
        key = "%s/%s" % (api_version, kind)
        node = self.kinds.get(key)
        if node is None and self.client is not None:
            self._load_group_version(api_version)
            node = self.kinds.get(key)
        return node if node is not None else GENERIC

    def resolve(self, node):
        """Follow ``{"r": name}`` references."""
        while isinstance(node, dict) and "r" in node:
            node = self.definitions.get(node["r"], GENERIC)
        return node

    # ------------------------------------------------------------ dynamic
    def _load_group_version(self, api_version):
        with self._lock:
            if api_version in self._loaded:
                return
            self._loaded.add(api_version)
            try:
                if self._index is None:
                    self._index = (self.client.openapi_v3_index().get("paths") or {})
                entry = self._index.get("api/v1" if api_version == "v1" else "apis/" + api_version) or {}
                url = entry.get("serverRelativeURL")
                if not url:
                    return
                reduced = self._cached(url)
                if reduced is None:
                    # Definition names of custom resources are unique per group-version: keep them long.
                    reduced = reduce_openapi(self.client.openapi_v3(url), short=lambda n: api_version + ":" + n)
                    self._store(url, reduced)
            except Exception:  # noqa: BLE001 - without the schema the comparison is generic (exact lists)
                return
            definitions, kinds = reduced
            self.definitions.update(definitions)
            for key, node in kinds.items():
                self.kinds.setdefault(key, node)

    def _cache_file(self, url):
        if not self.cache_dir or "hash=" not in url:
            return None
        digest = url.split("hash=", 1)[1].split("&", 1)[0]
        if not digest.isalnum():
            return None
        return os.path.join(self.cache_dir, digest + ".json")

    def _cached(self, url):
        path = self._cache_file(url)
        if not path:
            return None
        try:
            with open(path, "r") as handle:
                data = json.load(handle)
            return data["definitions"], data["kinds"]
        except (IOError, OSError, ValueError, KeyError):
            return None

    def _store(self, url, reduced):
        path = self._cache_file(url)
        if not path:
            return
        try:
            os.makedirs(self.cache_dir, exist_ok=True)
            tmp = "%s.%d.tmp" % (path, os.getpid())
            with open(tmp, "w") as handle:
                json.dump({"definitions": reduced[0], "kinds": reduced[1]}, handle, separators=(",", ":"))
            os.replace(tmp, path)
        except (IOError, OSError):
            pass  # a read-only home directory only costs the cache


def _default_cache_dir():
    base = os.environ.get("SWCK_CACHE_DIR")
    if base:
        return os.path.join(base, "openapi")
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "skywalking-swck", "openapi")
