# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Argument specs shared by every module (documented in doc_fragments/k8s_auth.py)."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback


def _env(name):
    return (env_fallback, ["K8S_AUTH_" + name])


# Same option names, aliases and K8S_AUTH_* variables as kubernetes.core.
AUTH_ARG_SPEC = {
    "kubeconfig": {"type": "raw", "fallback": _env("KUBECONFIG")},
    "context": {"type": "str", "fallback": _env("CONTEXT")},
    "host": {"type": "str", "fallback": _env("HOST")},
    "api_key": {"type": "str", "no_log": True, "fallback": _env("API_KEY")},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"], "fallback": _env("VERIFY_SSL")},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": _env("SSL_CA_CERT")},
    "client_cert": {"type": "path", "aliases": ["cert_file"], "fallback": _env("CERT_FILE")},
    "client_key": {"type": "path", "aliases": ["key_file"], "no_log": False, "fallback": _env("KEY_FILE")},
    "proxy": {"type": "str", "fallback": _env("PROXY")},
    "no_proxy": {"type": "str", "fallback": _env("NO_PROXY")},
    "proxy_headers": {
        "type": "dict",
        "options": {
            "proxy_basic_auth": {"type": "str", "no_log": True},
            "basic_auth": {"type": "str", "no_log": True},
            "user_agent": {"type": "str"},
        },
    },
    "impersonate_user": {"type": "str", "fallback": _env("IMPERSONATE_USER")},
    "impersonate_groups": {"type": "list", "elements": "str", "fallback": _env("IMPERSONATE_GROUPS")},
    "request_timeout": {"type": "float", "default": 30.0},
    "retry_budget": {"type": "float", "default": 60.0},
}

WAIT_ARG_SPEC = {
    "wait": {"type": "bool", "default": False},
    "wait_timeout": {"type": "int", "default": 300},
}

AUTH_KEYS = tuple(AUTH_ARG_SPEC)
