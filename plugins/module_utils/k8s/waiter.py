# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Bounded, watch-based waiting for objects to become ready (or to be gone).

Each object is followed with a watch on its own name (no polling sleeps).  Every
request carries the wait's deadline, so a wait ends at its timeout even when
the API server stops answering.  Only transient failures (the server
unreachable, 5xx, an expired watch) are retried; any other error (403, 404 of
the type, ...) ends the wait at once with its real cause.  When the budget runs
out the error names every object that is not ready and why: its conditions,
its pods' containers and recent Warning events.  Terminal failures (failed Job,
progress deadline) end the wait early.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from . import readiness
from .errors import ApiError, ConnectionFailure, WaitFailed, WaitTimeout
from .manifest import object_ref

MAX_WAIT_THREADS = 32
# Seconds the "why is it not ready" report may spend reading pods and events after a wait ended.
DIAGNOSIS_BUDGET = 5.0


def selector_string(selector):
    """``LabelSelector`` -> the query-string form (``a=b,c in (d,e),!f``)."""
    if not selector:
        return ""
    parts = ["%s=%s" % (k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            parts.append("%s in (%s)" % (key, ",".join(values)))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (key, ",".join(values)))
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


def _transient(exc):
    """Errors worth re-reading after: the server unreachable, 5xx, an expired watch (410)."""
    if isinstance(exc, ConnectionFailure):
        return True
    if isinstance(exc, ApiError):
        return exc.status >= 500 or exc.status in (410, 429)
    return isinstance(exc, (IOError, OSError, ValueError))


class Waiter(object):
    def __init__(self, client):
        self.client = client

    def wait(self, items, timeout, check=None):
        """Wait for ``items`` (``[(Resource, live object)]``); return their final objects.

        ``timeout``: seconds.  ``check(obj) -> (state, reason)`` replaces the kind's
        readiness rule (e.g. a condition gate).  Raises WaitFailed when any object failed
        for good, WaitTimeout when some are still not ready at the deadline.
        """
        check = check or readiness.evaluate
        items = [(res, obj) for res, obj in items if obj]
        if not items:
            return []
        deadline = time.monotonic() + timeout
        if all(check(obj)[0] == readiness.READY for _res, obj in items):
            return [obj for _res, obj in items]
        workers = min(MAX_WAIT_THREADS, len(items))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda item: self._follow(item[0], item[1], deadline, check), items))
        failed = [(res, obj, reason) for res, obj, state, reason in results if state == readiness.FAILED]
        pending = [(res, obj, reason) for res, obj, state, reason in results if state == readiness.PENDING]
        if failed:
            raise WaitFailed([self._report(res, obj, reason) for res, obj, reason in failed])
        if pending:
            raise WaitTimeout(timeout, [self._report(res, obj, reason) for res, obj, reason in pending])
        return [obj for _res, obj, _state, _reason in results]

    def wait_deleted(self, items, timeout):
        """Wait until every object in ``items`` (``[(Resource, obj)]``) is gone; timeout in seconds."""
        if not items:
            return
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max_workers=min(MAX_WAIT_THREADS, len(items))) as pool:
            left = [r for r in pool.map(lambda item: self._follow_deletion(item[0], item[1], deadline), items) if r]
        if left:
            raise WaitTimeout(timeout, [{"ref": object_ref(obj), "reason": "still exists (finalizers: %s)" % (
                ", ".join((obj.get("metadata") or {}).get("finalizers") or []) or "none"), "summary": "exists"}
                for obj in left])

    def _follow_deletion(self, res, obj, deadline):
        meta = obj.get("metadata") or {}
        name, namespace, uid = meta.get("name"), meta.get("namespace"), meta.get("uid")
        while time.monotonic() < deadline:
            try:
                live = self.client.read(res, namespace, name, deadline=deadline)
                if live is None or (uid and live["metadata"].get("uid") != uid):
                    return None
                obj = live
                for event in self.client.watch(res, namespace, name=name,
                                               resource_version=live["metadata"].get("resourceVersion"),
                                               timeout=min(60.0, deadline - time.monotonic()), deadline=deadline):
                    if event.get("type") == "DELETED":
                        return None
                    if event.get("type") == "ERROR":
                        break
            except Exception as exc:  # noqa: BLE001 - transient ones are retried, the rest re-raised
                if not _transient(exc):
                    raise
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        return obj

    # ------------------------------------------------------------- follow
    def _follow(self, res, obj, deadline, check):
        meta = obj.get("metadata") or {}
        name, namespace = meta.get("name"), meta.get("namespace")
        state, reason = check(obj)
        rv = meta.get("resourceVersion")
        while state == readiness.PENDING:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                if rv is None:
                    obj = self.client.read(res, namespace, name, deadline=deadline)
                    state, reason = check(obj)
                    rv = (obj or {}).get("metadata", {}).get("resourceVersion")
                    if state != readiness.PENDING or obj is None:
                        if obj is None:
                            time.sleep(min(0.5, max(0.0, remaining)))
                        continue
                for event in self.client.watch(res, namespace, name=name, resource_version=rv,
                                               timeout=min(remaining, 60.0), deadline=deadline):
                    kind = event.get("type")
                    body = event.get("object") or {}
                    if kind == "ERROR":
                        rv = None  # 410 Gone or similar: start again from a fresh read
                        break
                    rv = (body.get("metadata") or {}).get("resourceVersion") or rv
                    if kind == "BOOKMARK":
                        continue
                    if kind == "DELETED":
                        obj, state, reason = None, readiness.PENDING, "was deleted while waiting"
                        continue
                    obj = body
                    state, reason = check(obj)
                    if state != readiness.PENDING:
                        break
            except Exception as exc:  # noqa: BLE001 - transient ones are retried, the rest re-raised
                if not _transient(exc):
                    raise
                rv = None
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        return res, obj, state, reason

    # --------------------------------------------------------- diagnosis
    def _report(self, res, obj, reason):
        ref = object_ref(obj) if obj else "%s (deleted)" % res.kind
        details = [reason]
        try:
            details.extend(self._explain(res, obj, time.monotonic() + DIAGNOSIS_BUDGET))
        except Exception as exc:  # noqa: BLE001 - diagnosis is best effort
            details.append("(could not collect details: %s)" % exc)
        return {"ref": ref, "reason": "; ".join(d for d in details if d), "summary": reason}

    def _explain(self, res, obj, deadline):
        if not obj:
            return []
        out = []
        for cond in (obj.get("status") or {}).get("conditions") or []:
            ctype, status = cond.get("type"), cond.get("status")
            healthy_true = ctype not in ("Failed", "FailureTarget", "ReplicaFailure", "Suspended")
            if (status != "True") == healthy_true:
                text = "%s=%s" % (ctype, status)
                if cond.get("reason"):
                    text += " (%s)" % cond["reason"]
                if cond.get("message"):
                    text += ": %s" % cond["message"]
                out.append(text)
        namespace = obj["metadata"].get("namespace")
        out.extend(self._events(namespace, obj["metadata"]["name"], obj.get("kind"), deadline))
        selector = (obj.get("spec") or {}).get("selector")
        if res.kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet") and selector:
            pods = self.client.list(self.client.resource("v1", "Pod"), namespace,
                                    label_selector=selector_string(selector), deadline=deadline)
            bad = [p for p in pods if readiness.pod(p)[0] != readiness.READY]
            for pod in bad[:3]:
                out.append("pod %s: %s" % (pod["metadata"]["name"], readiness.pod(pod)[1]))
                out.extend(self._events(namespace, pod["metadata"]["name"], "Pod", deadline))
            if len(bad) > 3:
                out.append("... and %d more pod(s) not ready" % (len(bad) - 3))
            if not pods and res.kind != "Job":
                out.append("no pods exist for selector %s" % selector_string(selector))
        return out

    def _events(self, namespace, name, kind, deadline, limit=2):
        if not namespace:
            return []
        events = self.client.list(
            self.client.resource("v1", "Event"), namespace,
            field_selector="involvedObject.name=%s,involvedObject.kind=%s,type=Warning" % (name, kind),
            deadline=deadline)
        events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")
        return ["event %s: %s" % (e.get("reason"), (e.get("message") or "").strip()) for e in events[-limit:]]
