# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Build the test control plane's binaries from Go modules and cache them.

Nothing is downloaded as a release binary: every binary is compiled with the
machine's Go from the Go module proxy, through the wrapper modules under
``gomod/``.  Several Kubernetes versions are supported, one wrapper module
each (``gomod/kubernetes-<minor>/``); etcd and kwok are shared by all of them.

Binaries are cached under the user's cache directory in two kinds of folder:

* ``controlplane/k8s-<version>_<hash>/bin``: kube-apiserver,
  kube-controller-manager, kube-scheduler of one Kubernetes version;
* ``controlplane/etcd-<version>_kwok-<version>_<hash>/bin`` (and ``stages/``,
  KWOK's stage definitions): etcd and kwok, whatever the Kubernetes version.

Each folder name is derived from the versions, the wrapper modules'
go.mod/go.sum/tools.go, the build flags and the Go version, so a changed input
gives a fresh build and an unchanged one is reused as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOMOD = HERE / "gomod"

# The version used when SWCK_KUBE_VERSION is not set.
DEFAULT_KUBERNETES_VERSION = "v1.37.2"
KUBE_VERSION_ENV = "SWCK_KUBE_VERSION"
ETCD_VERSION = "v3.7.3"
KWOK_VERSION = "v0.8.0"

# name of binary -> main package (in every gomod/kubernetes-* module)
KUBE_BINARIES = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
}
ETCD_BINARY = ("etcd", "go.etcd.io/etcd/server/v3")
KWOK_BINARY = ("kwok", "sigs.k8s.io/kwok/cmd/kwok")
SHARED_BINARIES = (ETCD_BINARY[0], KWOK_BINARY[0])

ALL_BINARIES = tuple(KUBE_BINARIES) + SHARED_BINARIES

# KWOK's own stage definitions (data files of the kwok module, the ones kwokctl
# uses), copied next to the binaries so a cached run needs no module cache.
KWOK_STAGE_FILES = {
    "node-initialize.yaml": "kustomize/stage/node/fast/node-initialize.yaml",
    "node-heartbeat-with-lease.yaml": "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod-ready.yaml": "kustomize/stage/pod/fast/pod-ready.yaml",
    "pod-complete.yaml": "kustomize/stage/pod/fast/pod-complete.yaml",
    "pod-delete.yaml": "kustomize/stage/pod/fast/pod-delete.yaml",
}

_KUBE_REQUIRE = re.compile(r"^require\s+k8s\.io/kubernetes\s+(v\d+\.\d+\.\d+)\s*$", re.M)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


# ------------------------------------------------------------------ versions
def kubernetes_versions() -> dict[str, Path]:
    """Supported Kubernetes versions, newest first, mapped to their wrapper module directory.

    A version is supported when ``gomod/kubernetes-<major>.<minor>/go.mod`` exists; its
    ``require k8s.io/kubernetes vX.Y.Z`` line names the version.
    """
    found = {}
    for go_mod in GOMOD.glob("kubernetes-*/go.mod"):
        match = _KUBE_REQUIRE.search(go_mod.read_text())
        if not match:
            raise RuntimeError(f"{go_mod}: no `require k8s.io/kubernetes vX.Y.Z` line")
        found[match.group(1)] = go_mod.parent
    return dict(sorted(found.items(), key=lambda item: _version_tuple(item[0]), reverse=True))


def _version_tuple(version: str) -> tuple[int, ...]:
    match = _VERSION.match(version)
    if not match:
        raise ValueError(f"{version!r} is not a version like v1.35.4")
    return tuple(int(part) for part in match.groups() if part is not None)


def resolve_kube_version(requested: str | None = None) -> str:
    """The supported Kubernetes version meant by ``requested``.

    ``requested`` (or ``$SWCK_KUBE_VERSION``, or the default v1.37.2 when neither is
    given) is a full version (``v1.35.4``) or a minor (``1.35``, ``v1.35``: that minor's
    supported patch).  Raises ValueError naming the supported versions otherwise.
    """
    source = "requested version"
    if not requested:
        requested = os.environ.get(KUBE_VERSION_ENV, "").strip()
        source = KUBE_VERSION_ENV
    if not requested:
        return DEFAULT_KUBERNETES_VERSION
    supported = kubernetes_versions()
    match = _VERSION.match(requested.strip())
    if match:
        major, minor, patch = match.groups()
        for version in supported:
            vmajor, vminor, vpatch = _version_tuple(version)
            if (int(major), int(minor)) == (vmajor, vminor) and (patch is None or int(patch) == vpatch):
                return version
    raise ValueError(
        f"{source} {requested!r} is not a supported Kubernetes version; supported: {', '.join(supported)} "
        f"(one wrapper module each under {GOMOD.relative_to(HERE.parent.parent)}/kubernetes-<minor>/)"
    )


# --------------------------------------------------------------------- flags
def _kube_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _kwok_ldflags() -> str:
    return f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION}"


_ETCD_LDFLAGS = "-s -w"


def _go_version() -> str:
    go = shutil.which("go")
    if not go:
        raise RuntimeError(
            "Go is needed to build the test control plane (kube-apiserver, etcd, kwok) "
            "from Go modules, and `go` is not on PATH"
        )
    return subprocess.run([go, "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------- cache
def cache_root() -> Path:
    env = os.environ.get("SWCK_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "skywalking-swck"


def _digest(module_dirs: list[Path], flags: list[str]) -> str:
    digest = hashlib.sha256()
    for module_dir in module_dirs:
        for name in ("go.mod", "go.sum", "tools.go"):
            digest.update((module_dir / name).read_bytes())
    for flag in flags:
        digest.update(flag.encode())
    digest.update(_go_version().encode())
    return digest.hexdigest()[:12]


def kube_key(version: str) -> str:
    """Cache folder name of one Kubernetes version's binaries."""
    module_dir = kubernetes_versions()[version]
    return f"k8s-{version}_{_digest([module_dir], [_kube_ldflags(version)])}"


def shared_key() -> str:
    """Cache folder name of etcd and kwok (used with every Kubernetes version)."""
    digest = _digest([GOMOD / "etcd", GOMOD / "kwok"], [_ETCD_LDFLAGS, _kwok_ldflags()])
    return f"etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}_{digest}"


@dataclass(frozen=True)
class Binaries:
    """Where one Kubernetes version's control plane binaries are (built or not)."""

    kube_version: str
    kube_dir: Path  # kube-apiserver, kube-controller-manager, kube-scheduler
    shared_dir: Path  # etcd, kwok

    def path(self, name: str) -> Path:
        return (self.shared_dir if name in SHARED_BINARIES else self.kube_dir) / name

    @property
    def stage_dir(self) -> Path:
        return self.shared_dir.parent / "stages"

    def complete(self) -> bool:
        return _have(self.kube_dir, KUBE_BINARIES) and _have_shared(self.shared_dir)


def binaries(kube_version: str | None = None) -> Binaries:
    """The cache paths for ``kube_version`` (resolved by resolve_kube_version)."""
    version = resolve_kube_version(kube_version)
    root = cache_root() / "controlplane"
    return Binaries(version, root / kube_key(version) / "bin", root / shared_key() / "bin")


def stage_dir() -> Path:
    return cache_root() / "controlplane" / shared_key() / "stages"


def _have(directory: Path, names) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in names)


def _have_shared(directory: Path) -> bool:
    return _have(directory, SHARED_BINARIES) and all(
        (directory.parent / "stages" / name).is_file() for name in KWOK_STAGE_FILES
    )


# --------------------------------------------------------------------- build
def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CGO_ENABLED", "0")
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod").strip()
    # The toolchain line in a wrapper module must never trigger a toolchain download.
    env["GOTOOLCHAIN"] = "local"
    return env


def _copy_kwok_stages(target: Path, log) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if all((target / name).is_file() for name in KWOK_STAGE_FILES):
        return
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{KWOK_VERSION}"],
        cwd=GOMOD / "kwok", env=_go_env(), check=True, capture_output=True, text=True,
    ).stdout
    source = Path(json.loads(out)["Dir"])
    for name, rel in KWOK_STAGE_FILES.items():
        shutil.copyfile(source / rel, target / name)
    log(f"copied kwok stage definitions to {target}")


def _go_build(module_dir: Path, out_dir: Path, packages: list[str], ldflags: str, log) -> None:
    cmd = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(out_dir) + os.sep] + packages
    log(f"$ (cd {module_dir.relative_to(HERE.parent.parent)}) {' '.join(cmd)}")
    subprocess.run(cmd, cwd=module_dir, env=_go_env(), check=True)


def _build_into(target: Path, steps, force: bool, log) -> None:
    """Build ``steps`` [(module dir, [(binary, package)], ldflags)] into ``target``, atomically."""
    names = [name for _module_dir, items, _ldflags in steps for name, _package in items]
    if _have(target, names) and not force:
        return
    staging = target.parent / f"bin.partial-{os.getpid()}"
    staging.mkdir(parents=True, exist_ok=True)
    # Reuse whatever an earlier, interrupted build finished.
    if target.is_dir() and not force:
        for name in names:
            if (target / name).exists() and not (staging / name).exists():
                shutil.copy2(target / name, staging / name)
    started = time.monotonic()
    for module_dir, items, ldflags in steps:
        missing = [pkg for name, pkg in items if force or not (staging / name).exists()]
        if not missing:
            continue
        t0 = time.monotonic()
        _go_build(module_dir, staging, missing, ldflags, log)
        log(f"built {module_dir.name} in {time.monotonic() - t0:.1f}s")
    # etcd's main package path ends in a major-version suffix: go build names
    # the binary after the element before it ("server").
    for produced in ("server", "v3"):
        if (staging / produced).exists():
            os.replace(staging / produced, staging / "etcd")
    if not _have(staging, names):
        raise RuntimeError(f"build finished but binaries are missing in {staging}")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    log(f"binaries ready in {target} ({time.monotonic() - started:.1f}s)")


def build(kube_version: str | None = None, force: bool = False, log=None) -> Binaries:
    """Build whatever is missing for one Kubernetes version (and etcd, kwok); return where they are.

    ``kube_version`` is resolved by resolve_kube_version (default: $SWCK_KUBE_VERSION, else
    v1.37.2).  Raises ValueError for an unsupported version, CalledProcessError when go fails.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    found = binaries(kube_version)
    if found.complete() and not force:
        return found
    _copy_kwok_stages(found.stage_dir, log)
    _build_into(found.shared_dir, [
        (GOMOD / "etcd", [ETCD_BINARY], _ETCD_LDFLAGS),
        (GOMOD / "kwok", [KWOK_BINARY], _kwok_ldflags()),
    ], force, log)
    _build_into(found.kube_dir, [
        (kubernetes_versions()[found.kube_version], list(KUBE_BINARIES.items()), _kube_ldflags(found.kube_version)),
    ], force, log)
    return found


def build_all(force: bool = False, log=None) -> list[Binaries]:
    """Build every supported Kubernetes version (newest first)."""
    return [build(version, force=force, log=log) for version in kubernetes_versions()]


# ------------------------------------------------------ new wrapper modules
_TOOLS_GO = """//go:build tools

// Package tools pins the main packages built from this module.
package tools

import (
\t_ "k8s.io/kubernetes/cmd/kube-apiserver"
\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"
\t_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
"""


def write_kube_wrapper(version: str, log=None) -> Path:
    """Create ``gomod/kubernetes-<minor>/`` for ``version`` (e.g. v1.35.4) and `go mod tidy` it.

    Follows k8s.io/kubernetes's own go.mod at that version: the same ``go`` and ``godebug``
    lines, and every staging module it requires at v0.0.0 (those it replaces with
    ``./staging/src/...``) replaced with the published ``v0.<minor>.<patch>``.  Returns the
    module directory.  Raises CalledProcessError when the proxy does not serve a module.
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    major, minor, patch = _version_tuple(version)
    version = f"v{major}.{minor}.{patch}"
    staging_version = f"v0.{minor}.{patch}"
    env = _go_env()
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["go", "mod", "download", "-json", f"k8s.io/kubernetes@{version}"],
                             cwd=tmp, env=env, check=True, capture_output=True, text=True).stdout
    upstream = Path(json.loads(out)["GoMod"]).read_text()
    go_line = re.search(r"^go\s+\S+\s*$", upstream, re.M).group(0)
    godebug = re.search(r"^godebug\s+.*$", upstream, re.M)
    replaced = set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", upstream, re.M))
    required = set(re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+v0\.0\.0\s*(?://.*)?$", upstream, re.M))
    staging = sorted(required & replaced)
    module_dir = GOMOD / f"kubernetes-{major}.{minor}"
    module_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "// Wrapper module: builds kube-apiserver, kube-controller-manager, kube-scheduler",
        f"// of k8s.io/kubernetes {version} for the test control plane (see build.py).",
        f"module swck.local/controlplane/kubernetes-{major}.{minor}",
        "",
        go_line,
        "",
    ]
    if godebug:
        lines += [godebug.group(0), ""]
    lines += [f"require k8s.io/kubernetes {version}", "", "replace ("]
    lines += [f"\t{name} => {name} {staging_version}" for name in staging]
    lines += [")", ""]
    (module_dir / "go.mod").write_text("\n".join(lines))
    (module_dir / "go.sum").write_text("")
    (module_dir / "tools.go").write_text(_TOOLS_GO)
    log(f"{module_dir}: {len(staging)} staging modules replaced at {staging_version}; go mod tidy")
    subprocess.run(["go", "mod", "tidy"], cwd=module_dir, env=env, check=True)
    return module_dir


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kube-version", help=f"Kubernetes version (default: ${KUBE_VERSION_ENV}, else "
                                               f"{DEFAULT_KUBERNETES_VERSION})")
    parser.add_argument("--all", action="store_true", help="build every supported Kubernetes version")
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    parser.add_argument("--print-dir", action="store_true", help="print the binary directories and exit")
    args = parser.parse_args(argv)
    if args.print_dir:
        found = binaries(args.kube_version)
        print(found.kube_dir)
        print(found.shared_dir)
        return 0
    results = build_all(force=args.force) if args.all else [build(args.kube_version, force=args.force)]
    for found in results:
        print(f"{found.kube_version}: {found.kube_dir} {found.shared_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
