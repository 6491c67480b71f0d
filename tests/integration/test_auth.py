# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Token, token-file and exec-plugin credentials against the real API server."""

from __future__ import annotations

import json

import pytest
import yaml


@pytest.fixture
def sa_token(control_plane, namespace):
    """A service account bound to the 'view' ClusterRole and a token for it (TokenRequest API)."""
    req = control_plane.request
    assert req("POST", "/api/v1/namespaces/%s/serviceaccounts" % namespace,
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "reader"}})[0] == 201
    assert req("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "reader-" + namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}]})[0] == 201
    # 'view' cannot list nodes: add a small ClusterRole for cluster_info.
    req("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "node-reader"},
        "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]})
    assert req("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "node-reader-" + namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "node-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}]})[0] == 201
    status, body = req("POST", "/api/v1/namespaces/%s/serviceaccounts/reader/token" % namespace, {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
    assert status == 201, body
    return body["status"]["token"], "system:serviceaccount:%s:reader" % namespace


def _users(audit):
    return {e["user"]["username"] for e in audit.plane.audit_events(audit.offset, user=None)
            if e.get("objectRef", {}).get("resource") == "nodes"}


def test_api_key_with_host_and_ca(playbook, control_plane, sa_token, audit):
    token, user = sa_token
    audit.start()
    run = playbook.run([{"skywalking.swck.cluster_info": {
        "host": control_plane.server, "api_key": token,
        "ca_cert": str(control_plane.workdir / "pki" / "ca.crt")}}], env={"K8S_AUTH_KUBECONFIG": ""})
    assert run[0]["ready_nodes"] == 3
    assert token not in run.stdout
    assert user in _users(audit)


def test_kubeconfig_with_token_file(playbook, control_plane, sa_token, tmp_path, audit):
    token, user = sa_token
    (tmp_path / "token").write_text(token)
    (tmp_path / "ca.crt").write_bytes((control_plane.workdir / "pki" / "ca.crt").read_bytes())
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "local", "cluster": {"server": control_plane.server, "certificate-authority": "ca.crt"}}],
        "users": [{"name": "reader", "user": {"tokenFile": "token"}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": "reader"}}]}))
    audit.start()
    run = playbook.run([{"skywalking.swck.cluster_info": {"kubeconfig": str(kubeconfig)}}])
    assert run[0]["ready_nodes"] == 3
    assert user in _users(audit)


def test_exec_credential_plugin_through_the_kubernetes_library(playbook, control_plane, sa_token, tmp_path, audit):
    token, user = sa_token
    plugin = tmp_path / "credential-plugin"
    credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": token}}
    plugin.write_text("#!/bin/sh\ncat <<'EOF'\n%s\nEOF\n" % json.dumps(credential))
    plugin.chmod(0o755)
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "exec",
        "clusters": [{"name": "local", "cluster": {
            "server": control_plane.server,
            "certificate-authority": str(control_plane.workdir / "pki" / "ca.crt")}}],
        "users": [{"name": "plugin", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin),
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": "exec", "context": {"cluster": "local", "user": "plugin"}}]}
    audit.start()
    # The kubeconfig given inline as a dictionary (kubernetes.core allows both forms).
    run = playbook.run([{"skywalking.swck.cluster_info": {"kubeconfig": kubeconfig}}])
    assert run[0]["ready_nodes"] == 3
    assert user in _users(audit)
