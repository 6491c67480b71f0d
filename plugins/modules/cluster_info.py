#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_info
short_description: Report the Kubernetes server version and node readiness
version_added: 0.1.0
description:
  - Reads the API server version and every node's readiness, kubelet version, roles and taints, and renders a
    C(kubectl get nodes)-style summary.
  - Read-only; never reports a change.
author:
  - skywalking.swck developers (@skywalking-swck)
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
  - module: skywalking.swck.apply
"""

EXAMPLES = r"""
- name: Show the cluster
  skywalking.swck.cluster_info:
    kubeconfig: "{{ playbook_dir }}/../.cluster/kubeconfig"
  register: info

- name: Print the node table
  ansible.builtin.debug:
    msg: "{{ info.summary }}"
"""

RETURN = r"""
server:
  description: The API server's version information and address.
  returned: always
  type: dict
  sample: {"gitVersion": "v1.37.2", "major": "1", "minor": "37", "platform": "linux/amd64",
           "host": "https://127.0.0.1:6443"}
nodes:
  description: One entry per node.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    ready:
      description: Whether the node's Ready condition is True.
      type: bool
    status:
      description: C(Ready), C(NotReady) or C(Unknown), plus C(SchedulingDisabled) when cordoned.
      type: str
    roles:
      description: Roles from C(node-role.kubernetes.io/*) labels.
      type: list
      elements: str
    kubelet_version:
      description: Version reported by the node's kubelet.
      type: str
    internal_ip:
      description: The node's InternalIP address, if any.
      type: str
    taints:
      description: Taints as C(key=value:effect).
      type: list
      elements: str
ready_nodes:
  description: Number of Ready nodes.
  returned: always
  type: int
  sample: 3
summary:
  description: A C(kubectl get nodes)-style table, one line per row.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import fail, new_client, new_module


def describe_node(node):
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    ready = "Unknown"
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Ready":
            ready = "Ready" if cond.get("status") == "True" else (
                "NotReady" if cond.get("status") == "False" else "Unknown")
    text = ready
    if (node.get("spec") or {}).get("unschedulable"):
        text += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (meta.get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/") and "/" in k)
    internal = [a.get("address") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"]
    taints = ["%s%s:%s" % (t.get("key"), "=" + t["value"] if t.get("value") else "", t.get("effect"))
              for t in (node.get("spec") or {}).get("taints") or []]
    return {
        "name": meta.get("name"),
        "ready": ready == "Ready",
        "status": text,
        "roles": roles,
        "kubelet_version": (status.get("nodeInfo") or {}).get("kubeletVersion", ""),
        "internal_ip": internal[0] if internal else None,
        "taints": taints,
    }


def table(nodes):
    rows = [("NAME", "STATUS", "ROLES", "VERSION", "INTERNAL-IP")]
    for n in nodes:
        rows.append((n["name"], n["status"], ",".join(n["roles"]) or "<none>", n["kubelet_version"] or "",
                     n["internal_ip"] or "<none>"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def main():
    module = new_module({}, supports_check_mode=True)
    try:
        client = new_client(module)
        version = client.server_version()
        nodes = client.list(client.resource("v1", "Node"))
    except SwckError as err:
        fail(module, err)
    described = sorted((describe_node(n) for n in nodes), key=lambda n: n["name"])
    server = dict(version, host=client.host)
    module.exit_json(
        changed=False,
        server=server,
        nodes=described,
        ready_nodes=sum(1 for n in described if n["ready"]),
        summary=["Kubernetes %s at %s" % (version.get("gitVersion", "?"), client.host)] + table(described),
    )


if __name__ == "__main__":
    main()
