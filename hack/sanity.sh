#!/usr/bin/env bash
# ansible-test sanity on a copy of the checkout at ansible_collections/skywalking/swck.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# ansible-test bootstraps pip in every sanity venv with a script it downloads
# from a host this machine cannot reach; it uses a cached copy when present.
mkdir -p ~/.ansible/test/cache
cp hack/get_pip_shim.py ~/.ansible/test/cache/get_pip_24_2.py

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/skywalking/swck"
mkdir -p "$dest"
# Tracked and new (not ignored) files only: what a clean clone would hold.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$dest/$(dirname "$f")"
  cp -p "$f" "$dest/$f"
done
(cd "$dest" && git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm sanity)

cd "$dest"
"$ROOT/.venv/bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
