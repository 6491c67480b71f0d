# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The apply engine: reconcile a list of manifests in one call.

Steps of ``Engine.apply``:

1. validate every manifest and resolve every kind (nothing written yet);
2. read what is live: one LIST per kind with the ownership label selector,
   plus a GET for objects that are not (yet) ours;
3. skip objects that are already in sync (no request at all);
4. preflight: a server dry run of every object that would change, so schema,
   admission or ownership conflicts fail the run before the first write;
5. server-side apply, phase by phase (namespaces, definitions, config,
   workloads, the rest), objects of one phase concurrently;
6. prune objects carrying this instance's labels that are no longer desired;
7. optionally wait for workloads to become ready.

In check mode step 5 is a server dry run (``dryRun=All``) and steps 4, 6's
writes and 7 change nothing.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from . import compare, manifest, ordering, readiness
from .client import APPLY_PATCH, Resource
from .errors import ApiError, ConflictError, SpecError, SwckError, is_conflict_cause
from .waiter import Waiter

CREATED = "created"
CONFIGURED = "configured"
UNCHANGED = "unchanged"
PRUNED = "pruned"
DELETED = "deleted"
ABSENT = "absent"
SKIPPED = "skipped"

CHANGING_ACTIONS = frozenset([CREATED, CONFIGURED, PRUNED, DELETED])


class Planned(object):
    """One desired object on its way to the cluster."""

    __slots__ = ("path", "body", "res", "ref", "key", "live", "known", "after", "action", "deferred")

    def __init__(self, path, body):
        self.path = path
        self.body = body
        self.res = None
        self.ref = manifest.object_ref(body)
        self.key = None
        self.live = None
        self.known = False  # True once ``live`` reflects the server (None = absent)
        self.after = None
        self.action = None
        self.deferred = False  # kind defined by a CRD applied in this same run

    @property
    def namespace(self):
        return self.body["metadata"].get("namespace")

    @property
    def name(self):
        return self.body["metadata"]["name"]

    def item_path(self):
        return self.res.path(self.namespace, self.name)


class Result(object):
    def __init__(self):
        self.objects = []  # dicts: apiVersion, kind, namespace, name, action
        self.diffs = []  # (header, before, after)
        self.warnings = []

    @property
    def changed(self):
        return any(o["action"] in CHANGING_ACTIONS for o in self.objects)

    def counts(self):
        out = {}
        for obj in self.objects:
            out[obj["action"]] = out.get(obj["action"], 0) + 1
        return out

    def add(self, obj, action, before=None, after=None, want_diff=False, source=None):
        meta = obj.get("metadata") or {}
        entry = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name"),
                 "namespace": meta.get("namespace"), "action": action}
        if source:
            entry["source"] = source
        self.objects.append(entry)
        if want_diff and action in CHANGING_ACTIONS:
            b, a = compare.mask_secret_pair(compare.clean(before), compare.clean(after))
            self.diffs.append((manifest.object_ref(obj), b or {}, a or {}))


def _with_type(res, item):
    item.setdefault("apiVersion", res.api_version)
    item.setdefault("kind", res.kind)
    return item


class Engine(object):
    def __init__(self, client, field_manager="skywalking.swck", check_mode=False, force_conflicts=False,
                 preflight=True, workers=10):
        self.client = client
        self.field_manager = field_manager
        self.check_mode = check_mode
        self.force_conflicts = force_conflicts
        self.preflight = preflight
        self.workers = workers
        self._lock = threading.Lock()
        self.drift = []  # fields taken back from imperative edits, reported as warnings

    # ============================================================ planning
    def plan(self, definitions, instance, namespace=None):
        """Validate and resolve everything; return Planned objects.  No writes."""
        manifest.validate_instance(instance)
        if namespace is not None and not manifest.is_dns_label(namespace):
            raise SpecError("namespace", "%r is not a valid namespace name" % (namespace,))
        if isinstance(definitions, list) and definitions and all(
                isinstance(d, tuple) and len(d) == 2 for d in definitions):
            raw = list(definitions)  # already loaded: (source path, object) pairs
        else:
            raw = manifest.load_definitions(definitions)
        for path, obj in raw:
            manifest.validate_object(path, obj)
        crd_kinds = {}
        for path, obj in raw:
            if obj["kind"] == "CustomResourceDefinition":
                spec = obj.get("spec") or {}
                names = spec.get("names") or {}
                for version in spec.get("versions") or []:
                    crd_kinds[("%s/%s" % (spec.get("group"), version.get("name")), names.get("kind"))] = (
                        names.get("plural"), spec.get("scope") == "Namespaced")
        planned = []
        seen = {}
        for path, obj in raw:
            try:
                res = self.client.resource(obj["apiVersion"], obj["kind"])
                deferred = False
            except SwckError as err:
                if isinstance(err, ApiError) and err.status not in (404,):
                    raise
                pending = crd_kinds.get((obj["apiVersion"], obj["kind"]))
                if pending is None:
                    raise SpecError(path + ".kind", err.msg)
                res = Resource(obj["apiVersion"], obj["kind"], pending[0], pending[1])
                deferred = True
            obj = dict(obj)
            meta = dict(obj["metadata"])
            obj["metadata"] = meta
            if res.namespaced:
                meta["namespace"] = meta.get("namespace") or namespace
                if not meta["namespace"]:
                    raise SpecError(path + ".metadata.namespace",
                                    "is required for namespaced kind %s (or set the namespace option)" % res.kind)
            else:
                meta.pop("namespace", None)
            item = Planned(path, manifest.prepare(obj, instance, path))
            item.res = res
            item.deferred = deferred
            item.key = manifest.identity(item.body)
            if item.key in seen:
                raise SpecError(path, "%s is also defined at %s" % (item.ref, seen[item.key]))
            seen[item.key] = path
            planned.append(item)
        return planned

    # ============================================================== apply
    def apply(self, definitions, instance, namespace=None, prune=False, prune_kinds=None, wait=False,
              wait_timeout=300, diff=False):
        planned = self.plan(definitions, instance, namespace)
        prune_resources = self._prune_resources(planned, prune_kinds) if prune else []
        result = Result()
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            self._pool = pool
            listed = self._prefetch(planned, prune_resources, instance, read_unowned=diff)
            todo = []
            for p in planned:
                if compare.in_sync(p.body, p.live, self.field_manager):
                    p.action, p.after = UNCHANGED, p.live
                else:
                    todo.append(p)
            creating_ns = {p.name for p in todo if p.body["kind"] == "Namespace" and p.known and p.live is None}
            if self.preflight and not self.check_mode and todo:
                self._preflight(todo, creating_ns)
            for phase in ordering.phases(todo, lambda p: p.body["kind"]):
                self._map(lambda p: self._apply_one(p, creating_ns), phase)
                crds = [p for p in phase if p.body["kind"] == "CustomResourceDefinition"]
                if crds:
                    self._crds_ready(crds)
            for p in planned:
                result.add(p.body, p.action, p.live, p.after, diff, p.path)
            if prune:
                desired = {p.key for p in planned}
                prunable = {(res.group, res.kind) for res in prune_resources}
                self._prune([o for o in listed if manifest.identity(o)[:2] in prunable], desired, result, diff)
            if wait and not self.check_mode:
                waitable = [(p.res, p.after) for p in planned if p.body["kind"] in readiness.WAITABLE_KINDS]
                Waiter(self.client).wait(waitable, wait_timeout)
        result.warnings = list(self.client.warnings) + list(self.drift)
        return result

    def _map(self, fn, items):
        """Run ``fn`` over ``items`` concurrently; re-raise the first error after all finish."""
        if len(items) == 1:
            return [fn(items[0])]
        futures = [self._pool.submit(fn, item) for item in items]
        results, first_error = [], None
        for future in futures:
            try:
                results.append(future.result())
            except BaseException as exc:  # noqa: BLE001 - collected, re-raised below
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return results

    # ---------------------------------------------------------- prefetch
    def _prune_resources(self, planned, prune_kinds):
        explicit = []
        for spec in prune_kinds or []:
            api_version, kind = spec.rpartition("/")[::2]
            if not api_version:
                raise SpecError("prune_kinds", "%r must be apiVersion/Kind, e.g. apps/v1/Deployment" % spec)
            try:
                explicit.append(self.client.resource(api_version, kind))
            except SwckError as err:
                raise SpecError("prune_kinds", err.msg)
        wanted = [self.client.resource(av, k) for av, k in ordering.DEFAULT_PRUNE_KINDS]
        wanted += [p.res for p in planned if p.res.kind not in ordering.NEVER_PRUNED_BY_DEFAULT and not p.deferred]
        wanted += explicit
        out, seen = [], set()
        for res in wanted:
            key = (res.group, res.kind)
            if key not in seen:
                seen.add(key)
                out.append(res)
        return out

    def _list_owned(self, res, selector, namespaces):
        """Owned objects of one kind: one cluster-wide LIST, per namespace when that is forbidden."""
        try:
            return [_with_type(res, i) for i in
                    self.client.request("GET", res.path(), query={"labelSelector": selector}).get("items", [])]
        except ApiError as err:
            if err.status != 403 or not res.namespaced:
                raise
        items = []
        for ns in sorted(namespaces):
            try:
                body = self.client.request("GET", res.path(ns), query={"labelSelector": selector})
            except ApiError as err:
                if err.status in (403, 404):
                    continue
                raise
            items.extend(_with_type(res, i) for i in body.get("items", []))
        return items

    def _prefetch(self, planned, prune_resources, instance, read_unowned=False):
        """Read the live state of owned objects with one LIST per kind.

        Objects the LISTs do not return are absent or not ours yet; either way they
        will be applied.  They are read one by one only when a diff needs their
        previous state (and Namespaces, to know which ones this run creates).
        """
        selector = manifest.ownership_selector(instance)
        namespaces = {p.namespace for p in planned if p.namespace}
        kinds, seen = [], set()
        for res in [p.res for p in planned if not p.deferred] + list(prune_resources):
            key = (res.api_version, res.kind)
            if key not in seen:
                seen.add(key)
                kinds.append(res)
        lists = self._map(lambda res: self._list_owned(res, selector, namespaces), kinds)
        live = {}
        for items in lists:
            for item in items:
                live[manifest.identity(item)] = item
        missing = []
        for p in planned:
            if p.key in live:
                p.live, p.known = live[p.key], True
            elif not p.deferred and (read_unowned or p.body["kind"] == "Namespace"):
                missing.append(p)
        if missing:
            self._map(self._read_live, missing)
        return list(live.values())

    # --------------------------------------------------------- preflight
    def _preflight(self, todo, creating_ns):
        """Dry-run every object that would change; report every refusal together.

        Objects in a namespace this run creates, and custom resources whose
        definition it creates, cannot be dry-run yet; they are validated when applied.
        """
        problems = []
        conflicts = []

        def check(p):
            if p.deferred or p.namespace in creating_ns:
                return
            try:
                self._patch(p, dry_run=True)
            except ConflictError as err:
                conflicts.append(err)
            except ApiError as err:
                if err.status == 404 and p.namespace:
                    problems.append("%s (%s): namespace %s does not exist and is not created by this run"
                                    % (p.path, p.ref, p.namespace))
                else:
                    problems.append("%s (%s): %s" % (p.path, p.ref, err.api_message or err.msg))
            except SwckError as err:
                problems.append(err.msg)

        self._map(check, todo)
        if conflicts:
            raise conflicts[0] if len(conflicts) == 1 else SwckError(
                "apply conflicts with other field managers (nothing was changed):\n  "
                + "\n  ".join(c.msg for c in conflicts), conflicts=[c.conflicts for c in conflicts])
        if problems:
            raise SwckError("the API server rejected %d object(s); nothing was changed:\n  %s"
                            % (len(problems), "\n  ".join(sorted(problems))), rejected=sorted(problems))

    # ------------------------------------------------------------- write
    def _patch(self, p, dry_run, force=None):
        force = self.force_conflicts if force is None else force
        query = {"fieldManager": self.field_manager, "fieldValidation": "Strict",
                 "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        try:
            return _with_type(p.res, self.client.request("PATCH", p.item_path(), query=query, body=p.body,
                                                         content_type=APPLY_PATCH))
        except ApiError as err:
            if err.is_field_conflict:
                if not p.known:
                    self._read_live(p)
                conflicts = [{"field": c.get("field", "?"), "manager": _manager_from(c.get("message", ""))}
                             for c in err.causes if is_conflict_cause(c)]
                appliers = compare.managers(p.live or {}, "Apply")
                if p.live and not any(c["manager"] in appliers for c in conflicts):
                    # Only imperative edits (kubectl edit/scale/patch: operation Update) own these
                    # fields: that is drift, and a reconcile takes the fields back.
                    if not dry_run:
                        with self._lock:
                            self.drift.append("%s: took back %s from %s" % (
                                p.ref, ", ".join(c["field"] for c in conflicts),
                                ", ".join(sorted({c["manager"] for c in conflicts}))))
                    return self._patch(p, dry_run, force=True)
                raise ConflictError(p.ref, conflicts)
            if err.status == 422 or err.status == 400:
                raise SwckError("%s (%s): rejected by the API server: %s" % (p.path, p.ref, err.api_message),
                                status=err.status, causes=err.causes)
            raise

    def _apply_one(self, p, creating_ns):
        if not p.known and p.deferred:
            self._read_live(p)
            if compare.in_sync(p.body, p.live, self.field_manager):
                p.action, p.after = UNCHANGED, p.live
                return
        try:
            after = self._patch(p, dry_run=self.check_mode)
        except ApiError as err:
            pending_ns = err.status == 404 and p.namespace in creating_ns
            if self.check_mode and (pending_ns or p.deferred):
                # Its namespace or definition would be created by this run; the server cannot
                # dry-run it before that, so report the creation from the manifest.
                p.after, p.action = p.body, CREATED
                return
            raise
        p.after = after
        if not p.known:
            # Not read before (absent, or existing without our labels): created when we are
            # its only field manager.
            owners = {m.get("manager") for m in after["metadata"].get("managedFields") or []}
            p.action = CREATED if owners <= {self.field_manager} else CONFIGURED
        elif p.live is None:
            p.action = CREATED
        elif self.check_mode:
            p.action = CONFIGURED if compare.clean(after) != compare.clean(p.live) else UNCHANGED
        else:
            changed = after["metadata"].get("resourceVersion") != p.live["metadata"].get("resourceVersion")
            p.action = CONFIGURED if changed else UNCHANGED

    def _crds_ready(self, crds):
        """New definitions must be Established before their resources can be applied."""
        for p in crds:
            for version in (p.body.get("spec") or {}).get("versions") or []:
                self.client.forget("%s/%s" % (p.body["spec"].get("group"), version.get("name")))
        if not self.check_mode:
            Waiter(self.client).wait([(p.res, p.after) for p in crds], 60)

    # ------------------------------------------------------------- prune
    def _prune(self, listed, desired, result, diff):
        stale = [obj for obj in listed if manifest.identity(obj) not in desired]
        if not stale:
            return
        phases = ordering.phases(stale, lambda o: o["kind"])
        for phase in reversed(phases):
            done = self._map(self._delete_one, phase)
            for obj, action in zip(phase, done):
                result.add(obj, action, obj, None, diff)

    def _delete_one(self, obj):
        res = self.client.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background",
                "preconditions": {"uid": meta.get("uid")}}
        query = {"dryRun": "All"} if self.check_mode else None
        try:
            self.client.request("DELETE", res.path(meta.get("namespace"), meta["name"]), query=query, body=body)
        except ApiError as err:
            if err.status == 404:
                return ABSENT
            if err.status == 409:
                return SKIPPED  # replaced by a new object since we listed it: not ours to delete
            raise
        return PRUNED

    # ============================================================ delete
    def delete(self, definitions, instance, namespace=None, prune_kinds=None, wait=False, wait_timeout=300,
               diff=False):
        """state=absent: delete the given objects we own, or every object of ``instance``.

        Results follow the input order; objects are deleted in reverse apply order.
        """
        result = Result()
        warnings = []
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            self._pool = pool
            if definitions:
                planned = self.plan(definitions, instance, namespace)
                self._map(self._read_live, planned)
                targets = [p.live for p in planned if p.live is not None and self._owned(p.live, instance)]
            else:
                manifest.validate_instance(instance)
                planned = []
                selector = manifest.ownership_selector(instance)
                targets = []
                for items in self._map(lambda r: self._list_owned(r, selector, set()),
                                       self._prune_resources([], prune_kinds)):
                    targets.extend(items)
            done = {}
            for phase in reversed(ordering.phases(targets, lambda o: o["kind"])):
                for obj, action in zip(phase, self._map(self._delete_one, phase)):
                    done[manifest.identity(obj)] = DELETED if action == PRUNED else action
            for p in planned:
                if p.live is None:
                    result.add(p.body, ABSENT, source=p.path)
                elif p.key not in done:
                    result.add(p.body, SKIPPED, source=p.path)
                    warnings.append("%s is not owned by instance %s; left alone" % (p.ref, instance))
                else:
                    result.add(p.live, done[p.key], p.live, None, diff, p.path)
            if not planned:
                for obj in targets:
                    result.add(obj, done[manifest.identity(obj)], obj, None, diff)
            gone = [obj for obj in targets if done[manifest.identity(obj)] == DELETED]
            if wait and not self.check_mode and gone:
                Waiter(self.client).wait_deleted(
                    [(self.client.resource(o["apiVersion"], o["kind"]), o) for o in gone], wait_timeout)
        result.warnings = list(self.client.warnings) + warnings
        return result

    @staticmethod
    def _owned(live, instance):
        labels = (live.get("metadata") or {}).get("labels") or {}
        return labels.get(manifest.MANAGED_BY_LABEL) == manifest.MANAGED_BY and \
            labels.get(manifest.INSTANCE_LABEL) == instance

    def _read_live(self, p):
        obj = self.client.get(p.item_path())
        p.live, p.known = (_with_type(p.res, obj) if obj else None), True


def _manager_from(message):
    """Pull the manager name out of a FieldManagerConflict message ('conflict with "kubectl": ...')."""
    if '"' in message:
        parts = message.split('"')
        if len(parts) >= 2:
            return parts[1]
    return message or "another manager"
