# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The service layer: the only code that talks HTTP to the API server.

One urllib3 connection pool per process, shared by worker threads; JSON bodies,
no generated models.  Everything else (the engine, the waiter, the modules)
uses the verbs below — ``read``, ``list``, ``apply``, ``create``, ``delete``,
``watch`` — and never assembles a REST path itself.

Retries (``request``):
  * a connection that could not be opened is always retried (nothing was sent);
  * a request whose answer was lost (read timeout, connection reset) is retried
    only when it is safe to repeat: reads, server-side apply, dry runs, and
    deletes with a uid precondition;
  * 429 (honouring ``Retry-After``), 502, 503 and 504 are retried for requests
    that are safe to repeat;
  * a 500 is retried only for reads (twice): the API server answers 500 to some
    deterministic refusals (a type error in an applied patch), which no retry fixes;
  * 409 is retried only for a server-side apply that is not a field conflict
    ("the object has been modified"); a failed precondition or AlreadyExists is final.
All retries stay within ``retry_budget`` seconds (``FIRST_CONTACT_BUDGET`` until the
API server has answered once) and within the caller's
``deadline`` (a ``time.monotonic()`` value) when one is given, so a wait never
runs past its timeout because of retries.
"""

from __future__ import annotations

import json
import random
import re
import ssl
import threading
import time
from urllib.parse import quote, urlencode

from .errors import ApiError, ConnectionFailure, SwckError

APPLY_PATCH = "application/apply-patch+yaml"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
USER_AGENT = "skywalking.swck/0.2.0"
_RETRY_WHEN_SAFE = frozenset([429, 502, 503, 504])
# Seconds to keep retrying while the API server has never answered this process: a wrong address
# or a server that is down fails the task quickly; once it has answered, ``retry_budget`` applies
# (an API server restarting in the middle of a run).
FIRST_CONTACT_BUDGET = 10.0
# 422 answers that are not about the object: the API server is still starting (seen on v1.35 right
# after a restart: "failed to allocate IP ...: allocator not ready").
TRANSIENT_INVALID_MESSAGES = ("allocator not ready",)


class Resource(object):
    """How one kind is served: its REST path pieces."""

    __slots__ = ("api_version", "kind", "plural", "namespaced", "verified")

    def __init__(self, api_version, kind, plural, namespaced, verified=True):
        self.api_version = api_version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced
        # False for entries of the built-in table until the server confirmed the group-version.
        self.verified = verified

    @property
    def group(self):
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def group_kind(self):
        """``(group, kind)``: what identifies a kind across API versions."""
        return (self.group, self.kind)

    def path(self, namespace=None, name=None, subresource=None):
        base = "/api/v1" if self.api_version == "v1" else "/apis/" + self.api_version
        if self.namespaced and namespace:
            base += "/namespaces/" + quote(namespace, safe="")
        base += "/" + self.plural
        if name:
            base += "/" + quote(name, safe="")
            if subresource:
                base += "/" + subresource
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
    """Endless exponential backoff with jitter: base, 2*base, ... capped at ``cap`` (seconds)."""
    rnd = jitter or random.random
    delay = base
    while True:
        yield delay * (0.75 + rnd() / 2)
        delay = min(cap, delay * 2)


def is_safe_to_repeat(method, query=None, content_type=None):
    """Whether sending the request twice has the same effect as sending it once.

    Reads; server-side apply (applying the same configuration again changes nothing);
    anything with ``dryRun``; and DELETE (a repeated delete answers 404, which the
    caller treats as done; deletes carry uid preconditions).  A plain POST creates.
    """
    if method in ("GET", "HEAD", "DELETE"):
        return True
    if query and query.get("dryRun"):
        return True
    return method == "PATCH" and content_type == APPLY_PATCH


def should_retry(method, status, error, safe, attempts_500=0):
    """Whether an error answer is worth sending again (see the module docstring)."""
    if status == 422 and error is not None and any(
            text in (error.api_message or "") for text in TRANSIENT_INVALID_MESSAGES):
        return safe
    if status in _RETRY_WHEN_SAFE:
        return safe or status == 429
    if status == 500:
        return method == "GET" and attempts_500 <= 2
    if status == 409 and error is not None:
        if error.is_field_conflict or error.reason in ("AlreadyExists",):
            return False
        if error.is_precondition_failure:
            return False
        return method == "PATCH" and safe
    return False


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
        self.reached = False  # True once the API server answered anything
        self.counts = {}  # method -> number of requests sent (for benchmarks and reports)
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

    def _count(self, method):
        with self._warn_lock:
            self.counts[method] = self.counts.get(method, 0) + 1

    def request(self, method, path, query=None, body=None, content_type=None, timeout=None, stream=False,
                deadline=None, safe=None):
        """Send one request; return the decoded JSON (or the raw response if ``stream``).

        ``timeout``: read timeout in seconds (default ``request_timeout``).
        ``deadline``: a ``time.monotonic()`` value no retry may pass.
        ``safe``: whether the request may be repeated after its answer was lost
        (default: ``is_safe_to_repeat``).
        Raises ApiError for an error answer and ConnectionFailure when the server
        cannot be reached, both after the retries described in the module docstring.
        """
        url = self.host + path
        if query:
            url += "?" + urlencode([(k, v) for k, v in query.items() if v is not None])
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode("utf-8")
            content_type = content_type or "application/json"
        if safe is None:
            safe = is_safe_to_repeat(method, query, content_type)
        read_timeout = timeout if timeout is not None else self.request_timeout
        budget = self.retry_budget if self.reached else min(self.retry_budget, FIRST_CONTACT_BUDGET)
        budget_end = time.monotonic() + budget
        end = min(budget_end, deadline) if deadline is not None else budget_end
        delays = backoff_delays()
        errors_500 = 0
        urllib3 = self._urllib3
        while True:
            error = None
            status = None
            resp = None
            remaining = end - time.monotonic()
            this_timeout = read_timeout if deadline is None else max(0.5, min(read_timeout, remaining + 1.0))
            self._count(method)
            try:
                resp = self.pool.request(
                    method, url, body=data, headers=self._headers(content_type),
                    timeout=urllib3.Timeout(connect=min(10.0, this_timeout), read=this_timeout),
                    preload_content=not stream, retries=False,
                )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                failure = exc
                # Nothing was sent when the connection could not be opened: always safe to repeat.
                unsent = isinstance(exc, (urllib3.exceptions.NewConnectionError,
                                          urllib3.exceptions.ConnectTimeoutError)) or (
                    isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(
                        exc.reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)))
                retryable = unsent or safe
            else:
                failure = None
                status = resp.status
                self.reached = True
                if end == budget_end and budget < self.retry_budget:
                    end = budget_end = time.monotonic() + self.retry_budget
                self._note_warnings(resp)
                if 200 <= status < 300:
                    if stream:
                        return resp
                    return json.loads(resp.data) if resp.data else {}
                raw = resp.data if not stream else resp.read()
                if stream:
                    resp.release_conn()
                error = self._api_error(method, path, status, raw)
                if status == 500:
                    errors_500 += 1
                retryable = should_retry(method, status, error, safe, errors_500)
            wait = next(delays)
            if resp is not None and retryable:
                retry_after = resp.headers.get("Retry-After")
                if retry_after and retry_after.isdigit():
                    wait = max(wait, min(float(retry_after), 10.0))
            if not retryable or time.monotonic() + wait > end:
                if failure is not None:
                    raise ConnectionFailure(
                        "%s %s: cannot reach the API server at %s: %s" % (method, path, self.host, failure))
                error.retried = self.retries > 0
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

    # ------------------------------------------------------------- verbs
    def read(self, res, namespace=None, name=None, deadline=None):
        """GET one object (with ``apiVersion``/``kind`` set); None when it does not exist."""
        try:
            obj = self.request("GET", res.path(namespace, name), deadline=deadline)
        except ApiError as err:
            if err.status == 404 and not self._type_missing(res, err):
                return None
            raise
        return with_type(res, obj)

    def list(self, res, namespace=None, label_selector=None, field_selector=None, deadline=None):
        """LIST objects of one kind (all namespaces when ``namespace`` is None); items carry apiVersion/kind.

        Follows ``continue`` tokens, so large collections come back whole.
        """
        query = {"labelSelector": label_selector or None, "fieldSelector": field_selector or None, "limit": "500"}
        items = []
        while True:
            try:
                body = self.request("GET", res.path(namespace), query=query, deadline=deadline)
            except ApiError as err:
                self._type_missing(res, err)
                raise
            items.extend(with_type(res, item) for item in body.get("items") or [])
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return items
            query = dict(query, **{"continue": token})

    def apply(self, res, body, field_manager, force=False, dry_run=False, deadline=None):
        """Server-side apply ``body`` (strict field validation); the object as the server returns it."""
        meta = body.get("metadata") or {}
        query = {"fieldManager": field_manager, "fieldValidation": "Strict", "force": "true" if force else "false"}
        if dry_run:
            query["dryRun"] = "All"
        try:
            obj = self.request("PATCH", res.path(meta.get("namespace"), meta.get("name")), query=query, body=body,
                               content_type=APPLY_PATCH, deadline=deadline)
        except ApiError as err:
            self._type_missing(res, err)
            raise
        return with_type(res, obj)

    def create(self, res, body, namespace=None, dry_run=False, field_manager=None, deadline=None):
        """POST ``body`` (strict field validation).  Only safe to retry as a dry run."""
        query = {"fieldValidation": "Strict", "fieldManager": field_manager}
        if dry_run:
            query["dryRun"] = "All"
        ns = namespace if namespace is not None else (body.get("metadata") or {}).get("namespace")
        return with_type(res, self.request("POST", res.path(ns), query=query, body=body, deadline=deadline))

    def delete(self, res, namespace, name, uid=None, resource_version=None, dry_run=False,
               propagation="Background", deadline=None):
        """DELETE one object with optional preconditions; returns True, or False when it was already gone.

        A 409 (a precondition failed: the object was replaced or changed since it was read)
        raises ApiError with ``is_precondition_failure`` set; it is never retried.
        """
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if dry_run:
            # In the body: with a DeleteOptions body the API server ignores the query's dryRun.
            body["dryRun"] = ["All"]
        pre = {}
        if uid:
            pre["uid"] = uid
        if resource_version:
            pre["resourceVersion"] = resource_version
        if pre:
            body["preconditions"] = pre
        query = {"dryRun": "All"} if dry_run else None
        try:
            self.request("DELETE", res.path(namespace, name), query=query, body=body, deadline=deadline)
        except ApiError as err:
            if err.status == 404 and not self._type_missing(res, err):
                # Gone already; when our own earlier attempt's answer was lost, we deleted it.
                return bool(getattr(err, "retried", False))
            raise
        return True

    def patch_merge(self, res, namespace, name, patch, field_manager=None, dry_run=False, deadline=None):
        """JSON merge patch (used for status-free metadata edits such as annotations)."""
        query = {"fieldManager": field_manager, "fieldValidation": "Strict"}
        if dry_run:
            query["dryRun"] = "All"
        return with_type(res, self.request("PATCH", res.path(namespace, name), query=query, body=patch,
                                           content_type=MERGE_PATCH, deadline=deadline))

    def patch_json(self, res, namespace, name, operations, field_manager=None, dry_run=False, deadline=None):
        """JSON Patch (RFC 6902) ``operations`` to one object; the object as the server returns it.

        Retried like server-side apply (``safe``): callers start the patch with ``test`` operations
        (see ``ops/patch.py``), so a patch sent twice after a lost answer cannot apply twice, the second
        fails its test.  A failed ``test`` is an ApiError 422 with the server's generic message.
        """
        query = {"fieldManager": field_manager, "fieldValidation": "Strict"}
        if dry_run:
            query["dryRun"] = "All"
        return with_type(res, self.request("PATCH", res.path(namespace, name), query=query, body=operations,
                                           content_type=JSON_PATCH, deadline=deadline, safe=True))

    def watch(self, res, namespace=None, name=None, resource_version=None, label_selector=None, timeout=60.0,
              deadline=None):
        """Yield watch events (dicts with ``type`` and ``object``) until the server ends the stream.

        ``timeout`` seconds is the server-side watch duration; the stream never outlives
        ``deadline``.  Raises ApiError/ConnectionFailure when the watch cannot be opened.
        """
        if deadline is not None:
            timeout = min(timeout, max(1.0, deadline - time.monotonic()))
        query = {"watch": "true", "timeoutSeconds": str(max(1, int(timeout))), "allowWatchBookmarks": "true",
                 "resourceVersion": resource_version or None, "labelSelector": label_selector or None,
                 "fieldSelector": ("metadata.name=" + name) if name else None}
        resp = self.request("GET", res.path(namespace), query=query, stream=True, timeout=timeout + 5,
                            deadline=deadline)
        try:
            buf = b""
            try:
                for chunk in resp.stream(4096, decode_content=False):
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line.strip():
                            yield json.loads(line)
            except (self._urllib3.exceptions.HTTPError, OSError) as exc:
                raise ConnectionFailure("watch %s: the stream broke: %s" % (res.path(namespace), exc))
            if buf.strip():
                yield json.loads(buf)
        finally:
            resp.release_conn()

    def api_group_versions(self):
        """Every group/version the server serves (``v1``, ``apps/v1``, ...), from one ``/apis`` request."""
        served = {"v1"}
        for group in self.request("GET", "/apis").get("groups") or []:
            for version in group.get("versions") or []:
                if version.get("groupVersion"):
                    served.add(version["groupVersion"])
        return served

    def server_version(self):
        """The server's ``/version`` document (gitVersion, major, minor, platform, ...)."""
        return self.request("GET", "/version")

    def openapi_v3_index(self):
        """``/openapi/v3``: group-version paths with their content-addressed URLs."""
        return self.request("GET", "/openapi/v3")

    def openapi_v3(self, server_relative_url):
        """One OpenAPI v3 document by the URL the index gives (with its ``hash``)."""
        path, _mark, query = server_relative_url.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p) if query else None
        return self.request("GET", path, query=params)

    # ------------------------------------------------------------ discovery
    def resource(self, api_version, kind):
        """Resolve ``(apiVersion, kind)``; raises SwckError when the server does not serve it.

        Common GA kinds come from a built-in table without a request; if the server
        turns out not to serve one (a 404 for the whole type), ``_type_missing`` checks
        discovery and reports the kind as not served.
        """
        static = _STATIC.get((api_version, kind))
        if static is not None:
            with self._disc_lock:
                known = self._discovery.get(api_version)
            if known is None:
                return static
        for res in self._discover(api_version):
            if res.kind == kind:
                return res
        raise SwckError("kind %s is not served by apiVersion %s on this cluster" % (kind, api_version))

    def static_versions(self, group, kind):
        """Built-in table entries for a group-kind, newest API version first (no request)."""
        found = [res for (av, k), res in _STATIC.items() if k == kind and res.group == group]
        return sorted(found, key=lambda r: _version_rank(r.api_version.rpartition("/")[2]), reverse=True)

    def preferred_resource(self, group, kind):
        """The Resource of a group-kind at the group's preferred version (discovery); raises SwckError."""
        if not group:
            return self.resource("v1", kind)
        try:
            body = self.request("GET", "/apis/" + quote(group, safe="."))
        except ApiError as err:
            if err.status == 404:
                raise SwckError("API group %s is not served by this cluster" % group)
            raise
        versions = [v.get("version") for v in body.get("versions") or []]
        preferred = (body.get("preferredVersion") or {}).get("version")
        for version in [preferred] + versions:
            if not version:
                continue
            for res in self._discover("%s/%s" % (group, version)):
                if res.kind == kind:
                    return res
        raise SwckError("kind %s is not served in API group %s on this cluster" % (kind, group))

    def served(self, api_version, kind):
        """Whether the server serves ``kind`` at ``api_version`` (discovery, cached)."""
        return any(r.kind == kind for r in self._discover(api_version))

    def _type_missing(self, res, err):
        """For a 404: whether the whole type is missing (not one object).  Raises SwckError if so."""
        if err.status != 404:
            return False
        details = err.body.get("details") or {}
        if details.get("name"):
            return False  # an object (or its namespace) that does not exist
        self.forget(res.api_version)
        if self.served(res.api_version, res.kind):
            return False
        raise SwckError("kind %s is not served by apiVersion %s on this cluster" % (res.kind, res.api_version),
                        status=404)

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


def _version_rank(version):
    """Sort key for API versions: v2 > v1 > v1beta2 > v1beta1 > v1alpha1."""
    match = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version or "")
    if not match:
        return (0, 0, 0)
    stability = {"alpha": 1, "beta": 2, None: 3}[match.group(2)]
    return (stability, int(match.group(1)), int(match.group(3) or 0))


def with_type(res, item):
    """Objects in a LIST come without apiVersion/kind: set them."""
    if isinstance(item, dict):
        item.setdefault("apiVersion", res.api_version)
        item.setdefault("kind", res.kind)
    return item
