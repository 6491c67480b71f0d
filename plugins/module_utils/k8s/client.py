# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The HTTP side of the engine: one connection pool, retries, discovery.

Requests go straight to the API server over urllib3 with JSON bodies, with
the connection settings from auth.py (which uses the ``kubernetes`` library
only for exec/auth-provider credentials); generated models are never used,
which keeps each call cheap.  Every request is retried on 409 (not for apply field conflicts),
429 and 5xx answers and on connection failures, with exponential backoff,
within a total budget.  ``Warning`` headers are collected for the caller.
"""

from __future__ import annotations

import json
import random
import ssl
import threading
import time
from urllib.parse import quote, urlencode

from .errors import ApiError, ConnectionFailure, SwckError

APPLY_PATCH = "application/apply-patch+yaml"
USER_AGENT = "skywalking.swck/0.1.0"
RETRY_STATUSES = frozenset([409, 429, 500, 502, 503, 504])


class Resource(object):
    """How one kind is served: its REST path pieces."""

    __slots__ = ("api_version", "kind", "plural", "namespaced")

    def __init__(self, api_version, kind, plural, namespaced):
        self.api_version = api_version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced

    @property
    def group(self):
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    def path(self, namespace=None, name=None):
        base = "/api/v1" if self.api_version == "v1" else "/apis/" + self.api_version
        if self.namespaced and namespace:
            base += "/namespaces/" + quote(namespace, safe="")
        base += "/" + self.plural
        if name:
            base += "/" + quote(name, safe="")
        return base

    def __repr__(self):
        return "Resource(%s %s)" % (self.api_version, self.kind)


# Stable, GA kinds: resolved without a discovery round trip.  Anything else
# (custom resources, newer APIs) goes through discovery.
_STATIC = {}
for _av, _kinds in {
    "v1": [
        ("Namespace", "namespaces", False), ("Node", "nodes", False),
        ("PersistentVolume", "persistentvolumes", False),
        ("ConfigMap", "configmaps", True), ("Secret", "secrets", True), ("Service", "services", True),
        ("ServiceAccount", "serviceaccounts", True), ("Pod", "pods", True),
        ("PersistentVolumeClaim", "persistentvolumeclaims", True), ("Endpoints", "endpoints", True),
        ("Event", "events", True), ("LimitRange", "limitranges", True),
        ("ResourceQuota", "resourcequotas", True), ("ReplicationController", "replicationcontrollers", True),
    ],
    "apps/v1": [
        ("Deployment", "deployments", True), ("StatefulSet", "statefulsets", True),
        ("DaemonSet", "daemonsets", True), ("ReplicaSet", "replicasets", True),
        ("ControllerRevision", "controllerrevisions", True),
    ],
    "batch/v1": [("Job", "jobs", True), ("CronJob", "cronjobs", True)],
    "rbac.authorization.k8s.io/v1": [
        ("Role", "roles", True), ("RoleBinding", "rolebindings", True),
        ("ClusterRole", "clusterroles", False), ("ClusterRoleBinding", "clusterrolebindings", False),
    ],
    "networking.k8s.io/v1": [
        ("NetworkPolicy", "networkpolicies", True), ("Ingress", "ingresses", True),
        ("IngressClass", "ingressclasses", False),
    ],
    "policy/v1": [("PodDisruptionBudget", "poddisruptionbudgets", True)],
    "autoscaling/v2": [("HorizontalPodAutoscaler", "horizontalpodautoscalers", True)],
    "autoscaling/v1": [("HorizontalPodAutoscaler", "horizontalpodautoscalers", True)],
    "apiextensions.k8s.io/v1": [("CustomResourceDefinition", "customresourcedefinitions", False)],
    "scheduling.k8s.io/v1": [("PriorityClass", "priorityclasses", False)],
    "storage.k8s.io/v1": [("StorageClass", "storageclasses", False)],
    "coordination.k8s.io/v1": [("Lease", "leases", True)],
    "events.k8s.io/v1": [("Event", "events", True)],
    "admissionregistration.k8s.io/v1": [
        ("MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False),
        ("ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False),
    ],
}.items():
    for _kind, _plural, _ns in _kinds:
        _STATIC[(_av, _kind)] = Resource(_av, _kind, _plural, _ns)


def _import_urllib3():
    try:
        import urllib3
    except ImportError as exc:  # pragma: no cover
        raise SwckError("the 'urllib3' Python library is required: %s" % exc)
    return urllib3


def parse_warning_header(value):
    """``299 - "message"`` -> ``message`` (RFC 7234 warn-text, as the API server sends it)."""
    parts = value.split(" ", 2)
    if len(parts) == 3 and parts[2].startswith('"'):
        text = parts[2].strip()
        if text.endswith('"'):
            text = text[1:-1]
        return text.replace('\\"', '"')
    return value


def backoff_delays(base=0.2, cap=3.0, jitter=None):
    """Endless exponential backoff with jitter: base, 2*base, ... capped at ``cap``."""
    rnd = jitter or random.random
    delay = base
    while True:
        yield delay * (0.75 + rnd() / 2)
        delay = min(cap, delay * 2)


def is_retryable(status, error):
    """Whether an answer (status code + parsed ApiError, may be None) is worth retrying."""
    if status not in RETRY_STATUSES:
        return False
    if status == 409 and error is not None:
        if error.is_field_conflict:
            return False
        # AlreadyExists is final for a create: the caller decides what it means.
        if error.reason == "AlreadyExists":
            return False
    return True


class Client(object):
    """A thread-safe API client: one connection pool shared by worker threads."""

    def __init__(self, connection, impersonate_user=None, impersonate_groups=None,
                 request_timeout=30.0, retry_budget=60.0, pool_size=16, user_agent=USER_AGENT):
        self.conn = connection
        self.host = connection.host.rstrip("/")
        self.request_timeout = request_timeout
        self.retry_budget = retry_budget
        self.user_agent = user_agent
        self.impersonate_user = impersonate_user
        self.impersonate_groups = list(impersonate_groups or [])
        self.warnings = []
        self.retries = 0
        self._warn_lock = threading.Lock()
        self._disc_lock = threading.Lock()
        self._discovery = {}
        self._urllib3 = _import_urllib3()
        self.pool = self._make_pool(pool_size)

    # ---------------------------------------------------------------- pool
    def _make_pool(self, pool_size):
        urllib3 = self._urllib3
        conn = self.conn
        args = {
            "cert_reqs": ssl.CERT_REQUIRED if conn.verify_ssl else ssl.CERT_NONE,
            "ca_certs": conn.ca_file,
            "cert_file": conn.cert_file,
            "key_file": conn.key_file,
            "maxsize": pool_size,
            "retries": False,
        }
        if conn.tls_server_name:
            args["server_hostname"] = conn.tls_server_name
        if not conn.verify_ssl:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if conn.proxy and not self._bypass_proxy():
            return urllib3.ProxyManager(proxy_url=conn.proxy, proxy_headers=conn.proxy_headers, **args)
        return urllib3.PoolManager(**args)

    def _bypass_proxy(self):
        no_proxy = self.conn.no_proxy
        if not no_proxy:
            return False
        hostname = self.host.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        for entry in no_proxy.replace(" ", "").split(","):
            if not entry:
                continue
            if entry == "*" or hostname == entry or hostname.endswith("." + entry.lstrip(".")):
                return True
        return False

    def _headers(self, content_type=None):
        urllib3 = self._urllib3
        headers = urllib3.HTTPHeaderDict()
        headers["Accept"] = "application/json"
        headers["User-Agent"] = self.user_agent
        if content_type:
            headers["Content-Type"] = content_type
        token = self.conn.authorization()
        if token:
            headers["Authorization"] = token
        if self.impersonate_user:
            headers["Impersonate-User"] = self.impersonate_user
            for group in self.impersonate_groups:
                headers.add("Impersonate-Group", group)
        return headers

    # ------------------------------------------------------------- request
    def _note_warnings(self, response):
        values = response.headers.getlist("Warning") if hasattr(response.headers, "getlist") else []
        if not values:
            return
        with self._warn_lock:
            for value in values:
                text = parse_warning_header(value)
                if text not in self.warnings:
                    self.warnings.append(text)

    def request(self, method, path, query=None, body=None, content_type=None, timeout=None, stream=False):
        """Send one request; return the decoded JSON (or the raw response if ``stream``)."""
        url = self.host + path
        if query:
            url += "?" + urlencode([(k, v) for k, v in query.items() if v is not None])
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            content_type = content_type or "application/json"
        read_timeout = timeout if timeout is not None else self.request_timeout
        deadline = time.monotonic() + self.retry_budget
        delays = backoff_delays()
        internal_errors = 0
        while True:
            error = None
            status = None
            try:
                resp = self.pool.request(
                    method, url, body=data, headers=self._headers(content_type),
                    timeout=self._urllib3.Timeout(connect=min(10.0, read_timeout), read=read_timeout),
                    preload_content=not stream, retries=False,
                )
            except (self._urllib3.exceptions.HTTPError, OSError) as exc:
                failure = exc
            else:
                failure = None
                status = resp.status
                self._note_warnings(resp)
                if 200 <= status < 300:
                    if stream:
                        return resp
                    return json.loads(resp.data) if resp.data else {}
                raw = resp.data if not stream else resp.read()
                if stream:
                    resp.release_conn()
                error = self._api_error(method, path, status, raw)
            wait = next(delays)
            if failure is not None:
                retryable = True
            else:
                retryable = is_retryable(status, error)
                if status == 500:
                    # An internal error is often a deterministic refusal in disguise (the API server
                    # answers 500 to some invalid applies): try twice more, not for the whole budget.
                    internal_errors += 1
                    retryable = retryable and internal_errors <= 2
                retry_after = resp.headers.get("Retry-After")
                if retryable and retry_after and retry_after.isdigit():
                    wait = max(wait, min(float(retry_after), 10.0))
            if not retryable or time.monotonic() + wait > deadline:
                if failure is not None:
                    raise ConnectionFailure(
                        "%s %s: cannot reach the API server at %s: %s" % (method, path, self.host, failure)
                    )
                raise error
            self.retries += 1
            time.sleep(wait)

    @staticmethod
    def _api_error(method, path, status, raw):
        try:
            body = json.loads(raw)
        except (ValueError, TypeError):
            body = {"message": (raw or b"").decode("utf-8", "replace")[:500]}
        if not isinstance(body, dict):
            body = {"message": str(body)}
        return ApiError(status, body.get("reason"), body.get("message"), method=method, path=path, body=body)

    # ------------------------------------------------------- conveniences
    def get(self, path, query=None):
        """GET an object; None when it does not exist."""
        try:
            return self.request("GET", path, query=query)
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def watch_lines(self, path, query, timeout):
        """Yield decoded watch events until the server closes the stream."""
        query = dict(query, watch="true", timeoutSeconds=str(max(1, int(timeout))))
        resp = self.request("GET", path, query=query, stream=True, timeout=timeout + 5)
        try:
            buf = b""
            for chunk in resp.stream(4096, decode_content=False):
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
            if buf.strip():
                yield json.loads(buf)
        finally:
            resp.release_conn()

    def server_version(self):
        return self.request("GET", "/version")

    # ------------------------------------------------------------ discovery
    def resource(self, api_version, kind):
        """Resolve ``(apiVersion, kind)``; raises SwckError when the server does not serve it."""
        static = _STATIC.get((api_version, kind))
        if static is not None:
            return static
        resources = self._discover(api_version)
        for res in resources:
            if res.kind == kind:
                return res
        raise SwckError("kind %s is not served by apiVersion %s on this cluster" % (kind, api_version))

    def _discover(self, api_version):
        with self._disc_lock:
            cached = self._discovery.get(api_version)
        if cached is not None:
            return cached
        path = "/api/v1" if api_version == "v1" else "/apis/" + api_version
        try:
            body = self.request("GET", path)
        except ApiError as err:
            if err.status == 404:
                body = {"resources": []}
            else:
                raise
        found = [
            Resource(api_version, r["kind"], r["name"], r.get("namespaced", False))
            for r in body.get("resources", [])
            if "/" not in r["name"]
        ]
        with self._disc_lock:
            self._discovery[api_version] = found
        return found

    def forget(self, api_version):
        """Drop cached discovery for ``api_version`` (after a CRD was created)."""
        with self._disc_lock:
            self._discovery.pop(api_version, None)
