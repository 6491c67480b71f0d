#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: status
short_description: Report the state of a SkyWalking cluster
version_added: 0.2.0
description:
  - Reads a SkyWalking cluster that M(skywalking.swck.cluster) (or the component modules) reconciled and reports,
    per component, desired and ready replicas, the version running, conditions, restarts and waiting reasons; the
    schema init Job's state and whether it is the one the current version needs; where agents and people connect;
    and a C(kubectl get)-style table.
  - The cluster's spec is read from the record the last reconcile kept in its ApplySet parent, so only O(name) and
    O(namespace) are needed.
  - Read-only; never reports a change. One LIST per kind.
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  name:
    description:
      - Name of the SkyWalking cluster.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the cluster.
    type: str
    required: true
  fail_unless_ready:
    description:
      - Fail when a component is not ready or the init Job is not complete (for health gates in playbooks and
        scheduled checks); the result still carries the full status.
    type: bool
    default: false
extends_documentation_fragment:
  - skywalking.swck.k8s_auth
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode returns the same information.
  diff_mode:
    support: none
  platform:
    platforms: kubernetes
  action_group:
    support: full
    membership: [skywalking.swck.swck]
seealso:
  - module: skywalking.swck.cluster
"""

EXAMPLES = r"""
- name: Read the cluster's state
  skywalking.swck.status:
    name: skywalking
    namespace: skywalking
  register: sw

- name: Show it
  ansible.builtin.debug:
    msg: "{{ sw.summary }}"

- name: Fail a scheduled check when the cluster is not healthy
  skywalking.swck.status:
    name: skywalking
    namespace: skywalking
    fail_unless_ready: true
"""

RETURN = r"""
ready:
  description: Every component ready and the current init Job complete.
  returned: always
  type: bool
components:
  description: Per workload of the cluster.
  returned: always
  type: list
  elements: dict
  contains:
    component:
      description: C(oap), C(oap-receiver), C(oap-aggregator), C(banyandb), C(banyandb-liaison), C(banyandb-data),
        C(ui), C(satellite), C(fetcher) or C(event-exporter).
      type: str
    kind:
      description: Deployment or StatefulSet.
      type: str
    name:
      description: Object name.
      type: str
    desired:
      description: Desired replicas.
      type: int
    ready:
      description: Ready replicas.
      type: int
    version:
      description: The version its image runs.
      type: str
    state:
      description: C(Ready), C(Progressing), C(Failed), C(ScaledToZero) or C(Missing).
      type: str
init_job:
  description: The schema init Job the current version needs, its state, and other init Jobs present.
  returned: always
  type: dict
endpoints:
  description: Where agents (OAP or Satellite gRPC) and people (the UI) connect, in-cluster and external.
  returned: always
  type: dict
  sample: {"agents": "skywalking-oap.skywalking.svc:11800", "ui": "http://skywalking-ui.skywalking.svc:80"}
summary:
  description: A C(kubectl get)-style table, one line per row, then the endpoints.
  returned: always
  type: list
  elements: str
spec:
  description: The normalised spec the cluster was last reconciled with.
  returned: always
  type: dict
recorded_by:
  description: Which module's record the spec came from (C(cluster), C(oap), ...).
  returned: always
  type: str
"""

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import fail, new_client, new_module


def main():
    module = new_module(dict(
        name=dict(type="str", required=True),
        namespace=dict(type="str", required=True),
        fail_unless_ready=dict(type="bool", default=False),
    ), supports_check_mode=True)
    from ansible_collections.skywalking.swck.plugins.module_utils.ops import cluster as ops

    p = module.params
    try:
        client = new_client(module)
        spec, recorded_by = ops.recorded_spec(client, p["name"], p["namespace"])
        if recorded_by != "cluster":
            spec = ops.expected_spec(spec, ops.recorded_modules(client, p["name"], p["namespace"]))
        summary = ops.cluster_status(client, spec, ops.discover_context(client))
    except SwckError as err:
        fail(module, err)
    result = dict(changed=False, spec=spec, recorded_by=recorded_by, **summary)
    if p["fail_unless_ready"] and not summary["ready"]:
        module.fail_json(msg="SkyWalking cluster %s in namespace %s is not ready:\n%s" % (
            p["name"], p["namespace"], "\n".join(summary["summary"])), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
