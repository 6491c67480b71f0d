#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster
short_description: Reconcile a whole Apache SkyWalking cluster from one spec
version_added: 0.2.0
description:
  - "Provisions and reconciles a SkyWalking cluster on Kubernetes in one call: OAP servers (mixed, or receivers and
    aggregators), the hash-named schema init Job, storage (BanyanDB standalone or cluster mode in the cluster, or
    external BanyanDB, Elasticsearch, OpenSearch, MySQL, PostgreSQL), the UI (Horizon or booster), Satellite,
    telemetry (an OpenTelemetry Collector scraping OAP's own metrics, the Kubernetes event exporter), static and
    dynamic configuration, least-privilege RBAC named per cluster, PodDisruptionBudgets, NetworkPolicies and
    exposure (Service, Ingress, OpenShift Route)."
  - "Stages run in order, each gated: storage ready, then the schema init Job complete, then the OAP servers
    ready, then the UI and the rest. No serving OAP pod is created or rolled before the init Job of its version
    and storage completed."
  - The whole spec is validated before anything is sent to the cluster; every problem is reported at once, each
    naming its field. OAP, BanyanDB and UI versions that do not work together are refused.
  - "The cluster is one ApplySet (its parent is the ConfigMap C(swck-applyset-sw.<name>)); what the spec no longer
    asks for is pruned, of every kind the cluster ever had. Objects of another cluster or tool are never taken
    over (see O(adopt))."
  - A re-run with nothing to change sends no write request. Check mode is a server dry run of every change;
    diff mode shows them with Secret values masked.
  - "With O(render_to), nothing is sent to a cluster: the manifests are written to a directory, one file per
    object, exactly as they would be applied (for GitOps)."
  - With O(from_swck), SWCK custom resources (OAPServer, UI, BanyanDB, ...) are read as the spec; options given
    here override them.
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  # BEGIN GENERATED SPEC OPTIONS (slice=cluster)
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
      replicas:
        description:
          - Replicas in V(mixed) mode (ignored with autoscaling).
        type: int
        default: 2
      receiver:
        description:
          - Receivers in V(split) mode.
        type: dict
        suboptions:
          replicas:
            description:
              - Replicas (ignored with autoscaling).
            type: int
            default: 2
      aggregator:
        description:
          - Aggregators in V(split) mode.
        type: dict
        suboptions:
          replicas:
            description:
              - Replicas.
            type: int
            default: 2
      env:
        description:
          - 'Extra environment variables of the OAP container(s): name -> value.'
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
      config_files:
        description:
          - 'Files placed under OAP''s C(config/) directory: relative path -> content, e.g. C(application.yml), C(alarm-settings.yml),
            C(log4j2.xml), C(oal/core.oal).'
          - A change rolls OAP (checksum annotation); files that shape the storage schema (all but alarm-settings.yml,
            component-libraries.yml, endpoint-name-grouping.yml, gateways.yml, log4j2.xml, metadata-service-mapping.yaml,
            service-apdex-threshold.yml, trace-sampling-policy-settings.yml, ui-initialized-templates) also give a
            new init Job.
          - 'Each file is a key of a ConfigMap (the path with C(/) as C(__)): at most 253 characters; the files together
            count towards the spec''s 800 KiB (see C(oap.env)).'
        type: dict
        default: {}
      dynamic_config:
        description:
          - 'Dynamic configuration (C(SW_CONFIGURATION=k8s-configmap)): a change never restarts OAP.'
        type: dict
        suboptions:
          enabled:
            description:
              - Use the Kubernetes ConfigMap dynamic configuration.
            type: bool
            default: true
          period:
            description:
              - Seconds between OAP's reads of the ConfigMap (C(SW_CONFIG_CONFIGMAP_PERIOD)).
            type: int
            default: 60
          values:
            description:
              - Keys and values, e.g. C(core.default.apdexThreshold), C(alarm.default.alarm-settings), C(agent-analyzer.default.slowDBAccessThreshold).
              - Keys are ConfigMap keys (letters, digits, C(-), C(_), C(.); at most 253 characters); the values count
                towards the spec's 800 KiB (see C(oap.env)).
            type: dict
            default: {}
      resources:
        description:
          - Requests and limits of the OAP container(s); each value defaults from O(sizing).
          - Requests must not exceed limits.
        type: dict
        suboptions:
          requests:
            description:
              - Resource requests of the OAP container(s).
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
                  - 'Default: from O(sizing) (small: 2Gi, medium: 4Gi, large: 8Gi), at most the limit.'
                type: raw
          limits:
            description:
              - Resource limits of the OAP container(s).
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
                  - 'Default: from O(sizing) (small: 2Gi, medium: 4Gi, large: 8Gi), at least the request.'
                type: raw
      heap_percent:
        description:
          - JVM heap (C(-Xms)/C(-Xmx)) as a percentage of the memory limit; the rest is left for off-heap memory.
        type: int
        default: 60
      java_opts:
        description:
          - Extra JVM options appended to C(JAVA_OPTS); with C(-Xmx) in them no heap is derived.
        type: str
      ext_libs:
        description:
          - Extra jars (e.g. MySQL's JDBC driver) copied from an image into C(/skywalking/ext-libs).
        type: dict
        suboptions:
          image:
            description:
              - Image holding the jars.
            type: str
          path:
            description:
              - Directory of the jars in that image.
            type: str
            default: /libs
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
      probes:
        description:
          - Health probes on C(GET :12800/healthcheck).
        type: dict
        suboptions:
          startup_seconds:
            description:
              - Time a starting pod gets before liveness applies (schema waits, slow storage).
            type: int
            default: 300
          period_seconds:
            description:
              - Probe period.
            type: int
            default: 10
          timeout_seconds:
            description:
              - Probe timeout.
            type: int
            default: 5
          failure_threshold:
            description:
              - Consecutive failures before a pod is unready (or restarted).
            type: int
            default: 3
      autoscaling:
        description:
          - An HPA for OAP (receivers in V(split) mode); the Deployment then has no replicas.
        type: dict
        suboptions:
          enabled:
            description:
              - Create the HPA.
            type: bool
            default: false
          min_replicas:
            description:
              - Minimum replicas.
            type: int
            default: 2
          max_replicas:
            description:
              - Maximum replicas.
            type: int
            default: 6
          cpu_utilization:
            description:
              - Target average CPU utilization (percent of requests).
            type: int
            default: 75
      pdb:
        description:
          - PodDisruptionBudget per OAP Deployment.
        type: dict
        suboptions:
          enabled:
            description:
              - Create it.
            type: bool
            default: true
          min_available:
            description:
              - Pods that must stay available during voluntary disruptions.
            type: int
            default: 1
      service:
        description:
          - The Service in front of OAP (gRPC 11800, REST 12800).
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
          annotations:
            description:
              - Annotations of the Service (e.g. for a cloud load balancer).
            type: dict
            default: {}
          load_balancer_source_ranges:
            description:
              - 'Client CIDRs a V(LoadBalancer) Service accepts: network addresses with a prefix length (V(10.0.0.0/8);
                V(10.0.0.1/8) has host bits set and is refused).'
            type: list
            elements: str
            default: []
      init:
        description:
          - The schema init Job (C(-Dmode=init)).
        type: dict
        suboptions:
          timeout:
            description:
              - Seconds the Job may run (C(activeDeadlineSeconds)) and the gate waits.
            type: int
            default: 1200
          backoff_limit:
            description:
              - Retries of the Job's pod.
            type: int
            default: 3
          resources:
            description:
              - Requests and limits of the init Job container(s); each value defaults from O(sizing).
              - Requests must not exceed limits.
            type: dict
            suboptions:
              requests:
                description:
                  - Resource requests of the init Job container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 500m, medium: 500m, large: 500m), at most the limit.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 1Gi, medium: 1Gi, large: 1Gi), at most the limit.'
                    type: raw
              limits:
                description:
                  - Resource limits of the init Job container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 2, medium: 2, large: 2), at least the request.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 2Gi, medium: 2Gi, large: 2Gi), at least the request.'
                    type: raw
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
  satellite:
    description:
      - 'SkyWalking Satellite: a gRPC proxy that spreads agents'' long-lived streams over the OAP pods.'
    type: dict
    suboptions:
      enabled:
        description:
          - Deploy Satellite; agents then use its Service.
        type: bool
        default: false
      version:
        description:
          - 'Satellite version: MAJOR.MINOR.PATCH (a leading V(v) is dropped with a warning; the image tag gets it).'
          - 'Default: 1.3.0.'
        type: str
      replicas:
        description:
          - Replicas.
        type: int
        default: 2
      resources:
        description:
          - Requests and limits of the Satellite container(s); each value defaults from O(sizing).
          - Requests must not exceed limits.
        type: dict
        suboptions:
          requests:
            description:
              - Resource requests of the Satellite container(s).
            type: dict
            suboptions:
              cpu:
                description:
                  - CPU (e.g. V(500m), V(2)).
                  - 'Default: from O(sizing) (small: 100m, medium: 250m, large: 500m), at most the limit.'
                type: raw
              memory:
                description:
                  - Memory (e.g. V(2Gi)).
                  - 'Default: from O(sizing) (small: 128Mi, medium: 256Mi, large: 512Mi), at most the limit.'
                type: raw
          limits:
            description:
              - Resource limits of the Satellite container(s).
            type: dict
            suboptions:
              cpu:
                description:
                  - CPU (e.g. V(500m), V(2)).
                  - 'Default: from O(sizing) (small: 1, medium: 2, large: 4), at least the request.'
                type: raw
              memory:
                description:
                  - Memory (e.g. V(2Gi)).
                  - 'Default: from O(sizing) (small: 512Mi, medium: 1Gi, large: 2Gi), at least the request.'
                type: raw
      env:
        description:
          - 'Extra environment variables of the Satellite container(s): name -> value.'
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
      service:
        description:
          - The Service in front of Satellite (gRPC 11800).
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
          annotations:
            description:
              - Annotations of the Service (e.g. for a cloud load balancer).
            type: dict
            default: {}
          load_balancer_source_ranges:
            description:
              - 'Client CIDRs a V(LoadBalancer) Service accepts: network addresses with a prefix length (V(10.0.0.0/8);
                V(10.0.0.1/8) has host bits set and is refused).'
            type: list
            elements: str
            default: []
  telemetry:
    description:
      - Observing SkyWalking itself (SWCK's Fetcher and EventExporter).
    type: dict
    suboptions:
      prometheus:
        description:
          - OAP serves its own metrics on port 1234 (C(SW_TELEMETRY=prometheus)).
        type: bool
        default: true
      fetcher:
        description:
          - 'An OpenTelemetry Collector scraping OAP''s port 1234 and exporting to OAP over OTLP (OAP''s C(oap) OTel
            rule: the self-observability dashboards).'
        type: dict
        suboptions:
          enabled:
            description:
              - Deploy it.
            type: bool
            default: false
          interval:
            description:
              - Scrape interval in seconds.
            type: int
            default: 30
          resources:
            description:
              - Requests and limits of the fetcher container(s); each value defaults from O(sizing).
              - Requests must not exceed limits.
            type: dict
            suboptions:
              requests:
                description:
                  - Resource requests of the fetcher container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 50m, medium: 100m, large: 200m), at most the limit.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 128Mi, medium: 256Mi, large: 512Mi), at most the limit.'
                    type: raw
              limits:
                description:
                  - Resource limits of the fetcher container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 500m, medium: 1, large: 1), at least the request.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 512Mi, medium: 512Mi, large: 1Gi), at least the request.'
                    type: raw
      event_exporter:
        description:
          - The SkyWalking Kubernetes event exporter (Kubernetes events to OAP).
        type: dict
        suboptions:
          enabled:
            description:
              - Deploy it (needs a ClusterRole to read events).
            type: bool
            default: false
          namespaces:
            description:
              - 'Namespaces whose events are exported (empty: all).'
            type: list
            elements: str
            default: []
          resources:
            description:
              - Requests and limits of the event exporter container(s); each value defaults from O(sizing).
              - Requests must not exceed limits.
            type: dict
            suboptions:
              requests:
                description:
                  - Resource requests of the event exporter container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 20m, medium: 50m, large: 100m), at most the limit.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 64Mi, medium: 128Mi, large: 128Mi), at most the limit.'
                    type: raw
              limits:
                description:
                  - Resource limits of the event exporter container(s).
                type: dict
                suboptions:
                  cpu:
                    description:
                      - CPU (e.g. V(500m), V(2)).
                      - 'Default: from O(sizing) (small: 200m, medium: 500m, large: 500m), at least the request.'
                    type: raw
                  memory:
                    description:
                      - Memory (e.g. V(2Gi)).
                      - 'Default: from O(sizing) (small: 256Mi, medium: 256Mi, large: 512Mi), at least the request.'
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
      - V(present) reconciles the cluster; V(absent) deletes everything it owns, except its data (see
        O(delete_volumes)) and a namespace it created (see O(delete_namespace)).
    type: str
    choices: [present, absent]
    default: present
  create_namespace:
    description:
      - Create O(namespace) when it does not exist (it then belongs to the cluster; O(state=absent) deletes it only
        with O(delete_namespace)). An existing namespace is used as it is, never taken over.
    type: bool
    default: false
  namespace_labels:
    description:
      - Labels of the namespace the module creates, for example
        C(pod-security.kubernetes.io/enforce=restricted).
    type: dict
    default: {}
  delete_volumes:
    description:
      - With O(state=absent), also delete BanyanDB's PersistentVolumeClaims (its data).
    type: bool
    default: false
  delete_namespace:
    description:
      - With O(state=absent), also delete the namespace when this module created it (O(create_namespace)).
      - Refused, before anything is deleted, when the namespace holds anything else (another SkyWalking cluster or
        ApplySet, another application's workloads) or volumes while O(delete_volumes) is not set.
    type: bool
    default: false
  prune:
    description:
      - Delete objects of the cluster that the spec no longer asks for (a switched-off Satellite, an old init Job).
    type: bool
    default: true
  adopt:
    description:
      - Take over existing objects that were created by hand or by another tool (for example a Helm release of the
        same names). Objects of another skywalking.swck cluster are never taken over.
    type: bool
    default: false
  force_conflicts:
    description:
      - Take fields that another server-side applier owns. Without it such conflicts fail the run, naming them.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds each gate (storage ready, OAP ready, ...) may take, unless the spec gives it its own (the init Job's
        O(oap.init.timeout)).
    type: int
    default: 600
  render_to:
    description:
      - Write the manifests to this directory (one file per object, C(NN-stage/kind-name.yaml)) instead of applying
        them; nothing is sent to a cluster. Files of an earlier render that are no longer wanted are removed.
    type: path
  from_swck:
    description:
      - SWCK custom resources (YAML text, one object or a list) to read the spec from; the options given to this
        module take precedence over what they say. Fields that cannot be mapped are reported in RV(swck_report).
      - O(name) and O(namespace) are still required (they name the cluster this module reconciles).
    type: raw
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
  - module: skywalking.swck.status
  - module: skywalking.swck.apply
  - name: The cluster spec
    description: Every option with its default, and examples.
    link: https://github.com/skywalking-swck/skywalking.swck/blob/main/docs/cluster-spec.md
"""

EXAMPLES = r"""
- name: OAP x2, the schema init Job, BanyanDB, the UI, NetworkPolicies
  skywalking.swck.cluster:
    name: skywalking
    namespace: skywalking
    create_namespace: true

- name: A split cluster on OAP 10.4 with Elasticsearch and Satellite
  skywalking.swck.cluster:
    name: sw-prod
    namespace: observability
    version: "10.4"
    sizing: medium
    oap:
      mode: split
      receiver: {replicas: 3}
      aggregator: {replicas: 2}
    storage:
      type: elasticsearch
      addresses: [es-0.es:9200, es-1.es:9200]
      protocol: https
      credentials: {secret: es-credentials}
    satellite: {enabled: true}

- name: Render the same cluster for GitOps instead of applying it
  skywalking.swck.cluster:
    name: skywalking
    namespace: skywalking
    render_to: "{{ playbook_dir }}/rendered"

- name: Take over an SWCK installation's description
  skywalking.swck.cluster:
    name: skywalking
    namespace: skywalking
    from_swck: "{{ lookup('ansible.builtin.file', 'swck-oapserver.yaml') }}"

- name: Remove the cluster and its data
  skywalking.swck.cluster:
    name: skywalking
    namespace: skywalking
    state: absent
    delete_volumes: true
"""

RETURN = r"""
objects:
  description: One entry per object, with what was done to it (also when the task fails after a write).
  returned: unless render_to
  type: list
  elements: dict
  sample: [{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "skywalking", "name": "skywalking-oap",
            "action": "created"}]
counts:
  description: Number of objects per action.
  returned: unless render_to
  type: dict
  sample: {"created": 24}
stages:
  description: Per stage, its objects, changes and gate (V(passed), or skipped in check mode).
  returned: unless render_to
  type: list
  elements: dict
  sample: [{"name": "schema", "objects": 1, "changed": 1, "gate": "schema init Job complete", "gate_state": "passed"}]
held:
  description: Fields of the cluster that a controller or another tool holds (left alone).
  returned: unless render_to
  type: list
  elements: dict
taken_back:
  description: Fields an imperative edit had changed and this run set back.
  returned: unless render_to
  type: list
  elements: dict
status:
  description: The cluster's state after the run (see M(skywalking.swck.status)); not in check mode.
  returned: when state=present and not in check mode or render_to
  type: dict
summary:
  description: A C(kubectl get)-style table of the components, the init Job and the endpoints.
  returned: when state=present and not in check mode or render_to
  type: list
  elements: str
spec:
  description: The normalised spec (every default filled in, the versions resolved).
  returned: always
  type: dict
spec_warnings:
  description: Warnings about the spec (an env name the OAP version does not read, a UI without users, ...).
  returned: always
  type: list
  elements: str
plan:
  description: The stages and their objects (C(Kind name)), in apply order.
  returned: always
  type: list
  elements: dict
files:
  description: With O(render_to), the files of the render (relative paths), and which were written or removed.
  returned: when render_to
  type: dict
  sample: {"all": ["10-foundation/configmap-skywalking-oap-config.yaml"], "written": [], "removed": []}
swck_report:
  description: With O(from_swck), what each SWCK field was mapped to, and what could not be mapped.
  returned: when from_swck
  type: list
  elements: str
api_warnings:
  description: Warnings returned by the API server.
  returned: unless render_to
  type: list
  elements: str
"""

from ansible_collections.skywalking.swck.plugins.module_utils.ops.cluster_module import run_cluster_module


def main():
    run_cluster_module("cluster")


if __name__ == "__main__":
    main()
