# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The apply engine: reconcile a staged plan of manifests for one instance in one call.

``Engine.apply(plan, instance)``:

1. **Plan** (no writes): validate every manifest once, resolve every kind, add
   the ownership labels and the applied marker, refuse duplicates.
2. **Read**: the instance's ApplySet parent, then one LIST per kind and namespace
   the parent or the plan names (label ``applyset.kubernetes.io/part-of=<id>``),
   then a GET for each planned object the LISTs did not return.
3. **Ownership**: an existing object that another instance owns is refused; one
   that another tool manages or that was created by hand is refused unless
   ``adopt`` is set.  All refusals are reported together, before any write.
4. **In sync?** An object is left alone (no request at all) when it carries the
   same applied marker, our field manager has an Apply entry, and every desired
   value is live (compare.py).  A value that differs is classified by who owns it
   (fields.py): an imperative edit is drift and is taken back; a field a
   controller or another tool holds (an HPA's replicas) is left alone and
   reported; a field another server-side applier owns is a conflict.
5. **Validate before the first write**: every object that would change is sent
   as a server dry run; objects in a namespace this run creates are dry-run as a
   create in an existing namespace (schema, field and built-in validation; the
   admission of their own namespace runs when it exists); custom resources whose
   definition this run creates are checked against that definition's schema.
   Any refusal stops the run with nothing written.
6. **Apply, stage by stage**: the ApplySet parent first (recording the kinds),
   then each stage in dependency phases (Namespaces; definitions; configuration,
   RBAC roles, Services; bindings; workloads; the rest), concurrently inside a
   phase; after a stage, its gate (readiness or a condition) must pass before the
   next stage starts.
7. **Prune** (opt-in): members of this ApplySet that are no longer planned — of
   every kind the instance has ever applied — are deleted when they carry our
   applied marker and field manager and are not controlled by another object.
8. **Record** the exact kinds and namespaces in the parent; optionally wait.

In check mode every write is a server dry run (``dryRun=All``) and gates are not
waited for.  A failure after a write reports ``changed`` and what was done.
"""

from __future__ import annotations

import copy
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from . import applyset, compare, fields, manifest, ordering, readiness
from .client import Resource
from .errors import ApiError, ConflictError, SpecError, SwckError, WaitFailed, WaitTimeout
from .plan import CONDITION, Plan, Stage
from .waiter import Waiter

CREATED = "created"
CONFIGURED = "configured"
UNCHANGED = "unchanged"
PRUNED = "pruned"
DELETED = "deleted"
ABSENT = "absent"
SKIPPED = "skipped"

CHANGING_ACTIONS = frozenset([CREATED, CONFIGURED, PRUNED, DELETED])
# A namespace every cluster has, used to dry-run objects whose own namespace this run creates.
SURROGATE_NAMESPACE = "default"


class Planned(object):
    """One desired object on its way to the cluster."""

    __slots__ = ("source", "stage", "body", "res", "ref", "key", "live", "live_read", "after", "action",
                 "crd_in_plan", "send", "force", "adopted", "adopted_from", "held", "drift", "validated")

    def __init__(self, source, body, stage=None):
        self.source = source  # where it came from in the input, e.g. "definitions[3]"
        self.stage = stage
        self.body = body  # the prepared manifest (labels, applied marker)
        self.res = None
        self.ref = manifest.object_ref(body)
        self.key = None
        self.live = None  # the live object (None: absent or not read)
        self.live_read = False  # True once ``live`` reflects the server
        self.after = None
        self.action = None
        self.crd_in_plan = False  # its kind is defined by a CRD applied in this same run
        self.send = None  # the body to apply (fields held by others removed)
        self.force = False  # take fields back from imperative edits (or adopt)
        self.adopted = False
        self.adopted_from = None
        self.held = []  # (path text, [managers]) of fields others hold
        self.drift = []  # (path text, [managers]) of fields imperative edits changed
        self.validated = False

    @property
    def namespace(self):
        return self.body["metadata"].get("namespace")

    @property
    def name(self):
        return self.body["metadata"]["name"]


class Result(object):
    def __init__(self):
        self.objects = []  # dicts: apiVersion, kind, namespace, name, action (+ source, reason)
        self.diffs = []  # (header, before, after)
        self.warnings = []
        self.taken_back = []  # {"object", "fields", "managers"}
        self.held = []  # {"object", "fields", "managers"}
        self.stages = []  # {"name", "objects", "changed", "gate", "gate_state", "apply_seconds", "gate_seconds"}
        self.live = []  # the planned objects as the server last showed them (not returned to users)
        self.record_changed = False  # the ApplySet parent (inventory, recorded data) was (or would be) written

    @property
    def changed(self):
        """Whether anything was written (or would be, in check mode): an object or the ApplySet parent."""
        return self.record_changed or any(o["action"] in CHANGING_ACTIONS for o in self.objects)

    def counts(self):
        out = {}
        for obj in self.objects:
            out[obj["action"]] = out.get(obj["action"], 0) + 1
        return out

    def add(self, obj, action, before=None, after=None, want_diff=False, source=None, reason=None):
        meta = obj.get("metadata") or {}
        entry = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "name": meta.get("name"),
                 "namespace": meta.get("namespace"), "action": action}
        if source:
            entry["source"] = source
        if reason:
            entry["reason"] = reason
        self.objects.append(entry)
        if want_diff and action in CHANGING_ACTIONS:
            hidden = (manifest.APPLIED_ANNOTATION,)
            b, a = compare.mask_secret_pair(compare.clean(before, hidden_annotations=hidden),
                                            compare.clean(after, hidden_annotations=hidden))
            self.diffs.append((manifest.object_ref(obj), _ordered(b or {}), _ordered(a or {})))

    def as_dict(self):
        return {"changed": self.changed, "objects": self.objects, "counts": self.counts(),
                "taken_back": self.taken_back, "held": self.held, "stages": self.stages}


def _ordered(obj):
    """apiVersion, kind, metadata first (as manifests are written), then the rest in their order."""
    out = {}
    for key in ("apiVersion", "kind", "metadata"):
        if key in obj:
            out[key] = obj[key]
    for key, value in obj.items():
        out.setdefault(key, value)
    return out


class GateFailed(SwckError):
    """A stage's gate did not pass: later stages were not applied."""


def as_plan(definitions):
    """A Plan from a Plan, a list of ``(source, object)`` pairs, or anything ``load_definitions`` takes."""
    if isinstance(definitions, Plan):
        return definitions
    if isinstance(definitions, list) and definitions and all(
            isinstance(d, tuple) and len(d) == 2 for d in definitions):
        pairs = list(definitions)
    else:
        pairs = manifest.load_definitions(definitions)
    plan = Plan([Stage("apply", [obj for _src, obj in pairs])])
    plan.sources = [src for src, _obj in pairs]
    return plan


class Engine(object):
    """Reconciles plans for instances; one per module run (it holds per-call state)."""

    def __init__(self, client, field_manager=None, check_mode=False, force_conflicts=False, preflight=True,
                 adopt=False, drift_managers=fields.DEFAULT_DRIFT_MANAGERS, workers=10, schemas=None):
        self.client = client
        self.field_manager_option = field_manager
        self.check_mode = check_mode
        self.force_conflicts = force_conflicts
        self.preflight = preflight
        self.adopt = adopt
        self.drift_managers = tuple(drift_managers)
        self.workers = workers
        if schemas is None:
            from .schema import Schemas

            schemas = Schemas(client)
        self.schemas = schemas
        self._lock = threading.Lock()
        self._pool = None
        self._reset(None)

    def _reset(self, instance, applyset_name=None):
        self.instance = instance
        self.inventory_data = None
        self._inventory_deferred = False
        self._listed = []
        # The ApplySet (and field manager) is named after the instance unless a module keeps
        # several ApplySets for one instance (one per component of a SkyWalking cluster).
        self.applyset_name = applyset_name or instance
        self.field_manager = self.field_manager_option or (
            manifest.field_manager_for(self.applyset_name) if self.applyset_name else None)
        self.inventory = None
        self.writes = 0
        self.result = Result()
        self.notes = []

    @property
    def _legacy_ok(self):
        """Objects labelled for the instance by 0.1.0 (no ApplySet label) are ours when the ApplySet is the instance's."""
        return self.applyset_name == self.instance

    def _note(self, text):
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    # ============================================================ planning
    def plan(self, definitions, instance, namespace=None):
        """Validate and resolve everything; return ``[Planned]``.  Only discovery requests."""
        manifest.validate_instance(instance)
        if namespace is not None and not manifest.is_dns_label(namespace):
            raise SpecError("namespace", "%r is not a valid namespace name" % (namespace,))
        plan = as_plan(definitions)
        sources = getattr(plan, "sources", None)
        raw = []
        index = 0
        for stage in plan.stages:
            for obj in stage.objects:
                source = sources[index] if sources else "%s[%d]" % (stage.name, index)
                raw.append((source, obj, stage))
                index += 1
        for source, obj, _stage in raw:
            manifest.validate_object(source, obj)
        crd_kinds = {}
        for _source, obj, _stage in raw:
            if obj["kind"] == "CustomResourceDefinition":
                spec = obj.get("spec") or {}
                names = spec.get("names") or {}
                for version in spec.get("versions") or []:
                    crd_kinds[("%s/%s" % (spec.get("group"), version.get("name")), names.get("kind"))] = (
                        names.get("plural"), spec.get("scope") == "Namespaced", obj, version.get("name"))
        resolved = []
        for source, obj, stage in raw:
            pending = crd_kinds.get((obj["apiVersion"], obj["kind"]))
            try:
                res = self.client.resource(obj["apiVersion"], obj["kind"])
                crd_in_plan = False
            except SwckError as err:
                if isinstance(err, ApiError) and err.status not in (404,):
                    raise
                if pending is None:
                    raise SpecError(source + ".kind", err.msg)
                res = Resource(obj["apiVersion"], obj["kind"], pending[0], pending[1])
                crd_in_plan = True
            resolved.append((source, obj, stage, res, crd_in_plan))
        inventory_ns = self._inventory_namespace(namespace, resolved)
        parent = applyset.parent_name(self.applyset_name or instance)
        set_id = applyset.applyset_id(parent, inventory_ns)
        planned, seen = [], {}
        for source, obj, stage, res, crd_in_plan in resolved:
            obj = dict(obj)
            meta = dict(obj["metadata"])
            obj["metadata"] = meta
            if res.namespaced:
                meta["namespace"] = meta.get("namespace") or namespace
                if not meta["namespace"]:
                    raise SpecError(source + ".metadata.namespace",
                                    "is required for namespaced kind %s (or set the namespace option)" % res.kind)
            else:
                meta.pop("namespace", None)
            item = Planned(source, manifest.prepare(obj, instance, set_id, source), stage)
            item.res = res
            item.crd_in_plan = crd_in_plan
            item.key = manifest.identity(item.body)
            if item.key in seen:
                raise SpecError(source, "%s is also defined at %s" % (item.ref, seen[item.key]))
            seen[item.key] = source
            planned.append(item)
        self._crd_plan = crd_kinds
        self._plan_obj = plan
        self.inventory = applyset.Inventory(parent, inventory_ns)
        return planned

    @staticmethod
    def _inventory_namespace(namespace, resolved):
        """Where the ApplySet parent lives: the namespace option, else the objects' one namespace."""
        if namespace:
            return namespace
        found = set()
        for _source, obj, _stage, res, _crd in resolved:
            if res.namespaced and (obj.get("metadata") or {}).get("namespace"):
                found.add(obj["metadata"]["namespace"])
        if len(found) > 1:
            raise SpecError("namespace", "the objects span namespaces %s: set namespace (the namespace that holds "
                                         "this instance's ApplySet parent)" % ", ".join(sorted(found)))
        return found.pop() if found else SURROGATE_NAMESPACE

    # ============================================================== apply
    def apply(self, definitions, instance, namespace=None, prune=False, prune_kinds=None, wait=False,
              wait_timeout=300, diff=False, applyset_name=None, inventory_data=None):
        """Reconcile ``definitions`` (a Plan, or manifests) for ``instance``; returns a Result.

        ``prune``: delete members no longer planned.  ``prune_kinds``: ``apiVersion/Kind``
        strings of protected kinds (Namespace, PVC, PV, CRD) that prune may delete, and of
        other kinds to look at even when the inventory does not name them.  ``wait``:
        wait for every waitable object at the end; ``wait_timeout`` in seconds (also the
        default for gates without their own timeout).  ``diff``: collect before/after.
        ``applyset_name``: name of the ApplySet and field manager when it is not the instance
        (several ApplySets label their members with the same instance).  ``inventory_data``: a
        ``{key: text}`` record kept in the ApplySet parent's ``data`` (the SkyWalking modules keep
        the normalised spec there, for the status module); written only when it changes.
        Raises SpecError (bad input, nothing sent), SwckError (refusals before any write,
        or failures with ``details['changed']``/``['objects']`` when something was written).
        """
        self._reset(instance, applyset_name)
        self.inventory_data = dict(inventory_data or {})
        planned = self.plan(definitions, instance, namespace)
        extra, protected_ok = self._prune_kind_options(prune_kinds)
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                self._pool = pool
                listed = self._prefetch(planned, extra)
                self._check_parent_namespace()
                self._check_ownership(planned)
                todo = [p for p in planned if self._needs_apply(p)]
                self._preflight(todo, planned)
                self._listed = listed
                self._record_inventory(planned, listed, superset=True)
                self._apply_stages(planned, todo, wait_timeout)
                for p in planned:
                    self.result.add(p.body, p.action, p.live, p.after, diff, p.source)
                    self._report_fields(p)
                self.result.live = [p.after or p.live for p in planned if (p.after or p.live) is not None]
                remaining = listed
                if prune:
                    remaining = self._prune(listed, planned, protected_ok, diff)
                self._record_inventory(planned, remaining, superset=not prune)
                if wait and not self.check_mode:
                    waitable = [(p.res, p.after or p.live) for p in planned
                                if p.body["kind"] in readiness.WAITABLE_KINDS]
                    Waiter(self.client).wait(waitable, wait_timeout)
        except SwckError as err:
            raise self._with_progress(err, planned, diff)
        except Exception as exc:  # noqa: BLE001 - report what was written before the bug surfaced
            raise self._with_progress(SwckError("internal error: %s: %s" % (type(exc).__name__, exc)), planned, diff)
        self.result.warnings = list(self.client.warnings) + list(self.notes)
        return self.result

    def _with_progress(self, err, planned, diff):
        """Add ``changed`` and the per-object actions to an error raised after a write."""
        if self.writes:
            if not self.result.objects:
                for p in planned:
                    self.result.add(p.body, p.action or "not applied", p.live, p.after, diff, p.source)
            err.details["changed"] = True
            err.details["objects"] = self.result.objects
            err.details["counts"] = self.result.counts()
        err.details.setdefault("warnings", list(self.client.warnings) + list(self.notes))
        return err

    def _map(self, fn, items):
        """Run ``fn`` over ``items`` concurrently; re-raise the first error after all finish."""
        items = list(items)
        if not items:
            return []
        if len(items) == 1 or self._pool is None:
            return [fn(item) for item in items]
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

    def _prune_kind_options(self, prune_kinds):
        extra, protected = [], set()
        for spec in prune_kinds or []:
            api_version, kind = spec.rpartition("/")[::2]
            if not api_version or not kind:
                raise SpecError("prune_kinds", "%r must be apiVersion/Kind, e.g. v1/PersistentVolumeClaim" % spec)
            try:
                res = self.client.resource(api_version, kind)
            except SwckError as err:
                raise SpecError("prune_kinds", err.msg)
            extra.append(res)
            protected.add(res.group_kind)
        return extra, protected

    # ------------------------------------------------------------ reading
    def _resource_for(self, group, kind, known):
        """A Resource for a group-kind (from the plan, the built-in table, or discovery); None if not served."""
        if (group, kind) in known:
            return known[(group, kind)]
        candidates = self.client.static_versions(group, kind)
        for res in candidates:
            return res
        try:
            return self.client.preferred_resource(group, kind)
        except SwckError:
            return None

    def _prefetch(self, planned, extra):
        """Read the parent, the members (one LIST per kind and namespace) and planned objects not listed."""
        inv = self.inventory
        parent_res = self.client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
        ns_items = [p for p in planned if p.body["kind"] == "Namespace"]

        def read(item):
            if item is None:
                return self.client.read(parent_res, inv.namespace, inv.name)
            return self._read_live(item)

        first = self._map(read, [None] + ns_items)
        self.inventory = inv = applyset.Inventory.from_live(inv.name, inv.namespace, first[0])
        if inv.live is not None:
            verdict, owner = manifest.ownership(inv.live, None, self.instance, self._legacy_ok)
            labels = (inv.live["metadata"].get("labels") or {})
            if verdict != manifest.OURS or labels.get(applyset.ID_LABEL) != inv.id:
                raise SwckError("ConfigMap %s/%s (the ApplySet parent of instance %s) exists and is not ours (%s); "
                                "rename it or choose another instance name" % (inv.namespace, inv.name,
                                                                               self.instance, owner))
        known = {}
        for p in planned:
            if not p.crd_in_plan:
                known.setdefault(p.res.group_kind, p.res)
        wanted = dict(known)
        plan_kinds = set(getattr(self._plan_obj, "kinds", set()) or set())
        for group, kind in sorted(inv.group_kinds | plan_kinds):
            if (group, kind) not in wanted:
                res = self._resource_for(group, kind, known)
                if res is not None:
                    wanted[(group, kind)] = res
        for res in extra:
            wanted.setdefault(res.group_kind, res)
        namespaces = {inv.namespace} | inv.namespaces | {p.namespace for p in planned if p.namespace}
        jobs = []
        for gk, res in sorted(wanted.items()):
            if res.namespaced:
                jobs.extend((gk, res, ns) for ns in sorted(namespaces))
            else:
                jobs.append((gk, res, None))
        selector = manifest.member_selector(inv.id)
        unlistable = set()

        def list_one(job):
            gk, res, ns = job
            try:
                return self.client.list(res, ns, label_selector=selector)
            except SwckError as err:
                if gk in known and not (isinstance(err, ApiError) and err.status == 403):
                    raise
                if isinstance(err, ApiError) and err.status == 403:
                    with self._lock:
                        unlistable.add(gk)
                    where = " in namespace %s" % ns if ns else ""
                    self._note("cannot list %s%s (forbidden): its members there are neither compared in one "
                               "request nor pruned" % (res.kind, where))
                return []

        listed = []
        for items in self._map(list_one, jobs):
            listed.extend(items)
        live = {manifest.identity(o): o for o in listed}
        creating = {p.name for p in ns_items if p.live is None}
        missing = []
        for p in planned:
            if p.body["kind"] == "Namespace":
                continue
            if p.key in live:
                p.live, p.live_read = live[p.key], True
            elif p.crd_in_plan or (p.namespace and p.namespace in creating):
                p.live_read = not p.crd_in_plan  # absent for sure: its namespace does not exist yet
            else:
                missing.append(p)
        self._map(self._read_live, missing)
        self._creating_ns = creating
        return listed

    def _check_parent_namespace(self):
        """The ApplySet parent's namespace must exist (or be created by this run) before any write.

        Otherwise cluster-scoped members would be written and never recorded: nothing could prune or
        delete them later.  One GET, on a first run only (an existing parent proves the namespace).
        """
        inv = self.inventory
        if inv.live is not None or not inv.namespace or inv.namespace in self._creating_ns:
            return
        try:
            found = self.client.read(self.client.resource("v1", "Namespace"), None, inv.namespace)
        except ApiError as err:
            if err.status != 403:
                raise
            # Namespace-scoped credentials (the admin ClusterRole bound in one namespace) may not read the
            # Namespace object itself; the first write of the parent then reports a missing namespace.
            return
        if found is None:
            raise SpecError("namespace", "namespace %s does not exist and is not created by this run: the ApplySet "
                            "parent %s, which records what instance %s owns, is kept there; create the namespace "
                            "first (or include it in the run)" % (inv.namespace, inv.name, self.instance))

    def _read_live(self, p):
        p.live = self.client.read(p.res, p.namespace, p.name)
        p.live_read = True
        return p.live

    # ---------------------------------------------------------- ownership
    def _check_ownership(self, planned):
        refusals = []
        for p in planned:
            problem = self._ownership_problem(p)
            if problem:
                refusals.append(self._name_applysets(problem, p))
        if refusals:
            raise SwckError("%d object(s) belong to someone else; nothing was changed:\n  %s"
                            % (len(refusals), "\n  ".join(refusals)), refused=refusals)

    def _name_applysets(self, text, p):
        """Replace an ApplySet id in a refusal by its parent's name (only read on this error path)."""
        member_of = ((p.live or {}).get("metadata", {}).get("labels") or {}).get(manifest.APPLYSET_PART_OF_LABEL)
        if not member_of or member_of not in text:
            return text
        res = self.client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
        for ns in sorted({p.namespace or self.inventory.namespace, self.inventory.namespace}):
            try:
                found = self.client.list(res, ns, label_selector="%s=%s" % (applyset.ID_LABEL, member_of))
            except SwckError:
                continue
            if found:
                meta = found[0]["metadata"]
                return text.replace(member_of, "parent ConfigMap %s/%s" % (meta["namespace"], meta["name"]))
        return text

    def _ownership_problem(self, p):
        if p.live is None:
            return None
        verdict, owner = manifest.ownership(p.live, self.inventory.id, self.instance, self._legacy_ok)
        if verdict == manifest.OURS:
            return None
        if verdict == manifest.OTHER_INSTANCE:
            return "%s (%s) is owned by %s: not taken over" % (p.source, p.ref, owner)
        if self.adopt:
            p.adopted = True
            p.adopted_from = owner
            return None
        return ("%s (%s) already exists and is not managed by instance %s (%s); set adopt=true to take it over"
                % (p.source, p.ref, self.instance, owner))

    # --------------------------------------------------------------- sync
    def _needs_apply(self, p):
        """Decide whether ``p`` must be sent; fills ``send``, ``force``, ``held``, ``drift``."""
        p.send = p.body
        if p.live is None:
            return True
        node = self.schemas.node_for(p.body["apiVersion"], p.body["kind"])
        diffs = compare.differences(p.body, p.live, node, self.schemas, limit=200)
        marker_ok = (((p.live.get("metadata") or {}).get("annotations") or {}).get(manifest.APPLIED_ANNOTATION)
                     == p.body["metadata"]["annotations"][manifest.APPLIED_ANNOTATION])
        must = p.adopted or not marker_ok or not fields.has_apply_entry(p.live, self.field_manager)
        strip, conflicts = [], []
        for d in diffs:
            verdict, who = fields.classify(p.live, d.path, self.field_manager, self.drift_managers)
            if verdict == fields.HELD and not p.adopted:
                p.held.append((compare.path_text(d.path), who))
                strip.append(d.path)
            elif verdict in (fields.DRIFT, fields.HELD):
                p.drift.append((compare.path_text(d.path), who))
                must = True
            elif verdict == fields.CONFLICT:
                conflicts.append({"field": compare.path_text(d.path), "manager": ", ".join(who)})
                must = True
            else:
                must = True
        if conflicts and not self.force_conflicts:
            raise ConflictError(p.ref, conflicts)
        if not must:
            p.action, p.after = UNCHANGED, p.live
            return False
        if strip:
            p.send = copy.deepcopy(p.body)
            for path in strip:
                compare.strip_path(p.send, path)
        p.force = bool(self.force_conflicts or p.drift or p.adopted)
        return True

    def _report_fields(self, p):
        if p.adopted and p.action in (CREATED, CONFIGURED, UNCHANGED):
            self._note("%s: %s (%s)" % (p.ref, "would adopt" if self.check_mode else "adopted", p.adopted_from))
        verb = "would take back" if self.check_mode else "took back"
        if p.drift and p.action in (CONFIGURED, CREATED):
            managers = sorted({m for _f, who in p.drift for m in who})
            self.result.taken_back.append({"object": p.ref, "fields": [f for f, _who in p.drift],
                                           "managers": managers})
            self._note("%s: %s %s from %s" % (p.ref, verb, ", ".join(f for f, _who in p.drift),
                                              ", ".join(managers)))
        if p.held:
            managers = sorted({m for _f, who in p.held for m in who})
            self.result.held.append({"object": p.ref, "fields": [f for f, _who in p.held], "managers": managers})
            self._note("%s: %s held by %s (not taken back; stop declaring %s to silence this)" % (
                p.ref, ", ".join(f for f, _who in p.held), ", ".join(managers),
                "it" if len(p.held) == 1 else "them"))

    # --------------------------------------------------------- preflight
    def _preflight(self, todo, planned):
        """Validate every object that would change before the first write; report every refusal together."""
        if not todo or (not self.preflight and not self.check_mode):
            return
        creating_names = {(p.res.group_kind, p.namespace, p.name) for p in todo if p.live is None}
        problems, conflicts = [], []

        def check(p):
            try:
                if p.crd_in_plan:
                    self._validate_custom_resource(p)
                elif p.namespace and p.namespace in self._creating_ns:
                    self._validate_elsewhere(p)
                else:
                    after = self._send(p, dry_run=True)
                    if self.check_mode:
                        p.after = after
                p.validated = True
            except ConflictError as err:
                conflicts.append(err)
            except ApiError as err:
                if err.status in (403, 404) and self._binds_planned_role(p, creating_names):
                    return  # a binding to a Role this run creates: checked when the Role exists
                problems.append(self._refusal_text(p, err))
            except SwckError as err:
                problems.append("%s (%s): %s" % (p.source, p.ref, err.msg))

        self._map(check, todo)
        if conflicts:
            raise conflicts[0] if len(conflicts) == 1 else SwckError(
                "apply conflicts with other field managers (nothing was changed):\n  "
                + "\n  ".join(c.msg for c in conflicts), conflicts=[c.conflicts for c in conflicts])
        if problems:
            raise SwckError("the API server rejected %d object(s); nothing was changed:\n  %s"
                            % (len(problems), "\n  ".join(sorted(problems))), rejected=sorted(problems))

    @staticmethod
    def _refusal_text(p, err):
        details = err.body.get("details") or {}
        if err.status == 404 and details.get("kind") == "namespaces" and p.namespace:
            return "%s (%s): namespace %s does not exist and is not created by this run" % (
                p.source, p.ref, p.namespace)
        return "%s (%s): %s" % (p.source, p.ref, err.api_message or err.msg)

    @staticmethod
    def _binds_planned_role(p, creating_names):
        if p.body["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            return False
        ref = p.body.get("roleRef") or {}
        group = "rbac.authorization.k8s.io"
        ns = p.namespace if ref.get("kind") == "Role" else None
        return ((group, ref.get("kind")), ns, ref.get("name")) in creating_names

    def _validate_elsewhere(self, p):
        """Dry-run a create of ``p`` in an existing namespace (its own does not exist yet).

        Schema, unknown fields and the built-in validation run; admission that depends on
        the target namespace (quotas, PodSecurity, LimitRanges) runs when it exists.  An
        object of the same name there answers AlreadyExists after validation passed.
        """
        body = copy.deepcopy(p.body)
        body["metadata"]["namespace"] = SURROGATE_NAMESPACE
        try:
            self.client.create(p.res, body, namespace=SURROGATE_NAMESPACE, dry_run=True)
        except ApiError as err:
            if err.status == 409 and err.reason == "AlreadyExists":
                return
            if err.status in (400, 422):
                raise
            self._note("%s: validated when its namespace %s exists (a dry run elsewhere was not possible: %s)"
                       % (p.ref, p.namespace, err.reason or err.status))
            return
        if self.check_mode:
            p.after = p.body

    def _validate_custom_resource(self, p):
        from . import crdschema

        plural, _namespaced, crd, version = self._crd_plan[(p.body["apiVersion"], p.body["kind"])]
        problems = crdschema.validate(crd, version, p.body)
        if problems:
            raise SwckError("does not match the schema of %s in this run: %s" % (
                crd["metadata"]["name"], "; ".join(problems[:5])))
        if self.check_mode:
            p.after = p.body

    # ------------------------------------------------------------- write
    def _send(self, p, dry_run, retry_conflicts=True):
        """Server-side apply ``p.send``; a conflict with an edit made since we read is classified again once."""
        try:
            after = self.client.apply(p.res, p.send, self.field_manager, force=p.force, dry_run=dry_run)
        except ApiError as err:
            if err.is_field_conflict:
                if retry_conflicts:
                    self._read_live(p)
                    p.held, p.drift = [], []
                    if not self._needs_apply(p):
                        return p.live
                    return self._send(p, dry_run, retry_conflicts=False)
                conflicts = [{"field": c.get("field", "?"), "manager": _manager_from(c.get("message", ""))}
                             for c in err.causes if fields_conflict(c)]
                raise ConflictError(p.ref, conflicts)
            if err.status in (400, 422):
                raise SwckError("%s (%s): rejected by the API server: %s" % (p.source, p.ref, err.api_message),
                                status=err.status, causes=err.causes)
            # any other answer (403, 413, a 500 for an object too large for etcd): name the object too
            err.msg = "%s (%s): %s" % (p.source, p.ref, err.msg)
            err.args = (err.msg,)
            raise
        if not dry_run:
            with self._lock:
                self.writes += 1
        return after

    def _apply_stages(self, planned, todo, wait_timeout):
        pending = set(id(p) for p in todo)
        for stage in self._plan_obj.stages:
            started = time.monotonic()
            mine = [p for p in planned if p.stage is stage]
            work = [p for p in mine if id(p) in pending]
            for phase in ordering.phases(work, lambda p: p.body["kind"]):
                self._map(self._apply_one, phase)
                crds = [p for p in phase if p.body["kind"] == "CustomResourceDefinition"]
                if crds:
                    self._crds_ready(crds)
            if getattr(self, "_inventory_deferred", False):
                # the parent's namespace was created by this stage: record the inventory before any
                # later stage can fail, so a failed first run can still be pruned and deleted
                self._record_inventory(planned, self._listed, superset=True)
            entry = {"name": stage.name, "objects": len(mine),
                     "changed": sum(1 for p in mine if p.action in (CREATED, CONFIGURED)),
                     "gate": stage.gate.describe() if stage.gate else None, "gate_state": None,
                     "apply_seconds": round(time.monotonic() - started, 3), "gate_seconds": 0.0}
            self.result.stages.append(entry)
            if stage.gate is not None:
                started = time.monotonic()
                entry["gate_state"] = "skipped (check mode)" if self.check_mode else self._gate(stage, mine,
                                                                                                wait_timeout)
                entry["gate_seconds"] = round(time.monotonic() - started, 3)

    def _gate(self, stage, items, wait_timeout):
        gate = stage.gate
        targets = [(p.res, p.after or p.live) for p in items if gate.selects(p.body) and (
            gate.mode == CONDITION or p.body["kind"] in readiness.WAITABLE_KINDS)]
        check = None
        if gate.mode == CONDITION:
            def check(obj):
                return readiness.condition(obj, gate.condition_type, gate.condition_status)
        timeout = gate.timeout if gate.timeout is not None else wait_timeout
        try:
            final = Waiter(self.client).wait(targets, timeout, check=check)
        except (WaitFailed, WaitTimeout) as err:
            later = [s.name for s in self._plan_obj.stages[self._plan_obj.stages.index(stage) + 1:]]
            raise GateFailed("stage %r: gate %r did not pass%s:\n  %s" % (
                stage.name, gate.describe(), ("; not applied: " + ", ".join(later)) if later else "",
                err.msg.split("\n", 1)[-1].strip()), stage=stage.name, gate=gate.describe(),
                not_applied=later, **{k: v for k, v in err.details.items() if k in ("pending", "failed")})
        # keep what the gate saw last (the objects' status after the rollout) for the caller
        by_key = {manifest.identity(obj): obj for obj in final if obj}
        for p in items:
            if p.key in by_key:
                p.after = by_key[p.key]
        return "passed"

    def _apply_one(self, p):
        if p.crd_in_plan and not p.live_read:
            self._read_live(p)
            problem = self._ownership_problem(p)
            if problem:
                raise SwckError(problem)
            if not self._needs_apply(p):
                return
        if self.check_mode:
            if p.after is None:
                if p.namespace in self._creating_ns or p.crd_in_plan:
                    p.after = p.body  # validated above; the server cannot dry-run it before its namespace exists
                else:
                    p.after = self._send(p, dry_run=True)
            if p.live is None:
                p.action = CREATED
                # the manifest, not the dry run's invented values (cluster IPs, uids, controller labels)
                p.after = p.body
            else:
                same = compare.clean(p.after) == compare.clean(p.live)
                p.action = UNCHANGED if same and not p.drift else CONFIGURED
            return
        after = self._send(p, dry_run=False)
        p.after = after
        if p.live is None:
            p.action = CREATED
            return
        changed = after["metadata"].get("resourceVersion") != p.live["metadata"].get("resourceVersion")
        p.action = CONFIGURED if changed else UNCHANGED
        if not changed:
            self._explain_normalisation(p, after)

    def _explain_normalisation(self, p, after):
        """An apply that changed nothing although values differed: the server stores them differently."""
        node = self.schemas.node_for(p.body["apiVersion"], p.body["kind"])
        diffs = compare.differences(p.send, after, node, self.schemas, limit=10)
        if diffs:
            self._note("%s: the API server stores %s; write %s so that re-runs send nothing" % (
                p.ref, ", ".join("%s as %r (sent %r)" % (compare.path_text(d.path), d.have, d.want) for d in diffs),
                "those values" if len(diffs) > 1 else "that value"))

    def _crds_ready(self, crds):
        """New definitions must be Established before their resources can be applied."""
        for p in crds:
            for version in (p.body.get("spec") or {}).get("versions") or []:
                self.client.forget("%s/%s" % (p.body["spec"].get("group"), version.get("name")))
        if not self.check_mode:
            Waiter(self.client).wait([(p.res, p.after) for p in crds], 60)

    # --------------------------------------------------------- inventory
    def _record_inventory(self, planned, members, superset):
        """Write the ApplySet parent when it does not record (at least) the kinds and namespaces in use."""
        inv = self.inventory
        kinds = {p.res.group_kind for p in planned}
        namespaces = {p.namespace for p in planned if p.namespace}
        for obj in members:
            kinds.add((manifest.group_of(obj["apiVersion"]), obj["kind"]))
            if (obj.get("metadata") or {}).get("namespace"):
                namespaces.add(obj["metadata"]["namespace"])
        data = getattr(self, "inventory_data", None) or (inv.live or {}).get("data")
        if superset:
            if inv.covers(kinds, namespaces, data):
                return
            kinds |= inv.group_kinds
            namespaces |= inv.namespaces
        elif inv.records(kinds, namespaces, data):
            return
        self.result.record_changed = True
        if self.check_mode:
            return
        if inv.namespace in getattr(self, "_creating_ns", set()) and not any(
                p.body["kind"] == "Namespace" and p.name == inv.namespace and p.after for p in planned):
            self._inventory_deferred = True
            return  # the parent's namespace is created by a stage; recorded right after it
        body = inv.manifest(kinds, namespaces, manifest.ownership_labels(self.instance), data)
        res = self.client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
        try:
            live = self.client.apply(res, body, self.field_manager, force=True)
        except ApiError as err:
            if err.status == 404 and superset:
                self._inventory_deferred = True
                return  # its namespace does not exist yet (created by this run): written after its stage
            raise
        with self._lock:
            self.writes += 1
        self._inventory_deferred = False
        self.inventory = applyset.Inventory.from_live(inv.name, inv.namespace, live)

    # ------------------------------------------------------------- prune
    def _prunable(self, obj, protected_ok):
        """Why ``obj`` (a listed member) may not be pruned, or None when it may."""
        gk = (manifest.group_of(obj["apiVersion"]), obj["kind"])
        if gk in ordering.PROTECTED_KINDS and gk not in protected_ok:
            return "protected kind (name it in prune_kinds to delete it)"
        meta = obj.get("metadata") or {}
        if manifest.ownership(obj, self.inventory.id, self.instance, self._legacy_ok)[0] != manifest.OURS:
            return "not ours"
        if manifest.APPLIED_ANNOTATION not in (meta.get("annotations") or {}):
            return "not applied by skywalking.swck"
        if not fields.has_apply_entry(obj, self.field_manager):
            return "field manager %s never applied it" % self.field_manager
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller"):
                return "controlled by %s %s" % (ref.get("kind"), ref.get("name"))
        return None

    def _prune(self, listed, planned, protected_ok, diff):
        """Delete members no longer planned; return the members that remain."""
        desired = {p.key for p in planned}
        stale, remaining = [], []
        for obj in listed:
            if manifest.identity(obj) in desired:
                remaining.append(obj)
                continue
            why = self._prunable(obj, protected_ok)
            if why:
                remaining.append(obj)
                if not why.startswith("protected"):
                    self._note("%s: not pruned: %s" % (manifest.object_ref(obj), why))
            else:
                stale.append(obj)
        for phase in reversed(ordering.phases(stale, lambda o: o["kind"])):
            for obj, action in zip(phase, self._map(self._delete_one, phase)):
                self.result.add(obj, action[0], obj, None, diff, reason=action[1])
                if action[0] == SKIPPED:
                    remaining.append(obj)
        return remaining

    def _delete_one(self, obj, action=PRUNED):
        res = self.client.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        try:
            gone = self.client.delete(res, meta.get("namespace"), meta["name"], uid=meta.get("uid"),
                                      dry_run=self.check_mode)
        except ApiError as err:
            if err.is_precondition_failure:
                return SKIPPED, "replaced since it was read: not the object we applied"
            raise
        if not gone:
            return ABSENT, None
        if not self.check_mode:
            with self._lock:
                self.writes += 1
        return action, None

    # ============================================================ delete
    def delete(self, definitions, instance, namespace=None, delete_all=False, prune_kinds=None, wait=False,
               wait_timeout=300, diff=False, applyset_name=None):
        """state=absent: delete the listed objects this instance owns, or with ``delete_all`` every member.

        Results follow the input order; objects are deleted in reverse apply order.
        An empty ``definitions`` without ``delete_all`` is an error (a template that
        rendered nothing must not uninstall everything).
        """
        self._reset(instance, applyset_name)
        has_defs = definitions is not None and not (isinstance(definitions, (list, str, dict)) and not definitions)
        if has_defs and delete_all:
            raise SpecError("delete_all", "give either definitions (delete those) or delete_all (delete everything "
                                          "instance %s owns), not both" % instance)
        if not has_defs and not delete_all:
            raise SpecError("definitions", "is empty: nothing to delete. To delete every object instance %s owns, "
                                           "set delete_all=true" % instance)
        planned = []
        try:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                self._pool = pool
                _extra, protected_ok = self._prune_kind_options(prune_kinds)
                if has_defs:
                    planned = self.plan(definitions, instance, namespace)
                    if not planned:
                        raise SpecError("definitions", "has no objects: nothing to delete (set delete_all=true to "
                                                       "delete everything instance %s owns)" % instance)
                    parent_res = self.client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
                    parent = self.client.read(parent_res, self.inventory.namespace, self.inventory.name)
                    self.inventory = applyset.Inventory.from_live(self.inventory.name, self.inventory.namespace,
                                                                  parent)
                    self._map(self._read_live, planned)
                    targets, skipped = [], {}
                    for p in planned:
                        if p.live is None:
                            continue
                        verdict, owner = manifest.ownership(p.live, self.inventory.id, instance, self._legacy_ok)
                        if verdict == manifest.OURS:
                            targets.append(p.live)
                        else:
                            skipped[p.key] = "owned by %s" % owner if verdict == manifest.OTHER_INSTANCE else owner
                            self._note("%s is not owned by instance %s (%s); left alone" % (p.ref, instance,
                                                                                            skipped[p.key]))
                else:
                    manifest.validate_instance(instance)
                    if namespace is not None and not manifest.is_dns_label(namespace):
                        raise SpecError("namespace", "%r is not a valid namespace name" % (namespace,))
                    name = applyset.parent_name(self.applyset_name)
                    inv_ns = namespace or SURROGATE_NAMESPACE
                    self.inventory = applyset.Inventory(name, inv_ns)
                    self._plan_obj = Plan()
                    self._creating_ns = set()
                    listed = self._prefetch([], _extra)
                    if self.inventory.live is None:
                        self._note("instance %s has no ApplySet parent in namespace %s: nothing is recorded "
                                   "there (give the namespace the instance was applied with)" % (instance, inv_ns))
                    targets, skipped = [], {}
                    for obj in listed:
                        why = self._prunable(obj, protected_ok)
                        if why:
                            skipped[manifest.identity(obj)] = why
                        else:
                            targets.append(obj)
                done = {}
                for phase in reversed(ordering.phases(targets, lambda o: o["kind"])):
                    for obj, action in zip(phase, self._map(lambda o: self._delete_one(o, DELETED), phase)):
                        done[manifest.identity(obj)] = action
                for p in planned:
                    if p.live is None:
                        self.result.add(p.body, ABSENT, source=p.source)
                    elif p.key in done:
                        self.result.add(p.live, done[p.key][0], p.live, None, diff, p.source, done[p.key][1])
                    else:
                        self.result.add(p.body, SKIPPED, source=p.source, reason=skipped.get(p.key))
                if not planned:
                    for obj in targets:
                        action = done[manifest.identity(obj)]
                        self.result.add(obj, action[0], obj, None, diff, reason=action[1])
                    self._forget_inventory(listed, done)
                gone = [obj for obj in targets if done[manifest.identity(obj)][0] == DELETED]
                if wait and not self.check_mode and gone:
                    Waiter(self.client).wait_deleted(
                        [(self.client.resource(o["apiVersion"], o["kind"]), o) for o in gone], wait_timeout)
        except SwckError as err:
            raise self._with_progress(err, planned, diff)
        self.result.warnings = list(self.client.warnings) + list(self.notes)
        return self.result

    def _forget_inventory(self, listed, done):
        """After deleting everything: drop the parent, or record what is left (protected kinds)."""
        inv = self.inventory
        if inv.live is None:
            return
        left = [o for o in listed if done.get(manifest.identity(o), (SKIPPED,))[0] not in (DELETED, ABSENT)]
        res = self.client.resource(applyset.PARENT_API_VERSION, applyset.PARENT_KIND)
        if not left:
            self.result.record_changed = True
            if self.check_mode:
                return
            if self.client.delete(res, inv.namespace, inv.name, uid=inv.live["metadata"].get("uid")):
                self.writes += 1
            return
        self._record_inventory([], left, superset=False)


def fields_conflict(cause):
    return "FieldManagerConflict" in (cause.get("reason"), cause.get("type"))


def _manager_from(message):
    """Pull the manager name out of a FieldManagerConflict message ('conflict with "kubectl": ...')."""
    if '"' in message:
        parts = message.split('"')
        if len(parts) >= 2:
            return parts[1]
    return message or "another manager"
