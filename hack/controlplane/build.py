# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Build the test control plane's binaries from Go modules and cache them.

Nothing is downloaded as a release binary: every binary is compiled with the
machine's Go from the Go module proxy, through the wrapper modules under
``gomod/``.  Binaries are cached under the user's cache directory in a folder
whose name is derived from the versions, the wrapper modules' go.mod/go.sum,
the build flags and the Go version, so a changed input gives a fresh build and
an unchanged one is reused as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOMOD = HERE / "gomod"

KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.7.3"
KWOK_VERSION = "v0.8.0"

# name of binary -> (wrapper module dir, main package)
KUBE_BINARIES = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
}
ETCD_BINARY = ("etcd", "go.etcd.io/etcd/server/v3")
KWOK_BINARY = ("kwok", "sigs.k8s.io/kwok/cmd/kwok")

ALL_BINARIES = tuple(KUBE_BINARIES) + (ETCD_BINARY[0], KWOK_BINARY[0])

# KWOK's own stage definitions (data files of the kwok module, the ones kwokctl
# uses), copied next to the binaries so a cached run needs no module cache.
KWOK_STAGE_FILES = {
    "node-initialize.yaml": "kustomize/stage/node/fast/node-initialize.yaml",
    "node-heartbeat-with-lease.yaml": "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod-ready.yaml": "kustomize/stage/pod/fast/pod-ready.yaml",
    "pod-complete.yaml": "kustomize/stage/pod/fast/pod-complete.yaml",
    "pod-delete.yaml": "kustomize/stage/pod/fast/pod-delete.yaml",
}


def _kube_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _kwok_ldflags() -> str:
    return f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION}"


def _go_version() -> str:
    go = shutil.which("go")
    if not go:
        raise RuntimeError(
            "Go is needed to build the test control plane (kube-apiserver, etcd, kwok) "
            "from Go modules, and `go` is not on PATH"
        )
    return subprocess.run([go, "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout.strip()


def cache_root() -> Path:
    env = os.environ.get("SWCK_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "skywalking-swck"


def build_key() -> str:
    """A key that changes whenever anything that goes into the binaries changes."""
    digest = hashlib.sha256()
    for sub in ("kubernetes", "etcd", "kwok"):
        for name in ("go.mod", "go.sum", "tools.go"):
            digest.update((GOMOD / sub / name).read_bytes())
    digest.update(_kube_ldflags().encode())
    digest.update(_kwok_ldflags().encode())
    digest.update(_go_version().encode())
    return f"k8s-{KUBERNETES_VERSION}_etcd-{ETCD_VERSION}_kwok-{KWOK_VERSION}_{digest.hexdigest()[:12]}"


def bin_dir() -> Path:
    return cache_root() / "controlplane" / build_key() / "bin"


def stage_dir() -> Path:
    return bin_dir().parent / "stages"


def have_binaries(directory: Path | None = None) -> bool:
    directory = directory or bin_dir()
    return all(os.access(directory / name, os.X_OK) for name in ALL_BINARIES) and all(
        (directory.parent / "stages" / name).is_file() for name in KWOK_STAGE_FILES
    )


def _copy_kwok_stages(target: Path, log) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if all((target / name).is_file() for name in KWOK_STAGE_FILES):
        return
    env = dict(os.environ, GOTOOLCHAIN="local")
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{KWOK_VERSION}"],
        cwd=GOMOD / "kwok", env=env, check=True, capture_output=True, text=True,
    ).stdout
    source = Path(json.loads(out)["Dir"])
    for name, rel in KWOK_STAGE_FILES.items():
        shutil.copyfile(source / rel, target / name)
    log(f"copied kwok stage definitions to {target}")


def _go_build(module_dir: Path, out_dir: Path, packages: list[str], ldflags: str, log) -> None:
    env = dict(os.environ)
    env.setdefault("CGO_ENABLED", "0")
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod").strip()
    # The toolchain line in a wrapper module must never trigger a toolchain download.
    env["GOTOOLCHAIN"] = "local"
    cmd = ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(out_dir) + os.sep] + packages
    log(f"$ (cd {module_dir.relative_to(HERE.parent.parent)}) {' '.join(cmd)}")
    subprocess.run(cmd, cwd=module_dir, env=env, check=True)


def build(force: bool = False, log=None) -> Path:
    """Build every binary that is missing and return the directory holding them."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    target = bin_dir()
    if have_binaries(target) and not force:
        return target
    _copy_kwok_stages(target.parent / "stages", log)
    if have_binaries(target) and not force:
        return target
    staging = target.parent / f"bin.partial-{os.getpid()}"
    staging.mkdir(parents=True, exist_ok=True)
    # Reuse whatever an earlier, interrupted build finished.
    if target.is_dir():
        for name in ALL_BINARIES:
            if (target / name).exists() and not (staging / name).exists():
                shutil.copy2(target / name, staging / name)
    started = time.monotonic()
    steps = [
        ("etcd", [ETCD_BINARY], "-s -w"),
        ("kwok", [KWOK_BINARY], _kwok_ldflags()),
        ("kubernetes", list(KUBE_BINARIES.items()), _kube_ldflags()),
    ]
    for sub, items, ldflags in steps:
        missing = [pkg for name, pkg in items if force or not (staging / name).exists()]
        if not missing:
            continue
        t0 = time.monotonic()
        _go_build(GOMOD / sub, staging, missing, ldflags, log)
        log(f"built {sub} in {time.monotonic() - t0:.1f}s")
    # etcd's main package path ends in a major-version suffix: go build names
    # the binary after the element before it ("server").
    for produced in ("server", "v3"):
        if (staging / produced).exists():
            os.replace(staging / produced, staging / "etcd")
    if not have_binaries(staging):
        raise RuntimeError(f"build finished but binaries are missing in {staging}")
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)
    log(f"control plane binaries ready in {target} ({time.monotonic() - started:.1f}s)")
    return target


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    parser.add_argument("--print-dir", action="store_true", help="print the binary directory and exit")
    args = parser.parse_args(argv)
    if args.print_dir:
        print(bin_dir())
        return 0
    print(build(force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
