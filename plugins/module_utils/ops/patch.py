# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""JSON Patch (RFC 6902) with a ``test`` precondition on what a change was computed from.

A ``resourceVersion`` precondition fails whenever anything in the object changed, and controllers
update a workload's ``status`` (and so its resourceVersion) on their own schedule: a change to a pod
template computed from the spec alone would be refused for nothing.  ``metadata.generation`` moves
when the spec changes (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs; a Deployment's also when its
own annotations change, which only costs a re-read), so a ``test`` of it makes the precondition "the spec is
still what we read", no more.  (A ``test`` of the template
itself does not work: the API server compares the JSON text it encodes, which escapes ``&``, ``<`` and
``>`` as ``\u0026`` ..., with the text of the patch.)

The request itself is ``Client.patch_json`` (the service layer).
"""

from __future__ import annotations

# The API server answers a failed ``test`` operation with 422, reason Invalid, this message, and no causes.
TEST_FAILED_MESSAGE = "the server rejected our request due to an error in our request"


def pointer(path):
    """A JSON Pointer (RFC 6901) for a sequence of keys: ``("metadata", "annotations", "a/b")`` ->
    ``/metadata/annotations/a~1b``."""
    return "".join("/" + str(key).replace("~", "~0").replace("/", "~1") for key in path)


def may_be_failed_test(err):
    """Whether an ApiError can be a failed ``test`` operation (then read the object again to know)."""
    return err.status == 422 and not err.causes and (err.api_message or "") == TEST_FAILED_MESSAGE


def replace_ops(path, value, live):
    """``test`` that ``live``'s spec is unchanged (its ``metadata.generation``; ``resourceVersion`` for an
    object without one), then ``replace`` the value at ``path`` with ``value``."""
    meta = live.get("metadata") or {}
    if meta.get("generation") is not None:
        guard = {"op": "test", "path": "/metadata/generation", "value": meta["generation"]}
    else:
        guard = {"op": "test", "path": "/metadata/resourceVersion", "value": meta.get("resourceVersion")}
    return [guard, {"op": "replace", "path": pointer(path), "value": value}]


def annotation_ops(old, new):
    """Operations turning the object's annotations ``old`` (a dict, or None when absent) into ``new``.

    Only keys that differ are touched (``add`` creates or replaces, ``remove`` deletes); a missing
    annotations map is created whole.
    """
    if old == new:
        return []
    if not old:
        return [{"op": "add", "path": "/metadata/annotations", "value": dict(new or {})}]
    if not new:
        return [{"op": "remove", "path": "/metadata/annotations"}]
    ops = []
    for key in old:
        if key not in new:
            ops.append({"op": "remove", "path": pointer(("metadata", "annotations", key))})
    for key, value in new.items():
        if old.get(key) != value or key not in old:
            ops.append({"op": "add", "path": pointer(("metadata", "annotations", key)), "value": value})
    return ops
