#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oap_dynamic_config
short_description: Reconcile the dynamic configuration of a SkyWalking cluster's OAP
version_added: 0.2.0
description:
  - "Reconciles the ConfigMap OAP reads its dynamic configuration from (C(SW_CONFIGURATION=k8s-configmap)): keys such
    as C(agent-analyzer.default.slowDBAccessThreshold), C(alarm.default.alarm-settings),
    C(core.default.apdexThreshold). The ConfigMap carries the labels OAP's selector matches."
  - "A change touches the ConfigMap only: OAP picks it up within O(oap.dynamic_config.period) seconds, without a
    restart."
  - Keeps its own ApplySet (C(swck-applyset-sw.<name>.dynamic-config)), so a team can own these values apart from the
    servers.
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  # BEGIN GENERATED SPEC OPTIONS (slice=dynamic_config)
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
- name: Thresholds and alarm rules, without restarting OAP
  skywalking.swck.oap_dynamic_config:
    name: skywalking
    namespace: skywalking
    oap:
      dynamic_config:
        values:
          core.default.apdexThreshold: |
            default: 500
          agent-analyzer.default.slowDBAccessThreshold: default:200,mongodb:100
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
    run_cluster_module("oap_dynamic_config")


if __name__ == "__main__":
    main()
