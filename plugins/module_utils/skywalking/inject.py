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
  already loads ``skywalking-agent.jar`` is kept as it is (warning), and so is a container that loads it in another
  JVM options variable, its command or its args; a container that loads a *different* Java agent
  (``-javaagent:`` of another jar) gets the SkyWalking agent next to it, with a warning naming the jar (two
  tracing agents in one JVM can conflict); a value from ``valueFrom`` cannot be merged and is an error for the
  workload;
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
import math
import re
from collections import namedtuple
from collections.abc import Mapping

try:
    from re import _parser as _sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as _sre_parse  # pylint: disable=deprecated-module

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import manifest, quantity
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import names
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.agent_keys import AGENT_CONFIG_KEYS, AGENT_VERSION
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.spec import ENV_VAR_LIMIT, is_credential_env

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

# every pattern below is used with fullmatch: Python's "$" also matches before a final newline
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_MOUNT_PATH = re.compile(r"(/[A-Za-z0-9._-]+)+")
_HOSTNAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")
_PORT = re.compile(r"[0-9]{1,5}")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")
# Mount paths the shared volume must not cover (be, or be a parent of): the agent image's own agent (the
# copy command reads it; a path inside it would copy it into itself), the directories of the tools the init
# container runs (sh, mkdir, cp, ls, grep, xargs: the directories of a shell's PATH), the directories of the libraries
# they load (and the helpers those call), /etc (the loader's cache, users, name service) and the kernel's file systems
_TOOL_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
_LIBRARY_DIRS = ("/lib", "/lib32", "/lib64", "/libx32", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32",
                 "/usr/libexec", "/usr/local/lib")
_PROTECTED_PATHS = (AGENT_HOME,) + _TOOL_DIRS + _LIBRARY_DIRS + ("/etc", "/dev", "/proc", "/sys")
# at or inside: Debian/Ubuntu multiarch library directories (/usr/lib/x86_64-linux-gnu holds libc), the JVMs of
# Debian's packages (/usr/lib/jvm) and of the Eclipse Temurin images (/opt/java)
_RUNTIME_DIRS = re.compile(r"(/(?:usr/)?lib/[a-z0-9_]+-linux-[a-z0-9_]+|/usr/lib/jvm|/opt/java)(?:/.*)?\Z")
# the variables a JVM or its launcher reads options from, where a -javaagent would load a second agent
_JVM_OPTION_VARS = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")
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
        raise SpecError("defaults", "must be a mapping, got %s" % type_name(defaults))
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
    return TEMPLATE_PATHS.get(kind) if isinstance(kind, str) else None


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
         "action": "inject"|"remove",  # what was attempted: "remove" when the label was taken away (and always
                                       # from remove_object); an error then means "not removed"
         "changed": bool,              # the returned object differs from the input
         "reason": str|None,           # why skipped / already injected / removed, or the error message
         "field": str|None,            # error: the field path, e.g. spec.template.metadata.annotations["..."]
         "annotation": str|None,       # error: the annotation at fault, when one is
         "containers": [str],          # containers that carry the agent afterwards
         "swagents": [str],            # SwAgents applied, in order (namespace/name)
         "has_collector": bool|None,   # injected: whether every injected container gets a collector address
                                       # (see has_collector_address); None when the agent is not in the object
         "warnings": [str]}            # unknown agent keys (with the closest known key), kept values, ...

    Raises ``SpecError`` only for invalid ``defaults`` or ``swagents`` arguments that are not
    SwAgent objects: those are the caller's errors, not the workload's.
    """
    cfg = effective_defaults(defaults)
    given = _given_defaults(defaults)
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
            fresh = _inject_template(tpl, cfg, agents, _namespace(obj), report, given, prefix)
            _replace(result, path, fresh)
            return _finish(obj, result, report, INJECTED, None, mark_errors)
        if not selected:
            report["action"] = "remove"
        record = _parse_record(raw_record)
        base = _strip_template(tpl, record, report["warnings"])
        if not selected:
            _replace(result, path, base)
            report["containers"] = []
            return _finish(obj, result, report, REMOVED,
                           "pod template is no longer labelled %s: \"true\"" % INJECTION_LABEL, mark_errors)
        fresh = _inject_template(base, cfg, agents, _namespace(obj), report, given, prefix)
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
    undo), ``error`` (the record is unreadable).  The report has the shape ``inject_object`` documents
    (``action`` is ``"remove"``).
    """
    report = _new_report(obj)
    report["action"] = "remove"
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
        _replace(result, path, _strip_template(tpl, _parse_record(raw_record), report["warnings"]))
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
    _check_acyclic(data)
    found = []
    _collect_swagents(data, found)
    if isinstance(swagents, dict):
        swagents = [swagents]
    agents = list(swagents or []) + found
    # also when no workload is given: a bad SwAgent is the caller's error
    validate_swagents(list(swagents or []))
    validate_swagents(found, named=True)
    effective_defaults(defaults)
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


_MAX_VALUES = 10 ** 7  # values in the input once YAML aliases are expanded
_MAX_DEPTH = 200  # nesting of mappings and lists (Kubernetes objects stay far below; copies recurse)


def _check_acyclic(data):
    """Raise ``SpecError`` when ``data`` holds itself (a recursive YAML anchor and alias), expands, through
    aliases, to more than ``_MAX_VALUES`` values, or nests deeper than ``_MAX_DEPTH``: nothing could process
    or write it."""
    if not isinstance(data, (dict, list)):
        return
    sizes, heights = {}, {}
    open_nodes = set()
    stack = [(data, "input", False)]
    while stack:
        if len(open_nodes) > _MAX_DEPTH:
            raise SpecError(_short_path(stack[-1][1]), "is nested more than %d levels deep" % _MAX_DEPTH)
        node, where, done = stack.pop()
        key = id(node)
        if done:
            children = list(node.values() if isinstance(node, dict) else node)
            sizes[key] = 1 + sum(sizes.get(id(child), 1) for child in children)
            heights[key] = 1 + max([heights.get(id(child), 0) for child in children] or [0])
            open_nodes.discard(key)
            if sizes[key] > _MAX_VALUES:
                raise SpecError(where, "expands to more than %d values through YAML aliases" % _MAX_VALUES)
            if heights[key] > _MAX_DEPTH:
                raise SpecError(_short_path(where), "is nested more than %d levels deep" % _MAX_DEPTH)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise SpecError(where, "refers to itself (a recursive YAML anchor and alias), which cannot be processed")
        open_nodes.add(key)
        stack.append((node, where, True))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for name, child in items:
            if isinstance(child, (dict, list)):
                stack.append((child, "%s[%d]" % (where, name) if isinstance(node, list) else "%s.%s" % (where, name),
                              False))


def _short_path(where, limit=120):
    return where if len(where) <= limit else where[:limit] + "..."


def _given_defaults(defaults):
    """The keys of ``defaults`` the caller set (None means "not set")."""
    if not isinstance(defaults, dict):
        return frozenset()
    return frozenset(key for key, value in defaults.items() if value is not None)


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
    inits = [c for c in _list(spec, "initContainers") if isinstance(c, dict) and c.get("name") == record.get("initContainer")]
    if inits:
        body_spec["initContainers"] = copy.deepcopy(inits)
    volumes = [v for v in _list(spec, "volumes") if isinstance(v, dict) and v.get("name") in (record.get("volumes") or [])]
    if volumes:
        body_spec["volumes"] = copy.deepcopy(volumes)
    containers = []
    for container in _list(spec, "containers"):
        name = container.get("name") if isinstance(container, dict) else None
        rec = record["containers"].get(name) if isinstance(name, str) else None
        if rec is None:
            continue
        item = {"name": container["name"]}
        mounts = [m for m in _list(container, "volumeMounts")
                  if isinstance(m, dict) and m.get("mountPath") in (record.get("mounts") or [])
                  and m.get("name") in (record.get("volumes") or [])]
        if mounts:
            item["volumeMounts"] = copy.deepcopy(mounts)
        names = list(rec.get("addedEnv") or [])
        if rec.get("mode") in ("added", "merged"):
            names.insert(0, record.get("env"))
        env = [e for e in _list(container, "env") if isinstance(e, dict) and e.get("name") in names]
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


def has_collector_address(obj, containers):
    """Whether every container named in ``containers`` in ``obj``'s pod template gets a collector address.

    Yes when the template has the annotation ``agent.skywalking.apache.org/collector.backend_service``, or the
    container sets ``SW_AGENT_COLLECTOR_BACKEND_SERVICES`` (the injection adds it from ``defaults.backend_service``),
    or one of its env values names ``collector.backend_service`` (a ``-D`` or agent option), or it has an ``envFrom``
    (which may hold it: it cannot be looked into).  Without one the agent reports to its built-in
    ``127.0.0.1:11800``, i.e. nowhere.
    """
    path = template_path(obj)
    tpl = obj
    for key in path or ():
        tpl = tpl.get(key) if isinstance(tpl, dict) else None
    if path is None or not isinstance(tpl, dict):
        return False
    meta = tpl.get("metadata") if isinstance(tpl.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    if annotations.get(AGENT_PREFIX + "collector.backend_service"):
        return True
    wanted = set(containers or [])
    for container in _list(tpl.get("spec"), "containers"):
        if not isinstance(container, dict) or container.get("name") not in wanted or container.get("envFrom"):
            continue
        env = [e for e in _list(container, "env") if isinstance(e, dict)]
        if not any(e.get("name") == BACKEND_ENV or "collector.backend_service" in str(e.get("value") or "")
                   for e in env):
            return False
    return True


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
    if not _is_dns_label(namespace or ""):
        raise SpecError("namespace", "%r is not a valid namespace name" % (namespace,))
    service = (satellite_service or "%s-satellite" % cluster) if satellite else (oap_service or "%s-oap" % cluster)
    if not _is_dns_label(service):
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
    An empty item (``host:11800,``) is refused, and so is a control character.  Raises
    ``InjectionError(field, problem, annotation)``.  Warnings: an address without a port, and an IPv6
    literal (the Java agent 9.7.0 splits each address at ':' -- ``GRPCChannelManager`` -- so it cannot
    use one; give a DNS name).
    """
    if not isinstance(value, str):
        raise InjectionError(field, "must be a string of host[:port] addresses", annotation)
    if any(ch.isspace() and ch != " " for ch in value):
        raise InjectionError(field, "%r contains a line break or another whitespace character" % (value,), annotation)
    problem = control_problem(value)
    if problem:
        raise InjectionError(field, problem, annotation)
    warnings = []
    items = [item.strip() for item in value.split(",")]
    if not any(items):
        raise InjectionError(field, "no collector address given (expected host:port[,host:port...])", annotation)
    for index, item in enumerate(items):
        if not item:
            raise InjectionError(field, "%r: address %d of %d is empty (a stray ','?)" % (value, index + 1, len(items)),
                                 annotation)
        host, port = _split_host_port(item, field, annotation)
        if host.startswith("["):
            try:
                ipaddress.IPv6Address(host[1:-1])
            except ValueError:
                raise InjectionError(field, "%r is not a valid IPv6 address" % (host,), annotation)
            warnings.append("%s: %s is an IPv6 literal; the Java agent %s splits addresses at ':' and "
                            "cannot use it, give a DNS name" % (field, item, AGENT_VERSION))
        elif not _is_ipv4(host) and not _HOSTNAME.fullmatch(host):
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
        number = _quantity(amount)
        if number is None:
            raise InjectionError(field, "%s: %r is not a quantity" % (name, amount), annotation)
        if number <= 0:
            raise InjectionError(field, "%s: %r must be greater than 0" % (name, amount), annotation)
        if quantity.too_large(amount):
            raise InjectionError(field, "%s: %r is larger than the largest quantity Kubernetes keeps (2^63-1 "
                                        "base units; the API server would silently cap it)" % (name, amount),
                                 annotation)
    return value


def _quantity(amount):
    """``quantity.parse`` for a finite amount; None for anything else (NaN, infinity, overflow)."""
    if isinstance(amount, float) and not math.isfinite(amount):
        return None
    try:
        number = quantity.parse(amount)
    except (ArithmeticError, ValueError):  # decimal.InvalidOperation, Overflow: both ArithmeticError
        return None
    return number if number is not None and number.is_finite() else None


def resources_problem(resources, fields=("limits", "requests")):
    """Why ``{"limits": ..., "requests": ...}`` (each valid alone) cannot go together, or None.

    A limit below its request (the API server refuses it); ``fields``: how to name the two parts in the
    sentence (e.g. ``("defaults.resources.limits", "defaults.resources.requests")``).
    """
    limits = resources.get("limits") if isinstance(resources, dict) else None
    requests = resources.get("requests") if isinstance(resources, dict) else None
    if not isinstance(limits, dict) or not isinstance(requests, dict):
        return None
    for name in sorted(set(limits) & set(requests), key=str):
        limit, request = _quantity(limits[name]), _quantity(requests[name])
        if limit is not None and request is not None and limit < request:
            return ("the %s limit %s (%s) is below its request %s (%s): the API server refuses a limit below "
                    "the request" % (name, limits[name], fields[0], requests[name], fields[1]))
    return None


def mount_path_problem(mount):
    """Why ``mount`` cannot be the agent's mount path (a sentence), or None."""
    if not isinstance(mount, str) or not _MOUNT_PATH.fullmatch(mount):
        return ("%r is not an absolute path of letters, digits, '.', '_', '-' and '/' (without a trailing '/'; "
                "it is used in the copy command)" % (mount,))
    segments = mount.split("/")[1:]
    if any(segment in (".", "..") for segment in segments):
        return "%r has a '.' or '..' segment; give the path itself" % (mount,)
    runtime = _RUNTIME_DIRS.match(mount)
    if runtime or mount == "/opt":
        return ("%r overlaps %s, where the C library or the JVM of the containers lives: the shared volume would hide "
                "it" % (mount, runtime.group(1) if runtime else "/opt/java"))
    for path in _PROTECTED_PATHS:
        inside = mount.startswith(path + "/") and path in (AGENT_HOME, "/dev", "/proc", "/sys")
        if path == mount or path.startswith(mount + "/") or inside:
            if path == AGENT_HOME:
                return ("%r overlaps %s, where the agent image keeps the agent the init container copies: the "
                        "shared volume would hide it" % (mount, AGENT_HOME))
            return ("%r overlaps %s, a system directory of the containers: the shared volume would hide what it "
                    "holds" % (mount, path))
    return None


def closest_agent_key(key):
    """The known Java agent key closest to ``key`` (difflib), or None."""
    found = difflib.get_close_matches(key, sorted(AGENT_CONFIG_KEYS), n=1, cutoff=0.6)
    return found[0] if found else None


# ----------------------------------------------------------------------------------------------
# injection
# ----------------------------------------------------------------------------------------------

class _Settings(object):
    """The effective settings of one injection and where each came from (for error messages).

    A source is ``("annotation", key)``, ``("swagent", "SwAgent ns/name: spec.field")``, ``("defaults", key)``
    (a default the caller gave) or ``("builtin", key)`` (a default nobody gave: never named in an error that
    has a better field to name).
    """

    _RANK = {"builtin": 0, "defaults": 1, "swagent": 2, "annotation": 3}

    def __init__(self, prefix=""):
        self.values = {}
        self.sources = {}
        self.prefix = prefix  # the path of the pod template in the object, for the fields warnings name

    def set(self, key, value, source):
        self.values[key] = value
        self.sources[key] = source

    def get(self, key):
        return self.values.get(key)

    def source(self, key):
        return self.sources.get(key, ("defaults", key))

    def fail(self, key, problem, conflict=None):
        """Raise an InjectionError naming the place ``key``'s value came from; for a built-in default that
        nobody set, ``conflict`` (the field of the template it collides with) is named instead, when given,
        and the problem says which built-in default it is."""
        source = self.source(key)
        if source[0] == "builtin":
            problem = "%s (%r is the built-in default of defaults.%s)" % (problem, self.get(key), key)
        _raise_from(source, problem, conflict)

    def field(self, key, part=None):
        """The field (or annotation) ``key``'s value came from, as text for an error message."""
        kind, where = self.sources.get("%s.%s" % (key, part), self.source(key)) if part else self.source(key)
        if kind in ("annotation", "swagent"):
            return where
        if kind == "builtin":
            return "the built-in default of defaults.%s" % ("%s.%s" % (key, part) if part else key)
        return "defaults.%s" % ("%s.%s" % (where, part) if part else where)

    def higher(self, *keys):
        """The source of the highest layer among the ``keys`` that were set (the first key's when none was)."""
        known = [self.sources[key] for key in keys if key in self.sources] or [self.source(keys[0])]
        return max(known, key=lambda source: self._RANK.get(source[0], 0))


def _raise_from(source, problem, conflict=None):
    """Raise an InjectionError for a setting that came from ``source`` (see ``_Settings``)."""
    kind, where = source
    if kind == "annotation":
        raise InjectionError(_annotation_field(where), problem, where)
    if kind == "swagent":
        raise InjectionError(where, problem)
    if kind == "builtin" and conflict:
        raise InjectionError(conflict, problem)
    raise InjectionError("defaults.%s" % where, problem)


def _inject_template(tpl, cfg, agents, namespace, report, given=frozenset(), prefix=""):
    """A new pod template with the agent injected into ``tpl`` (which carries no injection).

    ``given``: the keys of ``cfg`` the caller set (the others are built-in defaults, see ``_Settings``);
    ``prefix``: the template's path in the object (``spec.template``), for the fields warnings name.
    """
    tpl = copy.deepcopy(tpl)
    meta = tpl.get("metadata") if isinstance(tpl.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    spec = tpl.get("spec")
    if not isinstance(spec, dict):
        raise InjectionError("spec", "the pod template has no spec")
    containers = spec.get("containers")
    if containers is not None and not isinstance(containers, list):
        raise InjectionError("spec.containers", "must be a list of containers, got %s" % type_name(containers))
    if not containers:
        raise InjectionError("spec.containers", "the pod template has no containers")
    _check_template_shape(annotations, spec, containers)
    warnings = report["warnings"]
    settings = _Settings(prefix)
    for key, value in cfg.items():
        settings.set(key, copy.deepcopy(value), ("defaults" if key in given else "builtin", key))
    for part in cfg["resources"] if isinstance(cfg["resources"], dict) else ():
        settings.sources["resources." + part] = settings.source("resources")
    report["swagents"] = _overlay_swagents(settings, agents, labels, namespace, warnings)
    _overlay_annotations(settings, annotations, warnings)
    plan = _plan(settings, annotations, warnings)
    targets = _select_containers(containers, settings)
    _check_conflicts(spec, containers, targets, plan, settings)

    record = {"v": RECORD_VERSION, "initContainer": plan["init"]["name"],
              "volumes": [v["name"] for v in plan["volumes"]], "mounts": [m["mountPath"] for m in plan["mounts"]],
              "env": plan["env_name"], "token": plan["token"], "created": {}, "annotations": {}, "containers": {}}
    init_list = _ensure_list(spec, "initContainers", record["created"], "spec.initContainers")
    init_list.append(plan["init"])
    volumes = _ensure_list(spec, "volumes", record["created"], "spec.volumes")
    volumes.extend(copy.deepcopy(plan["volumes"]))
    for container in targets:
        field = "spec.containers[%d]" % _index_of(containers, container)
        record["containers"][container["name"]] = _inject_container(container, plan, warnings, field)
    report["containers"] = [c["name"] for c in targets]

    if not isinstance(tpl.get("metadata"), dict):
        raise InjectionError("metadata", "the pod template has no metadata")  # pragma: no cover - selected by label
    marks = _ensure_dict(tpl["metadata"], "annotations", record["created"], "metadata.annotations")
    for key in (SUCCEED_ANNOTATION, INJECTED_ANNOTATION):
        record["annotations"][key] = marks.get(key)
        marks[key] = "true"
    marks[RECORD_ANNOTATION] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return tpl


def _overlay_swagents(settings, agents, labels, namespace, warnings):
    """Apply the SwAgents of ``namespace`` whose selector matches ``labels``; returns their names, in order.

    A SwAgent that applies (or whose selector cannot be read, so it may apply) and has a field of the wrong shape
    or value raises ``InjectionError`` naming ``SwAgent <namespace>/<name>: spec.<field>``: the workload is
    invalid, never the run.
    """
    applied = []
    for agent in agents:
        meta = agent.get("metadata") if isinstance(agent.get("metadata"), dict) else {}
        agent_ns = meta.get("namespace")
        if agent_ns and namespace and agent_ns != namespace:
            continue
        name = "%s/%s" % (agent_ns, meta.get("name")) if agent_ns else str(meta.get("name"))

        def where(sub, _name=name):
            return "SwAgent %s: %s" % (_name, sub)

        spec = agent.get("spec")
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise InjectionError(where("spec"), "must be a mapping, got %s" % type_name(spec))
        selector = spec.get("selector")
        if selector is not None and not isinstance(selector, dict):
            _check_swagent_spec({"selector": selector}, where)
        if selector:
            odd = sorted(str(k) for k, v in selector.items() if not isinstance(v, str))
            if odd:
                warnings.append("SwAgent %s: spec.selector%s is not a label value (a string); SWCK's SwAgent "
                                "selector is a plain map of labels (e.g. {app: orders}, not matchLabels), so this "
                                "SwAgent never matches" % (name, "." + odd[0]))
            if not all(labels.get(k) == v for k, v in selector.items()):
                continue
        _check_swagent_spec(spec, where)
        applied.append(name)

        def src(field, _name=name):
            return ("swagent", "SwAgent %s: spec.%s" % (_name, field))

        sidecar = spec.get("javaSidecar") or {}  # every field checked above
        for field, key in (("name", "init_container_name"), ("image", "image")):
            if sidecar.get(field):
                settings.set(key, sidecar[field], src("javaSidecar." + field))
        for field, key in (("command", "command"), ("args", "args")):
            value = sidecar.get(field)
            if value and not (field == "command" and value == SWAGENT_CRD_DEFAULT_COMMAND):
                settings.set(key, list(value), src("javaSidecar." + field))
        resources = sidecar.get("resources") or {}
        for part in ("limits", "requests"):
            if resources.get(part):
                merged = dict(settings.get("resources") or {})
                merged[part] = resources[part]
                settings.set("resources", merged, src("javaSidecar.resources"))
                settings.sources["resources." + part] = src("javaSidecar.resources." + part)
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
            _check_annotation_text(key, value)
            if target in ("limits", "requests"):
                try:
                    parsed = json.loads(value)
                except (ValueError, RecursionError) as exc:
                    raise InjectionError(_annotation_field(key), "not valid JSON (%s)" % exc, key)
                validate_resource_list(parsed, _annotation_field(key), key)
                merged = dict(settings.get("resources") or {})
                merged[target] = parsed
                settings.set("resources", merged, ("annotation", key))
                settings.sources["resources." + target] = ("annotation", key)
            elif target == "command":
                settings.set("command", [value], ("annotation", key))
            else:
                settings.set(target, value, ("annotation", key))
        elif key == CONTAINER_ANNOTATION:
            _check_annotation_text(key, value)
            settings.set("container_matcher", value, ("annotation", key))
        elif _unknown_skywalking_annotation(key):
            known = sorted(KNOWN_ANNOTATIONS) + [AGENT_PREFIX, PLUGINS_PREFIX]
            warnings.append("%s: not an annotation this injector knows, ignored%s" % (key, _did_you_mean(key, known)))
    for annotation, _field, key, _directory in PLUGIN_FAMILIES:
        if annotation in lowered:  # SWCK compares these names case-insensitively
            original = lowered[annotation]
            value = annotations[original]
            if value:
                _check_annotation_text(original, value)
                settings.set(key, value, ("annotation", original))


def credential_annotation_keys(annotations):
    """The ``agent.skywalking.apache.org/*`` and ``plugins.skywalking.apache.org/*`` keys of ``annotations`` (a pod
    template's annotations; anything else gives ``[]``) whose setting looks like a credential (``agent.authentication``,
    ``*password*``, ``*token*``, ``*secret*``, ``*jaas*``, ...: the rule of the cluster spec's credential env names),
    sorted.  Their values are in plain text in the pod spec, and in the ``-javaagent`` option the injection writes:
    mask them (``mask_credential_options``) wherever a template is shown."""
    if not isinstance(annotations, Mapping):
        return []
    found = []
    for key in annotations:
        if isinstance(key, str) and key.startswith((AGENT_PREFIX, PLUGINS_PREFIX)):
            option = key.split("/", 1)[1]
            words = re.sub(r"[^A-Za-z0-9]", "_", option)  # agent.pass -> agent_pass: the env rule's word boundaries
            if is_credential_env(option) or is_credential_env(words) or "jaas" in option.lower():
                found.append(key)
    return sorted(found)


def mask_credential_options(text, annotations, mask="********"):
    """``text`` (e.g. the injected ``JAVA_TOOL_OPTIONS`` value) with the value of every credential setting of
    ``annotations`` (see ``credential_annotation_keys``) replaced by ``mask`` where it appears as ``<key>=<value>``."""
    if not isinstance(text, str):
        return text
    for key in credential_annotation_keys(annotations):
        value = annotations[key]
        if isinstance(value, str) and value:
            option = key.split("/", 1)[1]
            text = text.replace("%s=%s" % (option, value), "%s=%s" % (option, mask))
    return text


def _check_annotation_text(key, value):
    """Refuse a control character in an annotation's value (it would reach JAVA_TOOL_OPTIONS, the init container's
    command, or a terminal showing the pod), naming the annotation."""
    if isinstance(value, str):
        problem = control_problem(value)
        if problem:
            raise InjectionError(_annotation_field(key), problem, key)


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
        if not _is_dns_label(value if isinstance(value, str) else ""):
            settings.fail(key, "%r is not a valid name (a DNS label: lower-case letters, digits and '-', "
                               "at most 63 characters)" % (value,))
    image = settings.get("image")
    if not isinstance(image, str) or not image.strip() or any(ch.isspace() for ch in image):
        settings.fail("image", "%r is not an image reference" % (image,))
    mount = settings.get("mount_path")
    problem = mount_path_problem(mount)
    if problem:
        settings.fail("mount_path", problem)
    env_name = settings.get("env_name")
    if not isinstance(env_name, str) or not _ENV_NAME.fullmatch(env_name):
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
        # the copies join the shell script: the last argument of [OPTION, SCRIPT], never an option like -c
        if len(args) < 2 or args[-1].startswith("-"):
            source = settings.higher("args", "args_option", "args_command")
            _raise_from(source, "%r has no shell script to append the plugin copy commands to (expected an option "
                                "and a script, e.g. [\"-c\", \"mkdir -p ... && cp ...\"])" % (args,))
        args[-1] = " && ".join([args[-1]] + copies)

    init = {"name": settings.get("init_container_name"), "image": image, "command": list(command), "args": args}
    resources = settings.get("resources") or {}
    if not isinstance(resources, dict):
        settings.fail("resources", "must be a mapping with limits and/or requests")
    resources = dict((part, resources[part]) for part in ("limits", "requests") if resources.get(part))
    problem = resources_problem(resources, (settings.field("resources", "limits"),
                                            settings.field("resources", "requests")))
    if problem:
        _raise_from(settings.higher("resources.limits", "resources.requests", "resources"), problem)
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
    elif any(ch.isspace() for ch in token):
        settings.fail("env_value", "%r contains whitespace: it is one JVM option (the agent settings are appended to "
                                   "it, and removal finds it again)" % (token,))
    options = _agent_options(annotations, warnings, settings.prefix)
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


def _agent_options(annotations, warnings, prefix=""):
    """``k=v,...`` from the agent.* and plugins.* annotations: agent keys sorted, then plugin keys sorted.

    ``prefix``: the path of the pod template in the object (``spec.template``), for the fields warnings name.
    """
    seen = {}
    parts = []
    credentials = credential_annotation_keys(annotations)
    for family in (AGENT_PREFIX, PLUGINS_PREFIX):
        for key in sorted(k for k in annotations if k.startswith(family)):
            option = key[len(family):]
            value = annotations[key]
            field = _annotation_field(key)
            if not option:
                raise InjectionError(field, "names no agent setting", key)
            if option in seen:
                raise InjectionError(field, "sets %s, which %s sets too" % (option, seen[option]), key)
            seen[option] = key
            if not isinstance(value, str):
                raise InjectionError(field, "must be a string", key)
            _check_annotation_text(key, value)
            if option == "agent.service_name" and not value.strip():
                raise InjectionError(field, "the service name must not be empty", key)
            if option == "collector.backend_service":
                validate_backend_services(value, field, key)  # errors: the caller adds the template's path
                warnings.extend(validate_backend_services(value, _in_template(prefix, field), key))
            size = len(value.encode("utf-8"))
            if size >= ENV_VAR_LIMIT:
                raise InjectionError(field, "is %d bytes; the agent options go into one environment variable, which "
                                            "must stay below 128 KiB (%d bytes)" % (size, ENV_VAR_LIMIT), key)
            if any(ch.isspace() for ch in value):
                raise InjectionError(field, "contains whitespace, which would split %s into separate JVM options"
                                     % "the JVM options variable", key)
            if ("," in value or "=" in value) and not ("'" in value or '"' in value):
                warnings.append("%s: the value contains ',' or '=', which the agent's option parser reads as "
                                "separators unless quoted; prefer the setting's SW_* environment variable" % key)
            if value and key in credentials:
                warnings.append("%s: credentials in annotations are stored in plain text in the pod spec; give %s from "
                                "a Secret (valueFrom)" % (key, "SW_AGENT_AUTHENTICATION" if option == "agent.authentication"
                                                          else "the setting's SW_* environment variable"))
            if option not in AGENT_CONFIG_KEYS:
                close = closest_agent_key(option)
                warnings.append("%s: %s is not a configuration key of the Java agent %s%s" % (
                    key, option, AGENT_VERSION,
                    " (did you mean %s?)" % close if close else " (plugins may define their own)"))
            parts.append("%s=%s" % (option, value))
    return ",".join(parts)


def _plugin_patterns(settings, key):
    """The ``a|b`` pattern of one plugin family (list or string), validated; "" when none."""
    try:
        return plugin_pattern(settings.get(key))
    except ValueError as exc:
        settings.fail(key, str(exc))


def plugin_pattern(value):
    """The ``a|b`` pattern (a ``grep -E`` expression in the init container's script) of one plugin family.

    ``value``: a ``|``-separated string or a list of strings; empty or None gives "".  Raises
    ``ValueError`` with the problem: quotes, ``$``, backquote, backslash or whitespace (the pattern is
    placed in a shell command), a leading ``-`` (grep would read it as an option), an empty alternative
    (it would copy every plugin), or an invalid expression.
    """
    if not value:
        return ""
    if isinstance(value, list):
        if not _is_str_list(value):
            raise ValueError("must be a list of strings")
        value = "|".join(value)
    if not isinstance(value, str):
        raise ValueError("must be a '|'-separated string or a list of strings")
    if _PLUGIN_UNSAFE.search(value):
        raise ValueError("%r: plugin patterns must not contain quotes, '$', '`', '\\' or whitespace "
                         "(they are placed in a shell command)" % (value,))
    if value.startswith("-"):
        raise ValueError("%r starts with '-', which grep would read as an option (e.g. -v inverts the match)"
                         % (value,))
    if any(not part for part in value.split("|")):
        raise ValueError("%r has an empty alternative, which would match (and copy) every plugin" % (value,))
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError("%r is not a valid pattern (%s)" % (value, exc))
    return value


def _select_containers(containers, settings):
    matcher = settings.get("container_matcher")
    if matcher is None or matcher == "":
        return list(containers)
    try:
        compiled = compile_re2(matcher)
    except ValueError as exc:
        settings.fail("container_matcher", str(exc))
    # Go's MatchString (SWCK) finds the pattern anywhere in the name: a search, not a match; the names are DNS
    # labels (checked), and RE2's matching is linear in them
    chosen = [c for c in containers if compiled.search(c["name"])]
    if not chosen:
        settings.fail("container_matcher", "%r matches none of the containers (%s)"
                      % (matcher, ", ".join(str(c.get("name")) for c in containers)))
    return chosen


def _check_template_shape(annotations, spec, containers):
    """Refuse a template whose parts have the wrong types (the API server would refuse it too)."""
    for key in annotations:
        if not isinstance(key, str):
            raise InjectionError("metadata.annotations", "the key %r is not a string (annotation keys and values are "
                                                         "strings)" % (key,))
    for key in ("initContainers", "volumes"):
        if spec.get(key) is not None and not isinstance(spec[key], list):
            raise InjectionError("spec.%s" % key, "must be a list, got %s" % type_name(spec[key]))
    seen = set()
    for index, container in enumerate(containers):
        field = "spec.containers[%d]" % index
        if not isinstance(container, dict):
            raise InjectionError(field, "must be a container (a mapping), got %s" % type_name(container))
        name = container.get("name")
        if name is None or name == "":
            raise InjectionError(field + ".name", "a container needs a name (a DNS label: lower-case letters, digits "
                                                  "and '-', at most 63 characters)")
        if not _is_dns_label(name):
            raise InjectionError(field + ".name", "%r is not a container name (a DNS label: lower-case letters, "
                                                  "digits and '-', at most 63 characters)" % (name,))
        if name in seen:
            raise InjectionError(field + ".name", "%r names two containers" % (name,))
        seen.add(name)
        for key in ("env", "volumeMounts", "command", "args"):
            if container.get(key) is not None and not isinstance(container[key], list):
                raise InjectionError("%s.%s" % (field, key), "must be a list, got %s" % type_name(container[key]))


def _index_of(items, item):
    return next(index for index, candidate in enumerate(items) if candidate is item)


def _check_conflicts(spec, containers, targets, plan, settings):
    """Refuse names and paths the template uses already; a conflict with a built-in default names the
    template's field."""
    name = plan["init"]["name"]
    for key in ("initContainers", "containers"):
        for index, item in enumerate(spec.get(key) or []):
            if isinstance(item, dict) and item.get("name") == name:
                settings.fail("init_container_name", "the pod already has a container named %r" % name,
                              "spec.%s[%d].name" % (key, index))
    for volume in plan["volumes"]:
        for index, item in enumerate(spec.get("volumes") or []):
            if isinstance(item, dict) and item.get("name") == volume["name"]:
                settings.fail("volume_name", "the pod already has a volume named %r" % volume["name"],
                              "spec.volumes[%d].name" % index)
        for key in ("initContainers", "containers"):  # a mount of a volume the pod lacks: removal would drop it
            for index, item in enumerate(spec.get(key) or []):
                for position, mount in enumerate(_list(item, "volumeMounts")):
                    if isinstance(mount, dict) and mount.get("name") == volume["name"]:
                        settings.fail("volume_name", "container %s already mounts a volume named %r"
                                      % (item.get("name"), volume["name"]),
                                      "spec.%s[%d].volumeMounts[%d].name" % (key, index, position))
    for container in targets:
        field = "spec.containers[%d]" % _index_of(containers, container)
        for index, item in enumerate(container.get("volumeMounts") or []):
            for mount in plan["mounts"]:
                if isinstance(item, dict) and item.get("mountPath") == mount["mountPath"]:
                    settings.fail("mount_path", "container %s already mounts a volume at %s"
                                  % (container.get("name"), mount["mountPath"]),
                                  "%s.volumeMounts[%d].mountPath" % (field, index))
        for index, env in enumerate(container.get("env") or []):
            if isinstance(env, dict) and env.get("name") == plan["env_name"] and \
                    env.get("value") is not None and not isinstance(env["value"], str):
                raise InjectionError("%s.env[%d].value" % (field, index), "container %s sets %s to %r, which is not a "
                                                                          "string (an env value is text: quote it)"
                                     % (container.get("name"), plan["env_name"], env["value"]))
            if isinstance(env, dict) and env.get("name") == plan["env_name"] and "valueFrom" in env:
                settings.fail("env_name", "container %s sets %s with valueFrom, which cannot be merged with the "
                                          "agent option; set defaults.env_name (or the annotation %senv.Name) to another "
                                          "variable (e.g. JDK_JAVA_OPTIONS)"
                              % (container.get("name"), plan["env_name"], SIDECAR_PREFIX),
                              "%s.env[%d]" % (field, index))


_NOT_APPLIED = ("so the %s* and %s* annotations are not applied to it" % (AGENT_PREFIX, PLUGINS_PREFIX))


def _inject_container(container, plan, warnings, field):
    """Add the mounts and env vars to one container; returns what was done (its record)."""
    rec = {"created": {}}
    mounts = _ensure_list(container, "volumeMounts", rec["created"], "volumeMounts")
    mounts.extend(copy.deepcopy(plan["mounts"]))
    name = container.get("name")
    env_name = plan["env_name"]
    token = plan["token"]
    own_env = container.get("env") if isinstance(container.get("env"), list) else []
    current = None
    for item in own_env:
        if isinstance(item, dict) and item.get("name") == env_name:
            current = item  # the last one wins in Kubernetes, so merge into the last
    elsewhere = _agent_loaded_elsewhere(container, env_name)
    kept = elsewhere or (current is not None and _loads_skywalking_agent(current.get("value")))
    if not kept:  # the SkyWalking agent goes in next to another agent: say which
        warnings.extend(_other_agent_warnings(container, env_name))
    if current is not None and isinstance(current.get("value"), str) and _loads_skywalking_agent(current["value"]):
        rec["mode"] = "kept"
        warnings.append("container %s: %s already loads %s; kept as it is, %s" % (name, env_name, AGENT_JAR, _NOT_APPLIED))
    elif elsewhere:
        rec["mode"] = "kept"
        warnings.append("container %s: %s already loads %s; %s is left as it is (no second agent), %s"
                        % (name, elsewhere, AGENT_JAR, env_name, _NOT_APPLIED))
    elif current is None:
        env = _ensure_list(container, "env", rec["created"], "env")
        env.append({"name": env_name, "value": token})
        rec["mode"] = "added"
        _check_env_size(env_name, token, "%s.env[%d]" % (field, len(env) - 1))
    else:
        own = current.get("value")
        rec["mode"] = "merged"
        rec["before"] = "absent" if "value" not in current else ("null" if own is None else "text")
        own = own if isinstance(own, str) else ""
        sep = "" if own == "" or own[-1:].isspace() else " "
        current["value"] = own + sep + token
        rec["sep"] = sep
        _check_env_size(env_name, current["value"], "%s.env[%d]" % (field, _index_of(own_env, current)))
    present = set(item.get("name") for item in own_env if isinstance(item, dict) and isinstance(item.get("name"), str))
    added = []
    for item in plan["extra_env"]:
        extra = item.get("name")
        if extra == env_name:
            warnings.append("container %s: the extra env var %s is the agent's own variable; ignored" % (name, extra))
            continue
        if extra in present:
            continue
        _ensure_list(container, "env", rec["created"], "env").append(copy.deepcopy(item))
        present.add(extra)
        added.append(extra)
    if added:
        rec["addedEnv"] = added
    return rec


def _check_env_size(name, value, field):
    size = len(name.encode("utf-8")) + 1 + len(value.encode("utf-8"))
    if size >= ENV_VAR_LIMIT:
        raise InjectionError(field, "%s would be %d bytes with its name; one environment variable must stay below "
                                    "128 KiB (%d bytes): Linux refuses to start the container"
                             % (name, size, ENV_VAR_LIMIT))


# -javaagent:<jar>[=options]: the jar ends at '=' (its options), whitespace, a quote or a shell separator
# -javaagent:<jar>[=<options>], also quoted as a whole ("-javaagent:/a b/x.jar") or in its path (-javaagent:"/a b/x.jar"),
# which the JVM's option parser accepts in JAVA_TOOL_OPTIONS
_JAVAAGENT = re.compile(r"([\"'])-javaagent:([^\"'=]+)|-javaagent:([\"'])([^\"'=]+)|-javaagent:([^\s=\"';&|]+)")
_SKYWALKING_JAR = re.compile(r"skywalking-agent([-_.][-_.A-Za-z0-9]*)?\.jar")
# jar names (or paths) of tracing / APM agents: two of them in one JVM can conflict (both instrument the same classes)
_TRACING_AGENTS = re.compile(r"opentelemetry|(?<![a-z])otel|dd-java-agent|datadog|elastic-apm|newrelic|pinpoint|"
                             r"glowroot|appdynamics|instana|dynatrace|oneagent|splunk-otel|signalfx|kieker|scouter|"
                             r"stagemonitor|inspectit|lightstep", re.IGNORECASE)


def java_agents(text):
    """The jars that ``-javaagent:`` options in ``text`` (a JVM options value, a command word, a shell line) load."""
    if not isinstance(text, str):
        return []
    return [found.group(2) or found.group(4) or found.group(5) for found in _JAVAAGENT.finditer(text)]


def is_skywalking_jar(jar):
    """Whether a ``-javaagent`` jar path is SkyWalking's agent (``.../skywalking-agent.jar``, or a renamed copy such
    as ``skywalking-agent-9.7.0.jar``)."""
    return _SKYWALKING_JAR.fullmatch(jar.rsplit("/", 1)[-1]) is not None


def _loads_skywalking_agent(value):
    return any(is_skywalking_jar(jar) for jar in java_agents(value))


def _agent_sources(container, env_name):
    """``[(where, text)]``: the places of a container where a JVM reads ``-javaagent`` options: the JVM options
    variables (the last entry of a name counts, as in Kubernetes; ``env_name`` first), the command and the args."""
    last = {}
    for item in container.get("env") or []:
        if isinstance(item, dict) and item.get("name") in _JVM_OPTION_VARS + (env_name,):
            last[item["name"]] = item.get("value")
    order = [env_name] + [var for var in _JVM_OPTION_VARS if var != env_name]
    sources = [(var, last[var]) for var in order if isinstance(last.get(var), str)]
    for key in ("command", "args"):
        words = container.get(key)
        if isinstance(words, list):
            sources.extend(("its %s" % key, word) for word in words if isinstance(word, str))
    return sources


def _agent_loaded_elsewhere(container, env_name):
    """Where, other than ``env_name``, the container loads skywalking-agent.jar already (a phrase), or None:
    another JVM options variable (the last entry of a name counts, as in Kubernetes), its command or args."""
    for where, text in _agent_sources(container, env_name):
        if where != env_name and _loads_skywalking_agent(text):
            return where
    return None


def _other_agent_warnings(container, env_name):
    """Warnings for Java agents other than SkyWalking's that the container loads already (each jar once)."""
    warnings, seen = [], set()
    for where, text in _agent_sources(container, env_name):
        for jar in java_agents(text):
            if is_skywalking_jar(jar) or jar in seen:
                continue
            seen.add(jar)
            name = jar.rsplit("/", 1)[-1]
            if _TRACING_AGENTS.search(jar):
                note = ("two tracing agents in one JVM can conflict (both instrument the same classes: duplicate or "
                        "broken traces); keep one of them")
            else:
                note = "the SkyWalking agent is added next to it"
            warnings.append("container %s: another Java agent is loaded too, %s (in %s: %s); %s"
                            % (container.get("name"), name, where, jar, note))
    return warnings


# ----------------------------------------------------------------------------------------------
# removal
# ----------------------------------------------------------------------------------------------

_RECORD_HAND = ("remove the annotation and the injected init container, volume, mounts and env vars by hand")
_CREATED = ("absent", "null")


def _parse_record(raw):
    field = 'metadata.annotations["%s"]' % RECORD_ANNOTATION
    try:
        record = json.loads(raw) if isinstance(raw, str) else None
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("containers"), dict):
        raise InjectionError(field, "the injection record is not readable; " + _RECORD_HAND, RECORD_ANNOTATION)
    if record.get("v") != RECORD_VERSION:
        raise InjectionError(field, "injection record version %r is not supported (expected %d)"
                             % (record.get("v"), RECORD_VERSION), RECORD_ANNOTATION)
    problem = _record_problem(record)
    if problem:
        raise InjectionError(field, "the injection record is damaged (%s); %s" % (problem, _RECORD_HAND),
                             RECORD_ANNOTATION)
    return record


def _record_problem(record):
    """What in a parsed record has the wrong shape (a phrase), or None: removal uses every part of it."""
    def strings(value):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)

    def created(value):
        return isinstance(value, dict) and all(v in _CREATED for v in value.values())

    for key, check, shape in (
            ("initContainer", lambda v: isinstance(v, str), "a name"),
            ("volumes", strings, "a list of names"),
            ("mounts", strings, "a list of paths"),
            ("env", lambda v: isinstance(v, str), "a variable name"),
            ("token", lambda v: isinstance(v, str), "the injected option"),
            ("created", created, 'a mapping to "absent" or "null"'),
            ("annotations", lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values() if x is not None),
             "a mapping of annotations to their previous values")):
        if record.get(key) is not None and not check(record[key]):
            return "%s must be %s, got %r" % (key, shape, record[key])
    for name, rec in record["containers"].items():
        if not isinstance(rec, dict):
            return "containers.%s must be a mapping, got %r" % (name, rec)
        for key, check, shape in (
                ("created", created, 'a mapping to "absent" or "null"'),
                ("mode", lambda v: v in ("added", "merged", "kept"), "added, merged or kept"),
                ("addedEnv", strings, "a list of variable names"),
                ("sep", lambda v: isinstance(v, str), "a string"),
                ("before", lambda v: v in ("absent", "null", "text"), "absent, null or text")):
            if rec.get(key) is not None and not check(rec[key]):
                return "containers.%s.%s must be %s, got %r" % (name, key, shape, rec[key])
    return None


def _strip_template(tpl, record, warnings=None):
    """A copy of ``tpl`` without what ``record`` says was injected (tolerates later edits).

    Every mount of a removed volume goes too, whichever container has it: one renamed since the injection
    (the one recorded container that is gone) is stripped by its record; another only loses the mount and
    the recorded ``-javaagent`` option (a warning says so).
    """
    warnings = [] if warnings is None else warnings
    tpl = copy.deepcopy(tpl)
    spec = tpl.get("spec") if isinstance(tpl.get("spec"), dict) else {}
    created = record.get("created") or {}
    init_name = record.get("initContainer")
    volumes = set(record.get("volumes") or [])
    recs = record["containers"]
    if isinstance(spec.get("initContainers"), list):
        spec["initContainers"] = [c for c in spec["initContainers"]
                                  if not (isinstance(c, dict) and c.get("name") == init_name)]
        for item in spec["initContainers"]:
            if isinstance(item, dict) and _drop_mounts(item, volumes):
                warnings.append("init container %s mounted the agent's volume; that mount was removed with the volume"
                                % (item.get("name"),))
    _restore_list(spec, "initContainers", created.get("spec.initContainers"))
    if isinstance(spec.get("volumes"), list):
        spec["volumes"] = [v for v in spec["volumes"] if not (isinstance(v, dict) and v.get("name") in volumes)]
    _restore_list(spec, "volumes", created.get("spec.volumes"))
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)] \
        if isinstance(spec.get("containers"), list) else []
    present = set(c.get("name") for c in containers if isinstance(c.get("name"), str))
    missing = [name for name in recs if name not in present]
    strays = []
    for container in containers:
        name = container.get("name")
        if isinstance(name, str) and name in recs:
            _strip_container(container, recs[name], record, volumes)
        elif _mounts_any(container, volumes):
            strays.append(container)
    if len(strays) == 1 and len(missing) == 1:
        _strip_container(strays[0], recs[missing[0]], record, volumes)
        warnings.append("container %s was injected as %s (renamed since); its injection was removed"
                        % (strays[0].get("name"), missing[0]))
    else:
        for container in strays:
            _strip_container(container, {}, record, volumes)
            warnings.append("container %s is not in the injection record but mounted the agent's volume (renamed "
                            "since?): that mount and the recorded -javaagent option were removed; check it for other "
                            "env vars the injection added" % (container.get("name"),))
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


def _mounts_any(container, volumes):
    mounts = container.get("volumeMounts")
    return isinstance(mounts, list) and any(isinstance(m, dict) and m.get("name") in volumes for m in mounts)


def _drop_mounts(container, volumes):
    """Drop the container's mounts of ``volumes``; whether there were any."""
    if not _mounts_any(container, volumes):
        return False
    container["volumeMounts"] = [m for m in container["volumeMounts"] if not (isinstance(m, dict) and m.get("name") in volumes)]
    return True


def _strip_container(container, rec, record, volumes):
    """Undo one container's injection (``rec``: its record; ``{}`` for one the record does not know: only the mounts
    and the recorded option go)."""
    created = rec.get("created") or {}
    _drop_mounts(container, volumes)  # every mount of a removed volume: the API server refuses a dangling one
    _restore_list(container, "volumeMounts", created.get("volumeMounts"))
    env = container.get("env")
    if isinstance(env, list):
        name, token, mode = record.get("env"), record.get("token"), rec.get("mode")
        for added in reversed(rec.get("addedEnv") or []):
            _drop_last(env, added)
        if not rec and token:  # not recorded: drop our variable if it holds just the option, else unmerge it
            for index in range(len(env) - 1, -1, -1):
                item = env[index]
                if isinstance(item, dict) and item.get("name") == name and isinstance(item.get("value"), str):
                    if item["value"] == token:
                        del env[index]
                    else:
                        item["value"] = _unmerge(item["value"], " ", token)
                    break
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
# regular expressions: RE2's syntax (Go's regexp: SWCK; Envoy), matched in linear time
# ----------------------------------------------------------------------------------------------

RE2_MAX_REPEAT = 1000  # Go's regexp refuses a larger repeat count
_RE2_MAX_PROGRAM = 10000  # instructions; a larger expression is refused (RE2 limits the program size too)
_CHAR, _SPLIT, _JMP, _ASSERT, _MATCH = range(5)
_P = _sre_parse
_MAXREPEAT = _P.MAXREPEAT
_UNSUPPORTED = dict((code, text) for code, text in (
    (getattr(_P, "GROUPREF", None), "a backreference"),
    (getattr(_P, "GROUPREF_EXISTS", None), "a conditional group"),
    (getattr(_P, "ASSERT", None), "a lookahead or lookbehind"),
    (getattr(_P, "ASSERT_NOT", None), "a negative lookahead or lookbehind"),
    (getattr(_P, "POSSESSIVE_REPEAT", None), "a possessive quantifier"),
    (getattr(_P, "ATOMIC_GROUP", None), "an atomic group"),
) if code is not None)
_REFUSED_FLAGS = ((_P.SRE_FLAG_VERBOSE, "the flag x"), (_P.SRE_FLAG_ASCII, "the flag a"),
                  (_P.SRE_FLAG_LOCALE, "the flag L"))
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_CATEGORY_TESTS = {  # RE2's Perl classes are ASCII
    _P.CATEGORY_DIGIT: lambda c: "0" <= c <= "9",
    _P.CATEGORY_NOT_DIGIT: lambda c: not "0" <= c <= "9",
    _P.CATEGORY_SPACE: lambda c: c in "\t\n\f\r ",
    _P.CATEGORY_NOT_SPACE: lambda c: c not in "\t\n\f\r ",
    _P.CATEGORY_WORD: lambda c: c in _WORD,
    _P.CATEGORY_NOT_WORD: lambda c: c not in _WORD,
}


class Re2Pattern(object):
    """A regular expression in RE2's syntax, matched like Go's ``regexp.MatchString`` in linear time.

    SWCK matches the container regex with Go's ``regexp`` (RE2: no backtracking); Python's ``re``
    backtracks and can take exponential time (``^(a+)+b``).  ``compile_re2`` refuses what RE2 does not
    have (backreferences, lookaround, possessive quantifiers, atomic groups, conditionals, ``\\Z``, the
    flags ``x``/``a``/``L``, repeat counts above 1000) and, deliberately, nested unbounded repetition
    (``(a+)+``, ``(a*b)*``, ``(x+){2,}``); matching runs an NFA over the characters (Thompson), so its time is
    linear in the text.  Perl classes (``\\d``, ``\\w``, ``\\s``, ``\\b``) are ASCII, as in RE2; ``$``
    without ``(?m)`` matches at the end of the text only.
    """

    def __init__(self, pattern, program):
        self.pattern = pattern
        self._program = program

    def search(self, text):
        """Whether the expression matches anywhere in ``text`` (Go's ``MatchString``)."""
        program = self._program
        threads, seen = [], set()
        for pos in range(len(text) + 1):
            if self._add(0, pos, text, threads, seen):
                return True
            if pos == len(text):
                return False
            char = text[pos]
            following, seen = [], set()
            for pc in threads:
                if program[pc][1](char) and self._add(pc + 1, pos + 1, text, following, seen):
                    return True
            threads = following
        return False  # pragma: no cover - the loop returns

    def _add(self, start, pos, text, out, seen):
        """Follow the empty transitions from ``start`` at ``pos``: character steps go to ``out``; True on a match."""
        program = self._program
        stack = [start]
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            inst = program[pc]
            op = inst[0]
            if op == _CHAR:
                out.append(pc)
            elif op == _MATCH:
                return True
            elif op == _JMP:
                stack.append(inst[1])
            elif op == _SPLIT:
                stack.append(inst[2])
                stack.append(inst[1])
            elif _assertion_holds(inst[1], inst[2], text, pos):
                stack.append(pc + 1)
        return False


def compile_re2(pattern):
    """A ``Re2Pattern`` for ``pattern``; raises ``ValueError`` naming the problem (invalid, not RE2, too costly)."""
    if not isinstance(pattern, str):
        raise ValueError("must be a regular expression (a string)")
    _check_re2_escapes(pattern)
    try:
        parsed = _sre_parse.parse(pattern)
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        raise ValueError("%r is not a valid regular expression (%s)" % (pattern, exc))
    flags = parsed.state.flags
    _check_re2(pattern, list(parsed), flags)
    if _re2_size(list(parsed)) > _RE2_MAX_PROGRAM:
        raise ValueError("%r is too large (more than %d steps once its repetitions are expanded)"
                         % (pattern, _RE2_MAX_PROGRAM))
    program = []
    _emit(program, list(parsed), flags)
    program.append((_MATCH,))
    return Re2Pattern(pattern, program)


# RE2 syntax that Python's parser lacks or reads otherwise: refused with what to write instead
_RE2_ONLY_ESCAPES = {
    "p": ("\\p{...}, a Unicode character class (\\p{L}, \\pL, \\p{Han}, ...)",
          "write the characters as a set, e.g. [a-z0-9]"),
    "P": ("\\P{...}, a negated Unicode character class", "write the characters as a set, e.g. [^a-z0-9]"),
    "Q": ("\\Q...\\E, RE2's literal text", "escape each special character with \\ instead"),
    "E": ("\\E, the end of RE2's literal text", "escape each special character with \\ instead"),
    "C": ("\\C, RE2's single byte", "use . instead"),
    "z": ("\\z, RE2's end of text", "use $ instead (it matches at the end of the text only)"),
}


def _check_re2_escapes(pattern):
    """Refuse the RE2 escapes and POSIX classes (``[[:alpha:]]``) this matcher does not support, saying so (Python's
    parser would say "bad escape", or read ``[[:alpha:]]`` as a set of the characters ``[:alph``)."""
    index = 0
    depth = 0  # inside a character set
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escape = pattern[index + 1]
            if escape in _RE2_ONLY_ESCAPES:
                raise ValueError("%r uses %s: this collection's RE2 matcher does not support it; %s"
                                 % ((pattern,) + _RE2_ONLY_ESCAPES[escape]))
            index += 2
            continue
        if char == "[" and pattern.startswith("[:", index) and depth:
            end = pattern.find(":]", index + 2)
            if end > 0:
                raise ValueError("%r uses the POSIX class %s: this collection's RE2 matcher does not support POSIX "
                                 "classes; write the characters instead, e.g. [a-z0-9]"
                                 % (pattern, pattern[index:end + 2]))
        if char == "[" and not depth:
            depth = 1
            index += 1
            if pattern.startswith("^", index):
                index += 1
            if pattern.startswith("]", index):  # a leading ']' is a member of the set
                index += 1
            continue
        if char == "]" and depth:
            depth = 0
        index += 1


def re2_problem(pattern):
    """Why ``pattern`` cannot be used as an RE2 expression (a sentence), or None."""
    try:
        compile_re2(pattern)
    except ValueError as exc:
        return str(exc)
    return None


def _check_re2(pattern, items, flags):
    for op, av in items:
        if op in _UNSUPPORTED:
            raise ValueError("%r uses %s, which RE2 (Go's regexp, as SWCK and Envoy use) does not have"
                             % (pattern, _UNSUPPORTED[op]))
        if op == _P.AT and av == _P.AT_END_STRING:
            raise ValueError("%r uses \\Z, which RE2 (Go's regexp, as SWCK and Envoy use) does not have; "
                             "use $" % (pattern,))
        if op == _P.SUBPATTERN:
            _group, add, _delete, body = av
            _check_flags(pattern, flags | add)
            _check_re2(pattern, list(body), flags | add)
        elif op == _P.BRANCH:
            for alternative in av[1]:
                _check_re2(pattern, list(alternative), flags)
        elif op in (_P.MAX_REPEAT, _P.MIN_REPEAT):
            low, high, body = av
            if low > RE2_MAX_REPEAT or (high != _MAXREPEAT and high > RE2_MAX_REPEAT):
                raise ValueError("%r has a repeat count above %d, which RE2 refuses" % (pattern, RE2_MAX_REPEAT))
            if high == _MAXREPEAT and _has_unbounded(list(body)):
                raise ValueError("%r repeats a group that itself holds an unbounded repetition (like (a+)+): such "
                                 "an expression can take exponential time, write it without the nesting"
                                 % (pattern,))
            _check_re2(pattern, list(body), flags)
    _check_flags(pattern, flags)


def _check_flags(pattern, flags):
    for bit, text in _REFUSED_FLAGS:
        if flags & bit:
            raise ValueError("%r uses %s, which RE2 (Go's regexp, as SWCK and Envoy use) does not have"
                             % (pattern, text))


def _has_unbounded(items):
    for op, av in items:
        if op in (_P.MAX_REPEAT, _P.MIN_REPEAT):
            if av[1] == _MAXREPEAT or _has_unbounded(list(av[2])):
                return True
        elif op == _P.SUBPATTERN and _has_unbounded(list(av[3])):
            return True
        elif op == _P.BRANCH and any(_has_unbounded(list(alt)) for alt in av[1]):
            return True
    return False


def _re2_size(items):
    """The number of instructions ``_emit`` makes (stops counting above the limit)."""
    total = 0
    for op, av in items:
        if op == _P.SUBPATTERN:
            total += _re2_size(list(av[3]))
        elif op == _P.BRANCH:
            total += sum(_re2_size(list(alt)) + 2 for alt in av[1])
        elif op in (_P.MAX_REPEAT, _P.MIN_REPEAT):
            low, high, body = av
            size = _re2_size(list(body))
            total += low * size + (size + 2 if high == _MAXREPEAT else (high - low) * (size + 1))
        else:
            total += 1
        if total > _RE2_MAX_PROGRAM:
            return total
    return total


def _emit(program, items, flags):
    icase = bool(flags & _P.SRE_FLAG_IGNORECASE)
    for op, av in items:
        if op == _P.LITERAL:
            program.append((_CHAR, _char_test(lambda c, code=av: ord(c) == code, icase)))
        elif op == _P.NOT_LITERAL:
            test = _char_test(lambda c, code=av: ord(c) == code, icase)
            program.append((_CHAR, lambda c, test=test: not test(c)))
        elif op == _P.ANY:
            if flags & _P.SRE_FLAG_DOTALL:
                program.append((_CHAR, lambda c: True))
            else:
                program.append((_CHAR, lambda c: c != "\n"))
        elif op == _P.IN:
            program.append((_CHAR, _set_test(av, icase)))
        elif op == _P.AT:
            program.append((_ASSERT, av, bool(flags & _P.SRE_FLAG_MULTILINE)))
        elif op == _P.SUBPATTERN:
            _group, add, delete, body = av
            _emit(program, list(body), (flags | add) & ~delete)
        elif op == _P.BRANCH:
            jumps = []
            alternatives = list(av[1])
            for index, alternative in enumerate(alternatives):
                if index < len(alternatives) - 1:
                    split = len(program)
                    program.append(None)
                    _emit(program, list(alternative), flags)
                    jumps.append(len(program))
                    program.append(None)
                    program[split] = (_SPLIT, split + 1, len(program))
                else:
                    _emit(program, list(alternative), flags)
            for jump in jumps:
                program[jump] = (_JMP, len(program))
        elif op in (_P.MAX_REPEAT, _P.MIN_REPEAT):
            low, high, body = av
            for _index in range(low):
                _emit(program, list(body), flags)
            if high == _MAXREPEAT:
                loop = len(program)
                program.append(None)
                _emit(program, list(body), flags)
                program.append((_JMP, loop))
                program[loop] = (_SPLIT, loop + 1, len(program))
            else:
                splits = []
                for _index in range(high - low):
                    splits.append(len(program))
                    program.append(None)
                    _emit(program, list(body), flags)
                for split in splits:
                    program[split] = (_SPLIT, split + 1, len(program))
        else:  # pragma: no cover - _check_re2 refused every other operation
            raise ValueError("unsupported regular expression operation %s" % (op,))


def _char_test(test, icase):
    if not icase:
        return test
    return lambda c: test(c) or test(c.lower()) or test(c.upper())


def _set_test(items, icase):
    negate = False
    tests = []
    for op, av in items:
        if op == _P.NEGATE:
            negate = True
        elif op == _P.LITERAL:
            tests.append(lambda c, code=av: ord(c) == code)
        elif op == _P.RANGE:
            tests.append(lambda c, low=av[0], high=av[1]: low <= ord(c) <= high)
        elif op == _P.CATEGORY and av in _CATEGORY_TESTS:
            tests.append(_CATEGORY_TESTS[av])
        else:  # pragma: no cover - the parser puts nothing else into a set
            raise ValueError("unsupported character set item %s" % (op,))
    member = _char_test(lambda c: any(test(c) for test in tests), icase)
    if negate:
        return lambda c: not member(c)
    return member


def _assertion_holds(kind, multiline, text, pos):
    if kind in (_P.AT_BEGINNING, _P.AT_BEGINNING_STRING):
        return pos == 0 or (multiline and kind == _P.AT_BEGINNING and text[pos - 1] == "\n")
    if kind == _P.AT_END:
        return pos == len(text) or (multiline and text[pos] == "\n")
    word_before = pos > 0 and text[pos - 1] in _WORD
    word_after = pos < len(text) and text[pos] in _WORD
    if kind == _P.AT_BOUNDARY:
        return word_before != word_after
    if kind == _P.AT_NON_BOUNDARY:
        return word_before == word_after
    return False  # pragma: no cover - the parser makes no other assertion


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------

def _list(parent, key):
    """``parent[key]`` when it is a list, else an empty list."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, list) else []


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
        raise InjectionError(field, "must be a list of env vars, got %s" % type_name(extra))
    merged = [copy.deepcopy(e) for e in base]
    for index, item in enumerate(extra):
        check_env_var(item, "%s[%d]" % (field, index))
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


def validate_swagents(swagents, named=False):
    """Check SwAgent objects completely, without a workload; returns them in the order they apply.

    ``swagents``: a list of SwAgent objects (a single mapping is taken as a list of one).  Every field of
    each spec is checked alone (types, names, the container regex as RE2, plugin patterns, resources,
    env); what fails only together with other layers (e.g. a limit below a request set elsewhere) is found
    at injection.  Errors name ``swagents[<index>].<field>``, or ``SwAgent <namespace>/<name>: <field>``
    when ``named`` (SwAgents found among the objects).  Raises ``SpecError``.
    """
    return _check_swagents(swagents, named, values=True)


def _check_swagents(swagents, named=False, values=False):
    """``swagents`` (SwAgent objects) checked, in the order they apply (by name, then namespace).

    Without ``values`` only what tells the SwAgents apart is checked (each a mapping with a name): a bad spec (of
    any shape) fails the workloads the SwAgent applies to, with an error naming it, as in a cluster.  See
    ``validate_swagents``.
    """
    if swagents is None:
        return []
    if isinstance(swagents, dict):
        swagents = [swagents]
    if not isinstance(swagents, (list, tuple)):
        raise SpecError("swagents", "must be a list of SwAgent objects, got %s" % type_name(swagents))
    agents = []
    for index, agent in enumerate(swagents):
        if not isinstance(agent, dict):
            raise SpecError("swagents[%d]" % index, "must be a SwAgent object (a mapping), got %s"
                            % type_name(agent))
        meta = agent.get("metadata")
        where = "swagents[%d]" % index
        if named and isinstance(meta, dict) and isinstance(meta.get("name"), str):
            where = "SwAgent %s" % ("%s/%s" % (meta["namespace"], meta["name"]) if isinstance(meta.get("namespace"), str)
                                    else meta["name"])

        def field(sub, _where=where):
            return "%s: %s" % (_where, sub) if _where.startswith("SwAgent ") else "%s.%s" % (_where, sub)

        kind = agent.get("kind", SWAGENT_KIND)
        if kind != SWAGENT_KIND:
            raise SpecError(field("kind"), "must be %s, got %r" % (SWAGENT_KIND, kind))
        if meta is not None and not isinstance(meta, dict):
            raise SpecError(field("metadata"), "must be a mapping, got %s" % type_name(meta))
        name = (meta or {}).get("name")
        if not isinstance(name, str) or not name:
            raise SpecError(field("metadata.name"), "a SwAgent needs a name (a string)")
        namespace = meta.get("namespace")
        if namespace is not None and not isinstance(namespace, str):
            raise SpecError(field("metadata.namespace"), "must be a namespace name (a string), got %r" % (namespace,))
        if values:
            spec = agent.get("spec")
            if spec is not None and not isinstance(spec, dict):
                raise InjectionError(field("spec"), "must be a mapping, got %s" % type_name(spec))
            _check_swagent_spec(spec or {}, field)
        agents.append(agent)
    # a stable order: by name (then namespace); the last one wins
    return sorted(agents, key=lambda a: (a["metadata"]["name"], a["metadata"].get("namespace") or ""))


def _check_swagent_spec(spec, field):
    """Check each field of a SwAgent's spec alone (``field("spec.x")``: the path to name); raises ``InjectionError``."""
    selector = spec.get("selector")
    if selector is not None and not isinstance(selector, dict):
        raise InjectionError(field("spec.selector"), "must be a mapping of labels (e.g. {app: orders}), got %s; "
                                                     "which workloads it selects cannot be told" % type_name(selector))
    for key in selector or {}:
        if not isinstance(key, str):
            raise InjectionError(field("spec.selector"), "the label key %r is not a string" % (key,))
    if spec.get("containerMatcher"):
        problem = re2_problem(spec["containerMatcher"])
        if problem:
            raise InjectionError(field("spec.containerMatcher"), problem)
    if spec.get("sharedVolumeName") and not _is_dns_label(spec["sharedVolumeName"]):
        raise InjectionError(field("spec.sharedVolumeName"), "%r is not a valid volume name (a DNS label: lower-case "
                                                             "letters, digits and '-', at most 63 characters)"
                             % (spec["sharedVolumeName"],))
    for _annotation, name, _key, _directory in PLUGIN_FAMILIES:
        if spec.get(name) is not None and not isinstance(spec[name], list):  # SWCK's CRD: []string
            raise InjectionError(field("spec." + name), "must be a list of strings, got %s %r"
                                 % (type_name(spec[name]), spec[name]))
        try:
            plugin_pattern(spec.get(name))
        except ValueError as exc:
            raise InjectionError(field("spec." + name), str(exc))
    sidecar = spec.get("javaSidecar")
    if sidecar is not None and not isinstance(sidecar, dict):
        raise InjectionError(field("spec.javaSidecar"), "must be a mapping, got %s" % type_name(sidecar))
    for key, value in spec.items():  # the init container's shell script and env values may hold tabs and line breaks
        if key != "javaSidecar":
            _check_no_control(value, field("spec.%s" % key))
    for key, value in (sidecar or {}).items():
        _check_no_control(value, field("spec.javaSidecar.%s" % key), "\t\n" if key in ("command", "args", "env") else "")
    if sidecar is None:
        return
    if sidecar.get("name") and not _is_dns_label(sidecar["name"]):
        raise InjectionError(field("spec.javaSidecar.name"), "%r is not a valid container name (a DNS label)"
                             % (sidecar["name"],))
    if sidecar.get("image") not in (None, ""):
        _check_image(sidecar["image"], field("spec.javaSidecar.image"))
    for key in ("command", "args"):
        if sidecar.get(key):
            _check_words(sidecar[key], field("spec.javaSidecar." + key))
    resources = sidecar.get("resources")
    if resources:
        if not isinstance(resources, dict):
            raise InjectionError(field("spec.javaSidecar.resources"), "must be a mapping with limits and/or requests")
        for part in ("limits", "requests"):
            if resources.get(part):
                validate_resource_list(resources[part], field("spec.javaSidecar.resources." + part))
        problem = resources_problem(resources, (field("spec.javaSidecar.resources.limits"),
                                                field("spec.javaSidecar.resources.requests")))
        if problem:
            raise InjectionError(field("spec.javaSidecar.resources"), problem)
    if sidecar.get("env"):
        _merge_env([], sidecar["env"], field("spec.javaSidecar.env"))


def _validate_defaults(cfg):
    """Check every key of the effective defaults (``cfg``), alone and the few that go together, as the injection
    would use them; raises ``SpecError("defaults.<key>...", problem)``."""
    for key, value in cfg.items():  # shell scripts and env values may hold tabs and line breaks
        _check_no_control(value, "defaults.%s" % key, "\t\n" if key in ("command", "args", "env") else "")
    for key in ("init_container_name", "volume_name"):
        if not _is_dns_label(cfg[key]):
            raise SpecError("defaults.%s" % key, "%r is not a valid name (a DNS label: lower-case letters, digits and "
                                                 "'-', at most 63 characters)" % (cfg[key],))
    _check_image(cfg["image"], "defaults.image")
    problem = mount_path_problem(cfg["mount_path"])
    if problem:
        raise SpecError("defaults.mount_path", problem)
    if not isinstance(cfg["env_name"], str) or not _ENV_NAME.fullmatch(cfg["env_name"]):
        raise SpecError("defaults.env_name", "%r is not a valid environment variable name" % (cfg["env_name"],))
    if not isinstance(cfg["ca_secret_key"], str) or not _SECRET_KEY.fullmatch(cfg["ca_secret_key"]):
        raise SpecError("defaults.ca_secret_key", "%r is not a Secret key (letters, digits, '-', '_' and '.')"
                        % (cfg["ca_secret_key"],))
    _check_words(cfg["command"], "defaults.command", required=True)
    if cfg["args"] is not None:
        _check_words(cfg["args"], "defaults.args")
    if not isinstance(cfg["resources"], dict):
        raise SpecError("defaults.resources", "must be a mapping with limits and/or requests, got %s"
                        % type_name(cfg["resources"]))
    for part, value in cfg["resources"].items():
        if part not in ("limits", "requests"):
            raise SpecError("defaults.resources.%s" % part, "unknown key (limits, requests)")
        validate_resource_list(value, "defaults.resources.%s" % part)
    problem = resources_problem(cfg["resources"], ("defaults.resources.limits", "defaults.resources.requests"))
    if problem:
        raise SpecError("defaults.resources", problem)
    if cfg["security_context"] is not None:
        check_security_context(cfg["security_context"], "defaults.security_context")
    _merge_env([], cfg["env"], "defaults.env")
    if cfg["env_value"] is not None:
        _check_env_value(cfg["env_value"], "defaults.env_value")
    if cfg["backend_service"] is not None:
        validate_backend_services(cfg["backend_service"], "defaults.backend_service")
    if cfg["container_matcher"] is not None:
        problem = re2_problem(cfg["container_matcher"])
        if problem:
            raise SpecError("defaults.container_matcher", problem)
    for _annotation, _field, key, _directory in PLUGIN_FAMILIES:
        try:
            plugin_pattern(cfg[key])
        except ValueError as exc:
            raise SpecError("defaults.%s" % key, str(exc))
    if cfg["ca_secret"] is not None:
        if not isinstance(cfg["ca_secret"], str) or not manifest.is_dns_subdomain(cfg["ca_secret"]):
            raise SpecError("defaults.ca_secret", "%r is not the name of a Secret (a DNS subdomain: lower-case "
                                                  "letters, digits, '-' and '.')" % (cfg["ca_secret"],))
        if len(cfg["volume_name"]) > 60:
            raise SpecError("defaults.volume_name", "%r is too long to derive the CA volume name %s-ca"
                            % (cfg["volume_name"], cfg["volume_name"]))


def _check_no_control(value, field, allow=""):
    """Refuse a control character in any string (key or value) of ``value``, naming where it is."""
    if isinstance(value, str):
        problem = control_problem(value, allow)
        if problem:
            raise InjectionError(field, problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and control_problem(key):
                raise InjectionError(field, "the key %s" % control_problem(key))
            _check_no_control(item, "%s.%s" % (field, key), allow)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_no_control(item, "%s[%d]" % (field, index), allow)


def _check_image(image, field, annotation=None):
    """An image reference: a non-empty string without whitespace or control characters."""
    if not isinstance(image, str) or not image.strip():
        raise InjectionError(field, "must be an image reference (a non-empty string), got %r" % (image,), annotation)
    if any(ch.isspace() or _is_control(ch) for ch in image):
        raise InjectionError(field, "%r is not an image reference: it contains whitespace or a control character"
                             % (image,), annotation)


def _check_words(value, field, required=False):
    """A command or its arguments: a list of strings (a string is refused: it is not split into words)."""
    if isinstance(value, str):
        raise InjectionError(field, "must be a list of strings, got a string (%r): write [%r] for one word, or a "
                                    "list of words" % (value, value))
    if not _is_str_list(value):
        raise InjectionError(field, "must be a list of strings, got %s" % (
            type_name(value) if not isinstance(value, list) else "a list holding a %s" % next(
                type_name(v) for v in value if not isinstance(v, str))))
    if required and not value:
        raise InjectionError(field, "must be a non-empty list of strings")
    for index, word in enumerate(value):
        problem = control_problem(word, "\t\n")
        if problem:
            raise InjectionError("%s[%d]" % (field, index), problem)


def _check_env_value(value, field, annotation=None):
    """The agent option that replaces ``-javaagent:<mount>/skywalking-agent.jar``: one JVM option."""
    if not isinstance(value, str) or not value.strip():
        raise InjectionError(field, "must be a non-empty string (the -javaagent option), got %r" % (value,), annotation)
    if any(ch.isspace() or _is_control(ch) for ch in value):
        raise InjectionError(field, "%r contains whitespace or a control character: it is one JVM option (the agent "
                                    "settings are appended to it, and removal finds it again)" % (value,), annotation)


# a Kubernetes EnvVarSource: the one reference it holds, and its fields (True: required)
_ENV_SOURCES = {
    "secretKeyRef": {"name": True, "key": True, "optional": False},
    "configMapKeyRef": {"name": True, "key": True, "optional": False},
    "fieldRef": {"fieldPath": True, "apiVersion": False},
    "resourceFieldRef": {"resource": True, "containerName": False, "divisor": False},
}
_ENV_FIELDS = ("name", "value", "valueFrom")


def check_env_var(item, field):
    """Check one env var as the injection adds it (``defaults.env``, a SwAgent's ``javaSidecar.env``).

    ``item``: ``{name, value}`` or ``{name, valueFrom}``: a valid name, and exactly one of ``value`` (a string;
    tabs and line breaks are fine, other control characters are not) and ``valueFrom`` (a mapping with exactly one
    of ``secretKeyRef``, ``configMapKeyRef``, ``fieldRef``, ``resourceFieldRef``).  Raises
    ``InjectionError(field..., problem)``.
    """
    if not isinstance(item, dict):
        raise InjectionError(field, "must be an env var (a mapping with name and value or valueFrom), got %s"
                             % type_name(item))
    name = item.get("name")
    if not isinstance(name, str) or not _ENV_NAME.fullmatch(name):
        raise InjectionError(field, "must be an env var with a valid name (letters, digits, '_', '-' and '.', not "
                                    "starting with a digit), got %s" % ("no name" if name is None else repr(name)))
    for key in item:
        if key not in _ENV_FIELDS:
            raise InjectionError("%s.%s" % (field, key), "not an env var field (%s)%s"
                                 % (", ".join(_ENV_FIELDS), _did_you_mean(key, _ENV_FIELDS)))
    value, source = item.get("value"), item.get("valueFrom")
    if value is not None and source is not None:
        raise InjectionError(field, "%s gives both value and valueFrom; give exactly one of them" % name)
    if value is None and source is None:
        raise InjectionError(field, "%s needs value (a string) or valueFrom (a mapping)" % name)
    if value is not None:
        if not isinstance(value, str):
            raise InjectionError("%s.value" % field, "must be a string, got %r" % (value,))
        problem = control_problem(value, "\t\n")
        if problem:
            raise InjectionError("%s.value" % field, problem)
        return
    where = "%s.valueFrom" % field
    if not isinstance(source, dict):
        raise InjectionError(where, "must be a mapping (e.g. {secretKeyRef: {name: ..., key: ...}}), got %s"
                             % type_name(source))
    for key in source:
        if key not in _ENV_SOURCES:
            raise InjectionError("%s.%s" % (where, key), "not an env var source (%s)%s"
                                 % (", ".join(_ENV_SOURCES), _did_you_mean(key, _ENV_SOURCES)))
    given = [key for key in _ENV_SOURCES if source.get(key) is not None]
    if len(given) != 1:
        raise InjectionError(where, "must hold exactly one of %s, got %s"
                             % (", ".join(_ENV_SOURCES), ", ".join(given) or "none"))
    ref, fields = source[given[0]], _ENV_SOURCES[given[0]]
    where = "%s.%s" % (where, given[0])
    if not isinstance(ref, dict):
        raise InjectionError(where, "must be a mapping, got %s" % type_name(ref))
    for key, part in ref.items():
        if key not in fields:
            raise InjectionError("%s.%s" % (where, key), "not a field of %s (%s)%s"
                                 % (given[0], ", ".join(fields), _did_you_mean(key, fields)))
        if key == "optional":
            if not isinstance(part, bool):
                raise InjectionError("%s.%s" % (where, key), "must be true or false, got %r" % (part,))
        elif key != "divisor" and not isinstance(part, str):
            raise InjectionError("%s.%s" % (where, key), "must be a string, got %s" % type_name(part))
    for key, required in fields.items():
        if required and not ref.get(key):
            raise InjectionError(where, "needs %s" % key)
    _check_no_control(ref, where)
    problem = _env_source_problem(given[0], ref)
    if problem:
        raise InjectionError("%s.%s" % (where, problem[0]), problem[1])


# What the API server accepts in an env var's valueFrom (k8s.io/kubernetes pkg/apis/core/validation/validation.go:
# validEnvDownwardAPIFieldPathExpressions, validContainerResourceFieldPathPrefixesWithDownwardAPIHugePages)
_ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
                    "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
_ENV_FIELD_PATH_SUBSCRIPT = re.compile(r"metadata\.(labels|annotations)\['([^'\]]+)'\]")
_ENV_RESOURCES = ("limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory",
                  "requests.ephemeral-storage")


def _env_source_problem(kind, ref):
    """``(field, problem)`` for a valueFrom source the API server would refuse, or None (see _ENV_FIELD_PATHS)."""
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.spec import configmap_key_problem

    if kind in ("secretKeyRef", "configMapKeyRef"):
        if not manifest.is_dns_subdomain(ref["name"]):
            return "name", "%r is not a %s name (lowercase letters, digits, '-' and '.')" % (
                ref["name"], "Secret" if kind == "secretKeyRef" else "ConfigMap")
        problem = configmap_key_problem(ref["key"])
        if problem:
            return "key", "%r %s" % (ref["key"], problem)
    elif kind == "fieldRef":
        path = ref["fieldPath"]
        if path not in _ENV_FIELD_PATHS and not _ENV_FIELD_PATH_SUBSCRIPT.fullmatch(path):
            known = ", ".join(_ENV_FIELD_PATHS)
            return "fieldPath", ("%r is not a field an env var can read (%s, metadata.labels['<key>'], "
                                 "metadata.annotations['<key>'])%s" % (path, known, _did_you_mean(path, _ENV_FIELD_PATHS)))
        if ref.get("apiVersion") not in (None, "", "v1"):
            return "apiVersion", "must be v1, got %r" % (ref["apiVersion"],)
    elif kind == "resourceFieldRef":
        resource = ref["resource"]
        if resource not in _ENV_RESOURCES and not re.fullmatch(r"(limits|requests)\.hugepages-[0-9A-Za-z]+", resource):
            return "resource", "%r is not a container resource an env var can read (%s, limits.hugepages-<size>)%s" % (
                resource, ", ".join(_ENV_RESOURCES), _did_you_mean(resource, _ENV_RESOURCES))
        if ref.get("containerName") is not None and not manifest.is_dns_label(ref["containerName"]):
            return "containerName", "%r is not a container name" % (ref["containerName"],)
        if ref.get("divisor") is not None:
            number = _quantity(ref["divisor"])
            if number is None or number <= 0:
                return "divisor", "%r is not a quantity greater than 0" % (ref["divisor"],)
    return None


_PROFILE = {"type": ("RuntimeDefault", "Localhost", "Unconfined"), "localhostProfile": "string"}
# a container's SecurityContext (Kubernetes core/v1), field by field: a type, a mapping of fields, or the values
_SECURITY_CONTEXT = {
    "allowPrivilegeEscalation": "boolean", "privileged": "boolean", "readOnlyRootFilesystem": "boolean",
    "runAsNonRoot": "boolean", "runAsUser": "id", "runAsGroup": "id",
    "capabilities": {"add": "strings", "drop": "strings"},
    "seccompProfile": _PROFILE, "appArmorProfile": _PROFILE,
    "seLinuxOptions": {"user": "string", "role": "string", "type": "string", "level": "string"},
    "windowsOptions": {"gmsaCredentialSpecName": "string", "gmsaCredentialSpec": "string",
                       "runAsUserName": "string", "hostProcess": "boolean"},
    "procMount": ("Default", "Unmasked"),
}
_MAX_ID = 2 ** 31 - 1  # the API server refuses a user or group ID outside 0..2147483647


def check_security_context(value, field):
    """Check a container ``securityContext`` (the init container's): a mapping of the Kubernetes fields with their
    types (booleans; ``runAsUser``/``runAsGroup`` integers 0..2147483647; ``capabilities.add``/``drop`` lists of
    strings; ``seccompProfile``/``appArmorProfile`` ``{type: RuntimeDefault|Localhost|Unconfined, localhostProfile}``,
    the profile given exactly for ``Localhost``; ``seLinuxOptions``, ``windowsOptions``; ``procMount``
    ``Default``/``Unmasked``).  An unknown field is refused naming the closest known one.  A null field is unset.
    Raises ``InjectionError(field..., problem)``.
    """
    _check_schema(value, _SECURITY_CONTEXT, field)


def _check_schema(value, schema, field):
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            raise InjectionError(field, "must be a mapping, got %s" % type_name(value))
        for key, item in value.items():
            if key not in schema:
                raise InjectionError("%s.%s" % (field, key), "unknown field%s; known: %s"
                                     % (_did_you_mean(key, schema), ", ".join(sorted(schema))))
            if item is not None:
                _check_schema(item, schema[key], "%s.%s" % (field, key))
        if schema is _PROFILE and value.get("type") is not None:
            if value["type"] == "Localhost" and not value.get("localhostProfile"):
                raise InjectionError(field, "type Localhost needs localhostProfile")
            if value["type"] != "Localhost" and value.get("localhostProfile") is not None:
                raise InjectionError(field + ".localhostProfile", "is only for type Localhost")
        elif schema is _PROFILE:
            raise InjectionError(field, "needs a type (%s)" % ", ".join(_PROFILE["type"]))
    elif isinstance(schema, tuple):
        if value not in schema:
            raise InjectionError(field, "must be one of %s, got %r" % (", ".join(schema), value))
    elif schema == "boolean":
        if not isinstance(value, bool):
            raise InjectionError(field, "must be true or false, got %r" % (value,))
    elif schema == "id":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
            raise InjectionError(field, "must be an integer from 0 to %d, got %r" % (_MAX_ID, value))
    elif schema == "strings":
        if not _is_str_list(value):
            raise InjectionError(field, "must be a list of strings, got %r" % (value,))
        _check_no_control(value, field)
    else:  # "string"
        if not isinstance(value, str):
            raise InjectionError(field, "must be a string, got %s" % type_name(value))
        _check_no_control(value, field)


def _is_dns_label(value):
    return manifest.is_dns_label(value)


def _is_str_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def type_name(value):
    """A plain name for the type of ``value``, for messages: ``mapping``, ``list``, ``string``, ``integer``,
    ``number``, ``boolean``, ``null``; never an internal class name (Ansible hands over its own subclasses of
    dict, list and str, e.g. ``_AnsibleLazyTemplateList``)."""
    if value is None:
        return "null"
    for kind, text in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
                       ((bytes, bytearray), "bytes"), (Mapping, "mapping"), ((set, frozenset), "set"),
                       ((list, tuple), "list")):
        if isinstance(value, kind):
            return text
    name = type(value).__name__
    return "value of type %s" % name if not name.startswith("_") else "value of an unsupported type"


def _is_control(char):
    """A C0 control character, DEL or a C1 control character."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F


def control_problem(text, allow=""):
    """Why ``text`` (a string) may not be used: a phrase naming its first control character (C0, DEL, C1; those in
    ``allow``, e.g. ``"\t\n"`` for a shell script, are fine), or None."""
    for char in text:
        if _is_control(char) and char not in allow:
            return "%r contains the control character U+%04X; give the value without it" % (text, ord(char))
    return None


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
        if not _PORT.fullmatch(port) or not 0 < int(port) < 65536:  # str.isdigit takes '²', int() does not
            raise InjectionError(field, "%r: %r is not a port number (1-65535)" % (item, port), annotation)
    if not host:
        raise InjectionError(field, "%r: the host is empty" % (item,), annotation)
    return host, port


def _did_you_mean(word, candidates):
    found = difflib.get_close_matches(str(word), sorted(candidates), n=1, cutoff=0.6)
    return " (did you mean %s?)" % found[0] if found else ""


def _annotation_field(key):
    return 'metadata.annotations["%s"]' % key


def _in_template(prefix, field):
    """``field`` (a path in the pod template) as a path in the object: ``spec.template.<field>``."""
    return "%s.%s" % (prefix, field) if prefix else field


def _path_text(path):
    return ".".join(path)


def _template(obj, path):
    node = obj
    walked = []
    for key in path:
        walked.append(key)
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            exc = InjectionError(".".join(walked), "missing (the pod template must be a mapping)")
            exc.absolute = True  # a path from the object, not from the template
            raise exc
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


def describe(report):
    """``Deployment shop/orders`` for a report (``inject_object``): the kind (``template`` without one), the namespace
    and the name, ``<no name>`` when the object has none."""
    name = report.get("name")
    name = name if isinstance(name, str) and name else "<no name>"
    namespace = report.get("namespace")
    ref = "%s/%s" % (namespace, name) if isinstance(namespace, str) and namespace else name
    kind = report.get("kind")
    return "%s %s" % (kind if isinstance(kind, str) and kind else "template", ref)


def failure(report):
    """The message for a report whose status is ``error``: ``not injected: <reason>`` or ``not removed: <reason>``."""
    return "%s: %s" % ("not removed" if report.get("action") == "remove" else "not injected", report["reason"])


def _kind_text(obj):
    return obj.get("kind") if isinstance(obj, dict) and obj.get("kind") else "the object"


def _new_report(obj):
    meta = obj.get("metadata") if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict) else {}
    return {"kind": obj.get("kind") if isinstance(obj, dict) else None,
            "name": meta.get("name") or meta.get("generateName"), "namespace": meta.get("namespace"),
            "status": None, "action": "inject", "changed": False, "reason": None, "field": None, "annotation": None,
            "containers": [], "swagents": [], "has_collector": None, "warnings": []}


def _finish(original, result, report, status, reason, mark_errors=False):
    if mark_errors and status != SKIPPED and isinstance(result, dict):
        meta = result.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
            meta["annotations"].pop(ERROR_ANNOTATION, None)
    report["status"] = status
    report["reason"] = reason
    report["changed"] = result != original
    if status in (INJECTED, UPDATED, ALREADY_INJECTED):
        report["has_collector"] = has_collector_address(result, report["containers"])
    return Outcome(result, report)


def _error(original, report, exc, prefix, mark_errors):
    field = exc.field
    if prefix and not field.startswith("SwAgent ") and not field.startswith("defaults.") \
            and not getattr(exc, "absolute", False):
        field = "%s.%s" % (prefix, field)
    report.update(status=ERROR, field=field, annotation=exc.annotation, containers=[],
                  reason="%s: %s" % (field, exc.problem))
    result = copy.deepcopy(original)
    if mark_errors and isinstance(result, dict) and isinstance(result.setdefault("metadata", {}), dict):
        meta = result["metadata"]
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
