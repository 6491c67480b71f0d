# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Point an Istio mesh at SkyWalking, and undo it exactly.  Pure: no I/O.

Istio reads its mesh config from the ``mesh`` key (YAML text) of the ``istio`` ConfigMap in its
namespace (``istio-<revision>`` for a revisioned install).  SkyWalking's Envoy receivers need
(SkyWalking ``docs/en/setup/envoy/als_setting.md`` and ``metrics_service_setting.md``):

* ``enableEnvoyAccessLogService: true`` and ``defaultConfig.envoyAccessLogService.address`` =
  the OAP (or Satellite) gRPC address, for access logs (ALS);
* ``defaultConfig.envoyMetricsService.address`` = the same kind of address, for Envoy metrics;
  optionally ``defaultConfig.proxyStatsMatcher.inclusionRegexps`` to keep the stats OAP analyses
  (``OAP_STATS_REGEXPS``, from the same document);
* on OAP, ALS analysis switched on (``oap_mesh_env``) and read access to the Kubernetes metadata the
  ``k8s-mesh`` analyzer resolves (``mesh_cluster_rules``).

``merge_mesh_config`` sets exactly those keys, keeps every other setting and the order of keys, and
returns a record of the previous values; ``restore_mesh_config`` puts them back (keys that were
absent are removed again, with the mappings that were created for them).  The record is small JSON
meant for an annotation on the ConfigMap (``RECORD_ANNOTATION``).  Comments in the mesh text are not
kept when it has to be rewritten (YAML libraries drop them); text that needs no change is returned as
it was, byte for byte.  ``defaultConfig`` changes reach a proxy when it restarts (Istio applies
``ProxyConfig`` at proxy start-up).
"""

from __future__ import annotations

import copy
import json
import re

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.inject import re2_problem, type_name

MESH_CONFIGMAP = "istio"
MESH_KEY = "mesh"
ISTIO_NAMESPACE = "istio-system"
RECORD_ANNOTATION = "skywalking.swck/mesh-config"
RECORD_VERSION = 1

ACCESS_LOG_SWITCH = ("enableEnvoyAccessLogService",)
ACCESS_LOG_ADDRESS = ("defaultConfig", "envoyAccessLogService", "address")
METRICS_ADDRESS = ("defaultConfig", "envoyMetricsService", "address")
STATS_REGEXPS = ("defaultConfig", "proxyStatsMatcher", "inclusionRegexps")
# the Envoy stats OAP's envoy-metric rules use (SkyWalking docs/en/setup/envoy/metrics_service_setting.md)
OAP_STATS_REGEXPS = (".*membership_healthy.*", ".*upstream_cx_active.*", ".*upstream_cx_total.*",
                     ".*upstream_rq_active.*", ".*upstream_rq_total.*", ".*upstream_rq_pending_active.*",
                     ".*lb_healthy_panic.*", ".*upstream_cx_none_healthy.*")
ALS_ANALYZERS = ("k8s-mesh", "mx-mesh", "persistence")

# OAP env (application.yml, module envoy-metric; the same names in 10.4.0 and 11.0)
ENVOY_METRIC_ENV = "SW_ENVOY_METRIC"
ENVOY_METRIC_SERVICE_ENV = "SW_ENVOY_METRIC_SERVICE"
ALS_HTTP_ENV = "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS"
ALS_TCP_ENV = "SW_ENVOY_METRIC_ALS_TCP_ANALYSIS"

_PORT = re.compile(r"[0-9]{1,5}")


def _yaml():
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - ansible-core depends on PyYAML
        raise SpecError("mesh", "PyYAML is required to edit Istio's mesh config")
    return yaml


def load_mesh(text):
    """The mesh config as a dict ({} for empty text).  Raises ``SpecError("mesh", ...)``."""
    if text is None or not str(text).strip():
        return {}
    yaml = _yaml()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(MESH_KEY, "the mesh config is not valid YAML: %s" % exc)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(MESH_KEY, "the mesh config must be a YAML mapping, got %s" % type_name(data))
    return data


def dump_mesh(data):
    """YAML text of a mesh config: keys in their order, block style, no line folding."""
    if not data:
        return "{}\n"
    yaml = _yaml()
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 20)
    if yaml.safe_load(text) != data:  # PyYAML writes some line-break characters (U+0085, U+2028) raw
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=False, width=1 << 20)
    return text


def desired_settings(address, metrics_address=None, access_log=True, metrics=True, stats_regexps=None):
    """The (path, value) pairs ``merge_mesh_config`` sets; validates the addresses.

    ``address``: ``host:port`` of OAP's (or Satellite's) gRPC port, e.g. from
    ``inject.collector_address``; ``metrics_address`` defaults to it.  ``stats_regexps``: a list of
    regular expressions for ``proxyStatsMatcher.inclusionRegexps`` (``OAP_STATS_REGEXPS`` is what
    SkyWalking recommends), or None to leave Istio's default.  Raises ``SpecError``.
    """
    pairs = []
    if access_log:
        pairs.append((ACCESS_LOG_SWITCH, True))
        pairs.append((ACCESS_LOG_ADDRESS, _address(address, "address")))
    if metrics:
        pairs.append((METRICS_ADDRESS, _address(metrics_address or address, "metrics_address")))
    if stats_regexps is not None:
        if not isinstance(stats_regexps, (list, tuple)):
            raise SpecError("stats_regexps", "must be a list of regular expressions, got %s" % type_name(stats_regexps))
        for index, regexp in enumerate(stats_regexps):
            if not isinstance(regexp, str) or not regexp:
                raise SpecError("stats_regexps[%d]" % index, "must be a regular expression (a non-empty string)")
            # Envoy matches them with RE2: refuse what RE2 lacks, and nested repetition (see inject.compile_re2)
            problem = re2_problem(regexp)
            if problem:
                raise SpecError("stats_regexps[%d]" % index, problem)
        pairs.append((STATS_REGEXPS, list(stats_regexps)))
    if not pairs:
        raise SpecError("access_log", "nothing to configure: enable access_log and/or metrics")
    return pairs


def merge_mesh_config(text, address, metrics_address=None, access_log=True, metrics=True, stats_regexps=None,
                      record=None):
    """Point the mesh config at SkyWalking; returns ``(new_text, record, changed)``.

    ``text``: the ``mesh`` key of Istio's ConfigMap; ``record``: the record of an earlier merge (from
    ``RECORD_ANNOTATION``), so that previous values stay the user's own across repeated merges and a
    setting dropped since (e.g. ``metrics=False`` now) is restored first.  Every other key keeps its
    value and position.  The record (JSON-serialisable) is::

        {"v": 1, "entries": [{"path": [...], "absent": bool, "previous": value, "set": value}, ...]}

    in the order the keys were set (mappings created on the way come first, as entries whose ``set``
    is ``{}``), plus ``"absentKey": true`` when the ConfigMap had no ``mesh`` key at all (``text`` None)
    before the first merge, so that removal gives it back without one.  ``changed`` is False (and
    ``new_text is text``) when the mesh config already holds everything.  Raises ``SpecError``.
    """
    pairs = desired_settings(address, metrics_address, access_log, metrics, stats_regexps)
    current = load_mesh(text)
    old = parse_record(record) if record else None
    base = _restore_data(current, old) if old else copy.deepcopy(current)
    data = copy.deepcopy(base)
    entries = []
    for path, value in pairs:
        _set_path(data, path, value, entries)
    new_record = {"v": RECORD_VERSION, "entries": entries}
    if (old.get("absentKey") if old else text is None):
        new_record["absentKey"] = True
    if data == current:
        return text, new_record, False
    return dump_mesh(data), new_record, True


def restore_mesh_config(text, record):
    """Undo ``merge_mesh_config``; returns ``(new_text, kept, changed)``.

    Each recorded key goes back to its previous value (or away when it was absent, with the mappings
    created for it once they are empty) -- unless someone changed it since: such keys are kept and
    listed in ``kept`` (dotted paths).  ``new_text`` is None when the ConfigMap had no ``mesh`` key before
    the merge and nothing else is left in it: the key is to be deleted.  Raises ``SpecError`` for an
    unreadable record.
    """
    current = load_mesh(text)
    kept = []
    parsed = parse_record(record)
    data = _restore_data(current, parsed, kept)
    if parsed.get("absentKey") and not data:
        return None, kept, text is not None
    if data == current:
        return text, kept, False
    return dump_mesh(data), kept, True


def parse_record(record):
    """A record from ``merge_mesh_config`` (dict) or its JSON text (the annotation).  Raises ``SpecError``."""
    if isinstance(record, str):
        try:
            record = json.loads(record)
        except (ValueError, RecursionError):
            record = None
    if not isinstance(record, dict) or record.get("v") != RECORD_VERSION or not isinstance(record.get("entries"), list):
        raise SpecError(RECORD_ANNOTATION, "not a mesh config record of version %d" % RECORD_VERSION)
    if not isinstance(record.get("absentKey", False), bool):
        raise SpecError(RECORD_ANNOTATION, "damaged record: absentKey must be true or false, got %r"
                        % (record["absentKey"],))
    for entry in record["entries"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), list) or not entry["path"] \
                or not all(isinstance(key, str) for key in entry["path"]) \
                or not isinstance(entry.get("absent", False), bool):
            raise SpecError(RECORD_ANNOTATION, "malformed entry %s (expected a path of keys, absent true or false, "
                                               "previous and set values)" % (_short(entry),))
    return record


def _short(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def record_text(record):
    """The record as compact JSON (the annotation text).  Keys keep their order: a recorded previous
    value that is a mapping must come back with its keys in the user's order."""
    return json.dumps(record, separators=(",", ":"))


def oap_mesh_env(http_analysis=("k8s-mesh",), tcp_analysis=("k8s-mesh",), metrics_service=True):
    """OAP env vars for Envoy ALS and metrics (a list of ``{"name", "value"}``).

    Analyzers (SkyWalking ``als_setting.md``): ``k8s-mesh`` (Kubernetes metadata: needs
    ``mesh_cluster_rules``), ``mx-mesh`` (Istio metadata exchange), ``persistence`` (forwards logs to
    LAL; needs ``k8s-mesh`` or ``mx-mesh`` before it; its rule ``envoy-als`` is in OAP's default
    ``SW_LOG_LAL_FILES``).  Several are comma-joined, tried in order.  Raises ``SpecError``.
    """
    env = [{"name": ENVOY_METRIC_ENV, "value": "default"},
           {"name": ENVOY_METRIC_SERVICE_ENV, "value": "true" if metrics_service else "false"}]
    for name, field, analyzers in ((ALS_HTTP_ENV, "http_analysis", http_analysis),
                                   (ALS_TCP_ENV, "tcp_analysis", tcp_analysis)):
        analyzers = list(analyzers or [])
        for analyzer in analyzers:
            if analyzer not in ALS_ANALYZERS:
                raise SpecError(field, "%r is not an ALS analyzer (%s)" % (analyzer, ", ".join(ALS_ANALYZERS)))
        if len(set(analyzers)) != len(analyzers):
            raise SpecError(field, "lists an analyzer twice")
        if "persistence" in analyzers and not set(analyzers[:analyzers.index("persistence")]) & {"k8s-mesh", "mx-mesh"}:
            raise SpecError(field, "persistence needs k8s-mesh or mx-mesh before it (it maps logs to services with them)")
        if analyzers:
            env.append({"name": name, "value": ",".join(analyzers)})
    return env


def mesh_cluster_rules(service_entries=True):
    """Read-only cluster RBAC rules OAP needs for the ``k8s-mesh`` ALS analyzer.

    From OAP's Kubernetes support library (``oap-server/server-library/library-kubernetes-support``:
    ``KubernetesPods`` lists pods in all namespaces by ``status.podIP`` and gets them by name,
    ``KubernetesServices`` lists Services, ``KubernetesEndpoints`` lists Endpoints,
    ``IstioServiceEntries`` lists ``networking.istio.io`` ServiceEntries for
    ``ISTIO_SERVICE_NAME_RULE``).  OAP reads neither EndpointSlices nor Nodes for mesh analysis, so
    they are not granted.  ``service_entries=False`` leaves out the Istio rule (e.g. when Istio's
    CRDs are absent).
    """
    rules = [
        # pods: find the pod behind an access log's IP address (list by field selector, get by name)
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        # services and endpoints: map a pod to its Service, the service name of the mesh topology
        {"apiGroups": [""], "resources": ["services", "endpoints"], "verbs": ["get", "list", "watch"]},
    ]
    if service_entries:
        # ServiceEntries: names for traffic to services outside the cluster
        rules.append({"apiGroups": ["networking.istio.io"], "resources": ["serviceentries"],
                      "verbs": ["get", "list", "watch"]})
    return rules


# ----------------------------------------------------------------------------------------------

_ABSENT = object()


def _address(value, field):
    if not isinstance(value, str) or not value:
        raise SpecError(field, "must be host:port of OAP's or Satellite's gRPC port")
    host, sep, port = value.rpartition(":")
    if not sep or not host or not _PORT.fullmatch(port) or not 0 < int(port) < 65536 \
            or any(ch.isspace() for ch in value):  # str.isdigit takes '²', which int() refuses
        raise SpecError(field, "%r is not host:port" % (value,))
    return value


def _set_path(data, path, value, entries):
    node = data
    for depth, key in enumerate(path[:-1]):
        child = node.get(key, _ABSENT)
        if child is _ABSENT or child is None:
            entries.append({"path": list(path[:depth + 1]), "absent": child is _ABSENT, "previous": None, "set": {}})
            node[key] = {}
        elif not isinstance(child, dict):
            raise SpecError("%s.%s" % (MESH_KEY, ".".join(path[:depth + 1])),
                            "must be a mapping to hold %s, got %s" % (path[-1], type_name(child)))
        node = node[key]
    previous = node.get(path[-1], _ABSENT)
    entries.append({"path": list(path), "absent": previous is _ABSENT,
                    "previous": None if previous is _ABSENT else copy.deepcopy(previous), "set": copy.deepcopy(value)})
    node[path[-1]] = copy.deepcopy(value)


def _restore_data(current, record, kept=None):
    data = copy.deepcopy(current)
    for entry in reversed(record["entries"]):
        path = entry["path"]
        parent = data
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        now = parent[path[-1]]
        ours = entry.get("set")
        if ours == {} and isinstance(now, dict):
            if now:  # a mapping we created still holds someone's keys
                continue
        elif now != ours:
            if kept is not None:
                kept.append(".".join(str(p) for p in path))
            continue
        if entry.get("absent"):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(entry.get("previous"))
    return data
