# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Turn the auth options (kubernetes.core names) into connection settings.

Precedence, as in kubernetes.core:
  * ``host`` with ``api_key``, or with ``client_cert`` and ``client_key``: only the
    explicit options (no kubeconfig is read);
  * otherwise ``kubeconfig`` (a path or an inline dict) and/or ``context`` given:
    load it, then apply any explicit option on top (``host`` replaces the server,
    the kubeconfig's credentials stay);
  * otherwise the in-cluster service account when running in a pod, else the
    default kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``), again with the
    explicit options on top.

Kubeconfigs with certificates and tokens (what kubeadm, kind, k3s, cloud
"static" configs and service accounts produce) are read here directly.  Users
with ``exec`` or ``auth-provider`` credentials, and several merged kubeconfig
files, are handed to the ``kubernetes`` library's loader, which knows every
plugin; importing it costs about 0.4 s per module run, so it is only imported
when needed.
"""

from __future__ import annotations

import atexit
import base64
import os
import shutil
import tempfile

from .errors import SwckError

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class Connection(object):
    """Where the API server is and how to authenticate to it."""

    def __init__(self, host=None):
        self.host = host
        self.verify_ssl = True
        self.ca_file = None
        self.cert_file = None
        self.key_file = None
        self.token = None
        self.token_file = None
        self.tls_server_name = None
        self.proxy = None
        self.no_proxy = None
        self.proxy_headers = None
        self._token_hook = None  # the kubernetes library's refreshing credentials
        self._file_token = (None, None)

    def authorization(self):
        """Value of the Authorization header, or None (client certificates)."""
        if self._token_hook is not None:
            return self._token_hook()
        if self.token:
            return "Bearer " + self.token
        if self.token_file:
            # Projected service account tokens rotate: re-read when the file changes.
            mtime = os.stat(self.token_file).st_mtime
            if self._file_token[0] != mtime:
                with open(self.token_file, "r") as handle:
                    self._file_token = (mtime, handle.read().strip())
            return "Bearer " + self._file_token[1]
        return None


_TEMP_DIR = []


def cleanup_temp_files():
    """Remove the private files kubeconfig data was written to (also registered with atexit).

    A module process removes them at exit; code running a module inside a longer-lived process
    (the in-process action plugins) calls this when the module is done.
    """
    while _TEMP_DIR:
        shutil.rmtree(_TEMP_DIR.pop(), True)


def _data_file(data, name):
    """Write base64 kubeconfig data to a private temp file (removed at exit); return its path."""
    if _TEMP_DIR and not os.path.isdir(_TEMP_DIR[0]):
        _TEMP_DIR.pop()  # removed under us (a temp cleaner, another process's cleanup): make a new one
    if not _TEMP_DIR:
        _TEMP_DIR.append(tempfile.mkdtemp(prefix="swck-auth-"))
        atexit.register(cleanup_temp_files)
    path = os.path.join(_TEMP_DIR[0], name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64decode(data))
    return path


def _default_kubeconfig_paths():
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def _named(items, name, what):
    for item in items or []:
        if item.get("name") == name:
            return item.get(what) or {}
    raise SwckError("kubeconfig: no %s named %r" % (what, name))


def _needs_library(config, context):
    """Whether the selected user needs the kubernetes library (exec / auth-provider plugins)."""
    try:
        ctx = _named(config.get("contexts"), context or config.get("current-context"), "context")
        user = _named(config.get("users"), ctx.get("user"), "user") if ctx.get("user") else {}
    except SwckError:
        return False  # reported properly by load_kubeconfig
    return bool(user.get("exec") or user.get("auth-provider") or user.get("username"))


def load_kubeconfig(config, context=None, base_dir=None):
    """A Connection from a parsed kubeconfig (dict); paths are relative to ``base_dir``."""
    if not isinstance(config, dict):
        raise SwckError("kubeconfig: not a kubeconfig (expected a mapping)")
    name = context or config.get("current-context")
    if not name:
        raise SwckError("kubeconfig: no context given and no current-context set")
    ctx = _named(config.get("contexts"), name, "context")
    cluster = _named(config.get("clusters"), ctx.get("cluster"), "cluster")
    user = _named(config.get("users"), ctx.get("user"), "user") if ctx.get("user") else {}

    def path_of(value):
        value = os.path.expanduser(value)
        return value if os.path.isabs(value) or not base_dir else os.path.join(base_dir, value)

    conn = Connection(cluster.get("server"))
    if cluster.get("insecure-skip-tls-verify"):
        conn.verify_ssl = False
    if cluster.get("certificate-authority-data"):
        conn.ca_file = _data_file(cluster["certificate-authority-data"], "ca.crt")
    elif cluster.get("certificate-authority"):
        conn.ca_file = path_of(cluster["certificate-authority"])
    conn.tls_server_name = cluster.get("tls-server-name")
    conn.proxy = cluster.get("proxy-url")
    if user.get("client-certificate-data"):
        conn.cert_file = _data_file(user["client-certificate-data"], "client.crt")
    elif user.get("client-certificate"):
        conn.cert_file = path_of(user["client-certificate"])
    if user.get("client-key-data"):
        conn.key_file = _data_file(user["client-key-data"], "client.key")
    elif user.get("client-key"):
        conn.key_file = path_of(user["client-key"])
    if user.get("token"):
        conn.token = user["token"]
    elif user.get("tokenFile"):
        conn.token_file = path_of(user["tokenFile"])
    return conn


def _with_library(kubeconfig, paths, context):
    """Let the kubernetes library load a kubeconfig it alone understands."""
    try:
        from kubernetes import client as kclient
        from kubernetes import config as kconfig
    except ImportError as exc:
        raise SwckError("this kubeconfig uses exec/auth-provider credentials or several files, which need the "
                        "'kubernetes' Python library: %s" % exc)
    cfg = kclient.Configuration()
    if isinstance(kubeconfig, dict):
        kconfig.load_kube_config_from_dict(config_dict=kubeconfig, context=context, client_configuration=cfg,
                                           persist_config=False)
    else:
        kconfig.load_kube_config(config_file=os.pathsep.join(paths) if len(paths) > 1 else paths[0],
                                 context=context, client_configuration=cfg, persist_config=False)
    conn = Connection(cfg.host)
    conn.verify_ssl = cfg.verify_ssl
    conn.ca_file = cfg.ssl_ca_cert
    conn.cert_file = cfg.cert_file
    conn.key_file = cfg.key_file
    conn.tls_server_name = getattr(cfg, "tls_server_name", None)
    conn.proxy = cfg.proxy

    def hook():
        return cfg.get_api_key_with_prefix("BearerToken", alias="authorization")

    conn._token_hook = hook
    return conn


def _read_yaml(path):
    import yaml

    try:
        with open(path, "r") as handle:
            return yaml.safe_load(handle) or {}
    except (IOError, OSError) as exc:
        raise SwckError("kubeconfig: cannot read %s: %s" % (path, exc))
    except yaml.YAMLError as exc:
        raise SwckError("kubeconfig: %s is not valid YAML: %s" % (path, exc))


def _from_files(paths, context):
    if len(paths) > 1:
        return _with_library(None, paths, context)
    config = _read_yaml(paths[0])
    if _needs_library(config, context):
        return _with_library(None, paths, context)
    return load_kubeconfig(config, context, os.path.dirname(os.path.abspath(paths[0])))


def in_cluster():
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in (host or ""):
        host = "[%s]" % host
    conn = Connection("https://%s:%s" % (host, port))
    conn.ca_file = os.path.join(SERVICE_ACCOUNT_DIR, "ca.crt")
    conn.token_file = os.path.join(SERVICE_ACCOUNT_DIR, "token")
    if not os.path.exists(conn.token_file):
        raise SwckError("in-cluster: no service account token at %s" % conn.token_file)
    return conn


def connection_from_params(params):
    """Return a Connection for the module's auth ``params``."""
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    host = params.get("host")

    explicit = bool(host and (params.get("api_key") or (params.get("client_cert") and params.get("client_key"))))
    try:
        if explicit:
            # Enough to authenticate without any kubeconfig (as kubernetes.core decides).
            conn = Connection(host)
        elif isinstance(kubeconfig, dict):
            if _needs_library(kubeconfig, context):
                conn = _with_library(kubeconfig, None, context)
            else:
                conn = load_kubeconfig(kubeconfig, context)
        elif kubeconfig or context:
            paths = [os.path.expanduser(kubeconfig)] if kubeconfig else _default_kubeconfig_paths()
            missing = [p for p in paths if not os.path.exists(p)]
            if kubeconfig and missing:
                raise SwckError("kubeconfig: file %s does not exist" % missing[0])
            conn = _from_files([p for p in paths if os.path.exists(p)] or paths, context)
        else:
            # In a pod first, then the default kubeconfig; ``host`` (if given) overrides the server.
            paths = [p for p in _default_kubeconfig_paths() if os.path.exists(p)]
            if os.environ.get("KUBERNETES_SERVICE_HOST") and os.path.exists(
                    os.path.join(SERVICE_ACCOUNT_DIR, "token")):
                conn = in_cluster()
            elif paths:
                conn = _from_files(paths, None)
            elif host:
                conn = Connection(host)
            else:
                raise SwckError(
                    "no Kubernetes credentials: set kubeconfig, host or the K8S_AUTH_* variables, "
                    "or run inside a pod with a service account"
                )
    except SwckError:
        raise
    except Exception as exc:  # the library's loaders raise many types (ConfigException, ValueError, ...)
        raise SwckError("could not load Kubernetes configuration: %s" % exc)

    if host:
        conn.host = host
    if params.get("api_key"):
        conn.token = params["api_key"]
        conn._token_hook = None
        conn.token_file = None
    if params.get("ca_cert"):
        conn.ca_file = params["ca_cert"]
    if params.get("client_cert"):
        conn.cert_file = params["client_cert"]
    if params.get("client_key"):
        conn.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        conn.verify_ssl = params["validate_certs"]
    if params.get("proxy"):
        conn.proxy = params["proxy"]
    if params.get("no_proxy"):
        conn.no_proxy = params["no_proxy"]
    headers = params.get("proxy_headers") or {}
    if any(headers.values()):
        import urllib3

        conn.proxy_headers = urllib3.make_headers(
            proxy_basic_auth=headers.get("proxy_basic_auth"),
            basic_auth=headers.get("basic_auth"),
            user_agent=headers.get("user_agent"),
        )
    if not conn.host:
        raise SwckError("host: no API server address in the options or the kubeconfig")
    return conn
