# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The inventory of an instance, kept the Kubernetes way: an ApplySet (KEP-3659).  Pure.

An ApplySet is a parent object plus its members:

* the parent (here a ConfigMap ``swck-applyset-<instance>`` in the instance's
  namespace) carries the label ``applyset.kubernetes.io/id=<id>`` and the
  annotations ``applyset.kubernetes.io/tooling`` (who manages it),
  ``applyset.kubernetes.io/contains-group-kinds`` (every kind that may have
  members, ``Kind.group`` comma-separated, sorted) and, when members live in other
  namespaces, ``applyset.kubernetes.io/additional-namespaces``;
* every member carries the label ``applyset.kubernetes.io/part-of=<id>``.

The id is ``applyset-<base64url(sha256("<name>.<namespace>.<Kind>.<group>"))>-v1``
(no padding), as KEP-3659 defines it, so ``kubectl`` finds the same members
(``kubectl get cm,deploy -l applyset.kubernetes.io/part-of=<id>``).

The engine lists members only of the kinds and namespaces the parent names, so
a kind that dropped out of the plan is still pruned, and credentials limited to
one namespace never need to list anything cluster-wide.
"""

from __future__ import annotations

import base64
import hashlib
import re

ID_LABEL = "applyset.kubernetes.io/id"
TOOLING_ANNOTATION = "applyset.kubernetes.io/tooling"
GROUP_KINDS_ANNOTATION = "applyset.kubernetes.io/contains-group-kinds"
NAMESPACES_ANNOTATION = "applyset.kubernetes.io/additional-namespaces"
TOOLING = "skywalking.swck/v0.2.0"
PARENT_API_VERSION = "v1"
PARENT_KIND = "ConfigMap"
PARENT_PREFIX = "swck-applyset-"

_INVALID = re.compile(r"[^a-z0-9.-]+")


def parent_name(instance):
    """A valid ConfigMap name for ``instance`` (a label value may hold '_' and capitals)."""
    base = _INVALID.sub("-", instance.lower()).strip("-.") or "x"
    name = PARENT_PREFIX + base
    if base != instance or len(name) > 253:
        digest = hashlib.sha256(instance.encode("utf-8")).hexdigest()[:8]
        name = (PARENT_PREFIX + base)[:240].rstrip("-.") + "-" + digest
    return name


def applyset_id(name, namespace, kind=PARENT_KIND, group=""):
    """KEP-3659 id of the ApplySet whose parent is ``kind.group`` ``namespace/name``."""
    digest = hashlib.sha256(("%s.%s.%s.%s" % (name, namespace or "", kind, group)).encode("utf-8")).digest()
    return "applyset-%s-v1" % base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def format_group_kinds(group_kinds):
    """``{("apps", "Deployment"), ("", "Secret")}`` -> ``"Deployment.apps,Secret"``."""
    return ",".join(sorted(("%s.%s" % (kind, group)) if group else kind for group, kind in group_kinds))


def parse_group_kinds(text):
    """The inverse of ``format_group_kinds``."""
    out = set()
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        kind, _dot, group = item.partition(".")
        out.add((group, kind))
    return out


def parse_namespaces(text):
    return {n.strip() for n in (text or "").split(",") if n.strip()}


class Inventory(object):
    """What the parent says: the kinds and namespaces that may hold members."""

    def __init__(self, name, namespace, group_kinds=None, namespaces=None, live=None):
        self.name = name
        self.namespace = namespace
        self.id = applyset_id(name, namespace)
        self.group_kinds = set(group_kinds or ())
        self.namespaces = set(namespaces or ())
        self.live = live  # the parent as read from the server (None when it does not exist)

    @classmethod
    def from_live(cls, name, namespace, live):
        annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
        return cls(name, namespace, parse_group_kinds(annotations.get(GROUP_KINDS_ANNOTATION)),
                   parse_namespaces(annotations.get(NAMESPACES_ANNOTATION)), live)

    def manifest(self, group_kinds, namespaces, labels=None, data=None):
        """The parent ConfigMap recording ``group_kinds``, the member ``namespaces`` and the caller's ``data``."""
        extra = sorted(n for n in namespaces if n and n != self.namespace)
        annotations = {TOOLING_ANNOTATION: TOOLING, GROUP_KINDS_ANNOTATION: format_group_kinds(group_kinds)}
        if extra:
            annotations[NAMESPACES_ANNOTATION] = ",".join(extra)
        all_labels = dict(labels or {})
        all_labels[ID_LABEL] = self.id
        out = {"apiVersion": PARENT_API_VERSION, "kind": PARENT_KIND,
               "metadata": {"name": self.name, "namespace": self.namespace, "labels": all_labels,
                            "annotations": annotations}}
        if data:
            out["data"] = dict(data)
        return out

    def holds(self, data):
        """Whether the live parent carries exactly ``data`` (the caller's record, e.g. a spec)."""
        return self.live is not None and ((self.live.get("data") or {}) == dict(data or {}))

    def covers(self, group_kinds, namespaces, data=None):
        """Whether the live parent already records at least these kinds and namespaces (and exactly ``data``)."""
        if self.live is None:
            return False
        extra = {n for n in namespaces if n and n != self.namespace}
        return (set(group_kinds) <= self.group_kinds and extra <= self.namespaces and self._current()
                and self.holds(data))

    def _current(self):
        meta = self.live.get("metadata") or {}
        return ((meta.get("annotations") or {}).get(TOOLING_ANNOTATION) == TOOLING
                and (meta.get("labels") or {}).get(ID_LABEL) == self.id)

    def records(self, group_kinds, namespaces, data=None):
        """Whether the live parent already records exactly these kinds and namespaces."""
        if self.live is None:
            return False
        annotations = (self.live.get("metadata") or {}).get("annotations") or {}
        extra = {n for n in namespaces if n and n != self.namespace}
        return (parse_group_kinds(annotations.get(GROUP_KINDS_ANNOTATION)) == set(group_kinds)
                and parse_namespaces(annotations.get(NAMESPACES_ANNOTATION)) == extra and self._current()
                and self.holds(data))
