# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The declarative description of one SkyWalking cluster, defined once.  Pure.

``SCHEMA`` is the single source of truth.  From it come:

* :func:`normalize` -- validation and normalisation: ``normalize(raw) -> (spec, warnings)``.
  Every problem is collected; if there is any, one :class:`SpecProblems` (a ``SpecError``) is
  raised whose message lists each ``path: problem`` and whose ``field`` is the first path.
  Secret values never appear in messages.
* :func:`argument_spec` / :func:`documentation` -- the Ansible argument spec and the
  DOCUMENTATION ``options`` of the ``skywalking.swck.cluster`` module, or of a component
  module's slice (:data:`SLICES`); ``hack/gen_docs.py`` writes them into module files, the
  role's ``meta/argument_specs.yml`` and ``docs/cluster-spec.md``.

The option names follow SWCK's CRD fields and the SkyWalking Helm chart's values where that
makes sense, in snake_case.  ``{name: skywalking, namespace: skywalking}`` alone is a working
cluster: OAP x2 (mixed), Horizon (11.0) or booster (10.4) UI, BanyanDB standalone, schema
init Job, PodDisruptionBudget and NetworkPolicies.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.manifest import (
    is_dns_label,
    is_dns_subdomain,
    is_label_value,
    is_qualified_key,
)

from . import names, oap_env, quantities, sizing, versions
from .schema import Computed, Opt, Problems, fill_computed, join_path, normalize_options, select
from . import schema as _schema

STORAGE_TYPES = ("banyandb", "elasticsearch", "opensearch", "mysql", "postgresql")
EXTERNAL_TYPES = ("elasticsearch", "opensearch", "mysql", "postgresql")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
PULL_POLICIES = ("IfNotPresent", "Always", "Never")

# Config files under OAP's config/ that do not shape the storage schema (mounted into serving
# pods only, so changing them does not re-run the init Job).
NON_SCHEMA_FILES = frozenset([
    "log4j2.xml", "alarm-settings.yml", "component-libraries.yml", "endpoint-name-grouping.yml",
    "gateways.yml", "service-apdex-threshold.yml", "trace-sampling-policy-settings.yml",
    "metadata-service-mapping.yaml", "ui-initialized-templates",
])

# Env names whose plain value is a credential: anywhere in the name, any case (SW_ES_PASSWORD,
# MYPASSWORD, sw_es_password), plus OAP's authentication tokens (SW_AUTHENTICATION,
# SW_CLUSTER_ETCD_AUTHENTICATION) and access keys (SW_RECEIVER_AWS_FIREHOSE_ACCESS_KEY).
_CREDENTIAL_ENV = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|AUTHENTICATION|ACCESS_?KEY|"
                             r"API_?KEY|PRIVATE_?KEY|(?:^|_)PASS(?:_|$)|(?:^|_)PWD(?:_|$)", re.IGNORECASE)


def is_credential_env(name):
    """Whether an env name looks like it holds a credential (its plain value is refused)."""
    return isinstance(name, str) and bool(_CREDENTIAL_ENV.search(name))


_CONFIG_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?$")
_TOLERATION_KEYS = frozenset(["key", "operator", "value", "effect", "tolerationSeconds"])
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
CONFIGMAP_LIMIT = 1000 * 1024  # bytes; the API server refuses ConfigMaps over 1 MiB (leave room for metadata)
# The normalised spec is recorded as compact JSON in the ApplySet parent ConfigMap (1 MiB at most, etcd's
# request limit about 1.5 MiB): it stays well below, config files, dynamic configuration and env included.
SPEC_LIMIT = 800 * 1024
# Linux refuses to start a process with an environment string (NAME=value and its NUL) over 32 pages
# (MAX_ARG_STRLEN, 128 KiB): the container would fail after every object was written.
ENV_VAR_LIMIT = 128 * 1024
# Kubernetes keeps replicas, ports, seconds, UIDs/GIDs as 32-bit integers: the default maximum of an int.
INT32_MAX = 2 ** 31 - 1
INT32_MIN = -2 ** 31
_CONFIGMAP_KEY_MAX = 253
_DOTTED_QUAD = re.compile(r"^[0-9]+(\.[0-9]+){3}$")
_CIDR_FORM = re.compile(r"^[0-9A-Fa-f:.]+/[0-9]{1,3}$")


class SpecProblems(SpecError):
    """Several spec problems at once: ``problems`` is ``[(field, problem)]``; ``field`` the first one."""

    def __init__(self, problems):
        problems = list(problems)
        super().__init__(problems[0][0], problems[0][1])
        self.problems = problems
        if len(problems) > 1:
            self.msg = "; ".join("%s: %s" % pair for pair in problems)
            self.args = (self.msg,)
        self.details["problems"] = [{"field": f, "problem": p} for f, p in problems]


# --------------------------------------------------------------------------- checks


def _check_dns_label(value):
    if not is_dns_label(value):
        return ("%r is not a valid name: lowercase letters, digits and '-', starting and ending with a letter or "
                "digit, at most 63 characters" % (value,))
    return None


def _check_dns_subdomain(value):
    if not is_dns_subdomain(value):
        return "%r is not a valid object name (lowercase RFC 1123 subdomain)" % (value,)
    return None


def _check_label_map(mapping):
    for key, value in mapping.items():
        if not is_qualified_key(key):
            return "%r is not a valid label key" % (key,)
        if not is_label_value(value):
            return "%r (for %s) is not a valid label value (at most 63 characters: letters, digits, '-', '_', '.')" % (
                value, key)
        if key in names.RESERVED_LABELS or key.startswith(names.RESERVED_PREFIX):
            return "%s is set by the collection and cannot be overridden" % key
    return None


def _check_annotation_map(mapping):
    for key in mapping:
        if not is_qualified_key(key):
            return "%r is not a valid annotation key" % (key,)
        if key.startswith(names.RESERVED_PREFIX):
            return "%s is set by the collection and cannot be overridden" % key
    return None


def _check_cidrs(values):
    """Each value a CIDR ``address/prefix`` without host bits (``10.0.0.1/8`` is refused, naming ``10.0.0.0/8``)."""
    for index, value in enumerate(values):
        try:
            if not _CIDR_FORM.match(value):
                raise ValueError(value)
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return "%r (item %d) is not a CIDR (e.g. 10.0.0.0/8)" % (value, index)
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError:
            return "%r (item %d) has host bits set: the network is %s" % (
                value, index, ipaddress.ip_network(value, strict=False))
    return None


def _check_optional_dns_subdomain(value):
    """An object name (IngressClass, StorageClass); empty means unset (the cluster's default)."""
    return None if value == "" else _check_dns_subdomain(value)


def configmap_key_problem(key):
    """Why ``key`` cannot be a ConfigMap or Secret key (Kubernetes' IsConfigMapKey), or None.

    The text follows the key (``"a b" is not a valid key ...``).
    """
    if not isinstance(key, str) or not key:
        return "must not be empty"
    if len(key) > _CONFIGMAP_KEY_MAX:
        return "is not a valid key: %d characters, at most %d" % (len(key), _CONFIGMAP_KEY_MAX)
    if not _CONFIGMAP_KEY.match(key):
        return "is not a valid key (letters, digits, '-', '_', '.')"
    if key in (".", "..") or key.startswith(".."):
        return "is not a valid key (it must not be '.' or '..' or start with '..')"
    return None


def _short(text):
    return text if len(text) <= 60 else text[:57] + "..."


def _check_key(value):
    problem = configmap_key_problem(value)
    return None if problem is None else "Secret key %r %s" % (_short(value), problem)


def _check_optional_key(value):
    """A Secret key where empty means none (a TLS CA)."""
    return None if value == "" else _check_key(value)


def _check_image(value):
    return versions.image_problem(value)


def _check_registry(value):
    return versions.registry_problem(value)


def _is_ip(value):
    """Whether Kubernetes reads ``value`` as an IP address (its sloppy parser also takes ``010.0.0.1``)."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    return bool(_DOTTED_QUAD.match(value)) and all(int(part) <= 255 for part in value.split("."))


def _check_ingress_host(value):
    """An Ingress host: a DNS name (lowercase RFC 1123 subdomain) or ``*.`` and one, never an IP address."""
    if _is_ip(value):
        return "%r is an IP address: an Ingress host must be a DNS name (leave it unset to match every host)" % (
            value,)
    name = value[2:] if value.startswith("*.") else value
    if len(value) > 253 or not is_dns_subdomain(name):
        return ("%r is not a valid object name: a host must be a lowercase RFC 1123 subdomain, optionally starting "
                "with '*.'" % (value,))
    return None


def _check_addresses(values):
    for value in values:
        if not _ADDRESS.match(value):
            return "%r is not host[:port]" % (value,)
        port = value.rsplit(":", 1)[1] if ":" in value and not value.endswith("]") else None
        if port is not None and not 1 <= int(port) <= 65535:
            return "%r: port must be between 1 and 65535" % (value,)
    return None


def _check_positive_quantity(value):
    if quantities.compare(value, 0) <= 0:
        return "must be greater than 0 (got %s)" % value
    return None


def _check_java_opts(value):
    if "-Dmode=" in value:
        return "must not set -Dmode (the collection runs the init Job with -Dmode=init and OAP with -Dmode=no-init)"
    size = len(value.encode("utf-8"))
    if size > ENV_VAR_LIMIT - 1024:
        return "is %d bytes; it goes into JAVA_OPTS, and one environment variable must stay below 128 KiB" % size
    return None


def _int32(opt):
    """Give an int option without a maximum the 32-bit bounds (a check: its own messages stay as they are)."""
    inner = opt.check

    def check(value):
        if value > INT32_MAX:
            return "must be <= %d (got %d): Kubernetes keeps it as a 32-bit integer" % (INT32_MAX, value)
        if value < INT32_MIN:
            return "must be >= %d (got %d): Kubernetes keeps it as a 32-bit integer" % (INT32_MIN, value)
        return inner(value) if inner is not None else None
    opt.check = check


def _bound_ints(options):
    for opt in options.values():
        if opt.type == "int" and opt.maximum is None:
            _int32(opt)
        if opt.options is not None:
            _bound_ints(opt.options)


# --------------------------------------------------------------------------- computed defaults


def _line(root):
    try:
        return versions.resolve_oap(root.get("version"))[0]
    except versions.VersionError:
        return versions.LINES[versions.CURRENT]


def _flavour(root):
    return (root.get("ui") or {}).get("flavour") or _line(root).default_ui


def _ui_version(root):
    given = (root.get("ui") or {}).get("version")
    if given:
        return given
    return versions.default_ui_version(_line(root), _flavour(root), root.get("version") or _line(root).oap_version)


def _banyandb_version(root):
    given = ((root.get("storage") or {}).get("banyandb") or {}).get("version")
    return given or _line(root).banyandb_version


def _satellite_version(root):
    return (root.get("satellite") or {}).get("version") or _line(root).satellite_version


def _registry(root):
    return (root.get("images") or {}).get("registry")


def _profile(root):
    return root.get("sizing") or sizing.DEFAULT_PROFILE


def _lookup(root, path):
    node = root
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _resource_default(component, path, kind, name):
    """The profile's value; a request never above the given limit, a limit never below the given request."""
    def compute(root):
        value = sizing.resource(component, _profile(root), kind, name)
        other = _lookup(root, path + ("limits" if kind == "requests" else "requests", name))
        if other is not None and quantities.compare(value, other) == (1 if kind == "requests" else -1):
            return other
        return value
    table = ", ".join("%s: %s" % (p, sizing.resource(component, p, kind, name)) for p in sizing.PROFILES)
    bound = "at most the limit" if kind == "requests" else "at least the request"
    return Computed(compute, "from O(sizing) (%s), %s" % (table, bound))


# --------------------------------------------------------------------------- option builders


def _resources(component, what, path):
    def side(kind):
        return Opt("dict", "Resource %s of the %s container(s)." % (kind, what), options={
            "cpu": Opt("quantity", "CPU (e.g. V(500m), V(2)).", default=_resource_default(component, path, kind, "cpu"),
                       check=_check_positive_quantity),
            "memory": Opt("quantity", "Memory (e.g. V(2Gi)).",
                          default=_resource_default(component, path, kind, "memory"), check=_check_positive_quantity),
        })
    return Opt("dict", ["Requests and limits of the %s container(s); each value defaults from O(sizing)." % what,
                        "Requests must not exceed limits."],
               options={"requests": side("requests"), "limits": side("limits")})


_SOURCE_RANGES_DOC = ("Client CIDRs a V(LoadBalancer) Service accepts: network addresses with a prefix length "
                      "(V(10.0.0.0/8); V(10.0.0.1/8) has host bits set and is refused).")


def _service(what, default_type="ClusterIP"):
    return Opt("dict", "The Service in front of %s." % what, options={
        "type": Opt("str", "Service type.", default=default_type, choices=SERVICE_TYPES),
        "annotations": Opt("dict", "Annotations of the Service (e.g. for a cloud load balancer).", values="str",
                           default={}, check=_check_annotation_map),
        "load_balancer_source_ranges": Opt("list", _SOURCE_RANGES_DOC, elements="str", default=[],
                                           check=_check_cidrs),
    })


def _env(what):
    return Opt("dict", [
        "Extra environment variables of the %s container(s): name -> value." % what,
        "A value is a string (numbers and booleans are converted), or a reference: C({secret: NAME, key: KEY}), "
        "C({config_map: NAME, key: KEY}) or C({field: metadata.name}).",
        "A plain value for a name that looks like a credential (C(*PASSWORD*), C(*TOKEN*), C(*SECRET*), ...) is "
        "refused: put it in a Secret and reference it.",
        "These override the collection's own values for the same name.",
        "One variable (C(NAME=value)) must stay below 128 KiB (Linux starts no process with a longer one); the "
        "whole spec, with env, config files and dynamic configuration, is recorded in a ConfigMap and may be at "
        "most 800 KiB as compact JSON."], values="raw", default={})


def _secret_ref(what, key_default, key_doc="Key in the Secret."):
    return Opt("dict", what, options={
        "name": Opt("str", "Name of an existing Secret in the cluster's namespace.", check=_check_dns_subdomain),
        "key": Opt("str", key_doc, default=key_default, check=_check_key),
    })


def _tls(what, ca_doc="Key of the CA certificate peers are verified with (empty: none)."):
    options = {
        "secret": Opt("str", "Name of an existing Secret (e.g. a cert-manager C(kubernetes.io/tls) Secret); "
                             "mounted as a directory, so a renewed certificate reaches the pods without a restart.",
                      check=_check_dns_subdomain),
        "cert": Opt("str", "Key of the certificate chain (PEM) in the Secret.", default="tls.crt", check=_check_key),
        "key": Opt("str", "Key of the private key (PKCS#8 PEM, as OAP requires) in the Secret.", default="tls.key",
                   check=_check_key),
    }
    options["ca"] = Opt("str", ca_doc, default="ca.crt", check=_check_optional_key)
    return Opt("dict", what, options=options)


_CREDENTIALS_DOC = ("Credentials from an existing Secret (never inline): required for Elasticsearch, OpenSearch, "
                    "MySQL, PostgreSQL; optional for external BanyanDB.")
_FETCHER_DOC = ("An OpenTelemetry Collector scraping OAP's port 1234 and exporting to OAP over OTLP (OAP's C(oap) OTel "
                "rule: the self-observability dashboards).")
_SECURITY_DOC = ["Pod security: every pod runs as non-root, without privilege escalation, with all capabilities "
                 "dropped, the RuntimeDefault seccomp profile and a read-only root filesystem (the restricted Pod "
                 "Security Standard).",
                 "No UID is fixed on OpenShift (the restricted SCC assigns one); elsewhere the images' root user is "
                 "replaced by UID/GID 1000 unless set here."]
_NETWORK_POLICIES_DOC = ["NetworkPolicies: agents reach OAP gRPC 11800 from anywhere; OAP REST 12800 only from this "
                         "namespace (UI, Satellite) and O(network_policies.agent_namespaces); the admin ports only "
                         "from this namespace; storage only from OAP.",
                         "Only ingress is restricted (egress and DNS are not)."]
_DYNAMIC_CONFIG_DOC = "Dynamic configuration (C(SW_CONFIGURATION=k8s-configmap)): a change never restarts OAP."
_EXT_LIBS_DOC = "Extra jars (e.g. MySQL's JDBC driver) copied from an image into C(/skywalking/ext-libs)."
_ADMIN_SERVER_DOC = "OAP 11's admin server (17128, 17129; no authentication: namespace only)."
_AUTOSCALING_DOC = "An HPA for OAP (receivers in V(split) mode); the Deployment then has no replicas."
_ROUTE_DOC = "An OpenShift Route (route.openshift.io/v1) for the UI; refused where that API is not served."
_SATELLITE_DOC = "SkyWalking Satellite: a gRPC proxy that spreads agents' long-lived streams over the OAP pods."


SCHEMA = {
    "name": Opt("str", ["Name of the SkyWalking cluster: a DNS label; every object is named after it, and it is the "
                        "C(app.kubernetes.io/instance) label.",
                        "Together with the derived suffixes (C(-banyandb-liaison-headless), ...) names must stay "
                        "within 63 characters (52 for StatefulSets): at most 43 characters, 35 with BanyanDB in "
                        "cluster mode."],
                required=True, check=_check_dns_label),
    "namespace": Opt("str", "Namespace of the cluster (it must exist unless the cluster module creates it: its "
                            "C(create_namespace)).", required=True, check=_check_dns_label),
    "version": Opt("str", ["OAP version: a release line (V(11.0), V(10.4)) for its default patch release, or a full "
                           "version (V(11.0.0)).",
                           "Supported lines: %s." % versions.supported_text(),
                           "It selects the BanyanDB line (11.0: 0.11.x; 10.4: 0.10.x), the UI flavours and the env "
                           "names OAP reads.",
                           "A full version is the image tag: a suffix (V(11.0.0-rc1)) is kept, a leading V(v) is "
                           "dropped with a warning (V(v11.0.0) is V(11.0.0)); V(latest) and build metadata "
                           "(C(+...)) are refused."],
                   default=versions.LINES[versions.CURRENT].oap_version),
    "labels": Opt("dict", "Labels added to every object and pod.", values="str", default={}, check=_check_label_map),
    "annotations": Opt("dict", "Annotations added to every object.", values="str", default={},
                       check=_check_annotation_map),
    "pod_labels": Opt("dict", "Labels added to every pod template.", values="str", default={},
                      check=_check_label_map),
    "pod_annotations": Opt("dict", "Annotations added to every pod template (e.g. for a service mesh).", values="str",
                           default={}, check=_check_annotation_map),
    "cluster_domain": Opt("str", "The Kubernetes cluster's DNS domain (used for BanyanDB's DNS node discovery).",
                          default="cluster.local", check=_check_dns_subdomain),
    "sizing": Opt("str", ["Sizing profile: requests/limits of every component, the OAP JVM heap and the storage "
                          "write knobs.", "Each component's C(resources) overrides single values."],
                  default=sizing.DEFAULT_PROFILE, choices=sizing.PROFILES),
    "images": Opt("dict", "Container images; each defaults from the component's version.", options={
        "registry": Opt("str", ["Registry (and path) to pull the default images from instead of Docker Hub, e.g. "
                                "V(registry.example.com/mirror): gives C(registry.example.com/mirror/apache/...).",
                                "No scheme (not V(https://registry.example.com))."], check=_check_registry),
        "pull_policy": Opt("str", "imagePullPolicy of every container.", default="IfNotPresent",
                           choices=PULL_POLICIES),
        "pull_secrets": Opt("list", "Names of existing image pull Secrets.", elements="str", default=[]),
        "oap": Opt("str", "OAP image.", default=Computed(
            lambda root: versions.oap_image(root.get("version") or _line(root).oap_version, _registry(root)),
            "C(apache/skywalking-oap-server:<version>)"), check=_check_image),
        "ui": Opt("str", "UI image.", default=Computed(
            lambda root: versions.ui_image(_flavour(root), _ui_version(root), _registry(root)),
            "C(apache/skywalking-ui:<ui.version>) (booster) or C(apache/skywalking-ui:horizon-<ui.version>)"),
            check=_check_image),
        "banyandb": Opt("str", "BanyanDB image.", default=Computed(
            lambda root: versions.banyandb_image(_banyandb_version(root), _registry(root)),
            "C(apache/skywalking-banyandb:<storage.banyandb.version>)"), check=_check_image),
        "satellite": Opt("str", "Satellite image.", default=Computed(
            lambda root: versions.satellite_image(_satellite_version(root), _registry(root)),
            "C(apache/skywalking-satellite:v<satellite.version>)"), check=_check_image),
        "otel_collector": Opt("str", "OpenTelemetry Collector image of the fetcher.", default=Computed(
            lambda root: versions.otel_collector_image(registry=_registry(root)),
            "C(%s)" % versions.otel_collector_image()), check=_check_image),
        "event_exporter": Opt("str", "Kubernetes event exporter image.", default=Computed(
            lambda root: versions.event_exporter_image(registry=_registry(root)),
            "C(%s)" % versions.event_exporter_image()), check=_check_image),
    }),
    "oap": Opt("dict", "The OAP servers.", options={
        "mode": Opt("str", ["V(mixed): every OAP pod receives and aggregates.",
                            "V(split): receivers (L1, agents connect here) and aggregators (L2) in two Deployments; "
                            "the receivers' cluster selector finds only aggregators."],
                    default="mixed", choices=("mixed", "split")),
        "replicas": Opt("int", "Replicas in V(mixed) mode (ignored with autoscaling).", default=2, minimum=0),
        "receiver": Opt("dict", "Receivers in V(split) mode.", options={
            "replicas": Opt("int", "Replicas (ignored with autoscaling).", default=2, minimum=0)}),
        "aggregator": Opt("dict", "Aggregators in V(split) mode.", options={
            "replicas": Opt("int", "Replicas.", default=2, minimum=0)}),
        "env": _env("OAP"),
        "config_files": Opt("dict", [
            "Files placed under OAP's C(config/) directory: relative path -> content, e.g. C(application.yml), "
            "C(alarm-settings.yml), C(log4j2.xml), C(oal/core.oal).",
            "A change rolls OAP (checksum annotation); files that shape the storage schema (all but "
            "%s) also give a new init Job." % ", ".join(sorted(NON_SCHEMA_FILES)),
            "Each file is a key of a ConfigMap (the path with C(/) as C(__)): at most 253 characters; the files "
            "together count towards the spec's 800 KiB (see C(oap.env))."], values="str", default={}),
        "dynamic_config": Opt("dict", _DYNAMIC_CONFIG_DOC, options={
            "enabled": Opt("bool", "Use the Kubernetes ConfigMap dynamic configuration.", default=True),
            "period": Opt("int", "Seconds between OAP's reads of the ConfigMap (C(SW_CONFIG_CONFIGMAP_PERIOD)).",
                          default=60, minimum=1),
            "values": Opt("dict", ["Keys and values, e.g. C(core.default.apdexThreshold), "
                                   "C(alarm.default.alarm-settings), C(agent-analyzer.default.slowDBAccessThreshold).",
                                   "Keys are ConfigMap keys (letters, digits, C(-), C(_), C(.); at most 253 "
                                   "characters); the values count towards the spec's 800 KiB (see C(oap.env))."],
                          values="str", default={}),
        }),
        "resources": _resources("oap", "OAP", ("oap", "resources")),
        "heap_percent": Opt("int", "JVM heap (C(-Xms)/C(-Xmx)) as a percentage of the memory limit; the rest is "
                                   "left for off-heap memory.", default=sizing.DEFAULT_HEAP_PERCENT,
                            minimum=10, maximum=90),
        "java_opts": Opt("str", "Extra JVM options appended to C(JAVA_OPTS); with C(-Xmx) in them no heap is "
                                "derived.", check=_check_java_opts),
        "ext_libs": Opt("dict", _EXT_LIBS_DOC, options={
            "image": Opt("str", "Image holding the jars.", check=_check_image),
            "path": Opt("str", "Directory of the jars in that image.", default="/libs"),
        }),
        "tls": Opt("dict", "TLS from existing Secrets.", options={
            "grpc": _tls("TLS of the gRPC port 11800 (agents, OAP-to-OAP): C(SW_CORE_GRPC_SSL_*)."),
            "rest": _tls("TLS of the REST port 12800 (OAP 11.0 only): C(SW_CORE_REST_SSL_*); the UI trusts its CA.",
                         ca_doc="Key of the CA certificate the UI verifies OAP with (empty: the system CAs)."),
        }),
        "admin_server": Opt("dict", _ADMIN_SERVER_DOC, options={
            "enabled": Opt("bool", "Run it (Horizon uses it for templates, status, runtime rules).", default=Computed(
                lambda root: _line(root).admin_server, "V(true) on 11.0; not available on 10.4")),
        }),
        "probes": Opt("dict", "Health probes on C(GET :12800/healthcheck).", options={
            "startup_seconds": Opt("int", "Time a starting pod gets before liveness applies (schema waits, slow "
                                          "storage).", default=300, minimum=10),
            "period_seconds": Opt("int", "Probe period.", default=10, minimum=1),
            "timeout_seconds": Opt("int", "Probe timeout.", default=5, minimum=1),
            "failure_threshold": Opt("int", "Consecutive failures before a pod is unready (or restarted).", default=3,
                                     minimum=1),
        }),
        "autoscaling": Opt("dict", _AUTOSCALING_DOC, options={
            "enabled": Opt("bool", "Create the HPA.", default=False),
            "min_replicas": Opt("int", "Minimum replicas.", default=2, minimum=1),
            "max_replicas": Opt("int", "Maximum replicas.", default=6, minimum=1),
            "cpu_utilization": Opt("int", "Target average CPU utilization (percent of requests).", default=75,
                                   minimum=1, maximum=100),
        }),
        "pdb": Opt("dict", "PodDisruptionBudget per OAP Deployment.", options={
            "enabled": Opt("bool", "Create it.", default=True),
            "min_available": Opt("int", "Pods that must stay available during voluntary disruptions.", default=1,
                                 minimum=0),
        }),
        "service": _service("OAP (gRPC 11800, REST 12800)"),
        "init": Opt("dict", "The schema init Job (C(-Dmode=init)).", options={
            "timeout": Opt("int", "Seconds the Job may run (C(activeDeadlineSeconds)) and the gate waits.",
                           default=1200, minimum=30),
            "backoff_limit": Opt("int", "Retries of the Job's pod.", default=3, minimum=0),
            "resources": _resources("oap_init", "init Job", ("oap", "init", "resources")),
        }),
    }),
    "storage": Opt("dict", "Where OAP stores data.", options={
        "type": Opt("str", "Storage kind (V(opensearch) uses OAP's elasticsearch storage).", default="banyandb",
                    choices=STORAGE_TYPES),
        "banyandb": Opt("dict", "BanyanDB (O(storage.type=banyandb)).", options={
            "mode": Opt("str", ["V(standalone): one StatefulSet pod.",
                                "V(cluster): liaison and data StatefulSets (DNS node discovery).",
                                "V(external): an existing BanyanDB at O(storage.addresses)."],
                        default="standalone", choices=("standalone", "cluster", "external")),
            "version": Opt("str", "BanyanDB version: MAJOR.MINOR.PATCH (the image tag; a leading V(v) is dropped "
                                  "with a warning) of the line the OAP version accepts.",
                           default=Computed(_banyandb_version, "the OAP line's BanyanDB (11.0: %s, 10.4: %s)" % (
                               versions.LINES["11.0"].banyandb_version, versions.LINES["10.4"].banyandb_version))),
            "liaison": Opt("dict", "Liaison nodes (cluster mode).", options={
                "replicas": Opt("int", "Replicas.", default=2, minimum=1),
                "storage_size": Opt("quantity", "PVC size of each liaison's write queue.", default="10Gi",
                                    check=_check_positive_quantity),
            }),
            "data": Opt("dict", "Data nodes (cluster mode).", options={
                "replicas": Opt("int", "Replicas.", default=2, minimum=1),
            }),
            "persistence": Opt("dict", "Data volumes (standalone and data nodes).", options={
                "enabled": Opt("bool", "Use PersistentVolumeClaims (else emptyDir: data is lost with the pod).",
                               default=True),
                "size": Opt("quantity", "PVC size per pod (immutable once created).", default="50Gi",
                            check=_check_positive_quantity),
                "storage_class": Opt("str", "StorageClass (default: the cluster's default class).",
                                     check=_check_optional_dns_subdomain),
            }),
            "resources": _resources("banyandb", "BanyanDB", ("storage", "banyandb", "resources")),
        }),
        "addresses": Opt("list", "host:port of the external store (Elasticsearch/OpenSearch nodes, the MySQL/"
                                 "PostgreSQL server, external BanyanDB liaisons).", elements="str", default=[],
                         check=_check_addresses),
        "protocol": Opt("str", "Elasticsearch/OpenSearch HTTP protocol.", default="http", choices=("http", "https")),
        "database": Opt("str", "MySQL/PostgreSQL database name.", default="skywalking"),
        "jdbc_url": Opt("str", "Full JDBC URL instead of one built from O(storage.addresses) and "
                               "O(storage.database)."),
        "credentials": Opt("dict", _CREDENTIALS_DOC, options={
            "secret": Opt("str", "Name of the Secret.", check=_check_dns_subdomain),
            "username_key": Opt("str", "Key of the user name.", default="username", check=_check_key),
            "password_key": Opt("str", "Key of the password.", default="password", check=_check_key),
            "password": Opt("raw", "Not accepted (present so the value is never logged): use "
                                   "O(storage.credentials.secret).",
                            secret=True, reject="plain passwords are not accepted: put the password in a Secret and "
                                                "set storage.credentials.secret (and password_key)"),
        }),
        "username": Opt("raw", "Not accepted: use O(storage.credentials).", secret=True,
                        reject="credentials are not accepted inline: put them in a Secret and set "
                               "storage.credentials.secret"),
        "password": Opt("raw", "Not accepted: use O(storage.credentials).", secret=True,
                        reject="plain passwords are not accepted: put the password in a Secret and set "
                               "storage.credentials.secret"),
    }),
    "ui": Opt("dict", "The web UI.", options={
        "enabled": Opt("bool", "Deploy the UI.", default=True),
        "flavour": Opt("str", "V(horizon) (OAP 11.0 and 10.4) or V(booster) (10.4 only).", choices=versions.UI_FLAVOURS,
                       default=Computed(_flavour, "V(horizon) on 11.0, V(booster) on 10.4")),
        "version": Opt("str", "UI version: MAJOR.MINOR.PATCH (the image tag; a leading V(v) is dropped with a "
                              "warning).",
                       default=Computed(_ui_version, "Horizon %s; booster: the OAP version"
                                        % versions.LINES["11.0"].horizon_version)),
        "replicas": Opt("int", "Replicas (Horizon keeps sessions in memory: keep 1 unless sessions are sticky).",
                        default=1, minimum=0),
        "resources": _resources("ui", "UI", ("ui", "resources")),
        "env": _env("UI"),
        "users_secret": _secret_ref(
            "Horizon's local users: an existing Secret whose key holds the JSON array of users "
            "(C([{\"username\": ..., \"passwordHash\": \"$argon2id$...\", \"roles\": [\"admin\"]}])), passed as "
            "C(HORIZON_AUTH_LOCAL_USERS).", "users.json"),
        "users": Opt("raw", "Not accepted (present so the value is never logged): use O(ui.users_secret).",
                     secret=True, reject="users with passwords are not accepted in the spec: put the users JSON "
                                         "(with password hashes) in a Secret and set ui.users_secret"),
        "service": Opt("dict", "The UI Service.", options={
            "type": Opt("str", "Service type.", default="ClusterIP", choices=SERVICE_TYPES),
            "port": Opt("port", "Service port.", default=80),
            "annotations": Opt("dict", "Annotations of the Service.", values="str", default={},
                               check=_check_annotation_map),
            "load_balancer_source_ranges": Opt("list", _SOURCE_RANGES_DOC, elements="str", default=[],
                                               check=_check_cidrs),
        }),
        "ingress": Opt("dict", "An Ingress (networking.k8s.io/v1) for the UI.", options={
            "enabled": Opt("bool", "Create it.", default=False),
            "host": Opt("str", "Host name: a DNS name, optionally a wildcard (V(*.example.com)); not an IP address.",
                        check=_check_ingress_host),
            "class_name": Opt("str", "IngressClass name.", check=_check_optional_dns_subdomain),
            "path": Opt("str", "Path prefix.", default="/"),
            "tls_secret": Opt("str", "Existing TLS Secret for O(ui.ingress.host).", check=_check_dns_subdomain),
            "annotations": Opt("dict", "Annotations of the Ingress.", values="str", default={},
                               check=_check_annotation_map),
        }),
        "route": Opt("dict", _ROUTE_DOC, options={
            "enabled": Opt("bool", "Create it.", default=False),
            "host": Opt("str", "Host name (default: generated by the router).", check=_check_dns_subdomain),
            "tls_termination": Opt("str", "V(edge): the router terminates TLS; V(none): plain HTTP.",
                                   default="edge", choices=("edge", "none")),
            "annotations": Opt("dict", "Annotations of the Route.", values="str", default={},
                               check=_check_annotation_map),
        }),
    }),
    "satellite": Opt("dict", _SATELLITE_DOC, options={
        "enabled": Opt("bool", "Deploy Satellite; agents then use its Service.", default=False),
        "version": Opt("str", "Satellite version: MAJOR.MINOR.PATCH (a leading V(v) is dropped with a warning; "
                              "the image tag gets it).",
                       default=Computed(_satellite_version, "%s" % versions.LINES["11.0"].satellite_version)),
        "replicas": Opt("int", "Replicas.", default=2, minimum=0),
        "resources": _resources("satellite", "Satellite", ("satellite", "resources")),
        "env": _env("Satellite"),
        "service": _service("Satellite (gRPC 11800)"),
    }),
    "telemetry": Opt("dict", "Observing SkyWalking itself (SWCK's Fetcher and EventExporter).", options={
        "prometheus": Opt("bool", "OAP serves its own metrics on port 1234 (C(SW_TELEMETRY=prometheus)).",
                          default=True),
        "fetcher": Opt("dict", _FETCHER_DOC, options={
            "enabled": Opt("bool", "Deploy it.", default=False),
            "interval": Opt("int", "Scrape interval in seconds.", default=30, minimum=1),
            "resources": _resources("fetcher", "fetcher", ("telemetry", "fetcher", "resources")),
        }),
        "event_exporter": Opt("dict", "The SkyWalking Kubernetes event exporter (Kubernetes events to OAP).", options={
            "enabled": Opt("bool", "Deploy it (needs a ClusterRole to read events).", default=False),
            "namespaces": Opt("list", "Namespaces whose events are exported (empty: all).", elements="str",
                              default=[]),
            "resources": _resources("event_exporter", "event exporter", ("telemetry", "event_exporter", "resources")),
        }),
    }),
    "security": Opt("dict", _SECURITY_DOC, options={
        "run_as_user": Opt("int", "UID of every container.", minimum=1),
        "run_as_group": Opt("int", "GID of every container.", minimum=1),
        "fs_group": Opt("int", "fsGroup of every pod (owner group of volumes).", minimum=1),
        "read_only_root_filesystem": Opt("bool", "Read-only root filesystem (writable emptyDirs where needed).",
                                         default=True),
    }),
    "network_policies": Opt("dict", _NETWORK_POLICIES_DOC, options={
        "enabled": Opt("bool", "Create them.", default=True),
        "agent_namespaces": Opt("list", "Namespaces whose pods may also reach OAP's REST port 12800 (agents "
                                        "reporting over HTTP, an ingress controller).", elements="str", default=[]),
        "metrics_namespaces": Opt("list", "Namespaces whose pods may scrape OAP's metrics port 1234 (e.g. "
                                          "Prometheus).", elements="str", default=[]),
    }),
    "scheduling": Opt("dict", "Where pods run (every component).", options={
        "node_selector": Opt("dict", "nodeSelector.", values="str", default={}),
        "tolerations": Opt("list", "Tolerations, in Kubernetes' form (C(key), C(operator), C(value), C(effect), "
                                   "C(tolerationSeconds)).", elements="dict", default=[]),
        "affinity": Opt("dict", "Affinity, in Kubernetes' form.", default={}),
        "priority_class_name": Opt("str", "PriorityClass of every pod."),
        "topology_spread": Opt("bool", "Spread replicas over nodes and zones (C(ScheduleAnyway)).", default=True),
    }),
}

_bound_ints(SCHEMA)

# Top-level options every component module takes.
COMMON = ("name", "namespace", "version", "labels", "annotations", "pod_labels", "pod_annotations", "cluster_domain",
          "sizing", "images", "security", "scheduling")

# The options of each module: the cluster module takes everything, component modules their slice.
SLICES = {
    "cluster": tuple(SCHEMA),
    "oap": COMMON + ("oap", "storage", "telemetry", "network_policies"),
    "ui": COMMON + ("ui", "oap.mode", "oap.admin_server", "oap.tls"),
    "banyandb": COMMON + ("storage", "network_policies"),
    "satellite": COMMON + ("satellite", "oap.mode", "oap.tls"),
    "oap_config": ("name", "namespace", "version", "labels", "annotations", "oap.env", "oap.config_files"),
    "dynamic_config": ("name", "namespace", "version", "labels", "annotations", "oap.mode", "oap.dynamic_config"),
    "info": ("name", "namespace"),
}


def options(slice_name="cluster"):
    """The option tree of a module slice (see :data:`SLICES`)."""
    return select(SCHEMA, SLICES[slice_name])


def argument_spec(slice_name="cluster"):
    """Ansible argument spec of a module slice."""
    return _schema.argument_spec(options(slice_name))


def documentation(slice_name="cluster"):
    """DOCUMENTATION ``options`` of a module slice (also the role's argument_specs options)."""
    return _schema.documentation(options(slice_name))


# --------------------------------------------------------------------------- normalisation


def normalize(raw, slice_name="cluster"):
    """Validate and normalise a spec: ``(spec, warnings)``.

    ``raw`` is a mapping as a user writes it (YAML/Ansible values; ``None`` for unset options is
    fine).  The result has every option of the full schema, defaults filled (version-dependent
    ones computed), the version resolved to a full ``MAJOR.MINOR.PATCH`` and quantities in canonical
    form.  ``slice_name`` restricts the accepted options to a module's slice (the rest take their
    defaults).  ``warnings`` is a list of strings (unknown OAP env names with the closest known
    one, Horizon without users, ...).

    Raises SpecProblems (a SpecError) listing every problem.
    """
    problems = Problems()
    warnings = []
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SpecProblems([("spec", "must be a mapping, not %s" % _schema.describe_value(raw))])
    allowed = options(slice_name)
    for key in raw:
        if key not in allowed and key in SCHEMA and raw[key] is not None:
            problems.add(key, "is not an option of the %s module" % slice_name)
    accepted = {k: v for k, v in raw.items() if not (k not in allowed and k in SCHEMA)}
    _nested_slice_check(allowed, accepted, "", problems, slice_name)
    spec = normalize_options(SCHEMA, accepted, "", problems)
    _resolve_version(spec, problems, warnings)
    _component_versions(spec, problems, warnings)
    fill_computed(SCHEMA, spec, spec)
    _cross_checks(spec, problems, warnings)
    _check_size(spec, problems)
    if problems:
        raise SpecProblems(problems.items)
    return spec, warnings


def _nested_slice_check(allowed, raw, path, problems, slice_name):
    """Options that exist in the schema but not in this slice are refused with a clear message."""
    for key, value in list(raw.items()):
        opt = allowed.get(key)
        if opt is None or opt.options is None or not isinstance(value, dict):
            continue
        full = _schema_at(join_path(path, key))
        if full is None or full.options is None:
            continue
        for sub in list(value):
            if sub not in opt.options and sub in full.options and value[sub] is not None:
                problems.add(join_path(join_path(path, key), sub), "is not an option of the %s module" % slice_name)
                value = dict(value)
                value.pop(sub)
                raw[key] = value
        _nested_slice_check(opt.options, value, join_path(path, key), problems, slice_name)


def _schema_at(path):
    node = SCHEMA
    opt = None
    for part in path.split("."):
        if node is None or part not in node:
            return None
        opt = node[part]
        node = opt.options
    return opt


def _resolve_version(spec, problems, warnings):
    """The OAP version: a line or a full version (a suffix such as ``-rc1`` is kept: it is the image tag).

    A leading ``v`` is dropped with a warning (OAP's image tags have none); a version that cannot be
    an image tag (``11.0.0+build``) is refused.
    """
    given = spec.get("version")
    try:
        line, full = versions.resolve_oap(given)
        if not versions.is_image_tag(full):
            raise versions.VersionError("%r cannot be an image tag (letters, digits, '.', '_', '-'; at most 128 "
                                        "characters)" % (given,))
    except versions.VersionError as exc:
        problems.add("version", str(exc))
        line = versions.LINES[versions.CURRENT]
        full = line.oap_version
    else:
        if isinstance(given, str) and given.strip().startswith("v"):
            warnings.append("version: %r is read as %s (OAP's image tags have no leading 'v')" % (given, full))
    spec["version"] = full
    return line


# Component versions given in the spec: (path, image of a version) -- the version is the image's tag.
_COMPONENT_VERSIONS = (
    (("storage", "banyandb", "version"), lambda _spec, version: versions.banyandb_image(version)),
    (("ui", "version"), lambda spec, version: versions.ui_image(_flavour(spec), version)),
    (("satellite", "version"), lambda _spec, version: versions.satellite_image(version)),
)


def _component_versions(spec, problems, warnings):
    """BanyanDB, UI and Satellite versions: full versions (image tags); a leading ``v`` dropped with a warning.

    A refused version is unset, so its computed default stands in and no later check repeats the problem.
    """
    for path, image in _COMPONENT_VERSIONS:
        parent = _lookup(spec, path[:-1])
        given = parent.get(path[-1]) if isinstance(parent, dict) else None
        if given is None:
            continue
        field = ".".join(path)
        try:
            version, had_v = versions.component_version(given)
            if not versions.is_image_tag(versions.image_tag(image(spec, version))):
                raise versions.VersionError("%r cannot be an image tag (letters, digits, '.', '_', '-'; at most 128 "
                                            "characters)" % (given,))
        except versions.VersionError as exc:
            problems.add(field, str(exc))
            parent[path[-1]] = None
            continue
        if had_v:
            warnings.append("%s: %r is read as %s (the version without 'v')" % (field, given, version))
        parent[path[-1]] = version


def line_of(spec):
    """The :class:`versions.Line` of a normalised spec."""
    return versions.LINES[versions.line_of(spec["version"])]


def _cross_checks(spec, problems, warnings):
    line = line_of(spec)
    oap = spec["oap"]
    storage = spec["storage"]
    ui = spec["ui"]

    # Names.
    if is_dns_label(spec["name"]):
        for kind, obj_name, limit in names.derived(spec):
            if len(obj_name) > limit:
                problems.add("name", "%r is too long: the %s %r would have %d characters (at most %d)" % (
                    spec["name"], kind, obj_name, len(obj_name), limit))
                break

    # Versions.
    if storage["type"] == "banyandb":
        try:
            versions.check_banyandb(line, storage["banyandb"]["version"], spec["version"])
        except versions.VersionError as exc:
            problems.add("storage.banyandb.version", str(exc))
    if ui["enabled"]:
        try:
            versions.check_ui(line, ui["flavour"], ui["version"], spec["version"])
        except versions.VersionError as exc:
            problems.add("ui.flavour" if ui["flavour"] not in line.ui_flavours else "ui.version", str(exc))
    if oap["admin_server"]["enabled"] and not line.admin_server:
        problems.add("oap.admin_server.enabled", "OAP %s has no admin server (it is new in 11.0)" % spec["version"])
    if oap["tls"]["rest"]["secret"] and not line.rest_tls:
        problems.add("oap.tls.rest.secret", "REST TLS needs OAP 11.0 (OAP %s serves 12800 over plain HTTP only)"
                     % spec["version"])

    # OAP roles, replicas, PDB, autoscaling.
    auto = oap["autoscaling"]
    pdb = oap["pdb"]
    if oap["mode"] == "split":
        for role in ("receiver", "aggregator"):
            if oap[role]["replicas"] < 1 and not (role == "receiver" and auto["enabled"]):
                problems.add("oap.%s.replicas" % role,
                             "must be >= 1 in split mode (receivers need aggregators and aggregators need receivers)")
    if auto["enabled"] and auto["min_replicas"] > auto["max_replicas"]:
        problems.add("oap.autoscaling.min_replicas", "must be <= oap.autoscaling.max_replicas (%d > %d)" % (
            auto["min_replicas"], auto["max_replicas"]))
    if pdb["enabled"]:
        counts = []
        if oap["mode"] == "split":
            counts.append(("oap.receiver.replicas", oap["receiver"]["replicas"], auto["enabled"]))
            counts.append(("oap.aggregator.replicas", oap["aggregator"]["replicas"], False))
        else:
            counts.append(("oap.replicas", oap["replicas"], auto["enabled"]))
        for field, count, scaled in counts:
            if oap["mode"] == "split" and count < 1 and not scaled:
                continue  # reported above
            if scaled:
                field, count = "oap.autoscaling.min_replicas", auto["min_replicas"]
            if count < pdb["min_available"]:
                problems.add(field, "must be >= oap.pdb.min_available (%d < %d): the PodDisruptionBudget could never "
                                    "allow an eviction" % (count, pdb["min_available"]))
            elif count == pdb["min_available"] and count > 0:
                warnings.append("%s: equals oap.pdb.min_available (%d): the PodDisruptionBudget blocks every "
                                "voluntary eviction (node drains wait)" % (field, count))

    # Resources.
    _check_resources(spec, "oap.resources", oap["resources"], problems)
    _check_resources(spec, "oap.init.resources", oap["init"]["resources"], problems)
    _check_resources(spec, "storage.banyandb.resources", storage["banyandb"]["resources"], problems)
    _check_resources(spec, "ui.resources", ui["resources"], problems)
    _check_resources(spec, "satellite.resources", spec["satellite"]["resources"], problems)
    _check_resources(spec, "telemetry.fetcher.resources", spec["telemetry"]["fetcher"]["resources"], problems)
    _check_resources(spec, "telemetry.event_exporter.resources", spec["telemetry"]["event_exporter"]["resources"],
                     problems)
    limit = quantities.memory_bytes(oap["resources"]["limits"]["memory"])
    if limit is not None and limit < (1 << 30):
        warnings.append("oap.resources.limits.memory: %s is small for OAP (at least 1Gi is recommended)"
                        % oap["resources"]["limits"]["memory"])

    # Storage.
    kind = storage["type"]
    external = kind in EXTERNAL_TYPES or (kind == "banyandb" and storage["banyandb"]["mode"] == "external")
    if external and not storage["addresses"] and not (kind in ("mysql", "postgresql") and storage["jdbc_url"]):
        problems.add("storage.addresses", "is required for %s storage (host:port of the %s)" % (
            "external BanyanDB" if kind == "banyandb" else kind, "liaison nodes" if kind == "banyandb" else "servers"))
    if kind in EXTERNAL_TYPES and not storage["credentials"]["secret"]:
        problems.add("storage.credentials.secret", "is required for %s storage: the name of an existing Secret with "
                                                   "the user name and password" % kind)
    if kind == "mysql" and not oap["ext_libs"]["image"]:
        warnings.append("storage.type: the OAP image does not ship MySQL's JDBC driver: set oap.ext_libs.image to an "
                        "image holding it (or add it to a custom OAP image)")
    if storage["jdbc_url"] and kind not in ("mysql", "postgresql"):
        problems.add("storage.jdbc_url", "only applies to mysql and postgresql storage, not %s" % kind)
    if storage["jdbc_url"] and not storage["jdbc_url"].startswith("jdbc:"):
        problems.add("storage.jdbc_url", "must start with jdbc:")

    # UI.
    if ui["users_secret"]["name"] and ui["flavour"] != versions.HORIZON:
        problems.add("ui.users_secret.name", "only Horizon has local users; the booster UI has no login")
    if ui["enabled"] and ui["flavour"] == versions.HORIZON and not ui["users_secret"]["name"]:
        warnings.append("ui.users_secret: not set: Horizon starts without local users and nobody can log in; "
                        "create a Secret with the users JSON (argon2id password hashes) and reference it")
    if ui["enabled"] and ui["flavour"] == versions.HORIZON and ui["replicas"] > 1:
        warnings.append("ui.replicas: Horizon keeps sessions in memory: with %d replicas users are logged out when "
                        "they reach another pod unless the ingress keeps sessions sticky" % ui["replicas"])
    if ui["ingress"]["tls_secret"] and not ui["ingress"]["host"]:
        problems.add("ui.ingress.tls_secret", "needs ui.ingress.host (the TLS certificate is for a host)")
    if not ui["ingress"]["path"].startswith("/"):
        problems.add("ui.ingress.path", "must start with /")

    # Telemetry, Satellite.
    if spec["telemetry"]["fetcher"]["enabled"] and not spec["telemetry"]["prometheus"]:
        problems.add("telemetry.fetcher.enabled", "needs telemetry.prometheus (the fetcher scrapes OAP's metrics "
                                                  "port 1234)")
    if spec["satellite"]["enabled"] and oap["tls"]["grpc"]["secret"]:
        warnings.append("satellite.env: OAP's gRPC port uses TLS (oap.tls.grpc); the collection does not configure "
                        "Satellite's client TLS: set the SATELLITE_GRPC_CLIENT_* TLS settings in satellite.env")

    # Env, files, dynamic config.
    _check_env(spec, "oap.env", oap["env"], problems)
    _check_env(spec, "ui.env", ui["env"], problems)
    _check_env(spec, "satellite.env", spec["satellite"]["env"], problems)
    warnings.extend("oap.env.%s" % text for text in oap_env.check_env_names(line.name, sorted(oap["env"])))
    _check_files(oap["config_files"], problems)
    for key in oap["dynamic_config"]["values"]:
        problem = configmap_key_problem(key)
        if problem:
            problems.add(join_path("oap.dynamic_config.values", key), problem)
        elif key.count(".") < 2:
            warnings.append("oap.dynamic_config.values.%s: OAP's dynamic keys look like module.provider.setting "
                            "(e.g. core.default.apdexThreshold)" % key)
    if oap["ext_libs"]["image"] is None and oap["ext_libs"]["path"] != "/libs":
        problems.add("oap.ext_libs.image", "is required when oap.ext_libs.path is set")

    # Namespaces, secrets, scheduling.
    for field, values in (("network_policies.agent_namespaces", spec["network_policies"]["agent_namespaces"]),
                          ("network_policies.metrics_namespaces", spec["network_policies"]["metrics_namespaces"]),
                          ("telemetry.event_exporter.namespaces", spec["telemetry"]["event_exporter"]["namespaces"])):
        for index, value in enumerate(values):
            if not is_dns_label(value):
                problems.add("%s[%d]" % (field, index), "%r is not a namespace name" % (value,))
    for index, value in enumerate(spec["images"]["pull_secrets"]):
        if not is_dns_subdomain(value):
            problems.add("images.pull_secrets[%d]" % index, "%r is not a Secret name" % (value,))
    for key, value in spec["scheduling"]["node_selector"].items():
        if not is_qualified_key(key) or not is_label_value(value):
            problems.add(join_path("scheduling.node_selector", key), "is not a valid label key/value pair")
    for index, toleration in enumerate(spec["scheduling"]["tolerations"]):
        unknown = sorted(set(toleration) - _TOLERATION_KEYS)
        if unknown:
            problems.add("scheduling.tolerations[%d]" % index, "unknown keys %s (Kubernetes' toleration fields: %s)" % (
                ", ".join(unknown), ", ".join(sorted(_TOLERATION_KEYS))))
        for field, problem in toleration_problems(toleration):
            problems.add("scheduling.tolerations[%d].%s" % (index, field), problem)
    if spec["scheduling"]["priority_class_name"] is not None and \
            not is_dns_subdomain(spec["scheduling"]["priority_class_name"]):
        problems.add("scheduling.priority_class_name", "%r is not a PriorityClass name" % (
            spec["scheduling"]["priority_class_name"],))


def toleration_problems(toleration):
    """``[(field, problem)]`` of one toleration, as the API server would refuse it (else only its dry run would).

    Mirrors Kubernetes' ``ValidateTolerations`` (pkg/apis/core/validation/validation.go, v1.37): the key
    a label name; an empty key only with ``Exists``; operator ``Equal`` (or empty), ``Exists``, or
    the feature-gated ``Lt``/``Gt`` (with a decimal integer value: whether the gate is on is the
    server's to say); ``Equal``'s value a label value, ``Exists`` without a value; effect empty (every
    effect), ``NoSchedule``, ``PreferNoSchedule`` or ``NoExecute``; ``tolerationSeconds`` an integer
    and only with ``NoExecute``.
    """
    out = []
    for field in ("key", "operator", "value", "effect"):
        if toleration.get(field) is not None and not isinstance(toleration[field], str):
            out.append((field, "must be a string, not %s" % _schema.describe_value(toleration[field])))
    if out:
        return out
    key = toleration.get("key") or ""
    operator = toleration.get("operator") or ""
    value = toleration.get("value") or ""
    effect = toleration.get("effect") or ""
    seconds = toleration.get("tolerationSeconds")
    if key and not is_qualified_key(key):
        out.append(("key", "%r is not a valid taint key (a label name)" % (key,)))
    if not key and operator != "Exists":
        out.append(("operator", "must be Exists when key is empty (a toleration of every taint)"))
    if operator in ("", "Equal"):
        if value and not is_label_value(value):
            out.append(("value", "%r is not a valid taint value (at most 63 characters: letters, digits, '-', '_', "
                                 "'.')" % (value,)))
    elif operator == "Exists":
        if value:
            out.append(("value", "must be empty when operator is Exists"))
    elif operator in ("Lt", "Gt"):
        if not re.match(r"^-?[0-9]+$", value):
            out.append(("value", "must be a decimal integer with operator %s, not %r" % (operator, value)))
    else:
        out.append(("operator", "must be one of Equal, Exists (or Lt, Gt where the cluster allows them), not %r"
                    % (operator,)))
    if effect and effect not in _TAINT_EFFECTS:
        out.append(("effect", "must be one of %s (or empty: every effect), not %r"
                    % (", ".join(_TAINT_EFFECTS), effect)))
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            out.append(("tolerationSeconds", "must be an integer (seconds), not %s" % _schema.describe_value(seconds)))
        elif effect != "NoExecute":
            out.append(("effect", "must be NoExecute when tolerationSeconds is set"))
    return out


def _check_resources(spec, path, resources, problems):
    for name in ("cpu", "memory"):
        request = resources["requests"][name]
        limit = resources["limits"][name]
        if request is None or limit is None:
            continue
        if quantities.compare(request, limit) > 0:
            problems.add("%s.requests.%s" % (path, name), "%s is more than the limit %s (%s.limits.%s)" % (
                request, limit, path, name))


def _check_env(spec, path, env, problems):
    for name, value in env.items():
        here = join_path(path, name)
        if not oap_env.is_env_name(name):
            problems.add(here, "is not a valid environment variable name (letters, digits and '_', not starting "
                               "with a digit)")
            continue
        if isinstance(value, dict):
            problem = env_reference_problem(value)
            if problem:
                problems.add(here, problem)
            continue
        if value is None or isinstance(value, (list,)):
            problems.add(here, "must be a string or a reference ({secret: NAME, key: KEY}), not %s" % (
                "empty" if value is None else "a list"))
            continue
        text = env_text(value)
        env[name] = text
        if text == "":
            problems.add(here, "must not be empty (Kubernetes drops empty values; OAP disables a module with '-')")
            continue
        size = len(name.encode("utf-8")) + 1 + len(text.encode("utf-8"))
        if size >= ENV_VAR_LIMIT:
            problems.add(here, "is %d bytes with its name; one environment variable must stay below 128 KiB (%d "
                               "bytes): Linux refuses to start the container" % (size, ENV_VAR_LIMIT))
            continue
        if is_credential_env(name):
            problems.add(here, "a plain value for a credential is not accepted: put it in a Secret and use "
                               "{secret: NAME, key: KEY}")


def env_text(value):
    """The string an env value becomes (booleans as ``true``/``false``, as YAML would print them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def env_reference_problem(value):
    """A problem with an env reference mapping, or None.  Forms: secret/config_map + key, or field."""
    keys = set(value)
    if keys == {"secret", "key"} or keys == {"config_map", "key"}:
        source = value.get("secret", value.get("config_map"))
        if not isinstance(source, str) or not is_dns_subdomain(source):
            return "%r is not a valid object name" % (source,)
        if not isinstance(value["key"], str) or not _CONFIGMAP_KEY.match(value["key"]):
            return "%r is not a valid key" % (value["key"],)
        return None
    if keys == {"field"}:
        if not isinstance(value["field"], str) or not value["field"]:
            return "field must be a pod field path such as metadata.name"
        return None
    return ("a reference must be {secret: NAME, key: KEY}, {config_map: NAME, key: KEY} or {field: PATH}, not "
            "keys %s" % ", ".join(sorted(str(k) for k in keys)))


def _check_files(files, problems):
    keys = {}
    total = 0
    good = set()
    for path, content in files.items():
        here = join_path("oap.config_files", path)
        if not _CONFIG_PATH.match(path) or set(path.split("/")) & {".", ".."}:
            problems.add(here, "must be a relative path under config/ (letters, digits, '.', '_', '-', '/'; no '.' "
                               "or '..' parts), e.g. oal/core.oal")
            continue
        key = file_key(path)
        problem = configmap_key_problem(key)
        if problem:
            problems.add(here, "becomes ConfigMap key %r, which %s" % (_short(key), problem))
            continue
        if key in keys:
            problems.add(here, "clashes with %r (both become ConfigMap key %r)" % (keys[key], key))
        keys[key] = path
        good.add(path)
        total += len(content.encode("utf-8"))
    for path in sorted(good):
        parts = path.split("/")
        for end in range(1, len(parts)):
            above = "/".join(parts[:end])
            if above in good:
                problems.add(join_path("oap.config_files", path),
                             "is under %r, which is a file: both are mounted, so the pod cannot start" % above)
                break
    if total > CONFIGMAP_LIMIT:
        problems.add("oap.config_files", "the files are %d bytes together; a ConfigMap holds at most about 1 MiB"
                     % total)


def _dumps(value):
    """The spec's record: compact JSON, as ops/cluster.py writes it into the ApplySet parent."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _largest_part(spec):
    """``(path, bytes)`` of the largest option of the spec: down through option trees to a leaf."""
    path, node, options = "", spec, SCHEMA
    while True:
        size, key = max((len(_dumps(node[key])), key) for key in options if key in node)
        path = join_path(path, key)
        opt = options[key]
        if opt.type != "dict" or opt.options is None or not isinstance(node[key], dict):
            return path, size
        node, options = node[key], opt.options


def _check_size(spec, problems):
    """The recorded spec stays below SPEC_LIMIT; the problem names the largest option."""
    size = len(_dumps(spec))
    if size <= SPEC_LIMIT:
        return
    field, part = _largest_part(spec)
    if any(known == field for known, _problem in problems):
        return  # already refused (e.g. config files over a ConfigMap's size)
    problems.add(field, "is %d bytes of a spec of %d bytes (as JSON); the spec is recorded in a ConfigMap and may "
                        "be at most %d bytes (800 KiB): move large content elsewhere (e.g. into a ConfigMap the "
                        "cluster does not manage)" % (part, size, SPEC_LIMIT))


def file_key(path):
    """ConfigMap key of a config file path (``oal/core.oal`` -> ``oal__core.oal``)."""
    return path.replace("/", "__")


def schema_file(path):
    """Whether a config file shapes the storage schema (so it goes into the init Job)."""
    return path not in NON_SCHEMA_FILES


def rows():
    """``(path, Opt)`` rows of the whole schema (for docs)."""
    return _schema.rows(SCHEMA)
