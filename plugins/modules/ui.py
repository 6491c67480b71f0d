#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: ui
short_description: Reconcile the UI of a SkyWalking cluster
version_added: 0.2.0
description:
  - "Reconciles the web UI of one SkyWalking cluster: Horizon (OAP 11.0) or the booster UI (OAP 10.4), pointed at the
    cluster's OAP query (and, on 11.0, admin) endpoints, with its Service and exposure (Ingress, or an OpenShift
    Route where that API is served)."
  - Horizon's local users come only from an existing Secret (O(ui.users_secret)); plain passwords are refused.
  - Keeps its own ApplySet (C(swck-applyset-sw.<name>.ui)); see M(skywalking.swck.oap_server) about component modules.
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  # BEGIN GENERATED SPEC OPTIONS (slice=ui)
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
  oap:
    description:
      - The OAP servers.
    type: dict
    suboptions:
      mode:
        description:
          - 'V(mixed): every OAP pod receives and aggregates.'
          - 'V(split): receivers (L1, agents connect here) and aggregators (L2) in two Deployments; the receivers''
            cluster selector finds only aggregators.'
        type: str
        choices:
          - mixed
          - split
        default: mixed
      tls:
        description:
          - TLS from existing Secrets.
        type: dict
        suboptions:
          grpc:
            description:
              - 'TLS of the gRPC port 11800 (agents, OAP-to-OAP): C(SW_CORE_GRPC_SSL_*).'
            type: dict
            suboptions:
              secret:
                description:
                  - Name of an existing Secret (e.g. a cert-manager C(kubernetes.io/tls) Secret); mounted as a directory,
                    so a renewed certificate reaches the pods without a restart.
                type: str
              cert:
                description:
                  - Key of the certificate chain (PEM) in the Secret.
                type: str
                default: tls.crt
              key:
                description:
                  - Key of the private key (PKCS#8 PEM, as OAP requires) in the Secret.
                type: str
                default: tls.key
              ca:
                description:
                  - 'Key of the CA certificate peers are verified with (empty: none).'
                type: str
                default: ca.crt
          rest:
            description:
              - 'TLS of the REST port 12800 (OAP 11.0 only): C(SW_CORE_REST_SSL_*); the UI trusts its CA.'
            type: dict
            suboptions:
              secret:
                description:
                  - Name of an existing Secret (e.g. a cert-manager C(kubernetes.io/tls) Secret); mounted as a directory,
                    so a renewed certificate reaches the pods without a restart.
                type: str
              cert:
                description:
                  - Key of the certificate chain (PEM) in the Secret.
                type: str
                default: tls.crt
              key:
                description:
                  - Key of the private key (PKCS#8 PEM, as OAP requires) in the Secret.
                type: str
                default: tls.key
              ca:
                description:
                  - 'Key of the CA certificate the UI verifies OAP with (empty: the system CAs).'
                type: str
                default: ca.crt
      admin_server:
        description:
          - 'OAP 11''s admin server (17128, 17129; no authentication: namespace only).'
        type: dict
        suboptions:
          enabled:
            description:
              - Run it (Horizon uses it for templates, status, runtime rules).
              - 'Default: V(true) on 11.0; not available on 10.4.'
            type: bool
  ui:
    description:
      - The web UI.
    type: dict
    suboptions:
      enabled:
        description:
          - Deploy the UI.
        type: bool
        default: true
      flavour:
        description:
          - V(horizon) (OAP 11.0 and 10.4) or V(booster) (10.4 only).
          - 'Default: V(horizon) on 11.0, V(booster) on 10.4.'
        type: str
        choices:
          - booster
          - horizon
      version:
        description:
          - 'UI version: MAJOR.MINOR.PATCH (the image tag; a leading V(v) is dropped with a warning).'
          - 'Default: Horizon 0.7.0; booster: the OAP version.'
        type: str
      replicas:
        description:
          - 'Replicas (Horizon keeps sessions in memory: keep 1 unless sessions are sticky).'
        type: int
        default: 1
      resources:
        description:
          - Requests and limits of the UI container(s); each value defaults from O(sizing).
          - Requests must not exceed limits.
        type: dict
        suboptions:
          requests:
            description:
              - Resource requests of the UI container(s).
            type: dict
            suboptions:
              cpu:
                description:
                  - CPU (e.g. V(500m), V(2)).
                  - 'Default: from O(sizing) (small: 100m, medium: 200m, large: 500m), at most the limit.'
                type: raw
              memory:
                description:
                  - Memory (e.g. V(2Gi)).
                  - 'Default: from O(sizing) (small: 512Mi, medium: 1Gi, large: 2Gi), at most the limit.'
                type: raw
          limits:
            description:
              - Resource limits of the UI container(s).
            type: dict
            suboptions:
              cpu:
                description:
                  - CPU (e.g. V(500m), V(2)).
                  - 'Default: from O(sizing) (small: 1, medium: 1, large: 2), at least the request.'
                type: raw
              memory:
                description:
                  - Memory (e.g. V(2Gi)).
                  - 'Default: from O(sizing) (small: 1Gi, medium: 1Gi, large: 2Gi), at least the request.'
                type: raw
      env:
        description:
          - 'Extra environment variables of the UI container(s): name -> value.'
          - 'A value is a string (numbers and booleans are converted), or a reference: C({secret: NAME, key: KEY}),
            C({config_map: NAME, key: KEY}) or C({field: metadata.name}).'
          - 'A plain value for a name that looks like a credential (C(*PASSWORD*), C(*TOKEN*), C(*SECRET*), ...) is
            refused: put it in a Secret and reference it.'
          - These override the collection's own values for the same name.
          - One variable (C(NAME=value)) must stay below 128 KiB (Linux starts no process with a longer one); the
            whole spec, with env, config files and dynamic configuration, is recorded in a ConfigMap and may be at
            most 800 KiB as compact JSON.
        type: dict
        default: {}
      users_secret:
        description:
          - 'Horizon''s local users: an existing Secret whose key holds the JSON array of users (C([{"username": ...,
            "passwordHash": "$argon2id$...", "roles": ["admin"]}])), passed as C(HORIZON_AUTH_LOCAL_USERS).'
        type: dict
        suboptions:
          name:
            description:
              - Name of an existing Secret in the cluster's namespace.
            type: str
          key:
            description:
              - Key in the Secret.
            type: str
            default: users.json
      users:
        description:
          - 'Not accepted (present so the value is never logged): use O(ui.users_secret).'
        type: raw
      service:
        description:
          - The UI Service.
        type: dict
        suboptions:
          type:
            description:
              - Service type.
            type: str
            choices:
              - ClusterIP
              - NodePort
              - LoadBalancer
            default: ClusterIP
          port:
            description:
              - Service port.
            type: int
            default: 80
          annotations:
            description:
              - Annotations of the Service.
            type: dict
            default: {}
          load_balancer_source_ranges:
            description:
              - 'Client CIDRs a V(LoadBalancer) Service accepts: network addresses with a prefix length (V(10.0.0.0/8);
                V(10.0.0.1/8) has host bits set and is refused).'
            type: list
            elements: str
            default: []
      ingress:
        description:
          - An Ingress (networking.k8s.io/v1) for the UI.
        type: dict
        suboptions:
          enabled:
            description:
              - Create it.
            type: bool
            default: false
          host:
            description:
              - 'Host name: a DNS name, optionally a wildcard (V(*.example.com)); not an IP address.'
            type: str
          class_name:
            description:
              - IngressClass name.
            type: str
          path:
            description:
              - Path prefix.
            type: str
            default: /
          tls_secret:
            description:
              - Existing TLS Secret for O(ui.ingress.host).
            type: str
          annotations:
            description:
              - Annotations of the Ingress.
            type: dict
            default: {}
      route:
        description:
          - An OpenShift Route (route.openshift.io/v1) for the UI; refused where that API is not served.
        type: dict
        suboptions:
          enabled:
            description:
              - Create it.
            type: bool
            default: false
          host:
            description:
              - 'Host name (default: generated by the router).'
            type: str
          tls_termination:
            description:
              - 'V(edge): the router terminates TLS; V(none): plain HTTP.'
            type: str
            choices:
              - edge
              - none
            default: edge
          annotations:
            description:
              - Annotations of the Route.
            type: dict
            default: {}
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
- name: Horizon UI behind an Ingress
  skywalking.swck.ui:
    name: skywalking
    namespace: skywalking
    ui:
      users_secret: {name: horizon-users}
      ingress: {enabled: true, host: skywalking.example.com, class_name: nginx}
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
    run_cluster_module("ui")


if __name__ == "__main__":
    main()
