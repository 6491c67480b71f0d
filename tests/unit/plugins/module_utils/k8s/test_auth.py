# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import base64
import os
import stat

import pytest
import yaml

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import auth
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError


def b64(text):
    return base64.b64encode(text.encode()).decode()


def config(user, cluster=None, current="main"):
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "c1", "cluster": cluster or {"server": "https://10.0.0.1:6443",
                                                           "certificate-authority-data": b64("CA")}},
                     {"name": "c2", "cluster": {"server": "https://other:6443", "insecure-skip-tls-verify": True}}],
        "users": [{"name": "u1", "user": user}],
        "contexts": [{"name": "main", "context": {"cluster": "c1", "user": "u1"}},
                     {"name": "other", "context": {"cluster": "c2", "user": "u1"}}],
    }


def test_client_certificate_data_goes_to_private_files():
    conn = auth.load_kubeconfig(config({"client-certificate-data": b64("CERT"), "client-key-data": b64("KEY")}))
    assert conn.host == "https://10.0.0.1:6443"
    assert conn.verify_ssl is True
    with open(conn.ca_file) as handle:
        assert handle.read() == "CA"
    with open(conn.key_file) as handle:
        assert handle.read() == "KEY"
    assert stat.S_IMODE(os.stat(conn.key_file).st_mode) == 0o600
    assert conn.authorization() is None


def test_private_files_survive_their_directory_being_removed():
    import shutil

    first = auth.load_kubeconfig(config({"client-certificate-data": b64("CERT"), "client-key-data": b64("KEY")}))
    shutil.rmtree(os.path.dirname(first.ca_file))  # a temp cleaner, or another run's cleanup
    second = auth.load_kubeconfig(config({"client-certificate-data": b64("CERT"), "client-key-data": b64("KEY")}))
    with open(second.ca_file) as handle:
        assert handle.read() == "CA"
    auth.cleanup_temp_files()
    assert not os.path.exists(second.ca_file)


def test_relative_paths_token_and_context(tmp_path):
    conn = auth.load_kubeconfig(config({"token": "abc"}, cluster={"server": "https://h", "certificate-authority": "ca.pem"}),
                                base_dir=str(tmp_path))
    assert conn.ca_file == str(tmp_path / "ca.pem")
    assert conn.authorization() == "Bearer abc"
    other = auth.load_kubeconfig(config({"token": "abc"}), context="other")
    assert other.host == "https://other:6443" and other.verify_ssl is False
    with pytest.raises(SwckError, match="no context named 'nope'"):
        auth.load_kubeconfig(config({}), context="nope")


def test_token_file_is_reread_when_it_changes(tmp_path):
    token = tmp_path / "token"
    token.write_text("one\n")
    conn = auth.load_kubeconfig(config({"tokenFile": "token"}), base_dir=str(tmp_path))
    assert conn.authorization() == "Bearer one"
    token.write_text("two\n")
    os.utime(token, (1, 1))
    assert conn.authorization() == "Bearer two"


@pytest.mark.parametrize("user, needs", [
    ({"exec": {"command": "aws"}}, True),
    ({"auth-provider": {"name": "oidc"}}, True),
    ({"username": "a", "password": "b"}, True),
    ({"token": "x"}, False),
    ({"client-certificate": "a"}, False),
])
def test_which_users_need_the_kubernetes_library(user, needs):
    assert auth._needs_library(config(user), None) is needs


def test_explicit_options_override_the_kubeconfig(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config({"token": "from-file"})))
    conn = auth.connection_from_params({"kubeconfig": str(path), "api_key": "explicit", "validate_certs": False,
                                        "host": "https://override:1", "ca_cert": "/etc/ca.pem"})
    assert conn.authorization() == "Bearer explicit"
    assert conn.verify_ssl is False and conn.host == "https://override:1" and conn.ca_file == "/etc/ca.pem"


def test_missing_credentials_are_reported(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(SwckError, match="no Kubernetes credentials"):
        auth.connection_from_params({})
    with pytest.raises(SwckError, match="kubeconfig: file .* does not exist"):
        auth.connection_from_params({"kubeconfig": str(tmp_path / "missing")})
    bad = tmp_path / "bad"
    bad.write_text("a: [")
    with pytest.raises(SwckError, match="is not valid YAML"):
        auth.connection_from_params({"kubeconfig": str(bad)})


def test_in_cluster_service_account(monkeypatch, tmp_path):
    (tmp_path / "token").write_text("sa-token")
    monkeypatch.setattr(auth, "SERVICE_ACCOUNT_DIR", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    conn = auth.connection_from_params({})
    assert conn.host == "https://[fd00::1]:443"
    assert conn.ca_file == str(tmp_path / "ca.crt")
    assert conn.authorization() == "Bearer sa-token"


def test_host_with_a_kubeconfig_keeps_the_kubeconfig_credentials(tmp_path, monkeypatch):
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config({"token": "from-file"})))
    conn = auth.connection_from_params({"kubeconfig": str(path), "host": "https://lb.example:6443"})
    assert conn.host == "https://lb.example:6443" and conn.authorization() == "Bearer from-file"
    # the default kubeconfig, too (kubernetes.core loads it when host alone cannot authenticate)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    conn = auth.connection_from_params({"host": "https://lb.example:6443"})
    assert conn.host == "https://lb.example:6443" and conn.authorization() == "Bearer from-file"


def test_host_with_credentials_reads_no_kubeconfig(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "broken"))
    (tmp_path / "broken").write_text("a: [")
    conn = auth.connection_from_params({"host": "https://h:1", "api_key": "t"})
    assert conn.authorization() == "Bearer t"
    conn = auth.connection_from_params({"host": "https://h:1", "client_cert": "/c.pem", "client_key": "/k.pem",
                                        "kubeconfig": str(tmp_path / "missing")})
    assert conn.cert_file == "/c.pem" and conn.authorization() is None
