# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Turn the auth options (kubernetes.core names) into a client configuration.

Precedence, as in kubernetes.core and kubectl:
  * ``kubeconfig`` (a path or an inline dict) and/or ``context`` given: load it,
    then apply any explicit option on top;
  * otherwise ``host`` given: use only the explicit options;
  * otherwise the default kubeconfig (``$KUBECONFIG`` or ``~/.kube/config``) when
    it exists, else the in-cluster service account.
"""

from __future__ import annotations

import os

from .errors import SwckError


def _import_kubernetes():
    try:
        from kubernetes import client as kclient
        from kubernetes import config as kconfig
    except ImportError as exc:  # pragma: no cover - reported by the module
        raise SwckError("the 'kubernetes' Python library is required: %s" % exc)
    return kclient, kconfig


def _default_kubeconfig_paths():
    env = os.environ.get("KUBECONFIG")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def build_configuration(params):
    """Return a ``kubernetes.client.Configuration`` for ``params``."""
    kclient, kconfig = _import_kubernetes()
    cfg = kclient.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    host = params.get("host")

    try:
        if isinstance(kubeconfig, dict):
            kconfig.load_kube_config_from_dict(
                config_dict=kubeconfig, context=context, client_configuration=cfg, persist_config=False
            )
        elif kubeconfig or context:
            paths = [os.path.expanduser(kubeconfig)] if kubeconfig else _default_kubeconfig_paths()
            missing = [p for p in paths if not os.path.exists(p)]
            if kubeconfig and missing:
                raise SwckError("kubeconfig: file %s does not exist" % missing[0])
            kconfig.load_kube_config(
                config_file=os.pathsep.join(paths) if len(paths) > 1 else paths[0],
                context=context, client_configuration=cfg, persist_config=False,
            )
        elif not host:
            paths = [p for p in _default_kubeconfig_paths() if os.path.exists(p)]
            if paths:
                kconfig.load_kube_config(
                    config_file=os.pathsep.join(paths) if len(paths) > 1 else paths[0],
                    client_configuration=cfg, persist_config=False,
                )
            elif os.environ.get("KUBERNETES_SERVICE_HOST"):
                kconfig.load_incluster_config(client_configuration=cfg)
            else:
                raise SwckError(
                    "no Kubernetes credentials: set kubeconfig, host or the K8S_AUTH_* variables, "
                    "or run inside a pod with a service account"
                )
    except SwckError:
        raise
    except Exception as exc:  # the loaders raise many types (ConfigException, ValueError, ...)
        raise SwckError("could not load Kubernetes configuration: %s" % exc)

    if host:
        cfg.host = host
    if params.get("api_key"):
        cfg.api_key = {"authorization": params["api_key"]}
        cfg.api_key_prefix = {"authorization": "Bearer"}
    if params.get("ca_cert"):
        cfg.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        cfg.cert_file = params["client_cert"]
    if params.get("client_key"):
        cfg.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        cfg.verify_ssl = params["validate_certs"]
    if params.get("proxy"):
        cfg.proxy = params["proxy"]
    if params.get("no_proxy"):
        cfg.no_proxy = params["no_proxy"]
    headers = params.get("proxy_headers") or {}
    if any(headers.values()):
        import urllib3

        cfg.proxy_headers = urllib3.make_headers(
            proxy_basic_auth=headers.get("proxy_basic_auth"),
            basic_auth=headers.get("basic_auth"),
            user_agent=headers.get("user_agent"),
        )
    if not cfg.host:
        raise SwckError("host: no API server address in the options or the kubeconfig")
    return cfg
