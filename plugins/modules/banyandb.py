#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: banyandb
short_description: Reconcile the BanyanDB storage of a SkyWalking cluster
version_added: 0.2.0
description:
  - "Reconciles the in-cluster BanyanDB of one SkyWalking cluster: standalone (a StatefulSet with a volume) or
    cluster mode (liaison and data StatefulSets), its Services and NetworkPolicy (reachable only from OAP)."
  - "The BanyanDB line follows the OAP version (11.0: 0.11.x; 10.4: 0.10.x); a mismatch is refused before anything is
    sent."
  - Keeps its own ApplySet (C(swck-applyset-sw.<name>.banyandb)); see M(skywalking.swck.oap_server) about component
    modules.
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  # BEGIN GENERATED SPEC OPTIONS (slice=banyandb)
  name:
    description:
      - 'Name of the SkyWalking cluster: a DNS label; every object is named after it, and it is the C(app.kubernetes.io/instance)
        label.'
      - 'Together with the derived suffixes (C(-banyandb-liaison-headless), ...) names must stay within 63 characters
        (52 for StatefulSets): at most 43 characters, 35 with BanyanDB in cluster mode.'
    type: str
    required: true
  namespace:
    description:
      - 'Namespace of the cluster (it must exist unless the cluster module creates it: its C(create_namespace)).'
    type: str
    required: true
  version:
    description:
      - 'OAP version: a release line (V(11.0), V(10.4)) for its default patch release, or a full version (V(11.0.0)).'
      - 'Supported lines: 11.0.x (current) and 10.4.x (previous).'
      - 'It selects the BanyanDB line (11.0: 0.11.x; 10.4: 0.10.x), the UI flavours and the env names OAP reads.'
      - 'A full version is the image tag: a suffix (V(11.0.0-rc1)) is kept, a leading V(v) is dropped with a warning
        (V(v11.0.0) is V(11.0.0)); V(latest) and build metadata (C(+...)) are refused.'
    type: str
    default: 11.0.0
  labels:
    description:
      - Labels added to every object and pod.
    type: dict
    default: {}
  annotations:
    description:
      - Annotations added to every object.
    type: dict
    default: {}
  pod_labels:
    description:
      - Labels added to every pod template.
    type: dict
    default: {}
  pod_annotations:
    description:
      - Annotations added to every pod template (e.g. for a service mesh).
    type: dict
    default: {}
  cluster_domain:
    description:
      - The Kubernetes cluster's DNS domain (used for BanyanDB's DNS node discovery).
    type: str
    default: cluster.local
  sizing:
    description:
      - 'Sizing profile: requests/limits of every component, the OAP JVM heap and the storage write knobs.'
      - Each component's C(resources) overrides single values.
    type: str
    choices:
      - small
      - medium
      - large
    default: small
  images:
    description:
      - Container images; each defaults from the component's version.
    type: dict
    suboptions:
      registry:
        description:
          - 'Registry (and path) to pull the default images from instead of Docker Hub, e.g. V(registry.example.com/mirror):
            gives C(registry.example.com/mirror/apache/...).'
          - No scheme (not V(https://registry.example.com)).
        type: str
      pull_policy:
        description:
          - imagePullPolicy of every container.
        type: str
        choices:
          - IfNotPresent
          - Always
          - Never
        default: IfNotPresent
      pull_secrets:
        description:
          - Names of existing image pull Secrets.
        type: list
        elements: str
        default: []
      oap:
        description:
          - OAP image.
          - 'Default: C(apache/skywalking-oap-server:<version>).'
        type: str
      ui:
        description:
          - UI image.
          - 'Default: C(apache/skywalking-ui:<ui.version>) (booster) or C(apache/skywalking-ui:horizon-<ui.version>).'
        type: str
      banyandb:
        description:
          - BanyanDB image.
          - 'Default: C(apache/skywalking-banyandb:<storage.banyandb.version>).'
        type: str
      satellite:
        description:
          - Satellite image.
          - 'Default: C(apache/skywalking-satellite:v<satellite.version>).'
        type: str
      otel_collector:
        description:
          - OpenTelemetry Collector image of the fetcher.
          - 'Default: C(otel/opentelemetry-collector-contrib:0.115.1).'
        type: str
      event_exporter:
        description:
          - Kubernetes event exporter image.
          - 'Default: C(apache/skywalking-kubernetes-event-exporter:1.0.0).'
        type: str
  storage:
    description:
      - Where OAP stores data.
    type: dict
    suboptions:
      type:
        description:
          - Storage kind (V(opensearch) uses OAP's elasticsearch storage).
        type: str
        choices:
          - banyandb
          - elasticsearch
          - opensearch
          - mysql
          - postgresql
        default: banyandb
      banyandb:
        description:
          - BanyanDB (O(storage.type=banyandb)).
        type: dict
        suboptions:
          mode:
            description:
              - 'V(standalone): one StatefulSet pod.'
              - 'V(cluster): liaison and data StatefulSets (DNS node discovery).'
              - 'V(external): an existing BanyanDB at O(storage.addresses).'
            type: str
            choices:
              - standalone
              - cluster
              - external
            default: standalone
          version:
            description:
              - 'BanyanDB version: MAJOR.MINOR.PATCH (the image tag; a leading V(v) is dropped with a warning) of
                the line the OAP version accepts.'
              - 'Default: the OAP line''s BanyanDB (11.0: 0.11.0, 10.4: 0.10.3).'
            type: str
          liaison:
            description:
              - Liaison nodes (cluster mode).
            type: dict
            suboptions:
              replicas:
                description:
                  - Replicas.
                type: int
                default: 2
              storage_size:
                description:
                  - PVC size of each liaison's write queue.
                type: raw
                default: 10Gi
          data:
            description:
              - Data nodes (cluster mode).
            type: dict
            suboptions:
              replicas:
                description:
                  - Replicas.
                type: int
                default: 2
          persistence:
            description:
              - Data volumes (standalone and data nodes).
            type: dict
            suboptions:
              enabled:
                description:
                  - 'Use PersistentVolumeClaims (else emptyDir: data is lost with the pod).'
                type: bool
                default: true
              size:
                description:
                  - PVC size per pod (immutable once created).
                type: raw
                default: 50Gi
              storage_class:
                description:
                  - 'StorageClass (default: the cluster''s default class).'
                type: str
          resources:
            description:
              - Requests and limits of the BanyanDB container(s); each value defaults from O(sizing).
              - Requests must not exceed limits.
            type: dict
            suboptions:
              requests:
                description:
                  - Resource requests of the BanyanDB container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 500m, medium: 1, large: 2), at most the limit.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 1Gi, medium: 4Gi, large: 8Gi), at most the limit.'
                    type: raw
              limits:
                description:
                  - Resource limits of the BanyanDB container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 2, medium: 4, large: 8), at least the request.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 2Gi, medium: 8Gi, large: 16Gi), at least the request.'
                    type: raw
      addresses:
        description:
          - host:port of the external store (Elasticsearch/OpenSearch nodes, the MySQL/PostgreSQL server, external
            BanyanDB liaisons).
        type: list
        elements: str
        default: []
      protocol:
        description:
          - Elasticsearch/OpenSearch HTTP protocol.
        type: str
        choices:
          - http
          - https
        default: http
      database:
        description:
          - MySQL/PostgreSQL database name.
        type: str
        default: skywalking
      jdbc_url:
        description:
          - Full JDBC URL instead of one built from O(storage.addresses) and O(storage.database).
        type: str
      credentials:
        description:
          - 'Credentials from an existing Secret (never inline): required for Elasticsearch, OpenSearch, MySQL, PostgreSQL;
            optional for external BanyanDB.'
        type: dict
        suboptions:
          secret:
            description:
              - Name of the Secret.
            type: str
          username_key:
            description:
              - Key of the user name.
            type: str
            default: username
          password_key:
            description:
              - Key of the password.
            type: str
            default: password
          password:
            description:
              - 'Not accepted (present so the value is never logged): use O(storage.credentials.secret).'
            type: raw
      username:
        description:
          - 'Not accepted: use O(storage.credentials).'
        type: raw
      password:
        description:
          - 'Not accepted: use O(storage.credentials).'
        type: raw
  security:
    description:
      - 'Pod security: every pod runs as non-root, without privilege escalation, with all capabilities dropped, the
        RuntimeDefault seccomp profile and a read-only root filesystem (the restricted Pod Security Standard).'
      - No UID is fixed on OpenShift (the restricted SCC assigns one); elsewhere the images' root user is replaced
        by UID/GID 1000 unless set here.
    type: dict
    suboptions:
      run_as_user:
        description:
          - UID of every container.
        type: int
      run_as_group:
        description:
          - GID of every container.
        type: int
      fs_group:
        description:
          - fsGroup of every pod (owner group of volumes).
        type: int
      read_only_root_filesystem:
        description:
          - Read-only root filesystem (writable emptyDirs where needed).
        type: bool
        default: true
  network_policies:
    description:
      - 'NetworkPolicies: agents reach OAP gRPC 11800 from anywhere; OAP REST 12800 only from this namespace (UI,
        Satellite) and O(network_policies.agent_namespaces); the admin ports only from this namespace; storage only
        from OAP.'
      - Only ingress is restricted (egress and DNS are not).
    type: dict
    suboptions:
      enabled:
        description:
          - Create them.
        type: bool
        default: true
      agent_namespaces:
        description:
          - Namespaces whose pods may also reach OAP's REST port 12800 (agents reporting over HTTP, an ingress controller).
        type: list
        elements: str
        default: []
      metrics_namespaces:
        description:
          - Namespaces whose pods may scrape OAP's metrics port 1234 (e.g. Prometheus).
        type: list
        elements: str
        default: []
  scheduling:
    description:
      - Where pods run (every component).
    type: dict
    suboptions:
      node_selector:
        description:
          - nodeSelector.
        type: dict
        default: {}
      tolerations:
        description:
          - Tolerations, in Kubernetes' form (C(key), C(operator), C(value), C(effect), C(tolerationSeconds)).
        type: list
        elements: dict
        default: []
      affinity:
        description:
          - Affinity, in Kubernetes' form.
        type: dict
        default: {}
      priority_class_name:
        description:
          - PriorityClass of every pod.
        type: str
      topology_spread:
        description:
          - Spread replicas over nodes and zones (C(ScheduleAnyway)).
        type: bool
        default: true
  # END GENERATED SPEC OPTIONS
  state:
    description:
      - V(present) reconciles the component; V(absent) deletes everything this module owns for the cluster.
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Delete objects of this component that the spec no longer asks for.
    type: bool
    default: true
  adopt:
    description:
      - Take over existing objects that were created by hand or by another tool. Objects another skywalking.swck
        module or cluster owns are never taken over.
    type: bool
    default: false
  force_conflicts:
    description:
      - Take fields that another server-side applier owns. Without it such conflicts fail the run, naming them.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds each gate of the component may take (unless the spec gives it its own).
    type: int
    default: 600
extends_documentation_fragment:
  - skywalking.swck.k8s_auth
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: A server dry run of every change; gates are not waited for.
  diff_mode:
    support: full
    details: Secret values are masked; C(managedFields) and other server bookkeeping are left out.
  platform:
    platforms: kubernetes
  action_group:
    support: full
    membership: [skywalking.swck.swck]
seealso:
  - module: skywalking.swck.cluster
  - module: skywalking.swck.status
  - name: The cluster spec
    description: Every option with its default, and examples.
    link: https://github.com/skywalking-swck/skywalking.swck/blob/main/docs/cluster-spec.md
"""

EXAMPLES = r"""
- name: BanyanDB in cluster mode
  skywalking.swck.banyandb:
    name: skywalking
    namespace: skywalking
    storage:
      banyandb:
        mode: cluster
        data: {replicas: 3}
        persistence: {size: 200Gi}
"""

RETURN = r"""
objects:
  description: One entry per object, with what was done to it (also when the task fails after a write).
  returned: always
  type: list
  elements: dict
  sample: [{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "skywalking", "name": "skywalking-oap",
            "action": "created"}]
counts:
  description: Number of objects per action.
  returned: always
  type: dict
  sample: {"created": 9}
stages:
  description: Per stage, its objects, changes and gate (V(passed), or skipped in check mode).
  returned: always
  type: list
  elements: dict
held:
  description: Fields a controller or another tool holds (left alone).
  returned: always
  type: list
  elements: dict
taken_back:
  description: Fields an imperative edit had changed and this run set back.
  returned: always
  type: list
  elements: dict
status:
  description: The cluster's state after the run (see M(skywalking.swck.status)).
  returned: when state=present and not in check mode
  type: dict
summary:
  description: A C(kubectl get)-style table of the cluster's components, its init Job and endpoints.
  returned: when state=present and not in check mode
  type: list
  elements: str
spec:
  description: The normalised spec of this module's slice (every default filled in).
  returned: always
  type: dict
spec_warnings:
  description: Warnings about the spec.
  returned: always
  type: list
  elements: str
plan:
  description: The stages and their objects, in apply order.
  returned: when state=present
  type: list
  elements: dict
api_warnings:
  description: Warnings returned by the API server.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.skywalking.swck.plugins.module_utils.ops.cluster_module import run_cluster_module


def main():
    run_cluster_module("banyandb")


if __name__ == "__main__":
    main()
