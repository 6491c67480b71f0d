#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls `make test`, which calls this).
#   1. set-up: virtualenv with pinned tools (hack/setup.sh)
#   2. the test control plane's binaries, built from Go modules (cached), for every
#      supported Kubernetes version (`python -m controlplane versions`)
#   3. unit tests
#   4. integration tests against a real control plane started by the tests: the full
#      suite once per supported Kubernetes version, newest first, one stage each
#   5. the molecule scenario (molecule/default: the deploy role on its own control plane,
#      create/converge/idempotence/verify/destroy; hack/molecule.sh)
#   6. ansible-test sanity (all tests, on a copy at ansible_collections/skywalking/swck)
#   7. ansible-lint, production profile, and antsibull-changelog lint
# Every stage runs; the summary lists each stage's result and time; any failure fails the run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

declare -a SUMMARY=()
failed=0

stage() {
  local name=$1
  shift
  echo
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    SUMMARY+=("PASS  $(printf '%4ds' $((SECONDS - start)))  $name")
  else
    SUMMARY+=("FAIL  $(printf '%4ds' $((SECONDS - start)))  $name")
    failed=1
  fi
}

stage "set-up (virtualenv, pinned requirements)" bash hack/setup.sh || true
if [ ! -x .venv/bin/python ]; then
  echo "set-up failed: no virtualenv, nothing else can run" >&2
  exit 1
fi
PY=.venv/bin/python
stage "build the control plane from Go modules (cached, every Kubernetes version)" \
  env PYTHONPATH=hack "$PY" -m controlplane build --all
stage "unit tests" "$PY" -m pytest tests/unit -q
mapfile -t KUBE_VERSIONS < <(PYTHONPATH=hack "$PY" -m controlplane versions)
if [ "${#KUBE_VERSIONS[@]}" -eq 0 ]; then
  stage "integration tests: list the supported Kubernetes versions" false
fi
for version in "${KUBE_VERSIONS[@]}"; do
  stage "integration tests (real kube-apiserver, Kubernetes $version)" \
    env SWCK_KUBE_VERSION="$version" "$PY" -m pytest tests/integration -q --durations=10
done
stage "molecule scenario (deploy role on a local control plane)" bash hack/molecule.sh
stage "ansible-test sanity" bash hack/sanity.sh
stage "ansible-lint (production profile)" .venv/bin/ansible-lint --offline --profile production --nocolor
stage "changelog fragments" .venv/bin/antsibull-changelog lint

echo
echo "=== summary"
printf '%s\n' "${SUMMARY[@]}"
exit $failed
