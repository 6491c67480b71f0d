#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: mesh
short_description: Point Istio's mesh telemetry (access logs, Envoy metrics) at SkyWalking
version_added: 0.2.0
description:
  - Edits Istio's mesh config, the C(mesh) key of the ConfigMap C(istio) (C(istio-<revision>) for a revisioned
    install) in Istio's namespace. It sets C(enableEnvoyAccessLogService=true),
    C(defaultConfig.envoyAccessLogService.address) and C(defaultConfig.envoyMetricsService.address) to the
    SkyWalking OAP (or Satellite) gRPC address, and optionally C(defaultConfig.proxyStatsMatcher.inclusionRegexps).
    Every other setting, and the order of keys, is kept.
  - The values it replaced are recorded in the ConfigMap annotation C(skywalking.swck/mesh-config), so
    O(state=absent) restores them (keys that were absent are removed again; a value someone changed since is kept
    and reported). The text as it was before the first change is kept in C(skywalking.swck/mesh-config-text); when
    the restored settings equal it, that text is written back as it was, comments and quoting included.
  - The module does not take the ConfigMap over. Istio's installer owns it. It patches only the C(mesh) key and
    its annotation, with the ConfigMap's C(resourceVersion) as a precondition, field manager
    C(skywalking.swck/mesh). A re-run that changes nothing sends no write request.
  - The OAP side is returned as data for the provisioning of OAP. RV(oap_env) holds the Envoy receiver env vars
    (C(SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS=k8s-mesh) and friends) and RV(cluster_rules) the read-only cluster RBAC
    the C(k8s-mesh) analyzer needs. With O(rbac=true) the module also applies a ClusterRole and
    ClusterRoleBinding for OAP's ServiceAccount C(<cluster>-oap), as the instance C(<cluster>-mesh).
  - Istio proxies read C(defaultConfig) when they start, so restart the meshed workloads to pick it up.
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  state:
    description:
      - V(present) points the mesh at SkyWalking; V(absent) restores what the module changed and deletes the RBAC
        it applied with O(rbac=true) (the instance C(<cluster>-mesh); where it is is recorded on the ConfigMap, so
        O(cluster) is not needed for that).
    type: str
    choices: [present, absent]
    default: present
  istio_namespace:
    description:
      - Istio's namespace (where the mesh ConfigMap is).
    type: str
    default: istio-system
  revision:
    description:
      - Istio revision; the ConfigMap is then C(istio-<revision>).
    type: str
  configmap:
    description:
      - The mesh ConfigMap's name, when it is neither C(istio) nor C(istio-<revision>).
    type: str
  cluster:
    description:
      - The SkyWalking cluster, as a provisioning spec (at least C(name) and C(namespace)). The address defaults to
        its OAP Service (the receiver Service in a split cluster), C(<name>-oap.<namespace>.svc:11800).
      - Required for O(rbac).
    type: dict
  address:
    description:
      - C(host:port) of OAP's (or Satellite's) gRPC port for the access log service (and the metrics service unless
        O(metrics_address) is given). Overrides the address derived from O(cluster).
    type: str
  metrics_address:
    description:
      - C(host:port) for Envoy's metrics service, when it differs from O(address).
    type: str
  via_satellite:
    description:
      - Derive the address from the cluster's Satellite Service instead of OAP's (Satellite must run its Envoy
        access log and metrics receivers).
    type: bool
    default: false
  access_log:
    description:
      - Enable Envoy's access log service (ALS) towards SkyWalking.
    type: bool
    default: true
  metrics:
    description:
      - Send Envoy metrics to SkyWalking (C(envoyMetricsService)), and turn OAP's metrics service receiver on.
    type: bool
    default: true
  proxy_stats:
    description:
      - Set C(defaultConfig.proxyStatsMatcher.inclusionRegexps) to the Envoy stats SkyWalking's Envoy metric rules
        use (from SkyWalking's C(metrics_service_setting.md)).
    type: bool
    default: false
  stats_regexps:
    description:
      - Your own C(proxyStatsMatcher.inclusionRegexps) (regular expressions). Overrides O(proxy_stats).
    type: list
    elements: str
  als_http_analysis:
    description:
      - OAP's HTTP access log analyzers, in order (C(SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS)); C(persistence) needs
        C(k8s-mesh) or C(mx-mesh) before it.
    type: list
    elements: str
    choices: [k8s-mesh, mx-mesh, persistence]
    default: [k8s-mesh]
  als_tcp_analysis:
    description:
      - OAP's TCP access log analyzers, in order (C(SW_ENVOY_METRIC_ALS_TCP_ANALYSIS)).
    type: list
    elements: str
    choices: [k8s-mesh, mx-mesh, persistence]
    default: [k8s-mesh]
  service_entries:
    description:
      - Include read access to Istio's ServiceEntries in RV(cluster_rules) (leave it out when Istio's CRDs are not
        installed).
    type: bool
    default: true
  rbac:
    description:
      - Apply a ClusterRole and ClusterRoleBinding granting OAP's ServiceAccount C(<cluster>-oap) RV(cluster_rules),
        as the instance C(<cluster>-mesh) (an ApplySet in the cluster's namespace). Needs O(cluster), whose namespace
        must exist (checked before anything is written). The instance is recorded in the ConfigMap annotation
        C(skywalking.swck/mesh-rbac).
    type: bool
    default: false
extends_documentation_fragment:
  - skywalking.swck.k8s_auth
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Writes are server dry runs (C(dryRun=All)).
  diff_mode:
    support: full
    details: The C(mesh) text before and after.
  platform:
    platforms: kubernetes
  action_group:
    support: full
    membership: [skywalking.swck.swck]
notes:
  - Comments in the mesh text are lost while it is pointed at SkyWalking (YAML is rewritten), and come back on removal
    unless other settings were changed in the meantime.
  - An Istio upgrade that rewrites the ConfigMap drops these settings; run the module again afterwards, or set them
    in Istio's own C(meshConfig) install values.
seealso:
  - module: skywalking.swck.inject
"""

EXAMPLES = r"""
- name: Send the mesh's access logs and Envoy metrics to the SkyWalking cluster "skywalking"
  skywalking.swck.mesh:
    cluster:
      name: skywalking
      namespace: skywalking
    rbac: true
    proxy_stats: true
  register: mesh

- name: The OAP env for the provisioning of OAP
  ansible.builtin.debug:
    var: mesh.oap_env

- name: A revisioned Istio, an address given by hand
  skywalking.swck.mesh:
    revision: 1-24
    address: oap.observability.svc:11800

- name: Undo it
  skywalking.swck.mesh:
    state: absent
    cluster:
      name: skywalking
      namespace: skywalking
"""

RETURN = r"""
configmap:
  description: The mesh ConfigMap, C(namespace/name).
  returned: always
  type: str
  sample: istio-system/istio
address:
  description: The address the mesh was pointed at.
  returned: always
  type: str
  sample: skywalking-oap.skywalking.svc:11800
before:
  description: The C(mesh) text before.
  returned: always
  type: str
  sample: "accessLogFile: /dev/stdout\n"
after:
  description: The C(mesh) text after (what it would be, in check mode).
  returned: always
  type: str
  sample: "accessLogFile: /dev/stdout\nenableEnvoyAccessLogService: true\n..."
record:
  description: The record annotation's text after the run (null after a removal).
  returned: always
  type: str
  sample: '{"v":1,"entries":[...]}'
kept:
  description: On removal, the recorded settings someone changed since, left as they are (dotted keys).
  returned: always
  type: list
  elements: str
  sample: []
oap_env:
  description: The env vars OAP needs for the mesh telemetry (pass them to the provisioning of OAP).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "SW_ENVOY_METRIC", "value": "default"}, {"name": "SW_ENVOY_METRIC_SERVICE", "value": "true"},
           {"name": "SW_ENVOY_METRIC_ALS_HTTP_ANALYSIS", "value": "k8s-mesh"},
           {"name": "SW_ENVOY_METRIC_ALS_TCP_ANALYSIS", "value": "k8s-mesh"}]
cluster_rules:
  description: The read-only cluster RBAC rules OAP's ServiceAccount needs for the C(k8s-mesh) analyzer.
  returned: always
  type: list
  elements: dict
  sample: [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
rbac:
  description: With O(rbac) (or on removal), the RBAC objects and what was done to them.
  returned: always
  type: list
  elements: dict
  sample: [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "name": "skywalking-swck:skywalking:skywalking:oap-mesh", "namespace": null, "action": "created"}]
api_warnings:
  description: Warnings returned by the API server.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import fail, new_client, new_module

ANALYZERS = ["k8s-mesh", "mx-mesh", "persistence"]


def main():
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        istio_namespace=dict(type="str", default="istio-system"),
        revision=dict(type="str"),
        configmap=dict(type="str"),
        cluster=dict(type="dict"),
        address=dict(type="str"),
        metrics_address=dict(type="str"),
        via_satellite=dict(type="bool", default=False),
        access_log=dict(type="bool", default=True),
        metrics=dict(type="bool", default=True),
        proxy_stats=dict(type="bool", default=False),
        stats_regexps=dict(type="list", elements="str"),
        als_http_analysis=dict(type="list", elements="str", choices=ANALYZERS, default=["k8s-mesh"]),
        als_tcp_analysis=dict(type="list", elements="str", choices=ANALYZERS, default=["k8s-mesh"]),
        service_entries=dict(type="bool", default=True),
        rbac=dict(type="bool", default=False),
    )
    module = new_module(argument_spec, supports_check_mode=True, mutually_exclusive=[["revision", "configmap"]])
    p = module.params

    from ansible_collections.skywalking.swck.plugins.module_utils.ops import mesh
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import istio

    stats = p["stats_regexps"]
    if stats is None and p["proxy_stats"]:
        stats = list(istio.OAP_STATS_REGEXPS)
    client = None
    try:
        client = new_client(module)
        out = mesh.reconcile(
            client, state=p["state"], istio_namespace=p["istio_namespace"], revision=p["revision"],
            configmap=p["configmap"], cluster=p["cluster"], address=p["address"], metrics_address=p["metrics_address"],
            via_satellite=p["via_satellite"], access_log=p["access_log"], metrics=p["metrics"], stats_regexps=stats,
            http_analysis=p["als_http_analysis"], tcp_analysis=p["als_tcp_analysis"],
            service_entries=p["service_entries"], rbac=p["rbac"], check_mode=module.check_mode)
    except SwckError as err:
        fail(module, err, api_warnings=list(client.warnings) if client else [])

    for warning in out.pop("warnings"):
        module.warn(warning)
    out["api_warnings"] = list(client.warnings)
    if module._diff:
        out["diff"] = {"before_header": "ConfigMap %s data.mesh" % out["configmap"],
                       "after_header": "ConfigMap %s data.mesh" % out["configmap"],
                       "before": out["before"] or "", "after": out["after"] or ""}
    module.exit_json(**out)


if __name__ == "__main__":
    main()
