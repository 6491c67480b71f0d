# skywalking.swck developer entry points.  Everything runs from the local
# virtualenv (.venv) that `make setup` creates with pinned requirements.
PY := .venv/bin/python
CLUSTER_DIR ?= $(CURDIR)/.cluster
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.venv/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: demo deploy teardown setup build-controlplane cluster-up cluster-down cluster-status status test unit integration molecule sanity lint bench bench-deploy

## demo: set everything up, start the local control plane, deploy SkyWalking onto it and show its status
## (the README's first command)
demo: setup build-controlplane cluster-up status deploy

## deploy: the demo SkyWalking cluster (playbooks/vars/demo.yml) onto the local control plane
deploy: setup
	K8S_AUTH_KUBECONFIG=$(CLUSTER_DIR)/kubeconfig .venv/bin/ansible-playbook playbooks/demo.yml

## teardown: remove the demo SkyWalking cluster (its namespace and data too)
teardown: setup
	K8S_AUTH_KUBECONFIG=$(CLUSTER_DIR)/kubeconfig .venv/bin/ansible-playbook playbooks/demo-teardown.yml

setup:
	bash hack/setup.sh

build-controlplane: setup
	PYTHONPATH=hack $(PY) -m controlplane build

cluster-up: build-controlplane
	PYTHONPATH=hack $(PY) -m controlplane up --dir $(CLUSTER_DIR)

cluster-down:
	PYTHONPATH=hack $(PY) -m controlplane down --dir $(CLUSTER_DIR)

cluster-status:
	PYTHONPATH=hack $(PY) -m controlplane status --dir $(CLUSTER_DIR)

## status: the collection's own view of the cluster (skywalking.swck.cluster_info)
status: setup
	K8S_AUTH_KUBECONFIG=$(CLUSTER_DIR)/kubeconfig .venv/bin/ansible-playbook playbooks/cluster_status.yml

## test: the whole suite, as CI runs it
test:
	bash hack/test.sh

unit: setup
	$(PY) -m pytest tests/unit -q

integration: build-controlplane
	$(PY) -m pytest tests/integration -q

molecule: build-controlplane
	bash hack/molecule.sh

sanity: setup
	bash hack/sanity.sh

lint: setup
	.venv/bin/ansible-lint --offline --profile production

bench: build-controlplane
	$(PY) bench/apply_vs_kubernetes_core.py

bench-deploy: build-controlplane
	$(PY) bench/deploy.py --markdown
