# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations


class ModuleDocFragment(object):
    # Connection options: the same names, aliases and K8S_AUTH_* variables as kubernetes.core.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig content as a dictionary.
      - When neither O(kubeconfig), O(context) nor O(host) is set, the default kubeconfig
        (C($KUBECONFIG) or C(~/.kube/config)) is used, and inside a pod the service account.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use. Can also be set with E(K8S_AUTH_CONTEXT).
    type: str
  host:
    description:
      - URL of the Kubernetes API server. Can also be set with E(K8S_AUTH_HOST).
    type: str
  api_key:
    description:
      - Bearer token used to authenticate. Can also be set with E(K8S_AUTH_API_KEY).
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Can also be set with E(K8S_AUTH_VERIFY_SSL).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA certificate used to verify the API server. Can also be set with E(K8S_AUTH_SSL_CA_CERT).
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate. Can also be set with E(K8S_AUTH_CERT_FILE).
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the client certificate's key. Can also be set with E(K8S_AUTH_KEY_FILE).
    type: path
    aliases: [key_file]
  proxy:
    description:
      - HTTP proxy URL for the API server connection. Can also be set with E(K8S_AUTH_PROXY).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts that bypass O(proxy). Can also be set with E(K8S_AUTH_NO_PROXY).
    type: str
  proxy_headers:
    description:
      - Headers sent to the proxy.
    type: dict
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy.
        type: str
      basic_auth:
        description:
          - C(user:password) sent as basic authentication.
        type: str
      user_agent:
        description:
          - User agent sent to the proxy.
        type: str
  impersonate_user:
    description:
      - User to impersonate for every request. Can also be set with E(K8S_AUTH_IMPERSONATE_USER).
    type: str
  impersonate_groups:
    description:
      - Groups to impersonate. Can also be set with E(K8S_AUTH_IMPERSONATE_GROUPS) (comma-separated).
    type: list
    elements: str
  request_timeout:
    description:
      - Seconds to wait for one API response.
    type: float
    default: 30
  retry_budget:
    description:
      - Total seconds spent retrying a request that failed with a retryable answer (409 other than
        field conflicts, 429, 5xx) or a broken connection, with exponential backoff.
      - V(0) disables retries.
    type: float
    default: 60
notes:
  - Authentication follows kubernetes.core, so the same C(module_defaults) and K8S_AUTH_* credentials work.
  - Kubeconfigs with client certificates, tokens or token files, and in-cluster service accounts, are read
    directly; users with C(exec) or C(auth-provider) credentials, and several merged kubeconfig files, are
    loaded with the C(kubernetes) Python library.
  - HTTP basic authentication (C(username)/C(password)) is not supported; Kubernetes removed it in 1.19.
requirements:
  - PyYAML
  - urllib3
  - kubernetes >= 30.1.0 (only for exec/auth-provider credentials or several kubeconfig files)
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait for the objects to become ready (Deployments, StatefulSets including a C(rollingUpdate.partition),
        DaemonSets, Jobs completed, Pods, CustomResourceDefinitions), or gone for O(state=absent).
      - Waiting follows each object with a watch; a timeout error names every object that is not ready
        and why (conditions, container states, recent Warning events).
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds to wait in total when O(wait=true).
    type: int
    default: 300
"""
