# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Reconcile the Java agent injection across a cluster: the I/O half of ``skywalking/inject.py``.

``Injector(client).run(...)`` selects namespaces and workloads as SWCK's webhook does (namespace label
``swck-injection: enabled`` -- or an explicit list, or another label selector -- and the pod template
label ``swck-java-agent-injected: "true"``), computes each workload with the pure
``inject.inject_object`` / ``inject.remove_object``, and writes only the workloads whose result differs.

Reads: a fixed number of requests whatever the number of workloads or namespaces:

1. the namespaces: one LIST (by label selector; for an explicit list, all of them, to report the
   missing ones);
2. one cluster-wide LIST per workload kind, filtered here by namespace and pod template label (the
   label is on the template, which no server-side selector can reach); only when the credentials
   cannot list a kind cluster-wide (403), one LIST per selected namespace instead;
3. the labelled Pods, one cluster-wide LIST by label, to report bare pods (a pod cannot gain
   containers after it was created);
4. SwAgents: discovery of ``operator.skywalking.apache.org/v1alpha1`` (one GET, 404 when SWCK's CRD is
   not installed) and one LIST when it is served.

Large collections come in pages of 500 (``Client.list``), so a LIST of more objects than that costs one
request per page.

Writes: one JSON Patch (``ops/patch.py``) per changed workload with the field manager
``skywalking.swck/injector`` (operation Update): a ``test`` that ``metadata.generation`` is still the one
the change was computed from (it moves when the spec changes; a Deployment's also when its annotations
change), then a ``replace`` of the
template (and, with ``mark_errors``, SWCK's error marker in the workload's own annotations).  A
workload whose spec changed since it was listed fails the test; it is read again, recomputed and
patched once more.  A ``resourceVersion`` precondition would fail each time a controller updated the
workload's status.
Server-side apply cannot express this injection: the merged ``JAVA_TOOL_OPTIONS`` value belongs to the
container's owner (an apply conflicts unless forced, and then takes the field from its owner), and
removing the agent by applying less would drop the user's own variable.  Replacing the template with
the one the pure function computed writes exactly that, so a removal gives back the template the user
had, byte for byte.  Fields that another manager owns and the patch changes are reported
(``shared_fields``, classified with ``k8s/fields.py``); for an Update the API server moves the
ownership of exactly the fields whose value changed.

Existing Jobs and bare Pods cannot change their pod template (the API server refuses it): they are
reported in ``not_injectable``.  CronJobs are injected (their next Jobs get the agent).

Rollout pacing: template changes that restart pods (Deployments and StatefulSets with replicas, and
DaemonSets) are written in batches of ``max_concurrent``; each batch must be Ready (``k8s/waiter.py``)
before the next one is written, and the first batch that is not stops the run with the reason
(DESIGN.md section 5: controllers ignore PodDisruptionBudgets during their own rollouts, so pacing is
ours to do).  CronJobs and workloads scaled to zero restart nothing and are written at once.

The per-namespace copy of OAP's CA (``<cluster>-agent-ca``, only ``ca.crt``) that agents need when
OAP's gRPC port uses TLS is an object this injector owns: it goes through ``Engine.apply`` as the
instance ``<cluster>-agent-ca`` (an ApplySet in the cluster's namespace), so copies no workload needs
any more are pruned.
"""

from __future__ import annotations

import base64
import copy
import re
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import fields
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import CHANGING_ACTIONS
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.compare import path_text
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import (
    ApiError,
    SpecError,
    SwckError,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.manifest import (
    is_dns_label,
    is_dns_subdomain,
    object_ref,
)
from ansible_collections.skywalking.swck.plugins.module_utils.ops import patch
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject

KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
API_VERSIONS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
                "Job": "batch/v1", "CronJob": "batch/v1"}
# Kinds whose template change restarts pods (paced); a Deployment/StatefulSet at 0 replicas restarts none.
ROLLING_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
FIELD_MANAGER = "skywalking.swck/injector"
DEFAULT_NAMESPACE_SELECTOR = "%s=%s" % (inject.NAMESPACE_LABEL, inject.NAMESPACE_LABEL_VALUE)
CA_INSTANCE_SUFFIX = "-agent-ca"
# On the workload's own metadata (never its template): injected because its namespace carries SWCK's label,
# so taking that label away removes the injection.  Workloads injected for an explicit namespace list or
# another selector do not carry it, and a run by SWCK's label never removes their injection.
SCOPE_ANNOTATION = "skywalking.swck/injection-scope"
SCOPE_SWCK_LABEL = "swck-namespace-label"
WORKERS = 12
# Controllers that own pods of the kinds handled here (a ReplicaSet counts when a Deployment made it).
HANDLED_POD_OWNERS = ("ReplicaSet", "StatefulSet", "DaemonSet", "Job")
# SwAgent spec fields (SWCK api/v1alpha1 swagent_types.go): the short form of the swagents option uses them.
SWAGENT_SPEC_FIELDS = ("selector", "containerMatcher", "javaSidecar", "sharedVolumeName", "optionalPlugins",
                       "optionalReporterPlugins", "bootstrapPlugins")
SWAGENT_OBJECT_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")
# SWCK's JavaSidecar (api/v1alpha1 swagent_types.go): the init container's settings.
JAVA_SIDECAR_FIELDS = ("name", "image", "command", "args", "resources", "env")
SWAGENT_LIST_FIELDS = ("optionalPlugins", "optionalReporterPlugins", "bootstrapPlugins")
# The image SWCK's SwAgent CRD fills in when a SwAgent gives none (config/crd of SWCK's operator): an old agent.
SWAGENT_CRD_DEFAULT_IMAGE = "apache/skywalking-java-agent:8.16.0-java8"
# The agent's own default when no collector address reaches it (agent.config: collector.backend_service).
AGENT_BUILTIN_COLLECTOR = "127.0.0.1:11800"
COLLECTOR_ENV = "SW_AGENT_COLLECTOR_BACKEND_SERVICES"
COLLECTOR_ANNOTATION = inject.AGENT_PREFIX + "collector.backend_service"
# The DaemonSet controller's own bookkeeping annotation, bumped by the API server on every template change: noise
# in a diff.
DAEMONSET_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
# List fields the API server merges by a key (strategic merge / server-side apply list-map keys).
_LIST_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
              "env": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name"}

# result lists
LISTS = ("injected", "updated", "already_injected", "removed", "not_injectable", "invalid", "not_applied")


# ----------------------------------------------------------------------------------------------
# pure helpers
# ----------------------------------------------------------------------------------------------

def changed_fields(old, new, path=()):
    """Fields of ``old`` that ``new`` changes or removes, as ``k8s/fields.py`` paths.

    A path is a tuple of ``("f", name)`` (a mapping key) and ``("k", {key: value})`` (an item of a list
    the API server keys: containers and volumes by name, env by name, volumeMounts by mountPath).
    Fields ``new`` adds are not listed (nobody owns them yet); a changed scalar or un-keyed list is
    listed whole.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key, value in old.items():
            sub = path + (("f", key),)
            if key not in new:
                out.append(sub)
            elif value != new[key]:
                out.extend(changed_fields(value, new[key], sub))
        return out
    key = _LIST_KEYS.get(path[-1][1]) if path and path[-1][0] == "f" else None
    if key and isinstance(old, list) and isinstance(new, list) and all(
            isinstance(item, dict) and key in item for item in old + new):
        by_key = dict((item[key], item) for item in new)
        out = []
        for item in old:
            sub = path + (("k", {key: item[key]}),)
            if item[key] not in by_key:
                out.append(sub)
            elif item != by_key[item[key]]:
                out.extend(changed_fields(item, by_key[item[key]], sub))
        return out
    return [path]


def template_of(obj):
    """The pod template of a workload (a dict), or None."""
    path = inject.template_path(obj)
    if path is None:
        return None
    node = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def is_labelled(obj):
    """Whether the pod template carries ``swck-java-agent-injected: "true"`` (case-insensitive, as SWCK)."""
    tpl = template_of(obj) or {}
    labels = (tpl.get("metadata") or {}).get("labels") or {}
    return str(labels.get(inject.INJECTION_LABEL, "")).lower() == "true"


def references_secret(obj, secret):
    """Whether the pod template mounts the Secret named ``secret``."""
    tpl = template_of(obj) or {}
    for volume in (tpl.get("spec") or {}).get("volumes") or []:
        if isinstance(volume, dict) and (volume.get("secret") or {}).get("secretName") == secret:
            return True
    return False


def restarts_pods(obj):
    """Whether a change of this workload's pod template restarts pods (what rollout pacing limits)."""
    kind = obj.get("kind")
    if kind not in ROLLING_KINDS:
        return False
    if kind == "DaemonSet":
        return True
    replicas = (obj.get("spec") or {}).get("replicas")
    return replicas is None or replicas > 0


def batches_of(items, size):
    """``items`` in consecutive batches of ``size`` (one batch of all when ``size`` is 0)."""
    if not items:
        return []
    if not size or size <= 0:
        return [list(items)]
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def swagent_objects(items, field="swagents"):
    """The ``swagents`` option as SwAgent objects.

    Each item is a SwAgent object (``metadata.name``, optional ``metadata.namespace``, ``spec``), or
    its short form ``{name, namespace, <spec fields>}`` with SWCK's spec field names (selector,
    containerMatcher, javaSidecar, sharedVolumeName, optionalPlugins, optionalReporterPlugins,
    bootstrapPlugins).  A SwAgent without a namespace applies in every namespace.  Raises ``SpecError``.
    """
    if items is None:
        items = []
    if not isinstance(items, (list, tuple)):
        raise SpecError(field, "must be a list of SwAgents (mappings), got %s" % inject.type_name(items))
    out = []
    seen = {}
    for index, item in enumerate(items):
        where = "%s[%d]" % (field, index)
        if not isinstance(item, dict):
            raise SpecError(where, "must be a SwAgent (a mapping), got %s %r" % (inject.type_name(item), item))
        if "spec" in item or "metadata" in item or "kind" in item:
            unknown = [k for k in item if k not in SWAGENT_OBJECT_FIELDS]
            if unknown:
                raise SpecError("%s.%s" % (where, unknown[0]), "not a field of a SwAgent object (%s)%s" % (
                    ", ".join(SWAGENT_OBJECT_FIELDS), _item_name(item)))
            for key in ("metadata", "spec"):
                if item.get(key) is not None and not isinstance(item[key], dict):
                    raise SpecError("%s.%s" % (where, key), "must be a mapping, got %s%s"
                                    % (inject.type_name(item[key]), _item_name(item)))
            obj = copy.deepcopy(item)
            obj.setdefault("spec", {})
        else:
            unknown = [k for k in item if k not in SWAGENT_SPEC_FIELDS + ("name", "namespace")]
            if unknown:
                raise SpecError("%s.%s" % (where, unknown[0]), "not a SwAgent field (%s)"
                                % ", ".join(("name", "namespace") + SWAGENT_SPEC_FIELDS))
            meta = {"name": item.get("name")}
            if item.get("namespace"):
                meta["namespace"] = item["namespace"]
            obj = {"metadata": meta, "spec": dict((k, copy.deepcopy(v)) for k, v in item.items()
                                                  if k in SWAGENT_SPEC_FIELDS)}
        obj.setdefault("apiVersion", inject.SWAGENT_API_VERSION)
        obj.setdefault("kind", inject.SWAGENT_KIND)
        namespace = (obj.get("metadata") or {}).get("namespace")
        if namespace is not None and not is_dns_label(namespace):
            raise SpecError(where + ".namespace", "%r is not a namespace name%s" % (namespace, _item_name(item)))
        _check_swagent_shape(obj, where, item)
        name = (obj.get("metadata") or {}).get("name")
        key = (namespace, name)
        if name is not None and key in seen:
            raise SpecError(where, "SwAgent %s%s is given twice (also %s[%d]): a name is unique in a namespace" % (
                name, " in namespace %s" % namespace if namespace else "", field, seen[key]))
        seen[key] = index
        out.append(obj)
    try:
        check_swagents(out)
    except SpecError as err:
        raise _named(err, field, items)
    return out


def _item_name(item):
    """`` (SwAgent <name>)`` for an error about an item of the swagents option, when it has a name."""
    if not isinstance(item, dict):
        return ""
    meta = item.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else item.get("name")
    return " (SwAgent %s)" % name if isinstance(name, str) and name else ""


def _named(err, field, items):
    """``err`` about ``<field>[i]...`` with the item's name added to its problem."""
    found = re.match(r"^%s\[(\d+)\]" % re.escape(field), err.field or "")
    if not found or int(found.group(1)) >= len(items):
        return err
    suffix = _item_name(items[int(found.group(1))])
    if not suffix or suffix.strip() in err.problem:
        return err
    return SpecError(err.field, err.problem + suffix)


def _check_swagent_shape(obj, where, item):
    """The parts of a SwAgent the pure layer reads loosely: its name, the spec's field names and types."""
    named = _item_name(item)
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if isinstance(name, str) and name and not is_dns_subdomain(name):
        raise SpecError(where + ".metadata.name", "%r is not a SwAgent name (a DNS subdomain: lower-case letters, "
                                                  "digits, '-' and '.')" % (name,))
    spec = obj.get("spec") or {}
    unknown = [k for k in spec if k not in SWAGENT_SPEC_FIELDS]
    if unknown:
        raise SpecError("%s.spec.%s" % (where, unknown[0]), "not a SwAgent spec field (%s)%s"
                        % (", ".join(SWAGENT_SPEC_FIELDS), named))
    sidecar = spec.get("javaSidecar")
    if isinstance(sidecar, dict):
        unknown = [k for k in sidecar if k not in JAVA_SIDECAR_FIELDS]
        if unknown:
            raise SpecError("%s.spec.javaSidecar.%s" % (where, unknown[0]), "not a javaSidecar field (%s)%s"
                            % (", ".join(JAVA_SIDECAR_FIELDS), named))
    for key in SWAGENT_LIST_FIELDS:
        value = spec.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise SpecError("%s.spec.%s" % (where, key), "must be a list of strings, got %r%s" % (value, named))


def check_swagents(agents, named=False):
    """Validate SwAgent objects completely with the pure layer (``inject.validate_swagents``): every
    spec field, before any request; errors name ``swagents[<index>].<field>``, or the SwAgent's
    namespace/name when ``named`` (SwAgents read from the cluster).  Raises ``SpecError``.
    """
    inject.validate_swagents(agents, named=named)


def report_field(report):
    """The field an error report of the pure layer names; when it names none, the field its reason starts with
    (``<field>: <problem>``, after a ``SwAgent <name>: `` prefix)."""
    if report.get("field"):
        return report["field"]
    reason = str(report.get("reason") or "")
    if reason.startswith("SwAgent ") and ": " in reason:
        reason = reason.split(": ", 1)[1]
    return reason.split(": ", 1)[0] if ": " in reason else reason or None


def invalid_swagents(agents):
    """The SwAgents (read from the cluster) of ``agents`` that the pure layer refuses, each as ``{"agent", "swagent"
    (namespace/name), "field" (in the SwAgent, e.g. spec.javaSidecar.env), "reason"}``; checked one by one, so a
    bad SwAgent fails only the workloads it applies to."""
    out = []
    for agent in agents:
        try:
            check_swagents([agent], named=True)
        except SpecError as err:
            meta = agent.get("metadata") if isinstance(agent.get("metadata"), dict) else {}
            name = "%s/%s" % (meta.get("namespace"), meta.get("name")) if meta.get("namespace") else str(meta.get("name"))
            field = err.field or ""
            prefix = "SwAgent %s: " % name
            if field.startswith(prefix):
                field = field[len(prefix):]
            if not field:  # the pure layer named no field: the reason's own first part
                field = err.msg.split(": ", 1)[0]
            reason = err.msg if err.msg.startswith("SwAgent ") else "SwAgent %s: %s" % (name, err.msg)
            out.append({"agent": agent, "swagent": name, "field": field, "reason": reason})
    return out


def swagent_applies(agent, obj):
    """Whether a SwAgent (of the workload's namespace) applies to ``obj``: no selector, or every label of its selector
    on the pod template; a selector that is not a mapping of strings cannot be read, so it is taken to apply."""
    selector = (agent.get("spec") or {}).get("selector") if isinstance(agent.get("spec"), dict) else None
    if not selector:
        return True
    if not isinstance(selector, dict) or not all(isinstance(v, str) for v in selector.values()):
        return True
    labels = ((template_of(obj) or {}).get("metadata") or {}).get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.items())


def injection_defaults(defaults=None, cluster=None):
    """``(defaults, cluster_spec, ca_copy)`` for a run.

    ``defaults``: the module's ``defaults`` (keys of ``inject.DEFAULTS``; None values mean "not set").
    ``cluster``: a provisioning spec (``skywalking/spec.py``), from which the collector address (and,
    with OAP gRPC TLS, the CA Secret) default (``inject.cluster_agent_defaults``); ``defaults`` win.
    ``ca_copy``: None, or ``{"source", "key", "namespace", "name", "instance"}`` when this run must copy
    the CA from OAP's gRPC TLS Secret into every namespace whose workloads mount it.
    Raises ``SpecError`` (``SpecProblems`` for the cluster spec).
    """
    merged = {}
    spec = None
    from_cluster = {}
    if cluster is not None:
        spec = cluster_spec(cluster)
        from_cluster = inject.cluster_agent_defaults(spec)
        merged.update(from_cluster)
    if defaults is not None and not isinstance(defaults, dict):
        raise SpecError("defaults", "must be a mapping")
    for key, value in (defaults or {}).items():
        if key == "backend_service" and isinstance(value, str) and not value.strip():
            value = None  # an empty survey field: not "no address", which would drop the cluster's
        if value is not None:
            merged[key] = value
    inject.effective_defaults(merged)
    _probe_defaults(merged)
    ca_copy = None
    if from_cluster.get("ca_secret") and merged.get("ca_secret") == from_cluster["ca_secret"]:
        grpc = spec["oap"]["tls"]["grpc"]
        if not grpc.get("ca"):
            raise SpecError("cluster.oap.tls.grpc.ca", "is empty: agents need the CA certificate that signed OAP's "
                                                       "gRPC certificate (or set defaults.ca_secret yourself)")
        ca_copy = {"source": grpc["secret"], "key": grpc["ca"], "namespace": spec["namespace"],
                   "name": merged["ca_secret"], "instance": spec["name"] + CA_INSTANCE_SUFFIX}
    return merged, spec, ca_copy


def cluster_spec(cluster):
    """The ``cluster`` option normalised (``spec.normalize``), its problems naming ``cluster.<field>``.

    ``cluster`` names the SkyWalking cluster the agents report to: without ``name`` and ``namespace`` (``{}`` too) it
    is refused rather than silently ignored.  Raises ``SpecError``.
    """
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec as sw_spec

    if not isinstance(cluster, dict):
        raise SpecError("cluster", "must be a provisioning spec (a mapping with name and namespace), got %s"
                        % inject.type_name(cluster))
    for key in ("name", "namespace"):
        if cluster.get(key) in (None, ""):
            raise SpecError("cluster." + key, "missing; cluster: needs name and namespace (the SkyWalking cluster the "
                                              "agents report to)")
    try:
        spec, _warnings = sw_spec.normalize(cluster)
    except sw_spec.SpecProblems as err:
        raise sw_spec.SpecProblems([("cluster." + field if field != "spec" else "cluster", problem)
                                    for field, problem in err.problems])
    return spec


def _probe_defaults(defaults):
    """Settings the pure layer checks per workload (mount path, names, plugin patterns, ...) are checked once
    here, on a minimal labelled pod, so bad ``defaults`` fail the run before any request, not every workload."""
    probe = {"kind": "Pod", "metadata": {"name": "probe", "labels": {inject.INJECTION_LABEL: "true"}},
             "spec": {"containers": [{"name": "app", "image": "probe"}]}}
    report = inject.inject_object(probe, defaults).report
    field = report["field"] or ""
    if report["status"] == inject.ERROR and field.startswith("defaults."):
        problem = report["reason"][len(field) + 2:]
        if not (field == "defaults.container_matcher" and "matches none" in problem):
            raise SpecError(field, problem)


def mask_credential_env(value, found=None):
    """``value`` with the plain values of credential env vars masked; their texts are added to ``found``.

    An env var is any mapping with a ``name`` and a ``value`` in a list under an ``env`` key (a container's
    env, ``defaults.env``, a SwAgent's ``javaSidecar.env``), or an entry of an ``env`` mapping (the
    provisioning spec's ``{NAME: value}`` form); its name says credential when ``spec.is_credential_env``
    says so (``SW_AGENT_AUTHENTICATION``, ``*PASSWORD*``, ``*TOKEN*``, ...).  ``valueFrom`` references are
    kept: they name a Secret, not its content.  Agent settings given as annotations whose key says credential
    (``is_credential_annotation``: ``agent.skywalking.apache.org/agent.authentication``, ...) are masked too;
    their values also reach the ``-javaagent`` option and the record, where the texts in ``found`` mask them.
    """
    from ansible_collections.skywalking.swck.plugins.module_utils.ops.cluster_module import MASK
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.spec import is_credential_env

    found = set() if found is None else found

    def annotation(key, item):
        return is_credential_annotation(key) and isinstance(item, str) and item != ""

    def secret(name, item):
        return is_credential_env(name) and item not in (None, "") and not isinstance(item, (dict, list, bool))

    def walk(node, under_env=False):
        if isinstance(node, list):
            out = []
            for item in node:
                if under_env and isinstance(item, dict) and secret(item.get("name"), item.get("value")):
                    found.add(str(item["value"]))
                    item = dict(item, value=MASK)
                out.append(walk(item))
            return out
        if isinstance(node, dict):
            out = {}
            for key, item in node.items():
                if under_env and secret(key, item):
                    found.add(str(item))
                    out[key] = MASK
                elif key == "annotations" and isinstance(item, dict):
                    out[key] = dict((k, v) for k, v in item.items())
                    for name, text in item.items():
                        if annotation(name, text):
                            found.add(text)
                            out[key][name] = MASK
                else:
                    out[key] = walk(item, under_env=(key == "env"))
            return out
        return node

    return walk(value), found


# the last part of an agent or plugin setting's key that says credential, besides spec.is_credential_env's words
_CREDENTIAL_SETTING = re.compile(r"jaas|passwd|password|secret|token|authentication|credential", re.IGNORECASE)


def is_credential_annotation(key):
    """Whether an annotation is an agent or plugin setting whose key says credential, e.g.
    ``agent.skywalking.apache.org/agent.authentication``, ``plugins.skywalking.apache.org/plugin.kafka.
    producer_config[sasl.jaas.config]`` (the pure layer's ``credential_annotation_keys``; a rule of its own before)."""
    rule = getattr(inject, "credential_annotation_keys", None)
    if rule is not None:
        return key in rule({key: ""})
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.spec import is_credential_env

    if not isinstance(key, str) or not key.startswith((inject.AGENT_PREFIX, inject.PLUGINS_PREFIX)):
        return False
    setting = key.split("/", 1)[1]
    last = setting.rsplit(".", 1)[-1]
    return bool(is_credential_env(last) or is_credential_env(setting.replace(".", "_")) or
                _CREDENTIAL_SETTING.search(setting))


def secret_arguments(params):
    """``(values, shown)`` for a module's arguments: the credential values in them (for ``no_log_values``) and
    the arguments to echo back instead (``invocation``), with those values masked.

    Credentials: plain values of credential env vars in ``defaults.env`` and ``swagents`` (SwAgent env),
    and whatever the provisioning spec marks secret, or its credential env, in ``cluster``.
    """
    found = set()
    shown = {}
    for key in ("defaults", "swagents"):
        if params.get(key) is not None:
            shown[key], _found = mask_credential_env(params[key], found)
    if params.get("cluster") is not None:
        from ansible_collections.skywalking.swck.plugins.module_utils.ops.cluster_module import secret_values_and_masked
        from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec as sw_spec

        values, shown["cluster"] = secret_values_and_masked(sw_spec.options("cluster"), params["cluster"])
        found.update(values)
        shown["cluster"], _found = mask_credential_env(shown["cluster"], found)
    # very short values would mask unrelated text all over the output (they are still masked in ``shown``)
    return set(v for v in found if len(v) >= 3), shown


def _ref(obj):
    return object_ref(obj)


def _entry(obj, **extra):
    meta = obj.get("metadata") or {}
    out = {"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name")}
    out.update(dict((k, v) for k, v in extra.items() if v is not None))
    return out


def _sort_key(entry):
    return (entry.get("namespace") or "", entry.get("kind") or "", entry.get("name") or "")


def _without_managed_fields(obj):
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    out = dict(obj)
    out["metadata"] = meta
    return out


# ----------------------------------------------------------------------------------------------
# the reconcile
# ----------------------------------------------------------------------------------------------

class _Item(object):
    """One workload on its way through the run."""

    __slots__ = ("listed", "live", "res", "compute", "outcome", "template_changed", "after", "error",
                 "removal_reason", "retried", "scope")

    def __init__(self, live, res, compute, removal_reason=None, scope=None):
        self.listed = live  # as listed (``live`` is replaced by a fresh read after a 409)
        self.live = live
        self.res = res
        self.compute = compute  # live object -> inject.Outcome
        self.outcome = None
        self.template_changed = False
        self.after = None
        self.error = None
        self.removal_reason = removal_reason
        self.retried = False
        self.scope = scope  # SCOPE_SWCK_LABEL when selected by SWCK's namespace label

    @property
    def ref(self):
        return _ref(self.live)

    def evaluate(self):
        outcome = self.compute(_without_managed_fields(self.live))
        status = outcome.report["status"]
        annotations = (outcome.obj.get("metadata") or {}).get("annotations")
        if status == inject.REMOVED and annotations and SCOPE_ANNOTATION in annotations:
            del annotations[SCOPE_ANNOTATION]
            if not annotations:
                del outcome.obj["metadata"]["annotations"]
        elif self.scope and status in (inject.INJECTED, inject.UPDATED, inject.ALREADY_INJECTED) and \
                (annotations or {}).get(SCOPE_ANNOTATION) != self.scope:
            outcome.obj.setdefault("metadata", {}).setdefault("annotations", {})[SCOPE_ANNOTATION] = self.scope
        annotations = (outcome.obj.get("metadata") or {}).get("annotations")
        if status not in (inject.ERROR, inject.SKIPPED) and annotations and inject.ERROR_ANNOTATION in annotations:
            # SWCK's error marker (mark_errors) is about an earlier run: any later success or removal clears it,
            # whether this run marks errors or not
            del annotations[inject.ERROR_ANNOTATION]
            if not annotations:
                del outcome.obj["metadata"]["annotations"]
        self.outcome = outcome
        self.template_changed = template_of(outcome.obj) != template_of(self.live)
        outcome.report["changed"] = self.template_changed or _annotations(outcome.obj) != _annotations(self.live)
        return outcome

    @property
    def needs_write(self):
        return bool(self.outcome and self.outcome.report["changed"])


class Result(object):
    """What a run did; ``as_dict()`` is the module's result."""

    def __init__(self):
        self.lists = dict((name, []) for name in LISTS)
        self.not_selected = 0
        self.not_injected = 0
        self.writes = 0
        self.batches = []
        self.shared_fields = []
        self.warnings = []
        self.diffs = []
        self.stopped = None
        self.namespaces = []
        self.swagents = []
        self.ca_secrets = None

    def add(self, name, entry):
        self.lists[name].append(entry)

    def warn(self, text):
        if text not in self.warnings:
            self.warnings.append(text)

    @property
    def changed(self):
        return self.writes > 0

    def counts(self):
        out = dict((name, len(self.lists[name])) for name in LISTS if self.lists[name])
        if self.not_selected:
            out["not_selected"] = self.not_selected
        if self.not_injected:
            out["not_injected"] = self.not_injected
        return out

    def as_dict(self):
        out = {"changed": self.changed}
        for name in LISTS:
            out[name] = sorted(self.lists[name], key=_sort_key)
        out.update(counts=self.counts(), writes=self.writes, batches=self.batches, shared_fields=self.shared_fields,
                   stopped=self.stopped, namespaces=self.namespaces, swagents=self.swagents,
                   ca_secrets=self.ca_secrets)
        return out


class Injector(object):
    """Reconciles the injection for one run; holds per-run state (create one per run)."""

    def __init__(self, client, check_mode=False, diff=False, field_manager=FIELD_MANAGER, workers=WORKERS):
        self.client = client
        self.check_mode = check_mode
        self.diff = diff
        self.field_manager = field_manager
        self.workers = workers
        self.result = Result()
        self._pool = None
        self._ca_cache = None
        self._ca_actions = {}
        self._workload_warnings = {}  # warning text -> workloads it concerns (one line per text)
        # credential values seen in this run (env, agent settings): masked in every text the result shows
        self.secrets = set()

    # ------------------------------------------------------------------ run
    def run(self, state="present", namespaces=None, namespace_selector=None, kinds=KINDS, defaults=None,
            cluster=None, swagents=(), read_swagents=True, max_concurrent=0, wait=False, wait_timeout=300,
            mark_errors=False):
        """Reconcile the injection; returns a ``Result``.

        ``state``: ``present`` injects (and removes where the label was taken away), ``absent`` removes
        every injection of this collection in scope.  Scope: ``namespaces`` (a list of names), else the
        namespaces ``namespace_selector`` (a label selector) selects, else the namespaces labelled
        ``swck-injection=enabled`` (SWCK's label) -- and then also the workloads injected because of that
        label (``SCOPE_ANNOTATION`` on their metadata) in namespaces that lost it: their injection is
        removed.  ``kinds``: a subset of ``KINDS``.  ``defaults``, ``cluster``:
        see ``injection_defaults``.  ``swagents``: see ``swagent_objects``; ``read_swagents``: also
        use the cluster's SwAgent objects when SWCK's CRD is served.  ``max_concurrent``: at most this
        many pod-restarting workloads at once, each batch Ready before the next (0: no pacing);
        ``wait``: wait for the (unpaced) rollouts too; ``wait_timeout``: seconds per batch.
        ``mark_errors``: SWCK's error annotation on invalid workloads' own metadata.

        Raises ``SpecError`` for invalid options (nothing read or written) and ``SwckError`` for a
        failure that stops the run before any write (a namespace list it may not read, ...).  A pacing
        stop does not raise: ``result.stopped`` says which batch and why.
        """
        self._check_options(state, namespaces, namespace_selector, kinds, max_concurrent, wait_timeout)
        cfg, _spec, ca_copy = injection_defaults(defaults, cluster)
        role_agents = swagent_objects(swagents)
        mask_credential_env([cfg, role_agents], self.secrets)
        explicit = bool(namespaces)
        selector = None if explicit else (namespace_selector or DEFAULT_NAMESPACE_SELECTOR)
        # SWCK's contract: the namespace label turns injection on, so taking it away turns it off.  Other
        # selections (a list, another selector) are scopes: nothing outside them is touched.
        cleanup = not explicit and not namespace_selector
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            self._pool = pool
            selected = self._select_namespaces(list(namespaces or []), selector)
            self.result.namespaces = sorted(selected)
            # the reads are independent: send them together
            pods = pool.submit(self._list_pods, selected) if state == "present" else None
            agents = pool.submit(self._read_swagents, selected) if read_swagents and state == "present" else None
            listing, cluster_wide = self._list_workloads(kinds, selected)
            cluster_agents = agents.result() if agents else []
            mask_credential_env(cluster_agents, self.secrets)
            self.result.swagents = sorted("%s/%s" % (a["metadata"].get("namespace"), a["metadata"]["name"])
                                          for a in cluster_agents)
            if state == "present":
                self._warn_old_agent_images(role_agents, cluster_agents, selected)
            items = self._plan(state, listing, cluster_wide, selected, cleanup, cfg, role_agents, cluster_agents,
                               mark_errors)
            self._flush_workload_warnings()
            if state == "present":
                self._warn_without_collector(items)
            if pods:
                self._report_pods(pods.result(), selected)
            writes = [item for item in items if item.needs_write]
            for item in items:
                if not item.needs_write:
                    self._add_status(item, item.outcome.report)
            if state == "present" and cfg.get("ca_secret") and not (ca_copy and ca_copy["name"] == cfg["ca_secret"]):
                self._check_ca_secret(cfg["ca_secret"], writes, cfg.get("ca_secret_key") or "ca.crt")
            self._report_shared_fields(writes)
            ca_plan = self._ca_plan(ca_copy, items, listing, cluster_wide, kinds) if ca_copy else None
            if ca_plan and ca_plan["before"] is not None:
                self._apply_ca(ca_copy, ca_plan["before"], prune=ca_plan["prune_before"])
            self._write_all(writes, max_concurrent, wait, wait_timeout)
            if ca_plan and ca_plan["after"] is not None and not self.result.stopped:
                self._apply_ca(ca_copy, self._ca_needed(ca_copy, items, listing, final=True), prune=True)
        self._pool = None
        self.result.warnings.extend(w for w in self.client.warnings if w not in self.result.warnings)
        self._mask_texts()
        return self.result

    def _mask_texts(self):
        """Credential values this run saw never reach a warning or a reason (messages quote values)."""
        if not self.secrets:
            return
        self.result.warnings = [mask_text(w, self.secrets) for w in self.result.warnings]
        for entries in self.result.lists.values():
            for entry in entries:
                for key in ("reason", "field"):
                    if isinstance(entry.get(key), str):
                        entry[key] = mask_text(entry[key], self.secrets)
        if self.result.stopped and isinstance(self.result.stopped.get("reason"), str):
            self.result.stopped["reason"] = mask_text(self.result.stopped["reason"], self.secrets)

    def _warn_old_agent_images(self, role_agents, cluster_agents, selected):
        """SWCK's SwAgent CRD fills in an 8.16.0 agent when a SwAgent gives no image: say so, once per SwAgent."""
        for origin, agents in (("swagents option", role_agents), ("cluster", cluster_agents)):
            for agent in agents:
                meta = agent.get("metadata") if isinstance(agent.get("metadata"), dict) else {}
                namespace = meta.get("namespace")
                if namespace is not None and namespace not in selected:
                    continue
                spec = agent.get("spec")
                sidecar = spec.get("javaSidecar") if isinstance(spec, dict) else None
                image = sidecar.get("image") if isinstance(sidecar, dict) else None
                if not isinstance(image, str) or image.split("docker.io/", 1)[-1] != SWAGENT_CRD_DEFAULT_IMAGE:
                    continue
                self.result.warn(
                    "SwAgent %s%s (%s): javaSidecar.image %s is the default of SWCK's SwAgent CRD, filled in when a "
                    "SwAgent gives no image: an old agent (8.16.0); set javaSidecar.image, e.g. %s"
                    % ("%s/" % namespace if namespace else "", meta.get("name"), origin, image,
                       inject.DEFAULTS["image"]))

    def _warn_without_collector(self, items):
        """Workloads the agent goes into with no collector address: it would report to its built-in default."""
        lacking = []
        for item in items:
            report = item.outcome.report
            if report["status"] in (inject.INJECTED, inject.UPDATED, inject.ALREADY_INJECTED) and \
                    not has_collector(item.outcome.obj, report["containers"]):
                lacking.append(item.ref)
        if lacking:
            self.result.warn(
                "no collector address for %d workload(s) (%s): the agent would report to its built-in %s, i.e. "
                "nowhere; give defaults.backend_service (the role's inject_backend_service), cluster (the role's "
                "skywalking_cluster), %s in a SwAgent's javaSidecar.env, or the annotation %s"
                % (len(lacking), ", ".join(sorted(lacking)[:10]) + (", ..." if len(lacking) > 10 else ""),
                   AGENT_BUILTIN_COLLECTOR, COLLECTOR_ENV, COLLECTOR_ANNOTATION))

    @staticmethod
    def _check_options(state, namespaces, namespace_selector, kinds, max_concurrent, wait_timeout):
        if state not in ("present", "absent"):
            raise SpecError("state", "must be present or absent, got %r" % (state,))
        if namespaces and namespace_selector:
            raise SpecError("namespaces", "give either namespaces or namespace_selector, not both")
        for index, name in enumerate(namespaces or []):
            if not is_dns_label(name):
                raise SpecError("namespaces[%d]" % index, "%r is not a namespace name" % (name,))
        if namespace_selector is not None and not isinstance(namespace_selector, str):
            raise SpecError("namespace_selector", "must be a label selector string, e.g. team=shop,swck-injection")
        if not kinds:
            raise SpecError("kinds", "must name at least one of %s" % ", ".join(KINDS))
        for kind in kinds:
            if kind not in KINDS:
                raise SpecError("kinds", "%r is not one of %s" % (kind, ", ".join(KINDS)))
        if isinstance(max_concurrent, bool) or not isinstance(max_concurrent, int) or max_concurrent < 0:
            raise SpecError("max_concurrent", "must be 0 (no pacing) or a positive number of workloads")
        if isinstance(wait_timeout, bool) or not isinstance(wait_timeout, (int, float)) or wait_timeout <= 0:
            raise SpecError("wait_timeout", "must be a positive number of seconds")

    # ----------------------------------------------------------------- reads
    def _select_namespaces(self, names, selector):
        res = self.client.resource("v1", "Namespace")
        if names:
            try:
                existing = set(ns["metadata"]["name"] for ns in self.client.list(res))
            except ApiError as err:
                if err.status != 403:
                    raise
                self.result.warn("cannot list namespaces (403): using the given namespaces without checking them")
                return set(names)
            for name in names:
                if name not in existing:
                    self.result.warn("namespace %s does not exist: nothing to do there" % name)
            return set(n for n in names if n in existing)
        try:
            listed = self.client.list(res, label_selector=selector)
        except ApiError as err:
            if err.status == 400:
                raise SpecError("namespace_selector", "%r: %s" % (selector, err.api_message))
            if err.status == 403:
                raise SwckError("cannot list namespaces to select them by %s (403 Forbidden): give the namespaces "
                                "option instead" % selector)
            raise
        out = set()
        for ns in listed:
            if (ns.get("status") or {}).get("phase") == "Terminating":
                self.result.warn("namespace %s is being deleted: left alone" % ns["metadata"]["name"])
                continue
            out.add(ns["metadata"]["name"])
        return out

    def _list_kind(self, kind, selected):
        res = self.client.resource(API_VERSIONS[kind], kind)
        try:
            return res, self.client.list(res), True
        except ApiError as err:
            if err.status != 403:
                raise
        self.result.warn("cannot list %ss cluster-wide (403 Forbidden): listed per namespace instead (%d requests)"
                         % (kind, len(selected)))
        items = []
        for namespace in sorted(selected):
            try:
                items.extend(self.client.list(res, namespace=namespace))
            except ApiError as err:
                if err.status != 403:
                    raise
                self.result.warn("cannot list %ss in namespace %s (403 Forbidden): not reconciled there"
                                 % (kind, namespace))
        return res, items, False

    def _list_workloads(self, kinds, selected):
        listed = [future.result() for future in [self._pool.submit(self._list_kind, kind, selected) for kind in kinds]]
        listing = [(res, items) for res, items, _wide in listed]
        return listing, all(wide for _res, _items, wide in listed)

    def _list_pods(self, selected):
        res = self.client.resource("v1", "Pod")
        try:
            return self.client.list(res, label_selector=inject.INJECTION_LABEL)
        except ApiError as err:
            if err.status != 403:
                raise
        pods = []
        for namespace in sorted(selected):
            try:
                pods.extend(self.client.list(res, namespace=namespace, label_selector=inject.INJECTION_LABEL))
            except ApiError as err:
                if err.status != 403:
                    raise
        return pods

    def _read_swagents(self, selected):
        try:
            served = self.client.served(inject.SWAGENT_API_VERSION, inject.SWAGENT_KIND)
        except ApiError as err:
            if err.status != 403:
                raise
            self.result.warn("cannot read API discovery for %s (403): SwAgent objects not read"
                             % inject.SWAGENT_API_VERSION)
            return []
        if not served:
            return []
        res = self.client.resource(inject.SWAGENT_API_VERSION, inject.SWAGENT_KIND)
        try:
            agents = self.client.list(res)
        except ApiError as err:
            if err.status != 403:
                raise
            agents = []
            for namespace in sorted(selected):
                try:
                    agents.extend(self.client.list(res, namespace=namespace))
                except ApiError as inner:
                    if inner.status != 403:
                        raise
                    self.result.warn("cannot list SwAgents in namespace %s (403 Forbidden): its workloads are "
                                     "injected without them" % namespace)
        return [_without_managed_fields(a) for a in agents]

    # ------------------------------------------------------------- compute
    def _plan(self, state, listing, cluster_wide, selected, cleanup, cfg, role_agents, cluster_agents, mark_errors):
        by_ns = {}
        for agent in cluster_agents:
            by_ns.setdefault(agent["metadata"].get("namespace"), []).append(agent)
        agents_cache, bad_agents = {}, {}

        def agents_for(namespace):
            if namespace not in agents_cache:
                agents = [a for a in role_agents if (a["metadata"].get("namespace") or namespace) == namespace]
                agents += by_ns.get(namespace, [])
                bad_agents[namespace] = invalid_swagents(by_ns.get(namespace, []))
                agents_cache[namespace] = agents
            return agents_cache[namespace]

        def injector(namespace):
            agents = agents_for(namespace)
            return lambda obj: inject.inject_object(obj, cfg, agents, mark_errors)

        def remover(obj):
            return inject.remove_object(obj, mark_errors)

        if not cluster_wide and cleanup:
            self.result.warn("some kinds were listed per namespace: injections in namespaces that left the "
                             "selection could not be looked for")
        items = []
        for res, objects in listing:
            for live in objects:
                namespace = live["metadata"].get("namespace")
                injected = inject.is_injected(live)
                if live["metadata"].get("deletionTimestamp"):
                    continue
                if namespace not in selected:
                    if not (cleanup and injected and (_annotations(live) or {}).get(SCOPE_ANNOTATION) == SCOPE_SWCK_LABEL):
                        continue
                    item = _Item(live, res, remover, "namespace %s no longer has the label %s"
                                 % (namespace, DEFAULT_NAMESPACE_SELECTOR))
                elif not injected and not is_labelled(live):
                    if inject.ERROR_ANNOTATION not in (_annotations(live) or {}):
                        self.result.not_selected += 1
                        continue
                    # no longer selected, but an earlier run marked it invalid: the marker goes
                    item = _Item(live, res, remover)
                elif state == "absent":
                    item = _Item(live, res, remover, "state=absent")
                else:
                    agents_for(namespace)
                    bad = [b for b in bad_agents[namespace] if swagent_applies(b["agent"], live)]
                    if bad and is_labelled(live):
                        first = bad[0]
                        self.result.add("invalid", _entry(live, reason=first["reason"], field=first["field"],
                                                          swagent=first["swagent"]))
                        self.result.warn("%s: not injected: %s" % (_ref(live), first["reason"]))
                        continue
                    item = _Item(live, res, injector(namespace), scope=SCOPE_SWCK_LABEL if cleanup else None)
                item.evaluate()
                mask_credential_env([template_of(live), template_of(item.outcome.obj)], self.secrets)
                if self._classify(item):
                    items.append(item)
        return items

    def _classify(self, item):
        """Record what the pure function said; True when the item may be written."""
        report = item.outcome.report
        status = report["status"]
        live = item.live
        for warning in report["warnings"]:
            self._workload_warnings.setdefault(warning, []).append(item.ref)
        if status == inject.SKIPPED:
            self.result.add("not_injectable", _entry(live, reason=report["reason"]))
            return False
        if status == inject.NOT_INJECTED:
            if item.needs_write:  # only an earlier run's error marker to take away
                return True
            self.result.not_injected += 1
            return False
        if live["kind"] == "Job" and item.template_changed:
            owner = _controller(live)
            if owner and owner.get("kind") == "CronJob":
                why = ("created by CronJob %s; the API server refuses changes to a Job's pod template: the CronJob's "
                       "next Jobs carry the change" % owner.get("name"))
            else:
                why = ("the API server refuses changes to a Job's pod template: %s the agent by rendering the Job "
                       "before creating it (the inject_java_agent filter or the command line), or run it from "
                       "a CronJob" % ("remove" if status == inject.REMOVED else "inject"))
            self.result.add("not_injectable", _entry(live, reason=why, status=status))
            return False
        if status == inject.ERROR:
            self.result.add("invalid", _entry(live, reason=report["reason"], field=report_field(report),
                                              annotation=report["annotation"]))
            self.result.warn("%s: %s" % (item.ref, inject.failure(report)))
            return item.needs_write  # only SWCK's error marker, with mark_errors
        owner = _controller(live)
        if owner and item.template_changed:
            self.result.warn("%s is controlled by %s %s, which may put its pod template back"
                             % (item.ref, owner.get("kind"), owner.get("name")))
        return True

    def _flush_workload_warnings(self):
        """One warning per text: a default's warning (an address without a port) concerns every workload."""
        for text, refs in self._workload_warnings.items():
            if len(refs) == 1:
                self.result.warn("%s: %s" % (refs[0], text))
            else:
                shown = ", ".join(refs[:3]) + (" and %d more" % (len(refs) - 3) if len(refs) > 3 else "")
                self.result.warn("%s (%d workloads: %s)" % (text, len(refs), shown))
        self._workload_warnings = {}

    def _report_pods(self, pods, selected):
        for pod in pods:
            namespace = pod["metadata"].get("namespace")
            if namespace not in selected or not is_labelled(pod):
                continue
            annotations = pod["metadata"].get("annotations") or {}
            if inject.RECORD_ANNOTATION in annotations or str(
                    annotations.get(inject.SUCCEED_ANNOTATION, "")).lower() == "true":
                continue  # made from an injected template, or injected by SWCK's webhook
            owner = _controller(pod)
            if owner and owner.get("kind") in HANDLED_POD_OWNERS and _made_by_workload(pod, owner):
                continue  # its workload is reconciled (or reported) above
            text = "%s %s" % (owner.get("kind"), owner.get("name")) if owner else None
            why = ("a running pod cannot gain containers: %s" % (
                "its owner %s is not a workload kind this module injects; label that workload's template or render "
                "the pod before creating it" % text if text else
                "recreate it from an injected manifest (the inject_java_agent filter or the command line)"))
            self.result.add("not_injectable", _entry(pod, reason=why, owner=text))

    def _report_shared_fields(self, writes):
        for item in writes:
            old = {"metadata": {"annotations": (item.live.get("metadata") or {}).get("annotations") or {}},
                   "spec": item.live.get("spec") or {}}
            new = {"metadata": {"annotations": (item.outcome.obj.get("metadata") or {}).get("annotations") or {}},
                   "spec": item.outcome.obj.get("spec") or {}}
            for path in changed_fields(old, new):
                owners = [(m, op) for m, op, _sub in fields.owners(item.live, path) if m != self.field_manager]
                if not owners:
                    continue
                managers = sorted(set(m for m, _op in owners))
                text = path_text(path)
                # drift: only imperative edits (kubectl ...) own it; held: a controller or another tool; conflict:
                # another server-side applier (a GitOps controller) that will want its value back
                verdict, _others = fields.classify(item.live, path, self.field_manager)
                self.result.shared_fields.append({"object": item.ref, "field": text, "managers": managers,
                                                  "operations": sorted(set(op for _m, op in owners)),
                                                  "verdict": verdict})
                appliers = sorted(set(m for m, op in owners if op == fields.APPLY))
                if appliers:
                    self.result.warn("%s: %s is applied by %s (server-side apply): its next apply may undo this "
                                     "change; inject in that pipeline instead (the inject_java_agent filter)"
                                     % (item.ref, text, ", ".join(appliers)))

    # --------------------------------------------------------------- writes
    def _write_all(self, writes, max_concurrent, wait, wait_timeout):
        writes = sorted(writes, key=lambda i: _sort_key(_entry(i.live)))
        immediate = [i for i in writes if not (i.template_changed and restarts_pods(i.live))]
        rolling = [i for i in writes if i.template_changed and restarts_pods(i.live)]
        batches = batches_of(rolling, max_concurrent)
        self.result.batches = [[i.ref for i in batch] for batch in batches]
        if immediate:
            list(self._pool.map(self._write, immediate))
            self._record(immediate)
        for number, batch in enumerate(batches, 1):
            # how each workload was before this run touched it (from the LIST: no extra request)
            before = dict((item.ref, _unhealthy_before(item.listed)) for item in batch)
            list(self._pool.map(self._write, batch))
            self._record(batch)
            if self.check_mode or not (max_concurrent or wait):
                continue
            from ansible_collections.skywalking.swck.plugins.module_utils.k8s.waiter import Waiter

            targets = [(i.res, i.after) for i in batch if i.after is not None]
            try:
                Waiter(self.client).wait(targets, wait_timeout)
            except (WaitTimeout, WaitFailed) as err:
                later = [i for rest in batches[number:] for i in rest]
                reason, already = _stop_reason(err, before)
                self.result.stopped = {"batch": number, "batches": len(batches), "workloads": [i.ref for i in batch],
                                       "reason": reason, "already_unhealthy": already,
                                       "not_applied": [i.ref for i in later]}
                for item in later:
                    self.result.add("not_applied", _entry(item.live, reason="batch %d of %d did not become Ready"
                                                          % (number, len(batches))))
                return

    def _write(self, item):
        try:
            self._patch(item)
        except ApiError as err:
            if not (err.status == 409 or patch.may_be_failed_test(err)) or item.retried:
                item.error = _refusal(err, self.secrets)
                return
            # the template (or the object) changed since it was listed: read it again and recompute, once
            item.retried = True
            try:
                fresh = self.client.read(item.res, item.live["metadata"].get("namespace"),
                                         item.live["metadata"]["name"])
            except SwckError as inner:
                item.error = {"reason": "changed while being reconciled, and could not be read again: %s" % inner.msg}
                return
            if fresh is None:
                item.error = {"reason": "deleted while being reconciled"}
                return
            if fresh["metadata"].get("generation") == item.live["metadata"].get("generation") and \
                    _annotations(fresh) == _annotations(item.live):
                item.error = _refusal(err, self.secrets)  # not a failed precondition: a real refusal
                return
            item.live = fresh
            item.evaluate()
            mask_credential_env([template_of(fresh), template_of(item.outcome.obj)], self.secrets)
            if item.outcome.report["status"] == inject.ERROR:
                report = item.outcome.report
                item.error = {"reason": report["reason"], "field": report_field(report),
                              "annotation": report["annotation"]}
            elif item.needs_write:
                self._write(item)
        except SwckError as err:
            item.error = _refusal(err, self.secrets) if isinstance(err, ApiError) else {"reason": err.msg}

    def _patch(self, item):
        """One JSON Patch: ``test`` the spec is what the change was computed from, then replace the template
        (and SWCK's error marker in the workload's annotations, with ``mark_errors``)."""
        ops = []
        old_tpl, new_tpl = template_of(item.live), template_of(item.outcome.obj)
        if old_tpl != new_tpl:
            ops.extend(patch.replace_ops(inject.template_path(item.live), new_tpl, item.live))
        ops.extend(patch.annotation_ops(_annotations(item.live), _annotations(item.outcome.obj)))
        if not ops:
            item.after = item.live
            return
        meta = item.live["metadata"]
        item.after = self.client.patch_json(item.res, meta.get("namespace"), meta["name"], ops,
                                            field_manager=self.field_manager, dry_run=self.check_mode)

    def _record(self, items):
        for item in items:
            report = item.outcome.report
            if item.error:
                # retried by the next run (the workload may be fixed by then), reported like an invalid workload
                self.result.add("invalid", _entry(item.live, **item.error))
                self.result.warn("%s: not written: %s" % (item.ref, item.error["reason"]))
                continue
            if not item.needs_write:  # a 409 and a fresh read showed nothing left to do
                self._add_status(item, report)
                continue
            self.result.writes += 1
            if report["status"] != inject.ERROR:
                self._add_status(item, report)
            if self.diff and item.after is not None:
                self.result.diffs.append(self._diff(item))

    def _add_status(self, item, report):
        status = report["status"]
        if status == inject.ERROR:
            return
        if status == inject.SKIPPED:  # possible after a re-read
            self.result.add("not_injectable", _entry(item.live, reason=report["reason"]))
            return
        if status == inject.NOT_INJECTED:
            self.result.not_injected += 1
            return
        if status == inject.REMOVED:
            self.result.add("removed", _entry(item.live, reason=item.removal_reason or report["reason"]))
            return
        name = {inject.INJECTED: "injected", inject.UPDATED: "updated"}.get(status, "already_injected")
        self.result.add(name, _entry(item.live, containers=report["containers"], swagents=report["swagents"] or None))

    def _diff(self, item):
        before, after = {}, {}
        # the API server bumps the DaemonSet controller's annotation on each template change: not ours, noise
        old_ann = dict((k, v) for k, v in ((item.live.get("metadata") or {}).get("annotations") or {}).items()
                       if k != DAEMONSET_GENERATION_ANNOTATION)
        new_ann = dict((k, v) for k, v in ((item.after.get("metadata") or {}).get("annotations") or {}).items()
                       if k != DAEMONSET_GENERATION_ANNOTATION)
        if old_ann != new_ann:
            before["metadata"] = {"annotations": old_ann}
            after["metadata"] = {"annotations": new_ann}
        path = inject.template_path(item.live)
        if template_of(item.live) != template_of(item.after):
            _put(before, path, template_of(item.live))
            _put(after, path, template_of(item.after))
        return (item.ref, before, after)

    # ------------------------------------------------------------ CA copies
    def _check_ca_secret(self, name, writes, key="ca.crt"):
        """``defaults.ca_secret`` must exist, holding ``key`` (``defaults.ca_secret_key``), in every namespace where
        this run writes a template that mounts it (its pods could not start without it): raises ``SwckError``
        before the first write, naming the namespaces.

        One LIST of Secrets by name across the cluster; credentials that may not list Secrets there GET it in each
        of those namespaces instead.  A namespace where neither is allowed (403) gets a warning."""
        namespaces = ca_mount_namespaces(writes, name)
        if not namespaces:
            return
        res = self.client.resource("v1", "Secret")
        found, unknown, keyless = set(), set(), set()

        def note(secret):
            namespace = secret["metadata"].get("namespace")
            if key in (secret.get("data") or {}):
                found.add(namespace)
            else:
                keyless.add(namespace)

        try:
            for secret in self.client.list(res, field_selector="metadata.name=" + name):
                note(secret)
        except ApiError as err:
            if err.status != 403:
                raise
            for namespace in namespaces:
                try:
                    secret = self.client.read(res, namespace, name)
                    if secret is not None:
                        note(secret)
                except ApiError as inner:
                    if inner.status != 403:
                        raise
                    unknown.add(namespace)
        if unknown:
            self.result.warn("defaults.ca_secret: cannot read Secret %s in namespace(s) %s (403 Forbidden): not checked "
                             "that it exists there" % (name, ", ".join(sorted(unknown))))
        lacking = sorted(set(namespaces) & keyless)
        if lacking:
            raise SwckError("defaults.ca_secret: Secret %s has no key %s in namespace(s) %s, where the injected workloads "
                            "would mount that key (their pods could not start): add it, or set defaults.ca_secret_key "
                            "to the key that holds the CA; nothing was written" % (name, key, ", ".join(lacking)),
                            field="defaults.ca_secret_key", namespaces=lacking)
        missing = sorted(set(namespaces) - found - unknown - keyless)
        if missing:
            raise SwckError("defaults.ca_secret: Secret %s does not exist in namespace(s) %s, where the injected workloads "
                            "would mount it (their pods could not start): create it there first (key defaults.ca_secret_"
                            "key), or give cluster with oap.tls.grpc, which copies OAP's CA itself; nothing was written"
                            % (name, ", ".join(missing)), field="defaults.ca_secret", namespaces=missing)

    @staticmethod
    def _ca_needed(ca_copy, items, listing, final):
        """Namespaces whose workloads mount the CA copy (live, or after this run's writes when ``final``)."""
        planned = set(id(item.listed) for item in items)
        needed = set()
        for _res, objects in listing:
            for live in objects:
                if id(live) not in planned and references_secret(live, ca_copy["name"]):
                    needed.add(live["metadata"].get("namespace"))
        for item in items:
            obj = item.outcome.obj if final and item.needs_write and not item.error else item.live
            if references_secret(obj, ca_copy["name"]):
                needed.add(item.live["metadata"].get("namespace"))
        return needed

    def _ca_plan(self, ca_copy, items, listing, cluster_wide, kinds):
        now = self._ca_needed(ca_copy, items, listing, final=False)
        after = self._ca_needed(ca_copy, items, listing, final=True)
        can_prune = cluster_wide and set(kinds) == set(KINDS)
        if not can_prune:
            self.result.warn("CA copies %s are not pruned in this run: it did not see every workload kind in every "
                             "namespace" % ca_copy["name"])
        union = now | after
        if not can_prune:
            return {"before": union, "prune_before": False, "after": None}
        if union == after:
            return {"before": after, "prune_before": True, "after": None}
        return {"before": union, "prune_before": False, "after": after}

    def _apply_ca(self, ca_copy, namespaces, prune):
        from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine

        engine = Engine(self.client, check_mode=self.check_mode)
        if not namespaces:
            if not prune:
                return
            result = engine.delete(None, ca_copy["instance"], namespace=ca_copy["namespace"], delete_all=True)
        else:
            data = self._ca_data(ca_copy)
            secrets = [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                        "metadata": {"name": ca_copy["name"], "namespace": ns}, "data": {"ca.crt": data}}
                       for ns in sorted(namespaces)]
            result = engine.apply(secrets, ca_copy["instance"], namespace=ca_copy["namespace"], prune=prune)
        for obj in result.objects:
            # a later phase (the prune after the workloads) has the last word on each copy
            self._ca_actions[(obj["kind"], obj.get("namespace"), obj.get("name"))] = obj["action"]
            if obj["action"] in CHANGING_ACTIONS:
                self.result.writes += 1
        counts = {}
        for action in self._ca_actions.values():
            counts[action] = counts.get(action, 0) + 1
        self.result.ca_secrets = counts
        for warning in result.warnings:
            self.result.warn(warning)

    def _ca_data(self, ca_copy):
        if self._ca_cache is not None:
            return self._ca_cache
        res = self.client.resource("v1", "Secret")
        secret = self.client.read(res, ca_copy["namespace"], ca_copy["source"])
        where = "Secret %s/%s" % (ca_copy["namespace"], ca_copy["source"])
        if secret is None:
            raise SwckError("cluster.oap.tls.grpc.secret: %s does not exist; agents need the CA certificate in it"
                            % where)
        value = (secret.get("data") or {}).get(ca_copy["key"])
        if not value:
            raise SwckError("cluster.oap.tls.grpc.ca: %s has no key %s; agents need the CA certificate that signed "
                            "OAP's gRPC certificate" % (where, ca_copy["key"]))
        try:
            text = base64.b64decode(value, validate=True)
        except ValueError:
            raise SwckError("cluster.oap.tls.grpc.ca: key %s of %s is not base64" % (ca_copy["key"], where))
        if b"-----BEGIN CERTIFICATE-----" not in text:
            raise SwckError("cluster.oap.tls.grpc.ca: key %s of %s holds no PEM certificate" % (ca_copy["key"], where))
        self._ca_cache = value
        return value


def ca_mount_namespaces(items, name):
    """The namespaces (sorted) where one of ``items`` (about to be written) injects a template that mounts the Secret
    ``name``."""
    out = set()
    for item in items:
        report = item.outcome.report
        if report["status"] in (inject.INJECTED, inject.UPDATED) and item.template_changed and \
                references_secret(item.outcome.obj, name):
            out.add(item.live["metadata"].get("namespace"))
    return sorted(out)


def _put(target, path, value):
    node = target
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if path:
        node[path[-1]] = value
    else:
        target.update(value)


REFUSAL_LIMIT = 400  # characters of the API server's words kept in a refusal's reason


def _refusal(err, secrets=()):
    """An ``invalid`` entry's fields for a write the API server refused: its reason, the first field it names,
    and the HTTP status.

    Only the server's causes (``field: message``) or its short message are kept: a 422 often embeds the whole
    object as JSON, env values included, so embedded objects are cut out, credential values (``secrets``, and
    ``NAME=value`` pairs whose name says credential) are masked and the text is truncated.
    """
    causes = [c for c in err.causes if isinstance(c, dict)]
    named = [c["field"] for c in causes if c.get("field")]
    text = refusal_text(err, secrets)
    return {"reason": "the API server refused the change (%s%s): %s" % (
        err.status, " " + err.reason if err.reason else "", text), "field": named[0] if named else None,
        "status": err.status}


def refusal_text(err, secrets=(), limit=REFUSAL_LIMIT):
    """The API server's words about a refused request, safe to show (see ``_refusal``)."""
    parts = []
    for cause in err.causes:
        if not isinstance(cause, dict):
            continue
        message = strip_embedded_objects(str(cause.get("message") or cause.get("reason") or "")).strip()
        field = cause.get("field")
        part = "%s: %s" % (field, message) if field and message else (field or message)
        if part and part not in parts:
            parts.append(part)
    text = "; ".join(parts) if parts else strip_embedded_objects(str(err.api_message or err.reason or err.msg))
    text = mask_text(" ".join(text.split()), secrets)
    if len(text) > limit:
        text = text[:limit - 3].rstrip() + "..."
    return text


def strip_embedded_objects(text):
    """``text`` with everything from its first ``{`` to its last ``}`` replaced by ``{...}`` (and an unclosed ``{``
    cut to the end): the API server's messages embed whole objects as JSON or Go values, env values included, and
    string values in them may hold unbalanced braces."""
    first = text.find("{")
    if first < 0:
        return text
    last = text.rfind("}")
    if last < first:
        return text[:first] + "{...}"
    rest = text[last + 1:]
    if "{" in rest:
        rest = rest[:rest.index("{")] + "{...}"
    return text[:first] + "{...}" + rest


# NAME=value in a message (an env var as Go or the shell shows it)
_CREDENTIAL_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)(=)(\"[^\"]*\"|[^\s,;\"]+)")


def mask_text(text, secrets=()):
    """``text`` with each of ``secrets`` (values of at least 3 characters) and the value of each ``NAME=value`` whose
    name says credential (``spec.is_credential_env``) masked."""
    from ansible_collections.skywalking.swck.plugins.module_utils.ops.cluster_module import MASK
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.spec import is_credential_env

    for value in sorted((v for v in secrets or () if isinstance(v, str) and len(v) >= 3), key=len, reverse=True):
        text = text.replace(value, MASK)
    return _CREDENTIAL_PAIR.sub(
        lambda m: m.group(1) + m.group(2) + MASK if is_credential_env(m.group(1)) and m.group(3).strip('"') not in
        ("", MASK) else m.group(0), text)


def _annotations(obj):
    return (obj.get("metadata") or {}).get("annotations")


def has_collector(obj, containers):
    """Whether every container of ``containers`` in ``obj``'s pod template gets a collector address: the pure
    layer's rule (``inject.has_collector_address``), which the filter and the command line use too."""
    return inject.has_collector_address(obj, containers)


def _unhealthy_before(listed):
    """None when a workload was Ready before this run touched it, else why not (its controller's own words)."""
    from ansible_collections.skywalking.swck.plugins.module_utils.k8s import readiness

    meta, status = listed.get("metadata") or {}, listed.get("status") or {}
    if meta.get("generation") is not None and (status.get("observedGeneration") or 0) < meta["generation"]:
        return None  # its controller has not looked at it yet (new, or mid-change): nothing known
    state, why = readiness.evaluate(listed)
    return None if state == readiness.READY else why


def _stop_reason(err, before):
    """``(reason, already_unhealthy)`` for a pacing stop: the waiter's report with repeated details said once (pods
    of one workload often fail alike), and workloads that were not Ready before this run said to be so."""
    reports = getattr(err, "pending", None) or getattr(err, "failed", None) or []
    if not reports:
        return err.msg, []
    head = err.msg.split("\n", 1)[0]
    lines, already, seen_lines, messages = [], [], set(), set()
    for report in reports:
        ref = report.get("ref")
        parts, seen = [], set()
        for part in str(report.get("reason") or "").split("; "):
            if part and part not in seen:
                seen.add(part)
                parts.append(_said_once(part, messages))
        line = "%s: %s" % (ref, "; ".join(parts))
        if before.get(ref):
            already.append(ref)
            line += " (already unhealthy before this run touched it: %s)" % before[ref]
        if line not in seen_lines:
            seen_lines.add(line)
            lines.append(line)
    return "\n  ".join([head] + lines), already


def _said_once(part, messages, shortest=30):
    """``part`` (``<subject>: <message>``, e.g. ``pod a-2: Unschedulable: 0/3 nodes are available: ...``) with a
    message already said by another subject (another pod, an event) replaced by ``(the same as above)``;
    ``messages``: the messages said so far (each tail after a ``": "``, at least ``shortest`` characters), added to.
    """
    tails = [part[i + 2:] for i in range(len(part) - 1) if part[i:i + 2] == ": "]
    tails = [t for t in tails if len(t) >= shortest]
    for tail in tails:  # the longest first
        if tail in messages:
            return part[:-len(tail)] + "(the same as above)"
    messages.update(tails)
    return part


def _controller(obj):
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def _made_by_workload(pod, owner):
    """Whether a pod's controller is one of the workloads handled here (a Deployment's ReplicaSet counts)."""
    if owner.get("kind") != "ReplicaSet":
        return True
    digest = ((pod.get("metadata") or {}).get("labels") or {}).get("pod-template-hash")
    return bool(digest) and str(owner.get("name", "")).endswith("-" + digest)
