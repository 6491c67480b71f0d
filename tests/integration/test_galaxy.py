# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The collection builds into a tarball, installs from it and works from there."""

from __future__ import annotations

import subprocess
import tarfile

from .conftest import ROOT


def test_build_install_and_use_the_tarball(tmp_path, playbook, namespace):
    galaxy = str(ROOT / ".venv" / "bin" / "ansible-galaxy")
    build = subprocess.run([galaxy, "collection", "build", str(ROOT), "--output-path", str(tmp_path)],
                           capture_output=True, text=True, check=False, timeout=300)
    assert build.returncode == 0, build.stderr
    tarball = tmp_path / "skywalking-swck-0.2.0.tar.gz"
    assert tarball.exists()
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "plugins/modules/apply.py" in names and "meta/runtime.yml" in names
    assert not [n for n in names if n.startswith(("tests/", "hack/", ".venv", "bench/", ".cluster"))]
    assert tarball.stat().st_size < 1024 * 1024

    target = tmp_path / "collections"
    # Outside the checkout: its ansible.cfg points at the development copy of the collection.
    install = subprocess.run([galaxy, "collection", "install", str(tarball), "-p", str(target)],
                             capture_output=True, text=True, check=False, timeout=300, cwd=str(tmp_path),
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                  "ANSIBLE_COLLECTIONS_PATH": str(target)})
    assert install.returncode == 0, install.stderr
    installed = target / "ansible_collections" / "skywalking" / "swck"
    assert (installed / "MANIFEST.json").exists()

    run = playbook.run([
        {"skywalking.swck.apply": {"instance": "galaxy", "definitions": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-tarball", "namespace": namespace}}]}},
        {"skywalking.swck.cluster_info": {}},
    ], collections=target)  # the only place skywalking.swck can be found
    assert run[0]["counts"] == {"created": 1}
    assert run[1]["ready_nodes"] == 3
    listing = subprocess.run([galaxy, "collection", "list", "skywalking.swck", "--format", "json"],
                             capture_output=True, text=True, check=False, timeout=120,
                             env={"ANSIBLE_COLLECTIONS_PATH": str(target), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
                                  "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, cwd=str(tmp_path))
    assert listing.returncode == 0, listing.stderr
    assert str(installed.parent.parent) in listing.stdout and "0.2.0" in listing.stdout
