# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""SWCK custom resources mapped onto the cluster spec (migration from SWCK).  Pure.

:func:`from_swck` takes parsed custom resources of SWCK's backend operator
(``operator.skywalking.apache.org/v1alpha1``: OAPServer, UI, Storage, BanyanDB, Satellite,
OAPServerConfig, OAPServerDynamicConfig, Fetcher, EventExporter) and returns a raw spec for
:func:`.spec.normalize` plus a report that says, per document and field, where each value went
or why it could not go anywhere.  Nothing is dropped silently; plaintext credentials are never
copied (the spec references a Secret instead) and never appear in the report or in errors.

Where the facts come from: SWCK's CRD types (``operator/apis/operator/v1alpha1/*_types.go``),
defaulting webhooks (``*_webhook.go``), controllers (``operator/controllers/operator/``) and
templates (``operator/pkg/operator/manifests/``) at SWCK 0.10.0 (commit 137f377, 2026-06-25):

* OAPServer: ``image`` defaults to ``apache/skywalking-oap-server:<version>``; ``config`` is
  rendered as ``name``/``value`` pairs only (a ``valueFrom`` is dropped by the template); with
  ``storage.name`` the controller appends the referenced Storage's env after ``config`` (so it
  wins): ``SW_STORAGE``, ``SW_ES_USER``/``SW_ES_PASSWORD`` (Secret keys ``username``/``password``,
  or ``elastic``/``changeme`` for the Secret name ``default``), ``SW_STORAGE_ES_HTTP_PROTOCOL``
  and ``SW_STORAGE_ES_CLUSTER_NODES`` (external: scheme and host of ``address``; internal:
  ``<storage>-<type>:9200``, or ``skywalking-storage:9200`` with TLS).
* OAPServerConfig / OAPServerDynamicConfig apply to every OAPServer of the namespace whose
  ``spec.version`` equals theirs; OAPServerConfig ``env`` replaces the OAP container's whole env,
  each ``file`` is mounted at ``<path>/<name>``.
* UI: ``kind`` defaults to ``horizon``; the OAP addresses default to ``http://<ui name>-oap.<ns>``.
* Satellite: ``OAPServerName`` defaults to the Satellite's own name.
* BanyanDB: ``counts`` must be 1; ``config`` is the container's args verbatim.
* Fetcher / EventExporter: an OpenTelemetry Collector scraping annotated pods, and the
  Kubernetes event exporter with a raw ``config.yaml``.
"""

from __future__ import annotations

import re

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError

from . import spec as cluster_spec
from . import versions
from .schema import join_path

GROUP = "operator.skywalking.apache.org"
API_VERSION = GROUP + "/v1alpha1"

# Report entry statuses.
MAPPED = "mapped"            # the value is in the spec at ``target``
NOT_MAPPED = "not_mapped"    # the value is not in the spec; ``message`` says why and what to do
NEEDS_SECRET = "needs_secret"  # a plaintext credential: not copied; the spec references ``secret``
NOTE = "note"                # something the user should know (a SWCK behaviour the collection does not copy)
IGNORED = "ignored"          # not SWCK backend configuration (other objects, server-set metadata, status)
WARNING = "warning"          # a warning of spec.normalize about a mapped value

# The spec fields of each kind (json names, SWCK 0.10.0 *_types.go).
FIELDS = {
    "OAPServer": ("version", "image", "instances", "config", "service", "storage"),
    "UI": ("kind", "version", "image", "instances", "OAPServerAddress", "OAPServerAdminAddress",
           "OAPServerZipkinAddress", "config", "service"),
    "Storage": ("type", "connectType", "address", "version", "image", "instances", "security", "servicename",
                "config", "resource"),
    "BanyanDB": ("version", "counts", "image", "affinity", "config", "httpService", "gRPCService", "storages"),
    "Satellite": ("version", "image", "instances", "config", "service", "OAPServerName"),
    "OAPServerConfig": ("version", "env", "file"),
    "OAPServerDynamicConfig": ("version", "labelSelector", "data"),
    "Fetcher": ("type", "OAPServerAddress", "clusterName"),
    "EventExporter": ("version", "image", "replicas", "config"),
}
KINDS = tuple(FIELDS)

# SWCK kinds that are not backend configuration.
OTHER_KINDS = {
    "SwAgent": "Java agent injection settings: use them with the skywalking.swck.inject module or the "
               "skywalking.swck.inject_java_agent filter (swagents option), not in the cluster spec",
    "JavaAgent": "a record SWCK's webhook writes for each injected pod (observed state, not configuration)",
}

_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                    "deletionGracePeriodSeconds", "managedFields", "ownerReferences", "finalizers", "selfLink")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# OAP env names the collection derives from spec options (builders/oap.py, builders/storage.py).
_CLUSTER_ENV = frozenset(["SW_CLUSTER", "SW_CLUSTER_K8S_NAMESPACE", "SW_CLUSTER_K8S_LABEL", "SW_CLUSTER_K8S_UID",
                          "SKYWALKING_COLLECTOR_UID"])
_STORAGE_ENV = frozenset([
    "SW_STORAGE", "SW_STORAGE_ES_CLUSTER_NODES", "SW_STORAGE_ES_HTTP_PROTOCOL", "SW_ES_USER", "SW_ES_PASSWORD",
    # _HOST/_PORT: what OAP 9.x read (its application.yml banyandb host/port) before SW_STORAGE_BANYANDB_TARGETS;
    # OAP 10.4/11.0 read neither, but older SWCK OAPServer resources still carry them: the migration folds them
    # into the targets
    "SW_STORAGE_BANYANDB_TARGETS", "SW_STORAGE_BANYANDB_HOST", "SW_STORAGE_BANYANDB_PORT",
    "SW_STORAGE_BANYANDB_USER", "SW_STORAGE_BANYANDB_PASSWORD",
    "SW_JDBC_URL", "SW_DATA_SOURCE_USER", "SW_DATA_SOURCE_PASSWORD"])
# prefixes of OAP's SW_CORE_GRPC_SSL_* / SW_CORE_REST_SSL_* names (oap_env.py), which spec.oap.tls sets
_TLS_ENV_PREFIXES = ("SW_CORE_GRPC_SSL_", "SW_CORE_REST_SSL_")
# Satellite env names the collection sets (builders/satellite.py): it finds this cluster's OAP pods.
_SATELLITE_FINDER_ENV = frozenset([
    "SATELLITE_GRPC_CLIENT_FINDER", "SATELLITE_GRPC_CLIENT_KUBERNETES_NAMESPACE", "SATELLITE_GRPC_CLIENT_KUBERNETES_KIND",
    "SATELLITE_GRPC_CLIENT_KUBERNETES_SELECTOR_LABEL", "SATELLITE_GRPC_CLIENT_KUBERNETES_EXTRA_PORT",
    "SATELLITE_GRPC_CLIENT"])

# SW_STORAGE values and the storage.type they map to (OpenSearch uses OAP's elasticsearch storage too).
_STORAGE_KINDS = {"banyandb": "banyandb", "elasticsearch": "elasticsearch", "mysql": "mysql",
                  "postgresql": "postgresql"}

_URL_USERINFO = re.compile(r"(://)([^/@\s]*)@")
_CREDENTIAL_PARAM = re.compile(r"(?i)(?:^|[?&;])(?:user|username|password|passwd|pwd|token|secret)=[^&;]*")
_CREDENTIAL_PARAM_NAME = re.compile(r"(?i)^(?:user|username|password|passwd|pwd|token|secret)=")
_FILE_CREDENTIAL = re.compile(r"(?im)^\s*-?\s*[\"']?([A-Za-z0-9_.-]*(?:password|passwd|secret|token|"
                              r"access[-_]?key|api[-_]?key))[\"']?\s*:\s*(\S.*?)\s*$")
_PLACEHOLDER = re.compile(r"^[\"']?\$\{[A-Za-z0-9_]+(?::[^}]*)?\}[\"']?$")
_WARNING_PATH = re.compile(r'^([A-Za-z0-9_.\[\]"-]+)[: ]')
_NS_REGEX = re.compile(r"^\^(?:\(([a-z0-9|-]+)\)|([a-z0-9-]+))\$$")


def is_credential_env(name):
    """Whether an env name looks like a credential (the spec's own rule)."""
    return cluster_spec.is_credential_env(name)


def _value_has_credentials(text):
    """A URL with a user-info part, or a ``password=``-style parameter."""
    return bool(_URL_USERINFO.search(text) or _CREDENTIAL_PARAM.search(text))


def strip_url_credentials(url):
    """``(url without user-info and user/password query parameters, whether anything was removed)``."""
    clean = _URL_USERINFO.sub(r"\1", url)
    if "?" in clean:
        base, query = clean.split("?", 1)
        params = [p for p in query.split("&") if p and not _CREDENTIAL_PARAM_NAME.match(p)]
        clean = base + ("?" + "&".join(params) if params else "")
    return clean, clean != url


def default_credentials_secret(name):
    """The Secret the spec references for plaintext credentials found in SWCK documents."""
    return "%s-swck-credentials" % name


class _Doc(object):
    __slots__ = ("kind", "name", "namespace", "obj", "spec", "where", "label", "index")

    def __init__(self, where, obj, index=0):
        self.where = where
        self.index = index
        self.obj = obj
        self.kind = obj.get("kind")
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        self.name = meta.get("name")
        self.namespace = meta.get("namespace")
        self.spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        self.label = "%s/%s" % (self.kind or "?", self.name) if self.name else "%s (%s)" % (self.kind or "object", where)


class _Env(object):
    """One EnvVar of a SWCK document: a plain ``value`` or our reference form ``ref``, or a ``problem``."""

    __slots__ = ("doc", "field", "name", "value", "ref", "problem", "from_ref")

    def __init__(self, doc, field, name):
        self.doc = doc
        self.field = field
        self.name = name
        self.value = None
        self.ref = None
        self.problem = None
        self.from_ref = False

    @property
    def plain_secret(self):
        """A plain value that is (or contains) a credential."""
        return self.ref is None and self.value is not None and (
            is_credential_env(self.name) or _value_has_credentials(self.value))


def _parse_env(doc, field, item):
    """An :class:`_Env` from a Kubernetes EnvVar (name/value/valueFrom)."""
    if not isinstance(item, dict):
        env = _Env(doc, field, None)
        env.problem = "not an EnvVar (a mapping with name and value)"
        return env
    name = item.get("name")
    env = _Env(doc, field, name if isinstance(name, str) else None)
    if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        env.problem = "%r is not a valid environment variable name" % (name,)
        return env
    source = item.get("valueFrom")
    if source:
        env.from_ref = True
        if not isinstance(source, dict):
            env.problem = "valueFrom must be a mapping"
        elif isinstance(source.get("secretKeyRef"), dict):
            ref = source["secretKeyRef"]
            env.ref = {"secret": ref.get("name"), "key": ref.get("key")}
        elif isinstance(source.get("configMapKeyRef"), dict):
            ref = source["configMapKeyRef"]
            env.ref = {"config_map": ref.get("name"), "key": ref.get("key")}
        elif isinstance(source.get("fieldRef"), dict):
            env.ref = {"field": source["fieldRef"].get("fieldPath")}
        else:
            env.problem = ("valueFrom.%s is not supported: the spec's env takes a value, a Secret or ConfigMap key, or "
                           "a pod field" % (", ".join(sorted(str(k) for k in source)) or "(empty)"))
        if env.ref is not None:
            problem = cluster_spec.env_reference_problem(env.ref)
            if problem:
                env.ref = None
                env.problem = "valueFrom: %s" % problem
        return env
    value = item.get("value")
    if isinstance(value, (dict, list)):
        env.problem = "value must be a string"
    elif value is None or cluster_spec.env_text(value) == "":
        env.problem = ("empty value: the spec refuses empty values (Kubernetes passes an empty string; OAP and "
                       "Satellite then use their own default)")
    else:
        env.value = cluster_spec.env_text(value)
    return env


def _first_label(address):
    """The first DNS label of the host of an address or URL (``http://a-oap.ns:12800/x`` -> ``a-oap``)."""
    if not isinstance(address, str):
        return None
    text = address.split("://", 1)[-1]
    text = text.split("@", 1)[-1].split("/", 1)[0]
    host = text.rsplit(":", 1)[0] if text.count(":") == 1 else text
    return host.split(".", 1)[0] or None


def _image_tag_version(image):
    """``(tag, version or None)``: the tag of an image and the version it names (``v1.3.0`` -> ``1.3.0``)."""
    tag = versions.image_tag(image)
    if tag is None:
        return None, None
    version = versions.version_from_image(image)
    try:
        versions.split(version)
    except versions.VersionError:
        return tag, None
    return tag, version


def _same_line(a, b):
    try:
        return versions.line_of(a) == versions.line_of(b)
    except versions.VersionError:
        return False


class _Migration(object):
    """The state of one :func:`from_swck` call."""

    def __init__(self, name, namespace, credentials_secret, version=None):
        self.version = version       # the OAP version the caller sets explicitly (wins over the documents')
        self.raw = {}
        self.report = []
        self.order = []
        self.url_credentials = []    # report entries of credentials removed from storage URLs
        self.origins = {}
        self.arg_name = name
        self.arg_namespace = namespace
        self.credentials_secret = credentials_secret
        self.secret_keys = {}
        self.docs = {kind: [] for kind in KINDS}
        self.oap = None
        self.oap_version = None      # the mapped OAP version (a supported one), or None
        self.oap_line = None
        self.oap_name = None         # name OAP objects had under SWCK (<name>-oap)

    # ------------------------------------------------------------------ report

    def add(self, doc, field, status, message, target=None, detail=None, secret=None):
        label = doc.label if doc is not None else None
        where = " ".join(part for part in (label, field) if part)
        if detail:
            where += " (%s)" % detail
        entry = {"document": label, "field": field, "status": status, "target": target, "message": message,
                 "text": "%s: %s" % (where, message) if where else message}
        if secret is not None:
            entry["secret"] = secret
        self.report.append(entry)
        self.order.append(doc.index if doc is not None else len(self.order) + (1 << 30))
        return entry

    def sorted_report(self):
        """The report in document order (entries of one document in the order they were made)."""
        order = sorted(range(len(self.report)), key=lambda i: (self.order[i], i))
        return [self.report[i] for i in order]

    def mapped(self, doc, field, target, value, detail=None, message=None):
        """Set ``target`` (a tuple of spec keys) to ``value`` and report it."""
        node = self.raw
        for key in target[:-1]:
            node = node.setdefault(key, {})
        node[target[-1]] = value
        path = self.path(target)
        self.origins[path] = (doc, field)
        self.add(doc, field, MAPPED, message or "mapped to %s" % path, target=path, detail=detail)

    def not_mapped(self, doc, field, reason, detail=None):
        self.add(doc, field, NOT_MAPPED, "not mapped: %s" % reason, detail=detail)

    def note(self, doc, field, message, target=None, detail=None):
        self.add(doc, field, NOTE, message, target=target, detail=detail)

    @staticmethod
    def path(target):
        out = ""
        for key in target:
            out = join_path(out, key)
        return out

    def get(self, *target):
        node = self.raw
        for key in target:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    def unknown(self, doc, prefix, mapping, known, what=None):
        """Report the keys of ``mapping`` that SWCK's CRD does not have."""
        for key in mapping:
            if key not in known:
                self.not_mapped(doc, "%s.%s" % (prefix, key) if prefix else key,
                                "not a field of SWCK's %s (SWCK ignores it too)" % (what or doc.kind))

    def secret_ref(self, doc, field, key_hint, target, detail=None, why="a plaintext credential"):
        """Reference a key of the credentials Secret instead of copying a plaintext value."""
        key = key_hint
        if key in self.secret_keys and self.secret_keys[key] != target:
            key = "%s.%s" % (target[0], key_hint)
        self.secret_keys[key] = target
        ref = {"secret": self.credentials_secret, "key": key}
        node = self.raw
        for part in target[:-1]:
            node = node.setdefault(part, {})
        node[target[-1]] = ref
        path = self.path(target)
        self.origins[path] = (doc, field)
        self.add(doc, field, NEEDS_SECRET,
                 "not copied (%s): put it in Secret %s under key %s; %s references it" % (
                     why, self.credentials_secret, key, path),
                 target=path, detail=detail, secret={"name": self.credentials_secret, "key": key})
        return key

    def placeholder_secret(self, doc, field, message, detail=None, keys=("username", "password")):
        """Point storage.credentials at the credentials Secret (keys username/password)."""
        for key in keys:
            self.secret_keys[key] = ("storage", "credentials")
        self.raw.setdefault("storage", {})["credentials"] = {
            "secret": self.credentials_secret, "username_key": keys[0], "password_key": keys[1]}
        self.origins["storage.credentials"] = (doc, field)
        self.add(doc, field, NEEDS_SECRET, message, target="storage.credentials", detail=detail,
                 secret={"name": self.credentials_secret, "keys": list(keys)})

    # ------------------------------------------------------------------ documents

    def collect(self, documents):
        for index, (where, obj) in enumerate(_flatten(documents)):
            if obj is None:
                continue
            if not isinstance(obj, dict):
                raise SpecError(where, "must be a Kubernetes object (a mapping), not %s" % type(obj).__name__)
            doc = _Doc(where, obj, index)
            api = obj.get("apiVersion")
            group = api.split("/", 1)[0] if isinstance(api, str) and "/" in api else None
            if group != GROUP:
                self.add(doc, None, IGNORED, "ignored: not a SWCK resource (%s %s)" % (
                    api or "no apiVersion", doc.kind or "no kind"))
                continue
            if doc.kind in OTHER_KINDS:
                self.add(doc, None, NOT_MAPPED, "not mapped: %s" % OTHER_KINDS[doc.kind])
                continue
            if api != API_VERSION:
                self.add(doc, "apiVersion", NOT_MAPPED, "not mapped: %s is not a version this mapping knows (%s)" % (
                    api, API_VERSION))
                continue
            if doc.kind not in FIELDS:
                self.add(doc, "kind", NOT_MAPPED, "not mapped: %r is not a SWCK backend kind (known: %s)" % (
                    doc.kind, ", ".join(KINDS)))
                continue
            if not isinstance(doc.name, str) or not doc.name:
                raise SpecError("%s metadata.name" % doc.label, "is required")
            if obj.get("spec") is not None and not isinstance(obj.get("spec"), dict):
                raise SpecError("%s spec" % doc.label, "must be a mapping")
            self.docs[doc.kind].append(doc)
            self.metadata(doc)

    def metadata(self, doc):
        meta = doc.obj.get("metadata") or {}
        server = [key for key in _SERVER_METADATA if key in meta]
        annotations = dict(meta.get("annotations") or {})
        if annotations.pop(_LAST_APPLIED, None) is not None:
            server.append("annotations[%s]" % _LAST_APPLIED)
        if server:
            self.add(doc, "metadata", IGNORED, "ignored: set by the API server or kubectl (%s)" % ", ".join(server))
        for key in ("labels", "annotations"):
            values = annotations if key == "annotations" else meta.get(key)
            if values:
                self.not_mapped(doc, "metadata.%s" % key, "%s of the custom resource itself (SWCK did not copy them "
                                                          "to the objects it made); set %s or pod_%s for ours" % (
                                                              key, key, key))
        for key in meta:
            if key not in ("name", "namespace", "labels", "annotations", "generateName") and key not in _SERVER_METADATA:
                self.not_mapped(doc, "metadata.%s" % key, "not used by the migration")
        if "status" in doc.obj:
            self.add(doc, "status", IGNORED, "ignored: observed state")
        for key in doc.obj:
            if key not in ("apiVersion", "kind", "metadata", "spec", "status"):
                self.not_mapped(doc, key, "not part of a SWCK resource")

    def single(self, kind, hint):
        docs = self.docs[kind]
        if len(docs) > 1:
            raise SpecError("%s metadata.name" % docs[1].label,
                            "a second %s (besides %s): one cluster spec has one %s; %s" % (
                                kind, docs[0].label, kind, hint))
        return docs[0] if docs else None

    def identity(self):
        """Cluster name and namespace: the arguments, else the OAPServer's (else the first document's)."""
        every = sorted((d for kind in KINDS for d in self.docs[kind]), key=lambda d: d.index)
        namespaces = {}
        for doc in every:
            if doc.namespace:
                namespaces.setdefault(doc.namespace, doc)
        if len(namespaces) > 1:
            first, second = sorted(namespaces.values(), key=lambda d: d.index)[:2]
            raise SpecError("%s metadata.namespace" % second.label,
                            "%r differs from %s's %r: one cluster spec lives in one namespace; migrate each "
                            "namespace's resources separately" % (second.namespace, first.label, first.namespace))
        anchor = self.oap or (every[0] if every else None)
        name = self.arg_name
        if name:
            if anchor is not None and anchor.name != name:
                self.note(anchor, "metadata.name", "the cluster is named %r (given), not %r: object names change "
                                                   "(%s-oap, ...)" % (name, anchor.name, name))
        elif anchor is not None:
            name = anchor.name
            self.origins["name"] = (anchor, "metadata.name")
            self.add(anchor, "metadata.name", MAPPED, "mapped to name", target="name")
        else:
            raise SpecError("name", "is required: no SWCK document gives one (pass name)")
        namespace = self.arg_namespace
        found = next(iter(namespaces), None)
        if namespace:
            if found and found != namespace:
                self.note(namespaces[found], "metadata.namespace", "the cluster goes to namespace %r (given), "
                                                                   "not %r" % (namespace, found))
        elif found:
            namespace = found
            self.origins["namespace"] = (namespaces[found], "metadata.namespace")
            self.add(namespaces[found], "metadata.namespace", MAPPED, "mapped to namespace", target="namespace")
        else:
            raise SpecError("namespace", "is required: no SWCK document has metadata.namespace (pass namespace)")
        self.raw["name"] = name
        self.raw["namespace"] = namespace
        if not self.credentials_secret:
            self.credentials_secret = default_credentials_secret(name)

    # ------------------------------------------------------------------ shared pieces

    def service(self, doc, field, value, target):
        """SWCK's Service {template, ingress} for OAP and Satellite (no Ingress in the spec)."""
        if not isinstance(value, dict):
            self.not_mapped(doc, field, "must be a mapping")
            return
        self.unknown(doc, field, value, ("template", "ingress"), "Service")
        self.service_template(doc, field + ".template", value.get("template"), target)
        ingress = value.get("ingress")
        if isinstance(ingress, dict) and any(ingress.values()):
            self.not_mapped(doc, field + ".ingress", "the collection creates no Ingress for %s (only for the UI: "
                                                     "ui.ingress)" % doc.kind)

    def service_template(self, doc, field, template, target):
        if template is None:
            return
        if not isinstance(template, dict):
            self.not_mapped(doc, field, "must be a mapping")
            return
        self.unknown(doc, field, template, ("clusterIP", "type", "externalIPs", "loadBalancerIP",
                                            "loadBalancerSourceRanges"), "ServiceTemplate")
        if template.get("type"):
            if template["type"] in cluster_spec.SERVICE_TYPES:
                self.mapped(doc, field + ".type", target + ("type",), template["type"])
            else:
                self.not_mapped(doc, field + ".type", "%r is not one of %s" % (template["type"],
                                                                               ", ".join(cluster_spec.SERVICE_TYPES)))
        if template.get("loadBalancerSourceRanges"):
            self.mapped(doc, field + ".loadBalancerSourceRanges", target + ("load_balancer_source_ranges",),
                        list(template["loadBalancerSourceRanges"]))
        if template.get("clusterIP"):
            self.not_mapped(doc, field + ".clusterIP", "the collection lets Kubernetes assign the Service's cluster "
                                                       "IP")
        if template.get("externalIPs"):
            self.not_mapped(doc, field + ".externalIPs", "the spec has no external IPs; use type LoadBalancer or "
                                                         "NodePort")
        if template.get("loadBalancerIP"):
            self.not_mapped(doc, field + ".loadBalancerIP", "deprecated in Kubernetes; set your cloud's load balancer "
                                                            "annotation in %s" % self.path(target + ("annotations",)))

    def image(self, doc, field, image, target, default, version, what, check_line=None):
        """Map an image override: pinned images only; the default for the version is not repeated."""
        if not image:
            return
        if not isinstance(image, str):
            self.not_mapped(doc, field, "must be a string")
            return
        tag, tag_version = _image_tag_version(image)
        if tag is None or tag == "latest":
            self.not_mapped(doc, field, "%r is not a pinned version; the collection uses the %s image of the "
                                        "spec's version" % (image, what))
            return
        if check_line is not None and tag_version is not None:
            problem = check_line(tag_version)
            if problem:
                self.not_mapped(doc, field, problem)
                return
        if version is not None and image == default:
            self.add(doc, field, MAPPED, "the collection's default image for %s %s" % (what, version),
                     target=self.path(target))
            return
        detail = None
        if tag_version is None:
            detail = "tag %r is not a version: it must be %s %s" % (tag, what, version) if version else None
        self.mapped(doc, field, target, image, detail=detail)

    def replicas(self, doc, field, value, target, minimum=0):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.not_mapped(doc, field, "%r is not a replica count" % (value,))
            return None
        self.mapped(doc, field, target, value)
        return value

    def env_list(self, doc, field, items):
        if items is None:
            return []
        if not isinstance(items, list):
            self.not_mapped(doc, field, "must be a list of EnvVars")
            return []
        out = []
        for index, item in enumerate(items):
            env = _parse_env(doc, "%s[%d]" % (field, index), item)
            if isinstance(item, dict):
                self.unknown(doc, env.field, item, ("name", "value", "valueFrom"), "EnvVar")
            if env.problem:
                self.not_mapped(doc, env.field, env.problem, detail=env.name)
                continue
            out.append(env)
        return out

    def last_wins(self, envs):
        """Later EnvVars of the same name win (as in a container); the earlier ones are reported."""
        final = {}
        for env in envs:
            earlier = final.get(env.name)
            if earlier is not None:
                self.not_mapped(earlier.doc, earlier.field, "overridden by %s %s" % (env.doc.label, env.field),
                                detail=earlier.name)
            final[env.name] = env
        return final

    def put_env(self, env, component):
        """A general env entry: copied, or a credential referenced from the credentials Secret."""
        target = (component, "env", env.name)
        if env.plain_secret:
            self.secret_ref(env.doc, env.field, env.name, target, detail=env.name)
            return
        note = None
        if env.from_ref:
            note = "SWCK's template renders only name/value, so SWCK passed an empty value; the collection passes " \
                   "the reference"
        message = "kept as %s" % self.path(target)
        if note:
            message += " (%s)" % note
        self.mapped(env.doc, env.field, target, env.ref if env.ref is not None else env.value, detail=env.name,
                    message=message)

    def points_at_oap(self, address):
        """Whether an address names the OAP Service SWCK made for the OAPServer (``<name>-oap``)."""
        return self.oap_name is not None and _first_label(address) == "%s-oap" % self.oap_name

    def same_version(self, doc, what):
        """OAPServerConfig/OAPServerDynamicConfig: SWCK applies them only to OAPServers of the same version."""
        version = doc.spec.get("version")
        if self.oap is None:
            self.note(doc, "spec.version", "no OAPServer among the documents: applied to the cluster's OAP")
            return True
        if version in (None, ""):
            version = "9.5.0"   # SWCK's defaulting webhook
        if str(version) != str(self.oap.spec.get("version")):
            self.not_mapped(doc, None, "SWCK applies a %s only to OAPServers with spec.version %s; %s has %r, so it "
                                       "was not in effect" % (what, version, self.oap.label, self.oap.spec.get("version")))
            return False
        self.add(doc, "spec.version", MAPPED, "matches %s" % self.oap.label)
        return True

    # ------------------------------------------------------------------ OAP

    def map_oap(self):
        doc = self.oap
        if doc is None:
            return
        spec = doc.spec
        self.unknown(doc, "spec", spec, FIELDS["OAPServer"])
        version = spec.get("version")
        if version in (None, ""):
            self.not_mapped(doc, "spec.version", "absent (SWCK requires it); the spec's default OAP version applies")
        else:
            try:
                line, _full = versions.resolve_oap(version)
            except versions.VersionError as exc:
                if self.version is None:
                    # Never a silent upgrade: another OAP version migrates the storage schema
                    raise SpecError("%s spec.version" % doc.label, "%s. Set "
                                    "version to the supported OAP version to move to (e.g. %s): that is an upgrade, "
                                    "OAP's init Job migrates the schema; read SkyWalking's upgrade notes first" % (
                                        exc, versions.LINES[versions.CURRENT].oap_version))
                self.not_mapped(doc, "spec.version", "%s; version %s (given) applies: moving to it is an upgrade "
                                                     "(OAP's init Job migrates the schema; read SkyWalking's upgrade "
                                                     "notes first)" % (exc, self.version))
            else:
                self.oap_version = str(version)
                self.oap_line = line
                self.mapped(doc, "spec.version", ("version",), str(version))
        image = spec.get("image")
        if image and self.oap_version is None:
            self.not_mapped(doc, "spec.image", "the OAP version is not mapped, so neither is its image")
        elif image:
            self.image(doc, "spec.image", image, ("images", "oap"), versions.oap_image(self.oap_version),
                       self.oap_version, "OAP", check_line=self._check_oap_image_line)
        instances = self.replicas(doc, "spec.instances", spec.get("instances"), ("oap", "replicas"))
        if instances == 0:
            self.mapped(doc, "spec.instances", ("oap", "pdb", "enabled"), False,
                        message="mapped to oap.pdb.enabled=false (no PodDisruptionBudget for 0 replicas)")
        elif instances == 1:
            self.note(doc, "spec.instances", "SWCK has no PodDisruptionBudget; the collection's (min_available 1) "
                                             "blocks voluntary evictions of a single OAP pod: consider oap.replicas 2 "
                                             "or oap.pdb.enabled false")
        if spec.get("service") is not None:
            self.service(doc, "spec.service", spec["service"], ("oap", "service"))
        ref = spec.get("storage")
        if ref is not None and not isinstance(ref, dict):
            raise SpecError("%s spec.storage" % doc.label, "must be a mapping with name")
        if isinstance(ref, dict):
            self.unknown(doc, "spec.storage", ref, ("name", "injectstorage"), "RelevantStorage")
            if ref.get("injectstorage"):
                self.add(doc, "spec.storage.injectstorage", IGNORED, "ignored: filled in by SWCK's controller")

    def _check_oap_image_line(self, tag_version):
        if not _same_line(tag_version, self.oap_version):
            raise SpecError("%s spec.image" % self.oap.label, "its tag is OAP %s but spec.version is %s: they must be "
                                                              "the same release line" % (tag_version, self.oap_version))
        return None

    def oap_env(self, envs):
        """Dispatch the final OAP env: options the spec has, storage settings, or oap.env."""
        storage_env = {}
        for name, env in envs.items():
            if name in _STORAGE_ENV:
                storage_env[name] = env
            elif name in _CLUSTER_ENV:
                self.not_mapped(env.doc, env.field, "the collection runs OAP's kubernetes coordinator with its own "
                                                    "namespace, label selector and pod uid", detail=name)
            elif name.startswith(_TLS_ENV_PREFIXES):
                self.not_mapped(env.doc, env.field, "TLS comes from a Secret: set oap.tls.%s.secret" % (
                    "grpc" if "GRPC" in name else "rest"), detail=name)
            elif name in _OAP_OPTION_ENV and env.ref is None:
                _OAP_OPTION_ENV[name](self, env)
            elif name in _OAP_OPTION_ENV:
                self.not_mapped(env.doc, env.field, "the collection sets %s from the spec; a reference cannot be "
                                                    "mapped" % name, detail=name)
            else:
                self.put_env(env, "oap")
        return storage_env

    def _java_opts(self, env):
        kept, dropped = [], []
        for token in env.value.split():
            (dropped if token.startswith("-Dmode=") else kept).append(token)
        if dropped:
            self.not_mapped(env.doc, env.field, "%s: the collection runs the init Job with -Dmode=init and OAP with "
                                                "-Dmode=no-init" % " ".join(dropped), detail="JAVA_OPTS -Dmode")
        if kept:
            self.mapped(env.doc, env.field, ("oap", "java_opts"), " ".join(kept), detail="JAVA_OPTS",
                        message="mapped to oap.java_opts (with -Xmx no heap is derived from the memory limit)")

    def _role(self, env):
        if env.value == "Mixed":
            self.mapped(env.doc, env.field, ("oap", "mode"), "mixed", detail=env.name)
        else:
            self.not_mapped(env.doc, env.field, "one OAP with role %s: the collection runs receivers and aggregators "
                                                "together (oap.mode: split)" % env.value, detail=env.name)

    def _health(self, env):
        if env.value == "default":
            self.add(env.doc, env.field, MAPPED, "the collection sets it (its probes need the health checker)",
                     detail=env.name)
        else:
            self.not_mapped(env.doc, env.field, "the collection keeps the health checker on (its probes need it)",
                            detail=env.name)

    def _telemetry(self, env):
        if env.value in ("prometheus", "none", "-"):
            self.mapped(env.doc, env.field, ("telemetry", "prometheus"), env.value == "prometheus", detail=env.name)
        else:
            self.not_mapped(env.doc, env.field, "%r: the spec knows prometheus or none (telemetry.prometheus)" % (
                env.value,), detail=env.name)

    def _configuration(self, env):
        if env.value == "k8s-configmap":
            self.mapped(env.doc, env.field, ("oap", "dynamic_config", "enabled"), True, detail=env.name)
        elif env.value in ("none", "-"):
            self.mapped(env.doc, env.field, ("oap", "dynamic_config", "enabled"), False, detail=env.name)
        else:
            self.mapped(env.doc, env.field, ("oap", "dynamic_config", "enabled"), False, detail=env.name,
                        message="mapped to oap.dynamic_config.enabled=false (another configuration center)")
            self.put_env(env, "oap")

    def _period(self, env):
        try:
            period = int(env.value)
        except ValueError:
            self.not_mapped(env.doc, env.field, "%r is not a number of seconds" % (env.value,), detail=env.name)
            return
        self.mapped(env.doc, env.field, ("oap", "dynamic_config", "period"), period, detail=env.name)

    def _admin(self, env):
        if env.value in ("-", "default"):
            self.mapped(env.doc, env.field, ("oap", "admin_server", "enabled"), env.value == "default",
                        detail=env.name)
        else:
            self.not_mapped(env.doc, env.field, "%r: the spec switches the admin server on or off "
                                                "(oap.admin_server.enabled)" % (env.value,), detail=env.name)

    # ------------------------------------------------------------------ storage

    def map_storage(self, storage_env):
        oap = self.oap
        ref = (oap.spec.get("storage") or {}) if oap is not None else {}
        wanted = ref.get("name") if isinstance(ref, dict) else None
        storage_doc = None
        for doc in self.docs["Storage"]:
            if wanted and doc.name == wanted:
                storage_doc = doc
            else:
                self.not_mapped(doc, None, "no OAPServer among the documents uses it (OAPServer spec.storage.name)")
        if wanted and storage_doc is None:
            raise SpecError("%s spec.storage.name" % oap.label, "Storage %r is not among the documents: give it too "
                                                                "(its address and credentials are needed)" % (wanted,))
        if wanted:
            self.add(oap, "spec.storage.name", MAPPED, "uses %s" % storage_doc.label, target="storage")
        bdb = self.single("BanyanDB", "SWCK runs one BanyanDB per OAP too")
        selector = storage_env.pop("SW_STORAGE", None)
        kind = None
        if storage_doc is not None:
            kind = "elasticsearch"
            if selector is not None:
                self.not_mapped(selector.doc, selector.field, "superseded by %s (SWCK appends the Storage's env after "
                                                              "spec.config)" % storage_doc.label, detail=selector.name)
        elif selector is not None:
            if selector.ref is not None:
                raise SpecError("%s %s" % (selector.doc.label, selector.field), "SW_STORAGE from a reference: the "
                                                                                "storage kind must be known")
            value = selector.value
            if value in _STORAGE_KINDS:
                kind = _STORAGE_KINDS[value]
                self.mapped(selector.doc, selector.field, ("storage", "type"), kind, detail="SW_STORAGE")
            elif value == "h2":
                self.not_mapped(selector.doc, selector.field, "H2 keeps data in memory; the collection's default "
                                                              "storage (BanyanDB) applies", detail="SW_STORAGE")
            else:
                raise SpecError("%s %s" % (selector.doc.label, selector.field),
                                "SW_STORAGE=%s: the collection supports banyandb, elasticsearch (also for OpenSearch), "
                                "mysql and postgresql storage" % value)
        elif bdb is not None:
            kind = "banyandb"
        if kind == "elasticsearch":
            self.elasticsearch(storage_doc, storage_env)
        elif kind == "banyandb":
            self.banyandb_env(storage_env, bdb, explicit=selector is not None)
        elif kind in ("mysql", "postgresql"):
            self.jdbc(storage_env)
        elif oap is not None:
            self.note(oap, "spec.storage", "SWCK sets no storage: the collection's default applies (BanyanDB "
                                           "standalone in the cluster)")
        for env in storage_env.values():
            self.not_mapped(env.doc, env.field, "a setting of another storage than the one OAP uses (%s)" % (
                kind or "default"), detail=env.name)
        if bdb is not None:
            if kind == "banyandb" and self.get("storage", "banyandb", "mode") != "external":
                self.map_banyandb(bdb)
            else:
                self.not_mapped(bdb, None, "OAP does not use it (its storage is %s)" % (
                    "an external BanyanDB" if kind == "banyandb" else kind or "not BanyanDB"))

    def finish_url_credentials(self):
        """Entries for credentials removed from URLs: they belong in storage.credentials' Secret."""
        creds = self.get("storage", "credentials") or {}
        secret = creds.get("secret")
        keys = [creds.get("username_key", "username"), creds.get("password_key", "password")]
        for entry in self.url_credentials:
            if secret:
                entry["message"] = ("not copied: the user name and password in the URL were removed; they belong in "
                                    "Secret %s under keys %s and %s (storage.credentials)" % (secret, keys[0], keys[1]))
                entry["secret"] = {"name": secret, "keys": keys}
            else:
                entry["message"] = ("not copied: the user name and password in the URL were removed; put them in a "
                                    "Secret and set storage.credentials")
            head = entry["text"][:-2] if entry["text"].endswith(": ") else entry["text"]
            entry["text"] = "%s: %s" % (head, entry["message"])

    def credentials(self, user, password, doc, field, names):
        """storage.credentials from user/password EnvVars (references, plain values or absent)."""
        if password is not None and password.ref is not None and "secret" in password.ref:
            creds = {"secret": password.ref["secret"], "password_key": password.ref["key"]}
            if user is not None and user.ref is not None and user.ref.get("secret") == password.ref["secret"]:
                creds["username_key"] = user.ref["key"]
                self.add(user.doc, user.field, MAPPED, "mapped to storage.credentials.username_key",
                         target="storage.credentials", detail=user.name)
            elif user is not None:
                self.put_env(user, "oap")
            self.raw.setdefault("storage", {})["credentials"] = creds
            self.origins["storage.credentials"] = (password.doc, password.field)
            self.add(password.doc, password.field, MAPPED, "mapped to storage.credentials (Secret %s)" % creds["secret"],
                     target="storage.credentials", detail=password.name)
            return
        plain = [env for env in (user, password) if env is not None and env.ref is None]
        refs = [env for env in (user, password) if env is not None and env.ref is not None]
        for env in refs:
            self.put_env(env, "oap")
        if plain:
            first = plain[0]
            self.placeholder_secret(first.doc, first.field, "not copied (plaintext credentials %s): put the user "
                                                            "name and password in Secret %s under keys username and "
                                                            "password; storage.credentials references it" % (
                                                                "/".join(env.name for env in plain),
                                                                self.credentials_secret), detail=first.name)
            for env in plain[1:]:
                self.add(env.doc, env.field, NEEDS_SECRET, "not copied (plaintext credential): see %s %s" % (
                    first.doc.label, first.field), target="storage.credentials", detail=env.name,
                    secret={"name": self.credentials_secret, "keys": ["username", "password"]})
        else:
            self.placeholder_secret(doc, field, "no credentials in SWCK (%s unset); the collection always reads them "
                                                "from a Secret: create Secret %s with keys username and password "
                                                "(empty values if the store has no authentication)" % (
                                                    "/".join(names), self.credentials_secret))

    def elasticsearch(self, doc, storage_env):
        user = storage_env.pop("SW_ES_USER", None)
        password = storage_env.pop("SW_ES_PASSWORD", None)
        nodes = storage_env.pop("SW_STORAGE_ES_CLUSTER_NODES", None)
        protocol = storage_env.pop("SW_STORAGE_ES_HTTP_PROTOCOL", None)
        if doc is None:
            if nodes is not None and nodes.ref is None:
                clean, removed = strip_url_credentials(nodes.value)
                if removed:
                    self.url_credentials.append(self.add(nodes.doc, nodes.field, NEEDS_SECRET, "", detail=nodes.name,
                                                         target="storage.credentials"))
                self.mapped(nodes.doc, nodes.field, ("storage", "addresses"),
                            [n.strip() for n in clean.split(",") if n.strip()], detail=nodes.name)
            elif nodes is not None:
                self.not_mapped(nodes.doc, nodes.field, "a reference: set storage.addresses", detail=nodes.name)
            else:
                self.not_mapped(self.oap, "spec.config", "SW_STORAGE_ES_CLUSTER_NODES is not set: set "
                                                         "storage.addresses")
            if protocol is not None and protocol.ref is None and protocol.value in ("http", "https"):
                self.mapped(protocol.doc, protocol.field, ("storage", "protocol"), protocol.value, detail=protocol.name)
            elif protocol is not None:
                self.not_mapped(protocol.doc, protocol.field, "must be http or https (storage.protocol)",
                                detail=protocol.name)
            self.credentials(user, password, self.oap, "spec.config", ("SW_ES_USER", "SW_ES_PASSWORD"))
            return
        spec = doc.spec
        self.unknown(doc, "spec", spec, FIELDS["Storage"])
        if spec.get("type") != "elasticsearch":
            raise SpecError("%s spec.type" % doc.label, "%r: SWCK's Storage supports elasticsearch only" % (
                spec.get("type"),))
        self.mapped(doc, "spec.type", ("storage", "type"), "elasticsearch")
        for env in (nodes, protocol):
            if env is not None:
                self.not_mapped(env.doc, env.field, "superseded by %s (SWCK appends the Storage's env after "
                                                    "spec.config)" % doc.label, detail=env.name)
        security = spec.get("security") or {}
        if not isinstance(security, dict):
            security = {}
            self.not_mapped(doc, "spec.security", "must be a mapping")
        self.unknown(doc, "spec.security", security, ("tls", "user"), "SecuritySpec")
        tls = bool(security.get("tls"))
        connect = spec.get("connectType")
        if connect == "external":
            self.add(doc, "spec.connectType", MAPPED, "external Elasticsearch: storage.addresses", target="storage")
            address = spec.get("address")
            if not isinstance(address, str) or not address:
                raise SpecError("%s spec.address" % doc.label, "is required for connectType external")
            clean, removed = strip_url_credentials(address)
            if removed:
                self.url_credentials.append(self.add(doc, "spec.address", NEEDS_SECRET, "",
                                                     target="storage.credentials"))
            if "://" in clean:
                scheme, rest = clean.split("://", 1)
                host = rest.split("/", 1)[0]
                if scheme in ("http", "https"):
                    self.mapped(doc, "spec.address", ("storage", "protocol"), scheme, detail="scheme")
                else:
                    self.not_mapped(doc, "spec.address", "scheme %r: storage.protocol is http or https" % scheme,
                                    detail="scheme")
            else:
                host = clean.split("/", 1)[0]
            self.mapped(doc, "spec.address", ("storage", "addresses"), [host], detail="host")
            for key in ("version", "image", "instances", "servicename", "config", "resource"):
                if spec.get(key):
                    self.not_mapped(doc, "spec.%s" % key, "SWCK ignores it for external storage")
            if tls:
                self.not_mapped(doc, "spec.security.tls", "SWCK ignores it for external storage (the address's "
                                                          "scheme decides)")
        elif connect == "internal":
            nodes_address = "skywalking-storage:9200" if tls else "%s-%s:9200" % (doc.name, spec.get("type"))
            self.mapped(doc, "spec.connectType", ("storage", "addresses"), [nodes_address],
                        message="mapped to storage.addresses=[%s], the address SWCK gave OAP; the collection does NOT "
                                "run Elasticsearch: keep SWCK's Elasticsearch StatefulSet %s-%s (deleting the Storage "
                                "deletes it) or move the data to an Elasticsearch you run, and set storage.addresses"
                        % (nodes_address, doc.name, spec.get("type")))
            if tls:
                self.mapped(doc, "spec.security.tls", ("storage", "protocol"), "https")
                self.not_mapped(doc, "spec.security.tls", "the trust store SWCK mounted (Secret skywalking-storage at "
                                                          "/skywalking/p12) has no spec option: OAP must trust "
                                                          "Elasticsearch's certificate by other means", detail="trust store")
            for key, why in (("version", "Elasticsearch's version"), ("image", "Elasticsearch's image"),
                             ("instances", "Elasticsearch's replicas"), ("servicename", "Elasticsearch's Service"),
                             ("config", "Elasticsearch's env"), ("resource", "Elasticsearch's resources")):
                if spec.get(key):
                    self.not_mapped(doc, "spec.%s" % key, "%s: the collection does not run Elasticsearch" % why)
        else:
            raise SpecError("%s spec.connectType" % doc.label, "%r: must be internal or external" % (connect,))
        user_spec = security.get("user") or {}
        secret_name = user_spec.get("secretName") if isinstance(user_spec, dict) else None
        if isinstance(user_spec, dict):
            self.unknown(doc, "spec.security.user", user_spec, ("secretName",), "UserSpec")
        if secret_name == "default":
            self.placeholder_secret(doc, "spec.security.user.secretName",
                                    "not copied: SWCK's built-in default Elasticsearch user and password for the "
                                    "Secret name 'default'; put the real ones in Secret %s under keys username and "
                                    "password; storage.credentials references it" % self.credentials_secret)
            for env in (user, password):
                if env is not None:
                    self.not_mapped(env.doc, env.field, "superseded by %s spec.security.user" % doc.label,
                                    detail=env.name)
        elif secret_name:
            creds = {"secret": secret_name, "username_key": "username", "password_key": "password"}
            self.raw.setdefault("storage", {})["credentials"] = creds
            self.origins["storage.credentials"] = (doc, "spec.security.user.secretName")
            self.add(doc, "spec.security.user.secretName", MAPPED, "mapped to storage.credentials.secret (keys "
                                                                   "username and password, as SWCK reads them)",
                     target="storage.credentials")
            for env in (user, password):
                if env is not None:
                    self.not_mapped(env.doc, env.field, "superseded by %s spec.security.user" % doc.label,
                                    detail=env.name)
        else:
            self.credentials(user, password, doc, "spec.security.user",
                             ("spec.security.user", "SW_ES_USER", "SW_ES_PASSWORD"))

    def banyandb_env(self, storage_env, bdb, explicit):
        targets = storage_env.pop("SW_STORAGE_BANYANDB_TARGETS", None)
        host = storage_env.pop("SW_STORAGE_BANYANDB_HOST", None)
        port = storage_env.pop("SW_STORAGE_BANYANDB_PORT", None)
        user = storage_env.pop("SW_STORAGE_BANYANDB_USER", None)
        password = storage_env.pop("SW_STORAGE_BANYANDB_PASSWORD", None)
        addresses = []
        sources = []
        if targets is not None and targets.ref is None:
            addresses = [t.strip() for t in targets.value.split(",") if t.strip()]
            sources.append(targets)
            for env in (host, port):
                if env is not None:
                    self.not_mapped(env.doc, env.field, "superseded by SW_STORAGE_BANYANDB_TARGETS", detail=env.name)
        elif host is not None and host.ref is None:
            port_text = port.value if port is not None and port.ref is None else "17912"
            addresses = ["%s:%s" % (host.value, port_text)]
            sources.extend(env for env in (host, port) if env is not None)
        else:
            for env in (targets, host, port):
                if env is not None:
                    self.not_mapped(env.doc, env.field, "a reference: the BanyanDB address must be known",
                                    detail=env.name)
        service = "%s-banyandb-grpc" % bdb.name if bdb is not None else None
        in_cluster = [a for a in addresses if service and _first_label(a) == service]
        if addresses and not in_cluster:
            self.mapped(sources[0].doc, sources[0].field, ("storage", "banyandb", "mode"), "external",
                        detail=sources[0].name, message="mapped to storage.banyandb.mode=external")
            self.mapped(sources[0].doc, sources[0].field, ("storage", "addresses"), addresses, detail=sources[0].name)
            for env in sources[1:]:
                self.add(env.doc, env.field, MAPPED, "part of storage.addresses", target="storage.addresses",
                         detail=env.name)
            if user is not None or password is not None:
                self.credentials(user, password, sources[0].doc, sources[0].field,
                                 ("SW_STORAGE_BANYANDB_USER", "SW_STORAGE_BANYANDB_PASSWORD"))
            return
        if in_cluster:
            for env in sources:
                self.add(env.doc, env.field, MAPPED, "the in-cluster BanyanDB (%s): the collection sets the address "
                                                     "of its own BanyanDB Service" % bdb.label,
                         target="storage.banyandb", detail=env.name)
            for address in addresses:
                if address not in in_cluster:
                    self.not_mapped(sources[0].doc, sources[0].field, "target %s is not %s's Service: the collection "
                                                                      "uses one BanyanDB" % (address, bdb.label),
                                    detail=sources[0].name)
        elif bdb is not None and explicit:
            self.note(self.oap, "spec.config", "SW_STORAGE=banyandb without SW_STORAGE_BANYANDB_TARGETS; taken as "
                                               "%s" % bdb.label)
        for env in (user, password):
            if env is not None:
                self.not_mapped(env.doc, env.field, "the collection's in-cluster BanyanDB has no authentication",
                                detail=env.name)
        if bdb is not None:
            self.raw.setdefault("storage", {}).setdefault("type", "banyandb")
            self.raw["storage"].setdefault("banyandb", {})["mode"] = "standalone"
            self.origins.setdefault("storage.type", (bdb, None))

    def jdbc(self, storage_env):
        url = storage_env.pop("SW_JDBC_URL", None)
        user = storage_env.pop("SW_DATA_SOURCE_USER", None)
        password = storage_env.pop("SW_DATA_SOURCE_PASSWORD", None)
        if url is None:
            self.not_mapped(self.oap, "spec.config", "SW_JDBC_URL is not set: set storage.addresses or "
                                                     "storage.jdbc_url")
        elif url.ref is not None:
            self.not_mapped(url.doc, url.field, "a reference: set storage.jdbc_url", detail=url.name)
        else:
            clean, removed = strip_url_credentials(url.value)
            if removed:
                self.url_credentials.append(self.add(url.doc, url.field, NEEDS_SECRET, "", detail=url.name,
                                                     target="storage.credentials"))
            self.mapped(url.doc, url.field, ("storage", "jdbc_url"), clean, detail=url.name)
        self.credentials(user, password, self.oap, "spec.config", ("SW_DATA_SOURCE_USER", "SW_DATA_SOURCE_PASSWORD"))

    def map_banyandb(self, doc):
        spec = doc.spec
        self.unknown(doc, "spec", spec, FIELDS["BanyanDB"])
        self.raw.setdefault("storage", {})["type"] = "banyandb"
        self.raw["storage"].setdefault("banyandb", {})["mode"] = "standalone"
        self.origins["storage.type"] = (doc, None)
        self.add(doc, None, MAPPED, "mapped to storage.type=banyandb, storage.banyandb.mode=standalone",
                 target="storage.banyandb.mode")
        version = self.banyandb_version(doc)
        image = spec.get("image")
        if image:
            line = self.oap_line or versions.LINES[versions.CURRENT]

            def check(tag_version):
                if _same_line(tag_version, line.banyandb_line + ".0"):
                    return None
                if self.oap_line is None:
                    return ("BanyanDB %s does not fit the spec's default OAP %s (the OAP version is not mapped), which "
                            "needs BanyanDB %s.x" % (tag_version, line.oap_version, line.banyandb_line))
                raise SpecError("%s spec.image" % doc.label, "BanyanDB %s does not fit OAP %s (%s spec.version), "
                                                             "which needs BanyanDB %s.x" % (
                                                                 tag_version, self.oap_version, self.oap.label,
                                                                 line.banyandb_line))
            self.image(doc, "spec.image", image, ("images", "banyandb"),
                       versions.banyandb_image(version) if version else None, version, "BanyanDB", check_line=check)
            tag_version = _image_tag_version(image)[1]
            if version is None and tag_version is not None and self.get("images", "banyandb") == image:
                self.mapped(doc, "spec.image", ("storage", "banyandb", "version"), tag_version, detail="tag")
        counts = spec.get("counts")
        if counts not in (None, 1):
            self.not_mapped(doc, "spec.counts", "SWCK accepts 1 only; standalone runs one pod (storage.banyandb.mode: "
                                                "cluster for more)")
        elif counts == 1:
            self.add(doc, "spec.counts", MAPPED, "standalone: one pod", target="storage.banyandb.mode")
        args = spec.get("config") or []
        if not isinstance(args, list):
            args = [args]
        for index, arg in enumerate(args):
            field = "spec.config[%d]" % index
            if arg == "standalone":
                self.add(doc, field, MAPPED, "standalone mode", target="storage.banyandb.mode", detail=arg)
            else:
                self.not_mapped(doc, field, "raw container args; the collection builds BanyanDB's args: set "
                                            "storage.banyandb.* instead", detail=str(arg)[:60])
        if spec.get("affinity"):
            self.not_mapped(doc, "spec.affinity", "BanyanDB-only affinity: the spec's scheduling.affinity applies to "
                                                  "every component; set it there if that fits")
        for key in ("httpService", "gRPCService"):
            value = spec.get(key)
            if not value:
                continue
            template = value.get("template") if isinstance(value, dict) else None
            if isinstance(value, dict):
                self.unknown(doc, "spec.%s" % key, value, ("template", "ingress"), "Service")
            if isinstance(template, dict) and any(template.get(k) for k in template if k != "type") or \
                    (isinstance(template, dict) and template.get("type") not in (None, "", "ClusterIP")):
                self.not_mapped(doc, "spec.%s.template" % key, "BanyanDB's Services are ClusterIP only (reachable "
                                                               "from OAP)")
            elif template:
                self.add(doc, "spec.%s.template" % key, MAPPED, "ClusterIP, as the collection's BanyanDB Service",
                         target="storage.banyandb")
            if isinstance(value, dict) and isinstance(value.get("ingress"), dict) and any(value["ingress"].values()):
                self.not_mapped(doc, "spec.%s.ingress" % key, "the collection creates no Ingress for BanyanDB")
        self.banyandb_storages(doc, spec.get("storages"))

    def banyandb_version(self, doc):
        version = doc.spec.get("version")
        if version in (None, ""):
            return None
        version = str(version)
        try:
            versions.split(version)
        except versions.VersionError:
            self.not_mapped(doc, "spec.version", "%r is not a version; the BanyanDB version of the OAP line "
                                                 "applies" % version)
            return None
        if not version.startswith("0."):
            self.not_mapped(doc, "spec.version", "BanyanDB %s is not a release (they are 0.x); the BanyanDB version "
                                                 "of the OAP line applies" % version)
            return None
        try:
            versions.check_banyandb(self.oap_line or versions.LINES[versions.CURRENT], version, self.oap_version)
        except versions.VersionError as exc:
            if self.oap_line is not None:
                raise SpecError("%s spec.version" % doc.label, "%s (%s spec.version)" % (exc, self.oap.label))
            self.not_mapped(doc, "spec.version", "%s: the OAP version is not mapped, so the spec's default OAP and its "
                                                 "BanyanDB apply" % exc)
            return None
        self.mapped(doc, "spec.version", ("storage", "banyandb", "version"), version)
        return version

    def banyandb_storages(self, doc, storages):
        if not storages:
            self.note(doc, "spec.storages", "SWCK ran BanyanDB without a volume; the collection gives it a "
                                            "PersistentVolumeClaim (storage.banyandb.persistence, 50Gi by default)")
            return
        if not isinstance(storages, list):
            self.not_mapped(doc, "spec.storages", "must be a list")
            return
        for index, item in enumerate(storages):
            field = "spec.storages[%d]" % index
            if index > 0:
                self.not_mapped(doc, field, "the collection gives BanyanDB one data volume")
                continue
            if not isinstance(item, dict):
                self.not_mapped(doc, field, "must be a mapping")
                continue
            self.unknown(doc, field, item, ("name", "path", "persistentVolumeClaimSpec"), "StorageConfig")
            self.mapped(doc, field, ("storage", "banyandb", "persistence", "enabled"), True)
            if item.get("name"):
                self.not_mapped(doc, field + ".name", "the collection's StatefulSet makes its own claims: SWCK's PVC "
                                                      "%s-banyandb is not reused (copy the data or start empty)" %
                                item["name"])
            if item.get("path"):
                self.not_mapped(doc, field + ".path", "the collection mounts BanyanDB's data at its own path")
            pvc = item.get("persistentVolumeClaimSpec") or {}
            if not isinstance(pvc, dict):
                self.not_mapped(doc, field + ".persistentVolumeClaimSpec", "must be a mapping")
                continue
            prefix = field + ".persistentVolumeClaimSpec"
            for key, value in pvc.items():
                sub = "%s.%s" % (prefix, key)
                if key == "resources":
                    size = ((value or {}).get("requests") or {}).get("storage") if isinstance(value, dict) else None
                    if size is not None:
                        self.mapped(doc, sub + ".requests.storage", ("storage", "banyandb", "persistence", "size"),
                                    str(size))
                    extra = {k: v for k, v in (value or {}).items() if k != "requests"} if isinstance(value, dict) else {}
                    if extra:
                        self.not_mapped(doc, sub, "only requests.storage has a spec option", detail=", ".join(extra))
                elif key == "storageClassName":
                    self.mapped(doc, sub, ("storage", "banyandb", "persistence", "storage_class"), value)
                elif key == "accessModes" and value in (["ReadWriteOnce"], ["ReadWriteOncePod"]):
                    self.add(doc, sub, MAPPED, "the collection's claims are ReadWriteOnce",
                             target="storage.banyandb.persistence")
                elif key == "volumeMode" and value == "Filesystem":
                    self.add(doc, sub, MAPPED, "the collection's claims are Filesystem volumes",
                             target="storage.banyandb.persistence")
                else:
                    self.not_mapped(doc, sub, "the spec has no option for it (storage.banyandb.persistence has "
                                              "size and storage_class)")

    # ------------------------------------------------------------------ UI

    def map_ui(self):
        doc = self.single("UI", "the collection runs one UI per cluster")
        if doc is None:
            return
        spec = doc.spec
        self.unknown(doc, "spec", spec, FIELDS["UI"])
        flavour = spec.get("kind") or _flavour_of_image(spec.get("image")) or "horizon"
        if flavour not in versions.UI_FLAVOURS:
            raise SpecError("%s spec.kind" % doc.label, "%r: must be horizon or booster" % (flavour,))
        if self.oap_line is not None and flavour not in self.oap_line.ui_flavours:
            raise SpecError("%s spec.kind" % doc.label, "the %s UI does not work with OAP %s (%s spec.version): use "
                                                        "%s" % (flavour, self.oap_version, self.oap.label,
                                                                " or ".join(self.oap_line.ui_flavours)))
        if self.oap_line is None and flavour not in versions.LINES[versions.CURRENT].ui_flavours:
            self.not_mapped(doc, "spec.kind", "the %s UI needs OAP %s and the OAP version is not mapped; the UI of the "
                                              "spec's version applies" % (flavour, versions.PREVIOUS))
            flavour = None
        else:
            self.mapped(doc, "spec.kind", ("ui", "flavour"), flavour, detail=None if spec.get("kind") else
                        ("the image's flavour" if _flavour_of_image(spec.get("image")) else "SWCK's default"))
        version = spec.get("version")
        mapped_version = None
        if flavour is not None and version not in (None, ""):
            version = str(version)
            mapped_version = self.ui_version(doc, flavour, version)
        if spec.get("image") and flavour is not None:
            default = versions.ui_image(flavour, mapped_version) if mapped_version else None
            self.image(doc, "spec.image", spec["image"], ("images", "ui"), default, mapped_version, "UI")
        elif spec.get("image"):
            self.not_mapped(doc, "spec.image", "the UI flavour is not mapped, so neither is its image")
        elif flavour == versions.HORIZON and mapped_version:
            self.note(doc, "spec.image", "SWCK's default Horizon image is apache/skywalking-horizon-ui:%s; the "
                                         "collection uses %s" % (mapped_version,
                                                                 versions.ui_image(flavour, mapped_version)))
        self.replicas(doc, "spec.instances", spec.get("instances"), ("ui", "replicas"))
        for key, what in (("OAPServerAddress", "query"), ("OAPServerAdminAddress", "admin"),
                          ("OAPServerZipkinAddress", "Zipkin")):
            address = spec.get(key)
            if not address:
                continue
            if self.points_at_oap(address):
                self.add(doc, "spec.%s" % key, MAPPED, "the collection points the UI at this cluster's OAP (%s)" % what,
                         target="ui")
            else:
                self.not_mapped(doc, "spec.%s" % key, "the collection points the UI at this cluster's OAP; another "
                                                      "OAP cannot be set")
        if spec.get("config"):
            self.not_mapped(doc, "spec.config", "a raw horizon.yaml (not copied: it may hold users); the collection "
                                                "generates Horizon's configuration: put the users JSON in a Secret "
                                                "(ui.users_secret)")
        service = spec.get("service")
        if isinstance(service, dict):
            self.unknown(doc, "spec.service", service, ("template", "ingress"), "Service")
            self.service_template(doc, "spec.service.template", service.get("template"), ("ui", "service"))
            self.ui_ingress(doc, service.get("ingress"))
        elif service is not None:
            self.not_mapped(doc, "spec.service", "must be a mapping")

    def ui_version(self, doc, flavour, version):
        try:
            versions.split(version)
        except versions.VersionError:
            self.not_mapped(doc, "spec.version", "%r is not a version; the UI version of the spec applies" % version)
            return None
        if flavour == versions.HORIZON and not version.startswith("0."):
            self.not_mapped(doc, "spec.version", "Horizon %s: Horizon has its own releases (0.x; %s is an OAP "
                                                 "version); the spec's Horizon version applies" % (version, version))
            return None
        if flavour == versions.BOOSTER and self.oap_line is not None:
            try:
                versions.check_ui(self.oap_line, flavour, version, self.oap_version)
            except versions.VersionError as exc:
                raise SpecError("%s spec.version" % doc.label, "%s (%s spec.version)" % (exc, self.oap.label))
        elif flavour == versions.BOOSTER:
            self.not_mapped(doc, "spec.version", "the booster UI follows the OAP version, which is not mapped")
            return None
        self.mapped(doc, "spec.version", ("ui", "version"), version)
        return version

    def ui_ingress(self, doc, ingress):
        if ingress is None:
            return
        field = "spec.service.ingress"
        if not isinstance(ingress, dict):
            self.not_mapped(doc, field, "must be a mapping")
            return
        self.unknown(doc, field, ingress, ("annotations", "host", "ingressClassName", "tls"), "Ingress")
        if not ingress.get("host"):
            if any(ingress.values()):
                self.not_mapped(doc, field, "SWCK creates the Ingress only with a host")
            return
        self.mapped(doc, field + ".host", ("ui", "ingress", "enabled"), True,
                    message="mapped to ui.ingress.enabled=true (SWCK creates it when host is set)")
        self.mapped(doc, field + ".host", ("ui", "ingress", "host"), ingress["host"])
        if ingress.get("ingressClassName"):
            self.mapped(doc, field + ".ingressClassName", ("ui", "ingress", "class_name"), ingress["ingressClassName"])
        if ingress.get("annotations"):
            self.mapped(doc, field + ".annotations", ("ui", "ingress", "annotations"), dict(ingress["annotations"]))
        tls = ingress.get("tls") or []
        if not isinstance(tls, list):
            self.not_mapped(doc, field + ".tls", "must be a list of IngressTLS")
            return
        for index, item in enumerate(tls):
            sub = "%s.tls[%d]" % (field, index)
            if not isinstance(item, dict):
                self.not_mapped(doc, sub, "must be a mapping")
                continue
            hosts = item.get("hosts") or [ingress["host"]]
            if index == 0 and item.get("secretName") and ingress["host"] in hosts:
                self.mapped(doc, sub + ".secretName", ("ui", "ingress", "tls_secret"), item["secretName"])
                extra = [h for h in hosts if h != ingress["host"]]
                if extra:
                    self.not_mapped(doc, sub + ".hosts", "the UI Ingress has one host (%s)" % ", ".join(extra))
                elif item.get("hosts"):
                    self.add(doc, sub + ".hosts", MAPPED, "the certificate is for ui.ingress.host",
                             target="ui.ingress.tls_secret")
            else:
                self.not_mapped(doc, sub, "the UI Ingress has one TLS Secret, for ui.ingress.host")

    # ------------------------------------------------------------------ Satellite

    def map_satellite(self):
        doc = self.single("Satellite", "the collection runs one Satellite Deployment per cluster")
        if doc is None:
            return
        spec = doc.spec
        self.unknown(doc, "spec", spec, FIELDS["Satellite"])
        self.add(doc, None, MAPPED, "mapped to satellite.enabled=true", target="satellite.enabled")
        self.raw.setdefault("satellite", {})["enabled"] = True
        self.origins["satellite.enabled"] = (doc, None)
        version = spec.get("version")
        mapped_version = None
        if version not in (None, ""):
            version = str(version)
            plain = version[1:] if version.startswith("v") else version
            try:
                versions.split(plain)
            except versions.VersionError:
                self.not_mapped(doc, "spec.version", "%r is not a version; the spec's Satellite version applies" % version)
            else:
                mapped_version = plain
                self.mapped(doc, "spec.version", ("satellite", "version"), plain)
        if spec.get("image"):
            self.image(doc, "spec.image", spec["image"], ("images", "satellite"),
                       versions.satellite_image(mapped_version) if mapped_version else None, mapped_version, "Satellite")
        self.replicas(doc, "spec.instances", spec.get("instances"), ("satellite", "replicas"))
        target_oap = spec.get("OAPServerName")
        if target_oap:
            if self.oap is not None and target_oap != self.oap.name:
                raise SpecError("%s spec.OAPServerName" % doc.label, "targets OAPServer %r, but the OAPServer among "
                                                                     "the documents is %s: the collection's Satellite "
                                                                     "always proxies to this cluster's OAP" % (
                                                                         target_oap, self.oap.label))
            self.add(doc, "spec.OAPServerName", MAPPED, "the collection's Satellite finds this cluster's OAP pods",
                     target="satellite")
        elif self.oap is not None and doc.name != self.oap.name:
            self.note(doc, "spec.OAPServerName", "unset, so SWCK pointed Satellite at OAPServer %r (its own name), "
                                                 "not %s; the collection points it at this cluster's OAP" % (
                                                     doc.name, self.oap.label))
        for env in self.last_wins(self.env_list(doc, "spec.config", spec.get("config"))).values():
            if env.name in _SATELLITE_FINDER_ENV:
                self.not_mapped(env.doc, env.field, "the collection points Satellite at this cluster's OAP pods "
                                                    "(kubernetes finder)", detail=env.name)
            else:
                self.put_env(env, "satellite")
        if spec.get("service") is not None:
            self.service(doc, "spec.service", spec["service"], ("satellite", "service"))

    # ------------------------------------------------------------------ OAP config

    def map_files(self, doc):
        files = doc.spec.get("file")
        if not files:
            return
        if not isinstance(files, list):
            self.not_mapped(doc, "spec.file", "must be a list")
            return
        for index, item in enumerate(files):
            field = "spec.file[%d]" % index
            if not isinstance(item, dict):
                self.not_mapped(doc, field, "must be a mapping")
                continue
            self.unknown(doc, field, item, ("name", "path", "data"), "FileConfig")
            name = item.get("name")
            path = str(item.get("path") or "").rstrip("/")
            if not name:
                self.not_mapped(doc, field, "no name")
                continue
            full = "%s/%s" % (path, name)
            base = "/skywalking/config/"
            if not full.startswith(base):
                self.not_mapped(doc, field, "mounted at %s: the collection places files under %s only" % (full, base),
                                detail=name)
                continue
            relative = full[len(base):]
            data = item.get("data")
            if not isinstance(data, str):
                self.not_mapped(doc, field, "data must be a string", detail=relative)
                continue
            found = _file_credentials(data)
            if found:
                self.add(doc, field, NEEDS_SECRET, "not copied: line %d (key %s) holds what looks like a plaintext "
                                                   "credential; write it as ${SW_...} with that env variable "
                                                   "referencing a Secret in oap.env, then add the file to "
                                                   "oap.config_files" % found, detail=relative)
                continue
            self.mapped(doc, field, ("oap", "config_files", relative), data, detail=relative)

    def map_oap_config(self, oap_envs):
        matching = [d for d in self.docs["OAPServerConfig"] if self.same_version(d, "OAPServerConfig")]
        if len(matching) > 1:
            raise SpecError("%s spec.version" % matching[1].label, "a second OAPServerConfig for the same OAP (besides "
                                                                   "%s): SWCK's controllers would fight" %
                            matching[0].label)
        for doc in self.docs["OAPServerConfig"]:
            self.unknown(doc, "spec", doc.spec, FIELDS["OAPServerConfig"])
        if not matching:
            return oap_envs
        doc = matching[0]
        envs = self.env_list(doc, "spec.env", doc.spec.get("env"))
        if envs:
            self.note(doc, "spec.env", "SWCK replaced the OAP container's whole env with this list; the collection "
                                       "merges it over OAPServer spec.config and keeps its own settings")
        self.map_files(doc)
        return oap_envs + envs

    def map_dynamic_config(self):
        matching = [d for d in self.docs["OAPServerDynamicConfig"] if self.same_version(d, "OAPServerDynamicConfig")]
        values = {}
        for doc in self.docs["OAPServerDynamicConfig"]:
            self.unknown(doc, "spec", doc.spec, FIELDS["OAPServerDynamicConfig"])
        if matching and self.get("oap", "dynamic_config", "enabled") is False:
            for doc in matching:
                self.not_mapped(doc, None, "OAP's SW_CONFIGURATION is not k8s-configmap, so OAP never read this "
                                           "ConfigMap (oap.dynamic_config.enabled is false)")
            return
        if matching and self.get("oap", "dynamic_config", "enabled") is None:
            self.note(matching[0], None, "SWCK's OAP read this ConfigMap only with SW_CONFIGURATION=k8s-configmap "
                                         "(not set in the documents); the collection's OAP reads it")
        for doc in matching:
            if doc.spec.get("labelSelector"):
                self.add(doc, "spec.labelSelector", MAPPED, "the collection labels its dynamic-config ConfigMap with "
                                                            "exactly what its OAP selects", target="oap.dynamic_config")
            data = doc.spec.get("data") or []
            if not isinstance(data, list):
                self.not_mapped(doc, "spec.data", "must be a list of name/value")
                continue
            for index, item in enumerate(data):
                field = "spec.data[%d]" % index
                if not isinstance(item, dict) or not item.get("name"):
                    self.not_mapped(doc, field, "must be a mapping with name and value")
                    continue
                self.unknown(doc, field, item, ("name", "value"), "Config")
                key = str(item["name"])
                if key in values:
                    earlier = values[key]
                    self.not_mapped(earlier[0], earlier[1], "overridden by %s %s" % (doc.label, field), detail=key)
                values[key] = (doc, field)
                value = item.get("value")
                self.mapped(doc, field, ("oap", "dynamic_config", "values", key),
                            "" if value is None else cluster_spec.env_text(value), detail=key)
        if matching:
            self.mapped(matching[0], None, ("oap", "dynamic_config", "enabled"), True)

    # ------------------------------------------------------------------ telemetry

    def map_fetcher(self):
        doc = self.single("Fetcher", "the collection runs one fetcher per cluster")
        if doc is None:
            return
        spec = doc.spec
        self.unknown(doc, "spec", spec, FIELDS["Fetcher"])
        types = spec.get("type") or []
        if not isinstance(types, list):
            types = [types]
        if "prometheus" in types:
            self.mapped(doc, "spec.type", ("telemetry", "fetcher", "enabled"), True)
        for index, kind in enumerate(types):
            if kind != "prometheus":
                self.not_mapped(doc, "spec.type[%d]" % index, "%r: the fetcher scrapes Prometheus metrics only" % (kind,))
        if "prometheus" not in types:
            self.not_mapped(doc, "spec.type", "no prometheus fetcher: nothing to deploy")
        self.note(doc, None, "SWCK's fetcher scraped every pod annotated prometheus.io/scrape and exported over "
                             "OpenCensus (removed from OAP in 9.5.0); the collection's scrapes OAP's own metrics "
                             "(port 1234) and exports over OTLP for OAP's self-observability dashboards")
        address = spec.get("OAPServerAddress")
        if address and self.points_at_oap(address):
            self.add(doc, "spec.OAPServerAddress", MAPPED, "the collection's fetcher exports to this cluster's OAP "
                                                           "(gRPC 11800)", target="telemetry.fetcher")
        elif address:
            self.not_mapped(doc, "spec.OAPServerAddress", "the collection's fetcher exports to this cluster's OAP; "
                                                          "another OAP cannot be set")
        if spec.get("clusterName"):
            self.not_mapped(doc, "spec.clusterName", "the collection labels the metrics for OAP's so11y rule "
                                                     "(service, host_name), not with a cluster label")

    def map_event_exporter(self):
        doc = self.single("EventExporter", "the collection runs one event exporter per cluster")
        if doc is None:
            return
        spec = doc.spec
        self.unknown(doc, "spec", spec, FIELDS["EventExporter"])
        self.raw.setdefault("telemetry", {}).setdefault("event_exporter", {})["enabled"] = True
        self.origins["telemetry.event_exporter.enabled"] = (doc, None)
        self.add(doc, None, MAPPED, "mapped to telemetry.event_exporter.enabled=true",
                 target="telemetry.event_exporter.enabled")
        version = spec.get("version")
        image = spec.get("image")
        if image:
            if version not in (None, ""):
                self.add(doc, "spec.version", NOTE, "SWCK runs spec.image; the version only names it")
            self.image(doc, "spec.image", image, ("images", "event_exporter"), versions.event_exporter_image(),
                       versions.EVENT_EXPORTER_VERSION, "event exporter")
        elif version not in (None, ""):
            # SWCK's webhook: image apache/skywalking-kubernetes-event-exporter:<version> (latest by default).
            self.image(doc, "spec.version", versions.event_exporter_image(str(version)), ("images", "event_exporter"),
                       versions.event_exporter_image(), versions.EVENT_EXPORTER_VERSION, "event exporter")
        replicas = spec.get("replicas")
        if replicas not in (None, 1):
            self.not_mapped(doc, "spec.replicas", "the collection runs one exporter (more would export every event "
                                                  "several times)")
        elif replicas == 1:
            self.add(doc, "spec.replicas", MAPPED, "one exporter, as the collection runs it",
                     target="telemetry.event_exporter")
        config = spec.get("config")
        if config:
            self.exporter_config(doc, config)

    def exporter_config(self, doc, text):
        field = "spec.config"
        config = _load_yaml(text) if isinstance(text, str) else None
        if not isinstance(config, dict):
            self.not_mapped(doc, field, "not a YAML mapping; the collection generates the exporter's config")
            return
        self.unknown(doc, field, config, ("filters", "exporters"), "event exporter config")
        filters = config.get("filters") or []
        namespaces = set()
        everything = False
        for index, item in enumerate(filters if isinstance(filters, list) else []):
            sub = "%s filters[%d]" % (field, index)
            if not isinstance(item, dict):
                self.not_mapped(doc, sub, "must be a mapping")
                continue
            regex = item.get("namespace") or ""
            match = _NS_REGEX.match(regex) if regex else None
            if not regex:
                everything = True
            elif match:
                namespaces.update((match.group(1) or match.group(2)).split("|"))
            else:
                self.not_mapped(doc, sub + ".namespace", "%r: only exact namespaces (^ns$ or ^(a|b)$) map to "
                                                         "telemetry.event_exporter.namespaces" % regex)
            for key, value in item.items():
                if key in ("namespace", "exporters") or value in (None, "", 0, 1) and key == "minCount" or \
                        value in (None, ""):
                    continue
                self.not_mapped(doc, "%s.%s" % (sub, key), "the collection filters events by namespace only")
        if namespaces and not everything:
            self.mapped(doc, field + " filters[*].namespace", ("telemetry", "event_exporter", "namespaces"),
                        sorted(namespaces))
        exporters = config.get("exporters") or {}
        for name, exporter in (exporters.items() if isinstance(exporters, dict) else []):
            sub = "%s exporters.%s" % (field, name)
            if name != "skywalking" or not isinstance(exporter, dict):
                self.not_mapped(doc, sub, "the collection exports to SkyWalking only")
                continue
            for key, value in exporter.items():
                if key == "address":
                    if self.points_at_oap(value):
                        self.add(doc, sub + ".address", MAPPED, "the collection's exporter sends to this cluster's OAP",
                                 target="telemetry.event_exporter")
                    else:
                        self.not_mapped(doc, sub + ".address", "the collection's exporter sends to this cluster's OAP")
                elif key == "template":
                    self.not_mapped(doc, sub + ".template", "the collection uses the exporter's standard template")
                elif value not in (None, "", False):
                    self.not_mapped(doc, "%s.%s" % (sub, key), "the spec has no exporter TLS options")


_OAP_OPTION_ENV = {
    "JAVA_OPTS": _Migration._java_opts,
    "SW_CORE_ROLE": _Migration._role,
    "SW_HEALTH_CHECKER": _Migration._health,
    "SW_TELEMETRY": _Migration._telemetry,
    "SW_CONFIGURATION": _Migration._configuration,
    "SW_CONFIG_CONFIGMAP_PERIOD": _Migration._period,
    "SW_ADMIN_SERVER": _Migration._admin,
}


def _file_credentials(data):
    """``(line, key)`` of the first ``password: literal``-style line of a config file, or None.

    A ``${ENV:default}`` placeholder (how OAP's own files read credentials) is not a literal.
    """
    for number, line in enumerate(data.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        match = _FILE_CREDENTIAL.match(line)
        if not match:
            continue
        value = match.group(2).split(" #", 1)[0].strip()
        if value in ("", '""', "''", "~", "null") or _PLACEHOLDER.match(value):
            continue
        return number, match.group(1)
    return None


def _load_yaml(text):
    # Imported when used: module_utils may not import PyYAML at import time.
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _flatten(documents):
    """``[(where, object)]``: a list, one object, or ``List`` objects (nested), in order."""
    if documents is None:
        return []
    if isinstance(documents, dict):
        items = [("documents[0]", documents)]
    elif isinstance(documents, (list, tuple)):
        items = [("documents[%d]" % i, d) for i, d in enumerate(documents)]
    else:
        raise SpecError("documents", "must be a list of objects or one object, not %s" % type(documents).__name__)
    out = []
    while items:
        where, obj = items.pop(0)
        if isinstance(obj, dict) and str(obj.get("kind") or "").endswith("List") and isinstance(obj.get("items"), list):
            items = [("%s.items[%d]" % (where, j), item) for j, item in enumerate(obj["items"])] + items
            continue
        out.append((where, obj))
    return out


def _origin_text(migration, field):
    """``Kind/name spec.x (-> field)`` for a spec field path, via the longest mapped prefix."""
    best = None
    for path in migration.origins:
        if field == path or field.startswith(path + ".") or field.startswith(path + "["):
            if best is None or len(path) > len(best):
                best = path
    if best is None:
        return field, None
    doc, source = migration.origins[best]
    where = " ".join(part for part in (doc.label if doc is not None else None, source) if part)
    return "%s (-> %s)" % (where, field), doc


def _validate(migration):
    try:
        _spec, warnings = cluster_spec.normalize(migration.raw)
    except cluster_spec.SpecProblems as exc:
        raise cluster_spec.SpecProblems([(_origin_text(migration, field)[0], problem)
                                         for field, problem in exc.problems])
    for text in warnings:
        match = _WARNING_PATH.match(text)
        field = match.group(1) if match else None
        where, doc = _origin_text(migration, field) if field else (None, None)
        entry = migration.add(doc, None, WARNING, text, target=field)
        entry["text"] = "%s: warning: %s" % (where, text[len(field):].lstrip(": ")) if doc else "warning: %s" % text


def from_swck(documents, name=None, namespace=None, credentials_secret=None, validate=True, version=None):
    """Map SWCK custom resources onto the cluster spec: ``(raw_spec, report)``.

    ``documents``: parsed objects (a list, one object, or ``List`` objects); objects of other API
    groups are reported as ignored.  ``name``/``namespace`` default to the OAPServer's (else the
    first SWCK document's) ``metadata.name``/``metadata.namespace``.  ``credentials_secret``
    names the Secret the spec references for plaintext credentials found in the documents
    (default ``<name>-swck-credentials``): each such value is left out and reported with the
    key to store it under.

    ``raw_spec`` is a sparse spec mapping (only what the documents say, for merging under
    explicit options) that :func:`.spec.normalize` accepts.  ``report`` is a list of entries
    ``{document: "Kind/name" or None, field: "spec.x" or None, status, target: spec path or
    None, message, text[, secret: {name, key or keys}]}`` (``secret`` where the spec references a
    Secret for a value that was not copied) with ``status`` one of ``mapped``,
    ``not_mapped``, ``needs_secret``, ``note``, ``ignored``, ``warning`` (normalize's warnings
    about mapped values); ``text`` is the one-line form, e.g. ``OAPServer/default spec.config[3]
    (SW_FOO): kept as oap.env.SW_FOO``.  No entry contains a credential's value.

    With ``validate`` (the default) the result is normalised once; its problems are raised as
    :class:`.spec.SpecProblems` naming the SWCK document and field they come from.  Raises
    SpecError ``Kind/name field: problem`` for inputs that cannot be one cluster: a second
    OAPServer (or UI, BanyanDB, Satellite, Fetcher, EventExporter), documents of several
    namespaces, a Storage reference to a missing document, an unsupported storage, incompatible
    versions (BanyanDB or the booster UI for the OAP line), a Satellite for another OAPServer, an
    OAPServer version this collection does not deploy unless ``version`` (the OAP version the caller
    sets explicitly, which wins over the documents') is given: another version is an upgrade with a
    schema migration, never made silently.
    """
    migration = _Migration(name, namespace, credentials_secret, version)
    migration.collect(documents)
    migration.oap = migration.single("OAPServer", "migrate each OAPServer to its own cluster spec (oap.mode: split "
                                                  "runs receivers and aggregators in one)")
    if migration.oap is not None:
        migration.oap_name = migration.oap.name
    migration.identity()
    if migration.oap_name is None:
        migration.oap_name = migration.raw["name"]
    migration.map_oap()
    if version is not None:
        migration.raw["version"] = version
    oap_envs = []
    if migration.oap is not None:
        oap_envs = migration.env_list(migration.oap, "spec.config", migration.oap.spec.get("config"))
    oap_envs = migration.map_oap_config(oap_envs)
    storage_env = migration.oap_env(migration.last_wins(oap_envs))
    migration.map_storage(storage_env)
    migration.finish_url_credentials()
    migration.map_ui()
    migration.map_satellite()
    migration.map_dynamic_config()
    migration.map_fetcher()
    migration.map_event_exporter()
    if validate:
        _validate(migration)
    return migration.raw, migration.sorted_report()


def report_lines(report, statuses=None):
    """The ``text`` of each report entry (of the given statuses), in order."""
    return [entry["text"] for entry in report if statuses is None or entry["status"] in statuses]


def unmapped(report):
    """Entries that need the user's attention: not mapped, needing a Secret, warnings."""
    return [entry for entry in report if entry["status"] in (NOT_MAPPED, NEEDS_SECRET, WARNING)]


def overlay(base, explicit):
    """``explicit`` over ``base`` (both raw specs): mappings merge key by key, other values replace;
    ``None`` in ``explicit`` (an option not given) keeps ``base``.  Returns a new mapping."""
    out = dict(base or {})
    for key, value in (explicit or {}).items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = value
    return out


def _flavour_of_image(image):
    """The UI flavour an image is (None when it does not tell): ``apache/skywalking-ui:10.4.0`` is the
    booster UI, ``apache/skywalking-ui:horizon-0.7.0`` and ``*skywalking-horizon-ui*`` are Horizon."""
    if not image or not isinstance(image, str):
        return None
    name, _colon, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    if "horizon" in name:
        return "horizon"
    if name.endswith("skywalking-ui"):
        return "horizon" if tag.startswith("horizon") else ("booster" if tag else None)
    return None
