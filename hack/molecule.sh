#!/usr/bin/env bash
# The molecule scenario (molecule/default) against a local control plane, as `make test` runs it:
#   bash hack/molecule.sh [molecule subcommand and options; default: test]
# The scenario's ephemeral directory (and so its control plane, in <dir>/controlplane) is a fresh
# temporary directory; whatever happens (a failed step, an interrupt), no control plane is left
# running and the directory is removed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD

export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.venv/collections"
[ -t 1 ] || export NO_COLOR=1  # plain logs in CI
MOLECULE_EPHEMERAL_DIRECTORY=$(mktemp -d "${TMPDIR:-/tmp}/swck-molecule.XXXXXX")
export MOLECULE_EPHEMERAL_DIRECTORY

cleanup() {
  # molecule's own destroy step normally did this already; this is the safety net.
  if [ -f "$MOLECULE_EPHEMERAL_DIRECTORY/controlplane/state.json" ]; then
    PYTHONPATH="$ROOT/hack" "$ROOT/.venv/bin/python" -m controlplane down \
      --dir "$MOLECULE_EPHEMERAL_DIRECTORY/controlplane" >/dev/null || true
  fi
  rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $# -eq 0 ]; then
  set -- test --destroy=always
fi
molecule "$@"
