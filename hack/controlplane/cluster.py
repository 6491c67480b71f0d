# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""A real Kubernetes control plane on loopback, for tests and local use.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and KWOK (which
plays the kubelet for a few fake nodes) run as local processes built from Go
modules (see build.py).  Every instance lives in its own directory with its
own free ports, certificates and kubeconfigs, so several can run side by side.

This harness deliberately does not use the collection's own Kubernetes code:
it talks to the API server with the standard library only.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from . import build, pki, stages

ADMIN_USER = "swck-admin"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
NODE_IP = "10.240.0.1"
FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
# The default StorageClass every instance has (dynamic hostPath volumes).
STORAGE_CLASS = "standard"
# Users whose reads are noise in the audit log (their writes are still logged).
# Seconds between SIGTERM and SIGKILL.  kube-apiserver waits up to a minute for open
# watch streams before it exits; nothing here needs a graceful apiserver exit.
STOP_GRACE = {"kube-apiserver": 3.0}
DEFAULT_STOP_GRACE = 5.0
SYSTEM_USERS = ["system:kube-controller-manager", "system:kube-scheduler", "kwok", "system:apiserver"]


class ControlPlaneError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pdeathsig():
    """Ask the kernel to SIGTERM the child when the parent dies (no orphans)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie counts as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _kubeconfig(server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, user: str) -> str:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "swck-local", "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
            "users": [{"name": user, "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)}}],
            "contexts": [{"name": "swck-local", "context": {"cluster": "swck-local", "user": user}}],
            "current-context": "swck-local",
        },
        sort_keys=False,
    )


class ControlPlane:
    """One control plane instance rooted at ``workdir``."""

    def __init__(self, workdir, nodes: int = 3, pod_behaviours: dict | None = None,
                 extra_stages: list[dict] | None = None, kube_version: str | None = None,
                 binaries: build.Binaries | None = None, tie_to_parent: bool = True, log=None):
        """``pod_behaviours`` maps a behaviour of stages.BEHAVIOURS to images; ``extra_stages``
        are further KWOK Stage objects (dicts) appended to the configuration.

        ``kube_version`` is the Kubernetes version to run (``v1.35.4`` or a minor such as
        ``1.35``); None means ``$SWCK_KUBE_VERSION``, else build.DEFAULT_KUBERNETES_VERSION.
        Raises ValueError for a version build.kubernetes_versions() does not list.
        ``binaries`` overrides where the binaries are (default: build them, cached)."""
        self.workdir = Path(workdir).resolve()
        self.nodes = nodes
        self.pod_behaviours = {k: list(v) for k, v in (pod_behaviours or {}).items()}
        self.extra_stages = list(extra_stages or [])
        self.binaries = binaries
        self.kube_version = binaries.kube_version if binaries else build.resolve_kube_version(kube_version)
        self.tie_to_parent = tie_to_parent
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.procs: dict[str, subprocess.Popen] = {}
        self.pids: dict[str, int] = {}
        self.argv: dict[str, list[str]] = {}
        self.ports: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self._ssl = None

    # ----------------------------------------------------------------- paths
    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def state_file(self) -> Path:
        return self.workdir / "state.json"

    # ------------------------------------------------------------------ pki
    def _write_pki(self) -> None:
        d = self.workdir / "pki"
        d.mkdir(parents=True, exist_ok=True)
        ca = pki.CA("swck-local-ca")
        pki.write(d / "ca.crt", ca.cert_pem)
        cert, key = ca.issue(
            "kube-apiserver",
            dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                 "kubernetes.default.svc.cluster.local"),
            ips=("127.0.0.1", "10.96.0.1"),
            server=True,
        )
        pki.write(d / "apiserver.crt", cert)
        pki.write(d / "apiserver.key", key, private=True)
        front = pki.CA("swck-local-front-proxy-ca")
        pki.write(d / "front-proxy-ca.crt", front.cert_pem)
        cert, key = front.issue("front-proxy-client", client=True)
        pki.write(d / "front-proxy-client.crt", cert)
        pki.write(d / "front-proxy-client.key", key, private=True)
        sa_key, sa_pub = pki.service_account_keypair()
        pki.write(d / "sa.key", sa_key, private=True)
        pki.write(d / "sa.pub", sa_pub)
        self._ca = ca
        users = {
            "admin": (ADMIN_USER, "system:masters"),
            "controller-manager": ("system:kube-controller-manager", "system:masters"),
            "scheduler": ("system:kube-scheduler", "system:masters"),
            "kwok": ("kwok", "system:masters"),
        }
        for name, (cn, org) in users.items():
            cert, key = ca.issue(cn, org=org, client=True)
            pki.write(d / f"{name}.crt", cert)
            pki.write(d / f"{name}.key", key, private=True)

    def user_kubeconfig(self, user: str, groups: tuple = (), path: Path | None = None) -> Path:
        """Write a kubeconfig for a client-certificate user (for RBAC tests)."""
        cert, key = self._ca.issue(user, org=",".join(groups) if groups else None, client=True)
        path = path or (self.workdir / f"kubeconfig-{user}")
        path.write_text(_kubeconfig(self.server, self._ca.cert_pem, cert, key, user))
        path.chmod(0o600)
        return path

    def _write_kubeconfigs(self) -> None:
        d = self.workdir / "pki"
        ca = (d / "ca.crt").read_bytes()
        for name in ("admin", "controller-manager", "scheduler", "kwok"):
            text = _kubeconfig(self.server, ca, (d / f"{name}.crt").read_bytes(), (d / f"{name}.key").read_bytes(),
                               name)
            target = self.kubeconfig if name == "admin" else self.workdir / f"{name}.kubeconfig"
            target.write_text(text)
            target.chmod(0o600)

    def _write_audit_policy(self) -> Path:
        policy = {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Policy",
            "omitStages": ["RequestReceived", "ResponseStarted"],
            "rules": [
                {"level": "None", "users": SYSTEM_USERS, "verbs": ["get", "list", "watch"]},
                {"level": "None", "resources": [{"group": "coordination.k8s.io", "resources": ["leases"]}]},
                {"level": "None", "nonResourceURLs": ["/readyz*", "/healthz*", "/livez*"]},
                {"level": "Metadata"},
            ],
        }
        path = self.workdir / "audit-policy.yaml"
        path.write_text(yaml.safe_dump(policy, sort_keys=False))
        return path

    # ------------------------------------------------------------- processes
    def _spawn(self, name: str, argv: list[str]) -> None:
        logf = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir,
            start_new_session=True, preexec_fn=_pdeathsig if self.tie_to_parent else None,
        )
        logf.close()
        self.procs[name] = proc
        self.pids[name] = proc.pid
        self.argv[name] = argv
        self._save_state()

    def _save_state(self) -> None:
        state = {"kube_version": self.kube_version, "pids": self.pids, "ports": self.ports,
                 "kubeconfig": str(self.kubeconfig),
                 "server": self.server if "apiserver" in self.ports else None,
                 "behaviours": self.pod_behaviours}
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_file)

    def _exited(self, name: str) -> int | None:
        proc = self.procs.get(name)
        return proc.poll() if proc else None

    def _log_tail(self, name: str, lines: int = 25) -> str:
        try:
            text = (self.workdir / f"{name}.log").read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def _wait(self, what: str, check, timeout: float, proc_name: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        last_error = None
        while time.monotonic() < deadline:
            if proc_name and self._exited(proc_name) is not None:
                raise ControlPlaneError(
                    f"{proc_name} exited with code {self._exited(proc_name)} while waiting for {what}; "
                    f"last log lines:\n{self._log_tail(proc_name)}"
                )
            try:
                if check():
                    return
            except Exception as exc:  # noqa: BLE001 - keep polling, report the last error
                last_error = exc
            time.sleep(0.1)
        raise ControlPlaneError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error})")

    def _bin(self, name: str) -> str:
        return str(self.binaries.path(name))

    def _etcd_argv(self) -> list[str]:
        client, peer = self.ports["etcd"], self.ports["etcd-peer"]
        return [
            self._bin("etcd"), "--name=default", f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{client}", f"--advertise-client-urls=http://127.0.0.1:{client}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}", f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}", "--unsafe-no-fsync=true", "--log-level=warn",
        ]

    def _apiserver_argv(self) -> list[str]:
        d = self.workdir / "pki"
        return [
            self._bin("kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            "--endpoint-reconciler-type=none",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={d / 'apiserver.crt'}", f"--tls-private-key-file={d / 'apiserver.key'}",
            f"--client-ca-file={d / 'ca.crt'}",
            "--authorization-mode=RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            f"--requestheader-client-ca-file={d / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-username-headers=X-Remote-User",
            f"--proxy-client-cert-file={d / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={d / 'front-proxy-client.key'}",
            f"--audit-policy-file={self.workdir / 'audit-policy.yaml'}",
            f"--audit-log-path={self.audit_log}", "--audit-log-maxsize=2048", "--audit-log-mode=blocking",
            "--allow-privileged=true", "--profiling=false",
        ]

    def _controller_manager_argv(self) -> list[str]:
        d = self.workdir / "pki"
        kc = self.workdir / "controller-manager.kubeconfig"
        return [
            self._bin("kube-controller-manager"), f"--kubeconfig={kc}",
            f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            "--secure-port=0", "--leader-elect=false", "--use-service-account-credentials=false",
            f"--service-account-private-key-file={d / 'sa.key'}", f"--root-ca-file={d / 'ca.crt'}",
            f"--cluster-signing-cert-file={d / 'ca.crt'}", "--controllers=*,-nodeipam",
            # HorizontalPodAutoscalers act within seconds, not after the 15 s default period (tests that
            # need the controller's own writes, e.g. /scale, wait for them)
            "--horizontal-pod-autoscaler-sync-period=2s",
            # Dynamic hostPath volumes (paths under /tmp; nothing is written without a kubelet), so
            # PersistentVolumeClaims bind as on a real cluster with a default StorageClass.
            "--enable-hostpath-provisioner=true",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
        ]

    def _scheduler_argv(self) -> list[str]:
        kc = self.workdir / "scheduler.kubeconfig"
        return [
            self._bin("kube-scheduler"), f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
            f"--authorization-kubeconfig={kc}", "--secure-port=0", "--leader-elect=false",
        ]

    def _kwok_argv(self) -> list[str]:
        return [
            self._bin("kwok"), f"--kubeconfig={self.workdir / 'kwok.kubeconfig'}",
            f"--config={self.workdir / 'kwok.yaml'}",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            f"--cidr={POD_CIDR}", f"--node-ip={NODE_IP}", "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{self.ports['kwok']}",
        ]

    def _write_kwok_config(self) -> None:
        (self.workdir / "kwok.yaml").write_text(
            stages.render(self.binaries.stage_dir if self.binaries else build.stage_dir(),
                          self.pod_behaviours, self.extra_stages))

    # ------------------------------------------------------------------ http
    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            d = self.workdir / "pki"
            ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
            ctx.load_cert_chain(str(d / "admin.crt"), str(d / "admin.key"))
            self._ssl = ctx
        return self._ssl

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 10,
                content_type: str = "application/json") -> tuple[int, dict | str]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self._context(), timeout=timeout) as resp:
                raw = resp.read().decode()
                status = resp.status
        except urllib.error.HTTPError as err:
            raw = err.read().decode()
            status = err.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def _etcd_healthy(self) -> bool:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['etcd']}/health", timeout=2) as resp:
            return json.loads(resp.read()).get("health") == "true"

    def _apiserver_ready(self) -> bool:
        return self.request("GET", "/readyz", timeout=2)[0] == 200

    def node_status(self) -> list[dict]:
        status, body = self.request("GET", "/api/v1/nodes")
        if status != 200:
            raise ControlPlaneError(f"listing nodes failed: {status} {body}")
        nodes = []
        for item in body.get("items", []):
            ready = next((c["status"] for c in item.get("status", {}).get("conditions", []) if c["type"] == "Ready"),
                         "Unknown")
            nodes.append({"name": item["metadata"]["name"], "ready": ready == "True",
                          "version": item.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")})
        return nodes

    def _nodes_ready(self) -> bool:
        nodes = self.node_status()
        return len(nodes) >= self.nodes and all(n["ready"] for n in nodes)

    def _default_sa(self) -> bool:
        return self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

    def _create_storage_class(self) -> None:
        """A default StorageClass served by the controller-manager's hostPath provisioner."""
        body = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": {"name": STORAGE_CLASS,
                             "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "kubernetes.io/host-path", "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate"}
        status, body = self.request("POST", "/apis/storage.k8s.io/v1/storageclasses", body)
        if status not in (201, 409):
            raise ControlPlaneError(f"creating the default StorageClass failed: {status} {body}")

    def _create_nodes(self) -> None:
        for i in range(self.nodes):
            name = f"kwok-node-{i}"
            node = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {FAKE_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                    "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                               "kubernetes.io/arch": "amd64", "type": "kwok",
                               "topology.kubernetes.io/zone": f"zone-{i % 3}"},
                },
                "spec": {},
                "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                           "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
            }
            status, body = self.request("POST", "/api/v1/nodes", node)
            if status not in (201, 409):
                raise ControlPlaneError(f"creating node {name} failed: {status} {body}")
            # Status is dropped on create; give each node its own address (KWOK keeps it).
            addresses = {"status": {"addresses": [{"type": "InternalIP", "address": f"10.240.0.{i + 1}"},
                                                  {"type": "Hostname", "address": name}]}}
            status, body = self.request("PATCH", f"/api/v1/nodes/{name}/status", addresses,
                                        content_type="application/merge-patch+json")
            if status != 200:
                raise ControlPlaneError(f"setting node {name} addresses failed: {status} {body}")

    # ------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 90) -> "ControlPlane":
        started = time.monotonic()
        self.binaries = self.binaries or build.build(self.kube_version)
        if not self.binaries.complete():
            raise ControlPlaneError(f"control plane binaries of Kubernetes {self.kube_version} missing in "
                                    f"{self.binaries.kube_dir} / {self.binaries.shared_dir}; run the build first")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for name in ("etcd", "etcd-peer", "apiserver", "kwok"):
            self.ports[name] = _free_port()
        self._write_pki()
        self._write_kubeconfigs()
        self._write_audit_policy()
        self._write_kwok_config()
        try:
            self._spawn("etcd", self._etcd_argv())
            self._wait("etcd health", self._etcd_healthy, timeout, "etcd")
            self.timings["etcd"] = time.monotonic() - started
            self._spawn("kube-apiserver", self._apiserver_argv())
            self._wait("kube-apiserver /readyz", self._apiserver_ready, timeout, "kube-apiserver")
            self.timings["apiserver"] = time.monotonic() - started
            served = self.version().get("gitVersion")
            if served != self.kube_version:
                raise ControlPlaneError(f"kube-apiserver from {self.binaries.kube_dir} reports {served}, "
                                        f"expected {self.kube_version}")
            self._spawn("kube-controller-manager", self._controller_manager_argv())
            self._spawn("kube-scheduler", self._scheduler_argv())
            self._spawn("kwok", self._kwok_argv())
            self._create_nodes()
            self._create_storage_class()
            self._wait("nodes Ready", self._nodes_ready, timeout, "kwok")
            self.timings["nodes"] = time.monotonic() - started
            self._wait("the default ServiceAccount", self._default_sa, timeout, "kube-controller-manager")
            self.timings["ready"] = time.monotonic() - started
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for name in ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            self._stop_one(name)
        self._save_state()

    def _stop_one(self, name: str) -> None:
        pid = self.pids.pop(name, None)
        proc = self.procs.pop(name, None)
        if pid is None:
            return
        _terminate(pid, str(self.workdir), STOP_GRACE.get(name, DEFAULT_STOP_GRACE), proc)

    def stop_component(self, name: str) -> None:
        """Stop one component (e.g. ``kube-apiserver``); ``start_component`` brings it back."""
        self._stop_one(name)

    def start_component(self, name: str, wait: bool = True) -> None:
        """Start a stopped component again with the flags it had."""
        self._spawn(name, self.argv[name])
        if name == "kube-apiserver" and wait:
            self._ssl = None
            self._wait("kube-apiserver /readyz", self._apiserver_ready, 60, name)

    def restart(self, name: str, down_for: float = 0.0) -> None:
        """Stop one component and start it again with the same flags."""
        self.stop_component(name)
        if down_for:
            time.sleep(down_for)
        self.start_component(name)

    def set_pod_behaviours(self, behaviours: dict[str, list[str]]) -> None:
        """Choose which images' pods misbehave (see stages.py); restarts KWOK."""
        self.pod_behaviours = {k: list(v) for k, v in behaviours.items()}
        self._write_kwok_config()
        self.restart("kwok")

    def version(self) -> dict:
        return self.request("GET", "/version")[1]

    # ------------------------------------------------------------- auditing
    def audit_offset(self) -> int:
        try:
            return self.audit_log.stat().st_size
        except FileNotFoundError:
            return 0

    def audit_events(self, since: int = 0, user: str | None = ADMIN_USER, verbs=None) -> list[dict]:
        """Audit events logged after byte offset ``since`` (``audit_offset()``)."""
        events = []
        with open(self.audit_log, "rb") as handle:
            handle.seek(since)
            for line in handle:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if user and event.get("user", {}).get("username") != user:
                    continue
                if verbs and event.get("verb") not in verbs:
                    continue
                events.append(event)
        return events


WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def _terminate(pid: int, marker: str, grace: float, proc: subprocess.Popen | None = None) -> None:
    """SIGTERM then SIGKILL one process we started (checked by its command line)."""
    if not _pid_alive(pid):
        if proc:
            proc.wait()
        return
    if marker not in _cmdline(pid):
        return  # not ours any more (pid reused): leave it alone
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if proc and proc.poll() is not None:
            return
        if not proc and not _pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc:
        proc.wait()


def stop_from_state(workdir) -> list[str]:
    """Stop the processes recorded in ``workdir/state.json`` (the CLI's `down`)."""
    workdir = Path(workdir).resolve()
    state_file = workdir / "state.json"
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    stopped = []
    for name in ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
        pid = state.get("pids", {}).get(name)
        if pid and _pid_alive(pid) and str(workdir) in _cmdline(pid):
            _terminate(pid, str(workdir), STOP_GRACE.get(name, DEFAULT_STOP_GRACE))
            stopped.append(name)
    state["pids"] = {}
    state_file.write_text(json.dumps(state, indent=2))
    return stopped


def attach(workdir) -> ControlPlane:
    """A ControlPlane object for an instance started earlier (by the CLI)."""
    workdir = Path(workdir).resolve()
    state = json.loads((workdir / "state.json").read_text())
    plane = ControlPlane(workdir, kube_version=state.get("kube_version"), tie_to_parent=False)
    plane.ports = state["ports"]
    plane.pids = state["pids"]
    plane.pod_behaviours = state.get("behaviours", {})
    return plane
