#!/usr/bin/env bash
# Create (or reuse) the project's virtualenv with the pinned tools, and make the
# collection importable as ansible_collections.skywalking.swck from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON=$candidate; break; fi
  done
fi
[ -n "$PYTHON" ] || { echo "setup: Python 3.11 is required" >&2; exit 1; }

VENV=.venv
stamp="$VENV/.installed-$(cat requirements-dev.txt requirements.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing the pinned requirements into $VENV ($($PYTHON --version))"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

# ansible-test's shellcheck sanity test needs the shellcheck program (a Debian package).
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing shellcheck (Debian package)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck >/dev/null 2>&1; } ||
    echo "setup: WARNING: could not install shellcheck; ansible-test will skip its shellcheck test" >&2
fi

# ansible_collections/skywalking/swck -> this checkout (relative, so clones can move)
mkdir -p "$VENV/collections/ansible_collections/skywalking"
ln -sfn ../../../.. "$VENV/collections/ansible_collections/skywalking/swck"
