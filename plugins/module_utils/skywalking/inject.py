# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Inject the SkyWalking Java agent into pod templates, and remove it again.  Pure: no I/O.

This is the one implementation behind the ``skywalking.swck.inject`` module, the
``skywalking.swck.inject_java_agent`` / ``remove_java_agent`` filters and the ``inject_cli``
command.  It follows the contract of SWCK's injection webhook (SWCK v0.10,
``operator/pkg/operator/injector/`` in apache/skywalking-swck, and its behaviour observed on a real
API server), so workloads labelled for SWCK need no change:

* selection: the pod (template) label ``swck-java-agent-injected: "true"`` (value compared
  case-insensitively); the namespace label ``swck-injection: enabled`` is the caller's business;
* an init container (default ``inject-skywalking-agent``, image
  ``apache/skywalking-java-agent:9.7.0-java8``) copies ``/skywalking/agent`` of the agent image into a
  shared ``emptyDir`` volume (default ``sky-agent``), appended after the existing init containers;
* every selected container mounts that volume (default ``/sky/agent``) and gets
  ``JAVA_TOOL_OPTIONS=-javaagent:<mount>/skywalking-agent.jar[=k=v,...]``;
* the annotations of the pod template tune it: ``strategy.skywalking.apache.org/inject.Container``,
  ``sidecar.skywalking.apache.org/*``, ``agent.skywalking.apache.org/*``,
  ``plugins.skywalking.apache.org/*``, ``optional.skywalking.apache.org``,
  ``optional-reporter.skywalking.apache.org``, ``bootstrap.skywalking.apache.org``;
* SwAgent objects (``operator.skywalking.apache.org/v1alpha1``) of the namespace give per-namespace
  defaults.  Precedence: ``defaults`` (role variables) < SwAgent (sorted by name, the last wins
  field by field) < annotation;
* success marks the template with ``sidecar.skywalking.apache.org/succeed: "true"`` and the
  annotation ``swck-java-agent-injected: "true"``.

The agent jar is the same in every image flavour (``-alpine``, ``-java8`` ... ``-java25``): the flavour
only chooses the image's base, which matters for the init container alone (it runs ``sh``, ``cp``,
``grep`` and ``xargs``).  The default keeps SWCK's ``-java8`` naming.

Where this differs from SWCK (deliberately; docs/injection.md has the user-facing list):

* ``JAVA_TOOL_OPTIONS`` already set by a container is merged, never duplicated or clobbered: the
  agent is appended to the container's own value (``<own options> -javaagent:...``); a value that
  already loads ``skywalking-agent.jar`` is kept as it is (warning); a value from ``valueFrom`` cannot
  be merged and is an error for the workload;
* agent options are joined in sorted key order (SWCK: Go's random map order), ``agent.*`` first,
  then ``plugins.*``;
* an invalid container regex, or one matching no container, is an error for the workload (SWCK falls
  back to the first container, or injects nothing but still marks the pod);
* the mount path reaches the copy command, the ``-javaagent`` path and the plugin copies;
* SwAgent ``javaSidecar.command``, ``args`` and ``resources`` are honoured; all matching SwAgents
  apply field by field (SWCK uses only the last one);
* the collector address can default to this collection's OAP or Satellite Service, given as
  ``defaults["backend_service"]`` and injected as ``SW_AGENT_COLLECTOR_BACKEND_SERVICES`` where the
  container does not set it; with ``defaults["ca_secret"]`` the CA is mounted at
  ``<mount>/ca/ca.crt``, where the agent turns TLS on (``agent.ssl_trusted_ca_path`` defaults to
  ``ca/ca.crt`` in the agent directory: apache/skywalking-java ``Config.java``, ``docs/.../TLS.md``);
* an injection is reversible: what was changed is recorded in the template annotation
  ``skywalking.swck/java-agent`` (see ``RECORD_ANNOTATION``), and ``remove_object`` undoes exactly
  that, so ``remove(inject(x)) == x`` (same keys, same order, same values).  The record holds names,
  mount paths and the injected ``-javaagent`` option, never a value the user had.

The error marker: by default an invalid workload is reported and returned untouched (nothing is
written).  With ``mark_errors=True`` the message is written to the object's own
``metadata.annotations["sidecar.skywalking.apache.org/error"]`` -- on the workload, never on its pod
template, so it does not roll the pods -- and a later successful injection or removal deletes it.
For a bare Pod the object's metadata is the pod's, where SWCK writes it too.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import json
import re
from collections import namedtuple

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import quantity
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.manifest import is_dns_label
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import names
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.agent_keys import AGENT_CONFIG_KEYS, AGENT_VERSION

# --- SWCK's names (operator/pkg/operator/injector/injector.go, annotations.yaml) -------------------
INJECTION_LABEL = "swck-java-agent-injected"
NAMESPACE_LABEL = "swck-injection"
NAMESPACE_LABEL_VALUE = "enabled"
SUCCEED_ANNOTATION = "sidecar.skywalking.apache.org/succeed"
INJECTED_ANNOTATION = INJECTION_LABEL  # SWCK also sets an annotation of the label's name on success
ERROR_ANNOTATION = "sidecar.skywalking.apache.org/error"
CONTAINER_ANNOTATION = "strategy.skywalking.apache.org/inject.Container"
SIDECAR_PREFIX = "sidecar.skywalking.apache.org/"
AGENT_PREFIX = "agent.skywalking.apache.org/"
PLUGINS_PREFIX = "plugins.skywalking.apache.org/"
OPTIONAL_ANNOTATION = "optional.skywalking.apache.org"
OPTIONAL_REPORTER_ANNOTATION = "optional-reporter.skywalking.apache.org"
BOOTSTRAP_ANNOTATION = "bootstrap.skywalking.apache.org"
SWAGENT_API_VERSION = "operator.skywalking.apache.org/v1alpha1"
SWAGENT_KIND = "SwAgent"
# The default SwAgent CRD of SWCK fills in javaSidecar.command with this single-element list: it is
# a shell line, not a program, so it is read as "not set" (and the copy command follows the mount path).
SWAGENT_CRD_DEFAULT_COMMAND = ["mkdir -p /sky/agent && cp -r /skywalking/agent/* /sky/agent"]

# --- ours ---------------------------------------------------------------------------------------
RECORD_ANNOTATION = "skywalking.swck/java-agent"
RECORD_VERSION = 1
AGENT_IMAGE = "apache/skywalking-java-agent:%s-java8" % AGENT_VERSION
AGENT_HOME = "/skywalking/agent"  # where the agent image keeps the agent
AGENT_JAR = "skywalking-agent.jar"
BACKEND_ENV = "SW_AGENT_COLLECTOR_BACKEND_SERVICES"
OAP_GRPC_PORT = 11800

# the sidecar.skywalking.apache.org/<field> annotations and the setting each one sets
SIDECAR_FIELDS = {
    "initcontainer.Name": "init_container_name",
    "initcontainer.Image": "image",
    "initcontainer.Command": "command",
    "initcontainer.args.Option": "args_option",
    "initcontainer.args.Command": "args_command",
    "initcontainer.resources.limits": "limits",
    "initcontainer.resources.requests": "requests",
    "sidecarVolume.Name": "volume_name",
    "sidecarVolumeMount.MountPath": "mount_path",
    "env.Name": "env_name",
    "env.Value": "env_value",
}
# the plugin families: annotation, SwAgent field, defaults key, directory in the agent, in SWCK's order
PLUGIN_FAMILIES = (
    (OPTIONAL_ANNOTATION, "optionalPlugins", "optional_plugins", "optional-plugins"),
    (OPTIONAL_REPORTER_ANNOTATION, "optionalReporterPlugins", "optional_reporter_plugins", "optional-reporter-plugins"),
    (BOOTSTRAP_ANNOTATION, "bootstrapPlugins", "bootstrap_plugins", "bootstrap-plugins"),
)
KNOWN_ANNOTATIONS = frozenset(
    [SUCCEED_ANNOTATION, ERROR_ANNOTATION, CONTAINER_ANNOTATION, OPTIONAL_ANNOTATION,
     OPTIONAL_REPORTER_ANNOTATION, BOOTSTRAP_ANNOTATION]
    + [SIDECAR_PREFIX + field for field in SIDECAR_FIELDS]
)

# Where each workload kind keeps its pod template.
TEMPLATE_PATHS = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

# the effective defaults (role variables); every key is documented in docs/injection.md
DEFAULTS = {
    "image": AGENT_IMAGE,
    "init_container_name": "inject-skywalking-agent",
    "command": ["sh"],
    "args": None,  # None: ["-c", "mkdir -p <mount_path> && cp -r /skywalking/agent/* <mount_path>"]
    "resources": {},  # {"limits": {...}, "requests": {...}} of the init container
    "security_context": None,  # securityContext of the init container
    "volume_name": "sky-agent",
    "mount_path": "/sky/agent",
    "env_name": "JAVA_TOOL_OPTIONS",
    "env_value": None,  # None: "-javaagent:<mount_path>/skywalking-agent.jar"
    "env": [],  # extra env vars for the selected containers (added where the container lacks the name)
    "backend_service": None,  # "host:port[,host:port]": SW_AGENT_COLLECTOR_BACKEND_SERVICES
    "container_matcher": None,  # regular expression over container names; None: every container
    "optional_plugins": [],
    "optional_reporter_plugins": [],
    "bootstrap_plugins": [],
    "ca_secret": None,  # Secret holding the OAP CA: mounted at <mount_path>/ca/ca.crt
    "ca_secret_key": "ca.crt",
}

# report statuses
INJECTED = "injected"
UPDATED = "updated"
ALREADY_INJECTED = "already_injected"
REMOVED = "removed"
NOT_INJECTED = "not_injected"
SKIPPED = "skipped"
ERROR = "error"

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_MOUNT_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$")
_PLUGIN_UNSAFE = re.compile(r"[\"`$\\\n\r\s']")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


class InjectionError(SpecError):
    """An object cannot be injected; ``annotation`` names the annotation at fault, if any."""

    def __init__(self, field, problem, annotation=None):
        super().__init__(field, problem)
        self.annotation = annotation
        self.details["annotation"] = annotation


Outcome = namedtuple("Outcome", "obj report")
Outcome.__doc__ = """The result of ``inject_object``/``remove_object``: the (new) object and its report."""


# ----------------------------------------------------------------------------------------------
# public API
# ----------------------------------------------------------------------------------------------

def effective_defaults(defaults=None):
    """``DEFAULTS`` overlaid with ``defaults`` (a dict of the same keys), validated.

    Raises ``SpecError("defaults.<key>", ...)`` for an unknown key or an invalid value.
    """
    cfg = copy.deepcopy(DEFAULTS)
    if defaults is None:
        return cfg
    if not isinstance(defaults, dict):
        raise SpecError("defaults", "must be a mapping, got %s" % type(defaults).__name__)
    for key, value in defaults.items():
        if key not in DEFAULTS:
            raise SpecError("defaults.%s" % key, "unknown setting%s" % _did_you_mean(key, DEFAULTS))
        if value is None and key not in ("args", "env_value", "backend_service", "container_matcher",
                                         "ca_secret", "security_context"):
            continue
        cfg[key] = copy.deepcopy(value)
    _validate_defaults(cfg)
    return cfg


def template_path(obj):
    """The keys leading from ``obj`` to its pod template: ``("spec", "template")`` for a Deployment,
    ``()`` for a Pod or a bare template (a mapping with ``spec.containers`` and no kind); None when
    the object has no pod template (a Service, a ConfigMap, ...)."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    if kind is None:
        spec = obj.get("spec")
        return () if isinstance(spec, dict) and "containers" in spec else None
    return TEMPLATE_PATHS.get(kind)


def inject_object(obj, defaults=None, swagents=(), mark_errors=False):
    """Reconcile the Java agent injection of one object; returns ``Outcome(obj, report)``.

    ``obj``: a Pod, Deployment, StatefulSet, DaemonSet, Job or CronJob (or a bare pod template,
    ``{"metadata": ..., "spec": ...}``), as a dict; never modified (the result is a copy).
    ``defaults``: overrides of ``DEFAULTS`` (see ``effective_defaults``).
    ``swagents``: SwAgent objects (dicts); those of the object's namespace (or without a namespace, or
    all when the object has none) whose ``spec.selector`` matches the pod template's labels apply.
    ``mark_errors``: write an error into the object's own ``sidecar.skywalking.apache.org/error``
    annotation (see the module docs); otherwise an invalid object comes back unchanged.

    What happens, by the pod template's state:

    * labelled ``swck-java-agent-injected: "true"``, not injected: injected (``injected``);
    * labelled and injected by us: the injection is recomputed from the current annotations,
      SwAgents and defaults; ``already_injected`` when the template already holds it (fields the API
      server defaults are ignored), else ``updated`` (the old injection is replaced);
    * injected by us but no longer labelled "true": the injection is removed (``removed``);
    * not labelled: ``skipped``; marked ``sidecar.skywalking.apache.org/succeed: "true"`` without our
      record (SWCK's webhook did it): ``skipped``; a kind without a pod template: ``skipped``;
    * invalid: ``error`` -- the object comes back unchanged (a previous injection stays as it was).

    The report is a dict::

        {"kind": str|None, "name": str|None, "namespace": str|None,
         "status": "injected"|"updated"|"already_injected"|"removed"|"skipped"|"error",
         "changed": bool,              # the returned object differs from the input
         "reason": str|None,           # why skipped / already injected / removed, or the error message
         "field": str|None,            # error: the field path, e.g. spec.template.metadata.annotations["..."]
         "annotation": str|None,       # error: the annotation at fault, when one is
         "containers": [str],          # containers that carry the agent afterwards
         "swagents": [str],            # SwAgents applied, in order (namespace/name)
         "warnings": [str]}            # unknown agent keys (with the closest known key), kept values, ...

    Raises ``SpecError`` only for invalid ``defaults`` or ``swagents`` arguments that are not
    SwAgent objects: those are the caller's errors, not the workload's.
    """
    cfg = effective_defaults(defaults)
    agents = _check_swagents(swagents)
    report = _new_report(obj)
    result = copy.deepcopy(obj)
    path = template_path(obj)
    if path is None:
        return _finish(obj, result, report, SKIPPED, "%s has no pod template" % (_kind_text(obj),))
    prefix = _path_text(path)
    try:
        tpl = _template(result, path)
        meta = tpl.get("metadata") if isinstance(tpl.get("metadata"), dict) else {}
        annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
        selected = str(labels.get(INJECTION_LABEL, "")).lower() == "true"
        raw_record = annotations.get(RECORD_ANNOTATION)
        if raw_record is None:
            if not selected:
                return _finish(obj, result, report, SKIPPED,
                               "pod template is not labelled %s: \"true\"" % INJECTION_LABEL)
            if str(annotations.get(SUCCEED_ANNOTATION, "")).lower() == "true":
                return _finish(obj, result, report, SKIPPED,
                               "already injected by another injector (%s without %s)"
                               % (SUCCEED_ANNOTATION, RECORD_ANNOTATION))
            fresh = _inject_template(tpl, cfg, agents, _namespace(obj), report)
            _replace(result, path, fresh)
            return _finish(obj, result, report, INJECTED, None, mark_errors)
        record = _parse_record(raw_record)
        base = _strip_template(tpl, record)
        if not selected:
            _replace(result, path, base)
            report["containers"] = []
            return _finish(obj, result, report, REMOVED,
                           "pod template is no longer labelled %s: \"true\"" % INJECTION_LABEL, mark_errors)
        fresh = _inject_template(base, cfg, agents, _namespace(obj), report)
        if _holds(tpl, fresh):
            return _finish(obj, copy.deepcopy(obj), report, ALREADY_INJECTED,
                           "the pod template already holds this injection", mark_errors)
        _replace(result, path, fresh)
        return _finish(obj, result, report, UPDATED, "the injection changed", mark_errors)
    except InjectionError as exc:
        return _error(obj, report, exc, prefix, mark_errors)


def remove_object(obj, mark_errors=False):
    """Undo this collection's injection of one object; returns ``Outcome(obj, report)``.

    Removes exactly what ``inject_object`` recorded in ``skywalking.swck/java-agent``: the init
    container, the volumes, the mounts, the injected env vars; restores a merged
    ``JAVA_TOOL_OPTIONS`` to the container's own value, and the annotations to their previous values.
    On an object injected once and not edited since, the result equals the object before injection
    (same keys in the same order).  Statuses: ``removed``, ``not_injected`` (nothing of ours),
    ``skipped`` (no pod template, or injected by another injector: SWCK's webhook records nothing to
    undo), ``error`` (the record is unreadable).  The report has the shape ``inject_object`` documents.
    """
    report = _new_report(obj)
    result = copy.deepcopy(obj)
    path = template_path(obj)
    if path is None:
        return _finish(obj, result, report, SKIPPED, "%s has no pod template" % (_kind_text(obj),))
    prefix = _path_text(path)
    try:
        tpl = _template(result, path)
        meta = tpl.get("metadata") if isinstance(tpl.get("metadata"), dict) else {}
        annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        raw_record = annotations.get(RECORD_ANNOTATION)
        if raw_record is None:
            if str(annotations.get(SUCCEED_ANNOTATION, "")).lower() == "true":
                return _finish(obj, result, report, SKIPPED,
                               "injected by another injector (%s without %s): nothing recorded to undo"
                               % (SUCCEED_ANNOTATION, RECORD_ANNOTATION))
            return _finish(obj, result, report, NOT_INJECTED, "not injected by this collection", mark_errors)
        _replace(result, path, _strip_template(tpl, _parse_record(raw_record)))
        return _finish(obj, result, report, REMOVED, None, mark_errors)
    except InjectionError as exc:
        return _error(obj, report, exc, prefix, mark_errors)


def inject(obj, defaults=None, swagents=()):
    """``inject_object`` returning only the object; raises ``InjectionError`` for an invalid one."""
    outcome = inject_object(obj, defaults, swagents)
    _raise_for(outcome.report)
    return outcome.obj


def remove(obj):
    """``remove_object`` returning only the object; raises ``InjectionError`` for an unreadable record."""
    outcome = remove_object(obj)
    _raise_for(outcome.report)
    return outcome.obj


def inject_all(data, defaults=None, swagents=(), state="present", mark_errors=False):
    """Inject (``state="present"``) or remove (``state="absent"``) the agent in every object of ``data``.

    Returns ``(result, reports)``.

    ``data``: one object, a list of objects, or a ``List`` (``{"kind": "List", "items": [...]}``);
    the result has the same shape.  SwAgent objects found in ``data`` apply to the other objects (as
    the SwAgents of their namespace do in a cluster) in addition to ``swagents``, and come back
    unchanged.  ``reports``: one report per object with a pod template (see ``inject_object``), in
    input order.  Never raises for an invalid object (its report says ``error``); raises
    ``SpecError`` for invalid ``defaults`` or ``swagents``.
    """
    found = []
    _collect_swagents(data, found)
    agents = list(swagents or []) + found
    reports = []

    def one(obj):
        if isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(obj.get("items"), list):
            return dict((key, [one(item) for item in value] if key == "items" else copy.deepcopy(value))
                        for key, value in obj.items())
        if template_path(obj) is None:
            return copy.deepcopy(obj)
        outcome = remove_object(obj, mark_errors) if state == "absent" else inject_object(obj, defaults, agents, mark_errors)
        reports.append(outcome.report)
        return outcome.obj

    if isinstance(data, list):
        return [one(item) for item in data], reports
    return one(data), reports


def _collect_swagents(data, found):
    if isinstance(data, list):
        for item in data:
            _collect_swagents(item, found)
    elif isinstance(data, dict):
        if data.get("kind") == "List" and isinstance(data.get("items"), list):
            _collect_swagents(data["items"], found)
        elif data.get("kind") == SWAGENT_KIND and str(data.get("apiVersion", "")).startswith("operator.skywalking.apache.org/"):
            found.append(data)


def is_injected(obj):
    """Whether the object's pod template carries this collection's injection record."""
    path = template_path(obj)
    if path is None:
        return False
    node = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    meta = (node or {}).get("metadata") if isinstance(node, dict) else None
    annotations = (meta or {}).get("annotations") if isinstance(meta, dict) else None
    return isinstance(annotations, dict) and RECORD_ANNOTATION in annotations


def injected_fields(obj):
    """The fields the injection set, as a minimal object for a server-side apply; None if not injected.

    Holds the object's apiVersion, kind, name and namespace, and in its pod template (at the same path)
    only: the marker annotations and the record, the agent's init container, the volumes, and per
    injected container its ``name`` (the list key), the mounts and the env vars the injection added
    or merged (a merged ``JAVA_TOOL_OPTIONS`` with its whole merged value: applying it takes that value
    from the container's owner, which server-side apply reports as a conflict unless forced).  Lists
    are keyed as the API server merges them: containers, initContainers, volumes and env by ``name``,
    volumeMounts by ``mountPath``.
    """
    path = template_path(obj)
    if path is None or not is_injected(obj):
        return None
    tpl = obj
    for key in path:
        tpl = tpl[key]
    record = _parse_record(tpl["metadata"]["annotations"][RECORD_ANNOTATION])
    spec = tpl.get("spec") or {}
    annotations = tpl["metadata"]["annotations"]
    marks = dict((k, annotations[k]) for k in (SUCCEED_ANNOTATION, INJECTED_ANNOTATION, RECORD_ANNOTATION)
                 if k in annotations)
    body_spec = {}
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict) and c.get("name") == record.get("initContainer")]
    if inits:
        body_spec["initContainers"] = copy.deepcopy(inits)
    volumes = [v for v in spec.get("volumes") or [] if isinstance(v, dict) and v.get("name") in (record.get("volumes") or [])]
    if volumes:
        body_spec["volumes"] = copy.deepcopy(volumes)
    containers = []
    for container in spec.get("containers") or []:
        rec = record["containers"].get(container.get("name")) if isinstance(container, dict) else None
        if rec is None:
            continue
        item = {"name": container["name"]}
        mounts = [m for m in container.get("volumeMounts") or []
                  if isinstance(m, dict) and m.get("mountPath") in (record.get("mounts") or [])
                  and m.get("name") in (record.get("volumes") or [])]
        if mounts:
            item["volumeMounts"] = copy.deepcopy(mounts)
        names = list(rec.get("addedEnv") or [])
        if rec.get("mode") in ("added", "merged"):
            names.insert(0, record.get("env"))
        env = [e for e in container.get("env") or [] if isinstance(e, dict) and e.get("name") in names]
        if env:
            item["env"] = copy.deepcopy(env)
        containers.append(item)
    body_spec["containers"] = containers
    body = {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": dict((k, obj["metadata"][k]) for k in ("name", "namespace") if k in (obj.get("metadata") or {}))}
    template_body = {"metadata": {"annotations": marks}, "spec": body_spec}
    if not path:
        body["metadata"]["annotations"] = marks
        body["spec"] = body_spec
        return body
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = template_body
    return body


def collector_address(cluster, namespace, satellite=False, oap_service=None, satellite_service=None,
                      port=OAP_GRPC_PORT, cluster_domain=None):
    """The agents' collector address for a SkyWalking cluster: ``<service>.<namespace>.svc:<port>``.

    ``cluster``: the SkyWalking cluster's name; ``namespace``: where it runs; ``satellite``: whether
    Satellite fronts OAP (agents then talk to Satellite, which spreads their long-lived gRPC streams
    over the OAP pods).  The Service names default to SWCK's (``<cluster>-oap``,
    ``<cluster>-satellite``: SWCK ``manifests/oapserver/templates/service.yaml``,
    ``manifests/satellite/templates/service.yaml``); pass ``oap_service`` (for a split cluster: the
    receiver Service) or ``satellite_service`` when the provisioning code names them otherwise.
    ``cluster_domain`` (e.g. ``cluster.local``) makes the name fully qualified.  Raises ``SpecError``.
    """
    if not is_dns_label(namespace or ""):
        raise SpecError("namespace", "%r is not a valid namespace name" % (namespace,))
    service = (satellite_service or "%s-satellite" % cluster) if satellite else (oap_service or "%s-oap" % cluster)
    if not is_dns_label(service):
        raise SpecError("satellite_service" if satellite else "oap_service",
                        "%r is not a valid Service name" % (service,))
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise SpecError("port", "must be a port number (1-65535), got %r" % (port,))
    host = "%s.%s.svc" % (service, namespace)
    if cluster_domain:
        host = "%s.%s" % (host, cluster_domain.strip("."))
    return "%s:%d" % (host, port)


def cluster_agent_defaults(spec, ca_secret=None):
    """Injection ``defaults`` for agents reporting to a SkyWalking cluster this collection provisions.

    ``spec``: the cluster spec as ``skywalking.spec.normalize`` returns it (``name``, ``namespace``,
    ``satellite.enabled``, ``oap.tls.grpc.secret``/``ca``).  Returns ``{"backend_service": ...}`` --
    the Satellite Service when Satellite is enabled, else the OAP Service that selects the serving
    pods (receivers in a split cluster), both named by ``skywalking.names`` -- plus, when agents talk
    to OAP over TLS (``oap.tls.grpc.secret`` set, no Satellite in between), ``ca_secret`` and
    ``ca_secret_key: "ca.crt"``.  A pod mounts Secrets of its own namespace only, so the caller must
    put the CA certificate (the public certificate alone) into a Secret named ``ca_secret`` (default
    ``<cluster>-agent-ca``) in every namespace it injects, under the key ``ca.crt``.
    """
    satellite = bool((spec.get("satellite") or {}).get("enabled"))
    service = names.satellite(spec) if satellite else names.oap_service(spec)
    defaults = {"backend_service": collector_address(spec["name"], spec["namespace"], satellite,
                                                     oap_service=service, satellite_service=service)}
    grpc_tls = ((spec.get("oap") or {}).get("tls") or {}).get("grpc") or {}
    if grpc_tls.get("secret") and not satellite:
        defaults["ca_secret"] = ca_secret or "%s-agent-ca" % spec["name"]
        defaults["ca_secret_key"] = "ca.crt"
    return defaults


def validate_backend_services(value, field="collector.backend_service", annotation=None):
    """Check a collector address list (``host[:port][,host[:port]...]``); returns warnings (list of str).

    Hosts are DNS names, IPv4 addresses or bracketed IPv6 literals (``[::1]:11800``); ports 1-65535.
    Empty items are ignored (as SWCK does) but at least one address is required.  Raises
    ``InjectionError(field, problem, annotation)``.  Warnings: an address without a port, and an IPv6
    literal (the Java agent 9.7.0 splits each address at ':' -- ``GRPCChannelManager`` -- so it cannot
    use one; give a DNS name).
    """
    if not isinstance(value, str):
        raise InjectionError(field, "must be a string of host[:port] addresses", annotation)
    warnings = []
    items = [item.strip() for item in value.split(",")]
    if not any(items):
        raise InjectionError(field, "no collector address given (expected host:port[,host:port...])", annotation)
    for item in items:
        if not item:
            continue
        host, port = _split_host_port(item, field, annotation)
        if host.startswith("["):
            try:
                ipaddress.IPv6Address(host[1:-1])
            except ValueError:
                raise InjectionError(field, "%r is not a valid IPv6 address" % (host,), annotation)
            warnings.append("%s: %s is an IPv6 literal; the Java agent %s splits addresses at ':' and "
                            "cannot use it, give a DNS name" % (field, item, AGENT_VERSION))
        elif not _is_ipv4(host) and not _HOSTNAME.match(host):
            raise InjectionError(field, "%r is not a valid host name or IP address" % (host,), annotation)
        if port is None:
            warnings.append("%s: %s has no port; the Java agent needs host:port (OAP's gRPC port is %d)"
                            % (field, item, OAP_GRPC_PORT))
    return warnings


def validate_resource_list(value, field, annotation=None):
    """Check a ResourceList (``{"cpu": "100m", "memory": "64Mi"}``) as SWCK does and return it.

    Names: ``cpu``, ``memory``, ``ephemeral-storage``, ``hugepages-<size>``; quantities (strings or
    numbers, Kubernetes' grammar, k8s/quantity.py) must be greater than 0.  Raises ``InjectionError``.
    """
    if not isinstance(value, dict):
        raise InjectionError(field, "must be a mapping of resource name to quantity", annotation)
    for name, amount in value.items():
        hugepages = isinstance(name, str) and name.startswith("hugepages-") and len(name) > len("hugepages-")
        if name not in _STANDARD_RESOURCES and not hugepages:
            raise InjectionError(field, "%r is not a standard resource name (cpu, memory, ephemeral-storage, "
                                        "hugepages-<size>)%s" % (name, _did_you_mean(str(name), _STANDARD_RESOURCES)),
                                 annotation)
        number = quantity.parse(amount)
        if number is None:
            raise InjectionError(field, "%s: %r is not a quantity" % (name, amount), annotation)
        if number <= 0:
            raise InjectionError(field, "%s: %r must be greater than 0" % (name, amount), annotation)
    return value


def closest_agent_key(key):
    """The known Java agent key closest to ``key`` (difflib), or None."""
    found = difflib.get_close_matches(key, sorted(AGENT_CONFIG_KEYS), n=1, cutoff=0.6)
    return found[0] if found else None


# ----------------------------------------------------------------------------------------------
# injection
# ----------------------------------------------------------------------------------------------

class _Settings(object):
    """The effective settings of one injection and where each came from (for error messages)."""

    def __init__(self):
        self.values = {}
        self.sources = {}

    def set(self, key, value, source):
        self.values[key] = value
        self.sources[key] = source

    def get(self, key):
        return self.values.get(key)

    def fail(self, key, problem):
        """Raise an InjectionError naming the place ``key``'s value came from."""
        kind, where = self.sources.get(key, ("defaults", key))
        if kind == "annotation":
            raise InjectionError(_annotation_field(where), problem, where)
        if kind == "swagent":
            raise InjectionError(where, problem)
        raise InjectionError("defaults.%s" % where, problem)


def _inject_template(tpl, cfg, agents, namespace, report):
    """A new pod template with the agent injected into ``tpl`` (which carries no injection)."""
    tpl = copy.deepcopy(tpl)
    meta = tpl.get("metadata") or {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    spec = tpl.get("spec")
    if not isinstance(spec, dict):
        raise InjectionError("spec", "the pod template has no spec")
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
        raise InjectionError("spec.containers", "the pod template has no containers")
    warnings = report["warnings"]
    settings = _Settings()
    for key, value in cfg.items():
        settings.set(key, copy.deepcopy(value), ("defaults", key))
    report["swagents"] = _overlay_swagents(settings, agents, labels, namespace)
    _overlay_annotations(settings, annotations, warnings)
    plan = _plan(settings, annotations, warnings)
    targets = _select_containers(containers, settings)
    _check_conflicts(spec, targets, plan, settings)

    record = {"v": RECORD_VERSION, "initContainer": plan["init"]["name"],
              "volumes": [v["name"] for v in plan["volumes"]], "mounts": [m["mountPath"] for m in plan["mounts"]],
              "env": plan["env_name"], "token": plan["token"], "created": {}, "annotations": {}, "containers": {}}
    init_list = _ensure_list(spec, "initContainers", record["created"], "spec.initContainers")
    init_list.append(plan["init"])
    volumes = _ensure_list(spec, "volumes", record["created"], "spec.volumes")
    volumes.extend(copy.deepcopy(plan["volumes"]))
    for container in targets:
        record["containers"][container["name"]] = _inject_container(container, plan, warnings)
    report["containers"] = [c["name"] for c in targets]

    if not isinstance(tpl.get("metadata"), dict):
        raise InjectionError("metadata", "the pod template has no metadata")  # pragma: no cover - selected by label
    marks = _ensure_dict(tpl["metadata"], "annotations", record["created"], "metadata.annotations")
    for key in (SUCCEED_ANNOTATION, INJECTED_ANNOTATION):
        record["annotations"][key] = marks.get(key)
        marks[key] = "true"
    marks[RECORD_ANNOTATION] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return tpl


def _overlay_swagents(settings, agents, labels, namespace):
    applied = []
    for agent in agents:
        meta = agent.get("metadata") or {}
        agent_ns = meta.get("namespace")
        if agent_ns and namespace and agent_ns != namespace:
            continue
        spec = agent.get("spec") or {}
        selector = spec.get("selector")
        if selector and not all(labels.get(k) == v for k, v in selector.items()):
            continue
        name = "%s/%s" % (agent_ns, meta.get("name")) if agent_ns else str(meta.get("name"))
        applied.append(name)

        def src(field, _name=name):
            return ("swagent", "SwAgent %s: spec.%s" % (_name, field))

        sidecar = spec.get("javaSidecar") or {}
        if not isinstance(sidecar, dict):
            raise InjectionError("SwAgent %s: spec.javaSidecar" % name, "must be a mapping")
        for field, key in (("name", "init_container_name"), ("image", "image")):
            if sidecar.get(field):
                settings.set(key, sidecar[field], src("javaSidecar." + field))
        for field, key in (("command", "command"), ("args", "args")):
            value = sidecar.get(field)
            if value and not _is_str_list(value):
                raise InjectionError("SwAgent %s: spec.javaSidecar.%s" % (name, field), "must be a list of strings")
            if value and not (field == "command" and value == SWAGENT_CRD_DEFAULT_COMMAND):
                settings.set(key, list(value), src("javaSidecar." + field))
        resources = sidecar.get("resources") or {}
        if not isinstance(resources, dict):
            raise InjectionError("SwAgent %s: spec.javaSidecar.resources" % name, "must be a mapping")
        for part in ("limits", "requests"):
            if resources.get(part):
                merged = dict(settings.get("resources") or {})
                merged[part] = validate_resource_list(resources[part], "SwAgent %s: spec.javaSidecar.resources.%s"
                                                      % (name, part))
                settings.set("resources", merged, src("javaSidecar.resources"))
        if sidecar.get("env"):
            settings.set("env", _merge_env(settings.get("env") or [], sidecar["env"],
                                           "SwAgent %s: spec.javaSidecar.env" % name), src("javaSidecar.env"))
        if spec.get("sharedVolumeName"):
            settings.set("volume_name", spec["sharedVolumeName"], src("sharedVolumeName"))
        if spec.get("containerMatcher"):
            settings.set("container_matcher", spec["containerMatcher"], src("containerMatcher"))
        for _annotation, field, key, _directory in PLUGIN_FAMILIES:
            if spec.get(field):
                settings.set(key, spec[field], src(field))
    return applied


def _overlay_annotations(settings, annotations, warnings):
    """Apply the pod template's annotations (the highest layer) and warn about unknown keys."""
    annotations = dict((k, v) for k, v in annotations.items() if isinstance(k, str))
    lowered = dict((k.lower(), k) for k in annotations)
    for key in sorted(annotations):
        value = annotations[key]
        if key.startswith(SIDECAR_PREFIX):
            field = key[len(SIDECAR_PREFIX):]
            target = SIDECAR_FIELDS.get(field)
            if target is None:
                if key not in KNOWN_ANNOTATIONS:
                    warnings.append("%s: not a sidecar setting this injector knows, ignored%s"
                                    % (key, _did_you_mean(field, SIDECAR_FIELDS)))
                continue
            if value is None or value == "" or value == "nil":
                continue  # as SWCK: empty keeps the lower layer's value
            if not isinstance(value, str):
                raise InjectionError(_annotation_field(key), "must be a string", key)
            if target in ("limits", "requests"):
                try:
                    parsed = json.loads(value)
                except ValueError as exc:
                    raise InjectionError(_annotation_field(key), "not valid JSON (%s)" % exc, key)
                validate_resource_list(parsed, _annotation_field(key), key)
                merged = dict(settings.get("resources") or {})
                merged[target] = parsed
                settings.set("resources", merged, ("annotation", key))
            elif target == "command":
                settings.set("command", [value], ("annotation", key))
            else:
                settings.set(target, value, ("annotation", key))
        elif key == CONTAINER_ANNOTATION:
            settings.set("container_matcher", value, ("annotation", key))
        elif _unknown_skywalking_annotation(key):
            known = sorted(KNOWN_ANNOTATIONS) + [AGENT_PREFIX, PLUGINS_PREFIX]
            warnings.append("%s: not an annotation this injector knows, ignored%s" % (key, _did_you_mean(key, known)))
    for annotation, _field, key, _directory in PLUGIN_FAMILIES:
        if annotation in lowered:  # SWCK compares these names case-insensitively
            original = lowered[annotation]
            value = annotations[original]
            if value:
                settings.set(key, value, ("annotation", original))


def _unknown_skywalking_annotation(key):
    """A key in a *.skywalking.apache.org domain that none of SWCK's injection annotations is."""
    domain = key.split("/")[0] if "/" in key else key
    if not domain.endswith("skywalking.apache.org") or domain.startswith("operator."):
        return False
    if key.startswith((AGENT_PREFIX, PLUGINS_PREFIX, SIDECAR_PREFIX)) or key in KNOWN_ANNOTATIONS:
        return False
    return key.lower() not in (OPTIONAL_ANNOTATION, OPTIONAL_REPORTER_ANNOTATION, BOOTSTRAP_ANNOTATION)


def _plan(settings, annotations, warnings):
    """Turn the settings into the objects to add; validates every value."""
    for key in ("init_container_name", "volume_name"):
        value = settings.get(key)
        if not is_dns_label(value if isinstance(value, str) else ""):
            settings.fail(key, "%r is not a valid name (a DNS label: lower-case letters, digits and '-', "
                               "at most 63 characters)" % (value,))
    image = settings.get("image")
    if not isinstance(image, str) or not image.strip() or any(ch.isspace() for ch in image):
        settings.fail("image", "%r is not an image reference" % (image,))
    mount = settings.get("mount_path")
    if not isinstance(mount, str) or not _MOUNT_PATH.match(mount):
        settings.fail("mount_path", "%r is not an absolute path of letters, digits, '.', '_', '-' and '/' "
                                    "(without a trailing '/'; it is used in the copy command)" % (mount,))
    env_name = settings.get("env_name")
    if not isinstance(env_name, str) or not _ENV_NAME.match(env_name):
        settings.fail("env_name", "%r is not a valid environment variable name" % (env_name,))
    command = settings.get("command")
    if not _is_str_list(command) or not command:
        settings.fail("command", "must be a non-empty list of strings")
    volume = settings.get("volume_name")
    ca_secret = settings.get("ca_secret")
    if ca_secret and len(volume) > 60:
        settings.fail("volume_name", "%r is too long to derive the CA volume name %s-ca" % (volume, volume))

    # the copy script: the default follows the mount path (SWCK's does not)
    args = settings.get("args")
    if args is None:
        args = ["-c", "mkdir -p %s && cp -r %s/* %s" % (mount, AGENT_HOME, mount)]
    elif not _is_str_list(args):
        settings.fail("args", "must be a list of strings")
    args = list(args)
    option, script = settings.get("args_option"), settings.get("args_command")
    if option is not None or script is not None:
        default_args = ["-c", "mkdir -p %s && cp -r %s/* %s" % (mount, AGENT_HOME, mount)]
        args = args[:2] + default_args[len(args):] + args[2:]
        if option is not None:
            args[0] = option
        if script is not None:
            args[1] = script
    copies = []
    for _annotation, _field, key, directory in PLUGIN_FAMILIES:
        patterns = _plugin_patterns(settings, key)
        if patterns:
            # SWCK's form, byte for byte (injector.go OverlayOptional), one command per family
            copies.append('cd %s/%s/ && ls | grep -E "%s"  | xargs -i cp {} %s/plugins/' % (mount, directory, patterns, mount))
    if copies:
        if not args:
            settings.fail("args", "is empty, so the plugin copy commands have no shell script to join")
        args[-1] = " && ".join([args[-1]] + copies)

    init = {"name": settings.get("init_container_name"), "image": image, "command": list(command), "args": args}
    resources = settings.get("resources") or {}
    if not isinstance(resources, dict):
        settings.fail("resources", "must be a mapping with limits and/or requests")
    resources = dict((part, resources[part]) for part in ("limits", "requests") if resources.get(part))
    if resources:
        init["resources"] = copy.deepcopy(resources)
    if settings.get("security_context"):
        init["securityContext"] = copy.deepcopy(settings.get("security_context"))
    init["volumeMounts"] = [{"name": volume, "mountPath": mount}]

    volumes = [{"name": volume, "emptyDir": {}}]
    mounts = [{"name": volume, "mountPath": mount}]
    if ca_secret:
        volumes.append({"name": "%s-ca" % volume, "secret": {"secretName": ca_secret, "items": [
            {"key": settings.get("ca_secret_key") or "ca.crt", "path": "ca.crt"}]}})
        mounts.append({"name": "%s-ca" % volume, "mountPath": "%s/ca" % mount, "readOnly": True})

    token = settings.get("env_value")
    if token is None:
        token = "-javaagent:%s/%s" % (mount, AGENT_JAR)
    elif not isinstance(token, str) or not token.strip():
        settings.fail("env_value", "must be a non-empty string")
    options = _agent_options(annotations, warnings)
    if options:
        token = "%s%s%s" % (token, "," if ".jar=" in token else "=", options)

    extra_env = list(settings.get("env") or [])
    backend = settings.get("backend_service")
    if backend:
        for warning in validate_backend_services(backend, "defaults.backend_service"):
            warnings.append(warning)
        if not any(isinstance(e, dict) and e.get("name") == BACKEND_ENV for e in extra_env):
            extra_env.insert(0, {"name": BACKEND_ENV, "value": backend})
    try:
        _merge_env([], extra_env, "env")
    except InjectionError as exc:
        settings.fail("env", exc.problem)
    return {"init": init, "volumes": volumes, "mounts": mounts, "env_name": env_name, "token": token,
            "extra_env": extra_env}


def _agent_options(annotations, warnings):
    """``k=v,...`` from the agent.* and plugins.* annotations: agent keys sorted, then plugin keys sorted."""
    seen = {}
    parts = []
    for prefix in (AGENT_PREFIX, PLUGINS_PREFIX):
        for key in sorted(k for k in annotations if k.startswith(prefix)):
            option = key[len(prefix):]
            value = annotations[key]
            field = _annotation_field(key)
            if not option:
                raise InjectionError(field, "names no agent setting", key)
            if option in seen:
                raise InjectionError(field, "sets %s, which %s sets too" % (option, seen[option]), key)
            seen[option] = key
            if not isinstance(value, str):
                raise InjectionError(field, "must be a string", key)
            if option == "agent.service_name" and not value.strip():
                raise InjectionError(field, "the service name must not be empty", key)
            if option == "collector.backend_service":
                warnings.extend(validate_backend_services(value, field, key))
            if any(ch.isspace() for ch in value):
                raise InjectionError(field, "contains whitespace, which would split %s into separate JVM options"
                                     % "the JVM options variable", key)
            if ("," in value or "=" in value) and not ("'" in value or '"' in value):
                warnings.append("%s: the value contains ',' or '=', which the agent's option parser reads as "
                                "separators unless quoted; prefer the setting's SW_* environment variable" % key)
            if option not in AGENT_CONFIG_KEYS:
                close = closest_agent_key(option)
                warnings.append("%s: %s is not a configuration key of the Java agent %s%s" % (
                    key, option, AGENT_VERSION,
                    " (did you mean %s?)" % close if close else " (plugins may define their own)"))
            parts.append("%s=%s" % (option, value))
    return ",".join(parts)


def _plugin_patterns(settings, key):
    """The ``a|b`` pattern of one plugin family (list or string), validated; "" when none."""
    value = settings.get(key)
    if not value:
        return ""
    if isinstance(value, list):
        if not _is_str_list(value):
            settings.fail(key, "must be a list of strings")
        value = "|".join(value)
    if not isinstance(value, str):
        settings.fail(key, "must be a '|'-separated string or a list of strings")
    if _PLUGIN_UNSAFE.search(value):
        settings.fail(key, "%r: plugin patterns must not contain quotes, '$', '`', '\\' or whitespace "
                           "(they are placed in a shell command)" % (value,))
    if any(not part for part in value.split("|")):
        settings.fail(key, "%r has an empty alternative, which would match (and copy) every plugin" % (value,))
    try:
        re.compile(value)
    except re.error as exc:
        settings.fail(key, "%r is not a valid pattern (%s)" % (value, exc))
    return value


def _select_containers(containers, settings):
    matcher = settings.get("container_matcher")
    if matcher is None or matcher == "":
        return list(containers)
    if not isinstance(matcher, str):
        settings.fail("container_matcher", "must be a regular expression (a string)")
    try:
        compiled = re.compile(matcher)
    except re.error as exc:
        settings.fail("container_matcher", "%r is not a valid regular expression (%s)" % (matcher, exc))
    # Go's MatchString (SWCK) finds the pattern anywhere in the name: re.search, not re.match
    chosen = [c for c in containers if compiled.search(str(c.get("name", "")))]
    if not chosen:
        settings.fail("container_matcher", "%r matches none of the containers (%s)"
                      % (matcher, ", ".join(str(c.get("name")) for c in containers)))
    return chosen


def _check_conflicts(spec, targets, plan, settings):
    names = [c.get("name") for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
             if isinstance(c, dict)]
    if plan["init"]["name"] in names:
        settings.fail("init_container_name", "the pod already has a container named %r" % plan["init"]["name"])
    existing = [v.get("name") for v in (spec.get("volumes") or []) if isinstance(v, dict)]
    for volume in plan["volumes"]:
        if volume["name"] in existing:
            settings.fail("volume_name", "the pod already has a volume named %r" % volume["name"])
    for container in targets:
        paths = [m.get("mountPath") for m in (container.get("volumeMounts") or []) if isinstance(m, dict)]
        for mount in plan["mounts"]:
            if mount["mountPath"] in paths:
                settings.fail("mount_path", "container %s already mounts a volume at %s"
                              % (container.get("name"), mount["mountPath"]))
        for env in container.get("env") or []:
            if isinstance(env, dict) and env.get("name") == plan["env_name"] and "valueFrom" in env:
                settings.fail("env_name", "container %s sets %s with valueFrom, which cannot be merged with the "
                                          "agent option; set %senv.Name to another variable (e.g. JDK_JAVA_OPTIONS)"
                              % (container.get("name"), plan["env_name"], SIDECAR_PREFIX))


def _inject_container(container, plan, warnings):
    """Add the mounts and env vars to one container; returns what was done (its record)."""
    rec = {"created": {}}
    mounts = _ensure_list(container, "volumeMounts", rec["created"], "volumeMounts")
    mounts.extend(copy.deepcopy(plan["mounts"]))
    env = _ensure_list(container, "env", rec["created"], "env")
    token = plan["token"]
    current = None
    for item in env:
        if isinstance(item, dict) and item.get("name") == plan["env_name"]:
            current = item  # the last one wins in Kubernetes, so merge into the last
    if current is None:
        env.append({"name": plan["env_name"], "value": token})
        rec["mode"] = "added"
    else:
        own = current.get("value")
        if isinstance(own, str) and _loads_skywalking_agent(own):
            rec["mode"] = "kept"
            warnings.append("container %s: %s already loads %s; kept as it is"
                            % (container.get("name"), plan["env_name"], AGENT_JAR))
        else:
            rec["mode"] = "merged"
            rec["before"] = "absent" if "value" not in current else ("null" if own is None else "text")
            own = own if isinstance(own, str) else ""
            sep = "" if own == "" or own[-1:].isspace() else " "
            current["value"] = own + sep + token
            rec["sep"] = sep
    present = set(item.get("name") for item in env if isinstance(item, dict))
    added = []
    for item in plan["extra_env"]:
        name = item.get("name")
        if name == plan["env_name"]:
            warnings.append("container %s: the extra env var %s is the agent's own variable; ignored"
                            % (container.get("name"), name))
            continue
        if name in present:
            continue
        env.append(copy.deepcopy(item))
        present.add(name)
        added.append(name)
    if added:
        rec["addedEnv"] = added
    return rec


def _loads_skywalking_agent(value):
    return any(part.startswith("-javaagent:") and AGENT_JAR in part for part in value.split())


# ----------------------------------------------------------------------------------------------
# removal
# ----------------------------------------------------------------------------------------------

def _parse_record(raw):
    field = 'metadata.annotations["%s"]' % RECORD_ANNOTATION
    try:
        record = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("containers"), dict):
        raise InjectionError(field, "the injection record is not readable; remove the annotation and the "
                                    "injected init container, volume, mounts and env vars by hand", RECORD_ANNOTATION)
    if record.get("v") != RECORD_VERSION:
        raise InjectionError(field, "injection record version %r is not supported (expected %d)"
                             % (record.get("v"), RECORD_VERSION), RECORD_ANNOTATION)
    return record


def _strip_template(tpl, record):
    """A copy of ``tpl`` without what ``record`` says was injected (tolerates later edits)."""
    tpl = copy.deepcopy(tpl)
    spec = tpl.get("spec") if isinstance(tpl.get("spec"), dict) else {}
    created = record.get("created") or {}
    init_name = record.get("initContainer")
    volumes = set(record.get("volumes") or [])
    if isinstance(spec.get("initContainers"), list):
        spec["initContainers"] = [c for c in spec["initContainers"]
                                  if not (isinstance(c, dict) and c.get("name") == init_name)]
    _restore_list(spec, "initContainers", created.get("spec.initContainers"))
    if isinstance(spec.get("volumes"), list):
        spec["volumes"] = [v for v in spec["volumes"] if not (isinstance(v, dict) and v.get("name") in volumes)]
    _restore_list(spec, "volumes", created.get("spec.volumes"))
    for container in spec.get("containers") or []:
        if isinstance(container, dict) and container.get("name") in record["containers"]:
            _strip_container(container, record["containers"][container["name"]], record, volumes)
    meta = tpl.get("metadata") if isinstance(tpl.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else None
    if annotations is not None:
        annotations.pop(RECORD_ANNOTATION, None)
        for key, previous in (record.get("annotations") or {}).items():
            if previous is None:
                annotations.pop(key, None)
            else:
                annotations[key] = previous
        _restore_dict(meta, "annotations", created.get("metadata.annotations"))
    return tpl


def _strip_container(container, rec, record, volumes):
    created = rec.get("created") or {}
    paths = set(record.get("mounts") or [])
    if isinstance(container.get("volumeMounts"), list):
        container["volumeMounts"] = [m for m in container["volumeMounts"]
                                     if not (isinstance(m, dict) and m.get("mountPath") in paths
                                             and m.get("name") in volumes)]
    _restore_list(container, "volumeMounts", created.get("volumeMounts"))
    env = container.get("env")
    if isinstance(env, list):
        name, token, mode = record.get("env"), record.get("token"), rec.get("mode")
        for added in reversed(rec.get("addedEnv") or []):
            _drop_last(env, added)
        if mode == "added":
            _drop_last(env, name, token)
        elif mode == "merged" and token:
            for item in reversed(env):
                if isinstance(item, dict) and item.get("name") == name and isinstance(item.get("value"), str):
                    item["value"] = _unmerge(item["value"], rec.get("sep", " "), token)
                    if item["value"] == "" and rec.get("before") in ("absent", "null"):
                        if rec["before"] == "absent":
                            del item["value"]
                        else:
                            item["value"] = None
                    break
    _restore_list(container, "env", created.get("env"))


def _unmerge(value, sep, token):
    if value.endswith(sep + token):
        return value[:len(value) - len(sep + token)]
    index = value.rfind(token)
    if index < 0:
        return value
    before, after = value[:index], value[index + len(token):]
    if before.endswith(" "):
        before = before[:-1]
    elif after.startswith(" "):
        after = after[1:]
    return before + after


def _drop_last(env, name, value=None):
    for index in range(len(env) - 1, -1, -1):
        item = env[index]
        if isinstance(item, dict) and item.get("name") == name and (value is None or item.get("value") == value):
            del env[index]
            return
    if value is not None:  # edited since: drop the variable we added anyway
        _drop_last(env, name)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------

def _ensure(parent, key, created, label, kind):
    """``parent[key]`` as a ``kind`` (list or dict), creating it; remembers in ``created`` whether it was
    absent or null (so removal can give that back)."""
    value = parent.get(key)
    if isinstance(value, kind):
        return value
    if key not in parent:
        created[label] = "absent"
    elif value is None:
        created[label] = "null"
    else:
        raise InjectionError(label, "must be a list" if kind is list else "must be a mapping")
    parent[key] = kind()
    return parent[key]


def _ensure_list(parent, key, created, label):
    return _ensure(parent, key, created, label, list)


def _ensure_dict(parent, key, created, label):
    return _ensure(parent, key, created, label, dict)


def _restore_list(parent, key, how):
    if how and key in parent and parent[key] == []:
        if how == "absent":
            del parent[key]
        else:
            parent[key] = None


def _restore_dict(parent, key, how):
    if how and key in parent and parent[key] == {}:
        if how == "absent":
            del parent[key]
        else:
            parent[key] = None


def _merge_env(base, extra, field):
    """``base`` env list with ``extra`` merged by name (same name: replaced in place; new: appended)."""
    if not isinstance(extra, list):
        raise InjectionError(field, "must be a list of env vars")
    merged = [copy.deepcopy(e) for e in base]
    for index, item in enumerate(extra):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not _ENV_NAME.match(item["name"]):
            raise InjectionError("%s[%d]" % (field, index), "must be an env var with a valid name")
        for pos, old in enumerate(merged):
            if old.get("name") == item["name"]:
                merged[pos] = copy.deepcopy(item)
                break
        else:
            merged.append(copy.deepcopy(item))
    return merged


def _holds(live, desired, quantities=False):
    """Whether ``live`` holds every value of ``desired`` (extra keys in live, e.g. defaulted by the
    API server, are ignored; lists must have the same length and hold item by item; under
    ``resources`` quantities compare by amount, as the server rewrites ``0.1`` to ``100m``)."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        for key, value in desired.items():
            if key not in live:
                if value in ({}, [], None, ""):
                    continue
                return False
            if not _holds(live[key], value, quantities or key == "resources"):
                return False
        return True
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(
            _holds(a, b, quantities) for a, b in zip(live, desired))
    if quantities and quantity.equal(live, desired):
        return True
    if isinstance(live, bool) or isinstance(desired, bool):
        return isinstance(live, bool) and isinstance(desired, bool) and live == desired
    if isinstance(live, (int, float)) and isinstance(desired, (int, float)):
        return live == desired  # JSON numbers: 1 == 1.0
    if isinstance(live, str) or isinstance(desired, str):
        return isinstance(live, str) and isinstance(desired, str) and live == desired
    return live == desired


def _check_swagents(swagents):
    if swagents is None:
        return []
    if isinstance(swagents, dict):
        swagents = [swagents]
    agents = []
    for index, agent in enumerate(swagents):
        if not isinstance(agent, dict):
            raise SpecError("swagents[%d]" % index, "must be a SwAgent object (a mapping)")
        kind = agent.get("kind", SWAGENT_KIND)
        if kind != SWAGENT_KIND:
            raise SpecError("swagents[%d].kind" % index, "must be %s, got %r" % (SWAGENT_KIND, kind))
        name = (agent.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not name:
            raise SpecError("swagents[%d].metadata.name" % index, "a SwAgent needs a name")
        spec = agent.get("spec") or {}
        if not isinstance(spec, dict):
            raise SpecError("swagents[%d].spec" % index, "must be a mapping")
        selector = spec.get("selector")
        if selector is not None and not isinstance(selector, dict):
            raise SpecError("swagents[%d].spec.selector" % index, "must be a mapping of labels")
        agents.append(agent)
    # a stable order: by name (then namespace); the last one wins
    return sorted(agents, key=lambda a: (a["metadata"]["name"], a["metadata"].get("namespace") or ""))


def _validate_defaults(cfg):
    for key in ("image", "init_container_name", "volume_name", "mount_path", "env_name", "ca_secret_key"):
        if not isinstance(cfg[key], str) or not cfg[key]:
            raise SpecError("defaults.%s" % key, "must be a non-empty string")
    for key in ("command",):
        if not _is_str_list(cfg[key]) or not cfg[key]:
            raise SpecError("defaults.%s" % key, "must be a non-empty list of strings")
    if cfg["args"] is not None and not _is_str_list(cfg["args"]):
        raise SpecError("defaults.args", "must be a list of strings")
    if not isinstance(cfg["resources"], dict):
        raise SpecError("defaults.resources", "must be a mapping with limits and/or requests")
    for part, value in cfg["resources"].items():
        if part not in ("limits", "requests"):
            raise SpecError("defaults.resources.%s" % part, "unknown key (limits, requests)")
        validate_resource_list(value, "defaults.resources.%s" % part)
    if not isinstance(cfg["env"], list):
        raise SpecError("defaults.env", "must be a list of env vars")
    _merge_env([], cfg["env"], "defaults.env")
    if cfg["backend_service"] is not None:
        validate_backend_services(cfg["backend_service"], "defaults.backend_service")
    if cfg["container_matcher"] is not None:
        try:
            re.compile(cfg["container_matcher"])
        except (re.error, TypeError) as exc:
            raise SpecError("defaults.container_matcher", "not a valid regular expression (%s)" % exc)
    if cfg["ca_secret"] is not None and not (isinstance(cfg["ca_secret"], str) and cfg["ca_secret"]):
        raise SpecError("defaults.ca_secret", "must be the name of a Secret")
    if cfg["security_context"] is not None and not isinstance(cfg["security_context"], dict):
        raise SpecError("defaults.security_context", "must be a mapping")


def _is_str_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_ipv4(host):
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        return False


def _split_host_port(item, field, annotation):
    if item.startswith("["):
        end = item.find("]")
        if end < 0:
            raise InjectionError(field, "%r: unclosed '[' in an IPv6 address" % (item,), annotation)
        host, rest = item[:end + 1], item[end + 1:]
        if rest and not rest.startswith(":"):
            raise InjectionError(field, "%r: expected ':<port>' after the IPv6 address" % (item,), annotation)
        port = rest[1:] if rest else None
    elif item.count(":") > 1:
        raise InjectionError(field, "%r: write an IPv6 address in brackets, e.g. [::1]:11800" % (item,), annotation)
    else:
        host, _sep, port = item.partition(":")
        port = port if _sep else None
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise InjectionError(field, "%r: %r is not a port number (1-65535)" % (item, port), annotation)
    if not host:
        raise InjectionError(field, "%r: the host is empty" % (item,), annotation)
    return host, port


def _did_you_mean(word, candidates):
    found = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return " (did you mean %s?)" % found[0] if found else ""


def _annotation_field(key):
    return 'metadata.annotations["%s"]' % key


def _path_text(path):
    return ".".join(path)


def _template(obj, path):
    node = obj
    walked = []
    for key in path:
        walked.append(key)
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise InjectionError(".".join(walked), "missing (the pod template must be a mapping)")
    return node


def _replace(obj, path, new):
    if not path:
        obj.clear()
        obj.update(new)
        return
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = new


def _namespace(obj):
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    return meta.get("namespace") if isinstance(meta, dict) else None


def _kind_text(obj):
    return obj.get("kind") if isinstance(obj, dict) and obj.get("kind") else "the object"


def _new_report(obj):
    meta = obj.get("metadata") if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict) else {}
    return {"kind": obj.get("kind") if isinstance(obj, dict) else None,
            "name": meta.get("name") or meta.get("generateName"), "namespace": meta.get("namespace"),
            "status": None, "changed": False, "reason": None, "field": None, "annotation": None,
            "containers": [], "swagents": [], "warnings": []}


def _finish(original, result, report, status, reason, mark_errors=False):
    if mark_errors and status != SKIPPED and isinstance(result, dict):
        meta = result.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
            meta["annotations"].pop(ERROR_ANNOTATION, None)
    report["status"] = status
    report["reason"] = reason
    report["changed"] = result != original
    return Outcome(result, report)


def _error(original, report, exc, prefix, mark_errors):
    field = exc.field
    if prefix and not field.startswith("SwAgent ") and not field.startswith("defaults."):
        field = "%s.%s" % (prefix, field)
    report.update(status=ERROR, field=field, annotation=exc.annotation, containers=[],
                  reason="%s: %s" % (field, exc.problem))
    result = copy.deepcopy(original)
    if mark_errors and isinstance(result, dict):
        meta = result.setdefault("metadata", {})
        if not isinstance(meta.get("annotations"), dict):
            meta["annotations"] = {}
        meta["annotations"][ERROR_ANNOTATION] = report["reason"]
    report["changed"] = result != original
    return Outcome(result, report)


def _raise_for(report):
    if report["status"] == ERROR:
        exc = InjectionError(report["field"], report["reason"][len(report["field"]) + 2:], report["annotation"])
        exc.details["report"] = report
        raise exc
