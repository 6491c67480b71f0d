#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: oap_config
short_description: Reconcile the static configuration of a SkyWalking cluster's OAP servers
version_added: 0.2.0
description:
  - "SWCK's OAPServerConfig as a module: env and configuration files (alarm rules, log4j2, endpoint name grouping,
    ...) for OAP servers that M(skywalking.swck.oap_server) or M(skywalking.swck.cluster) runs, kept by another
    owner (a team, a pipeline)."
  - The files go into a ConfigMap C(<name>-oap-static-config); the env entries, one C(subPath) mount per file under
    C(/skywalking/config/) and a checksum annotation are contributed to every OAP Deployment of the cluster with
    server-side apply under this module's field manager (C(skywalking.swck/sw.<name>.oap-config)). The Deployments
    stay the server module's; a key both declare (the same env name or file) is reported as a conflict, never
    overwritten.
  - A change rolls the OAP pods (the checksum annotation changes) and waits for the rollout; no change, no
    request. O(state=absent) withdraws exactly what was contributed.
  - "Only what does not shape the storage schema is accepted (files such as C(alarm-settings.yml), C(log4j2.xml);
    no C(SW_STORAGE*) env): the schema init Job belongs to the server module."
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  # BEGIN GENERATED SPEC OPTIONS (slice=oap_config)
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
  # END GENERATED SPEC OPTIONS
  state:
    description:
      - V(present) contributes the configuration; V(absent) withdraws it.
    type: str
    choices: [present, absent]
    default: present
  force_conflicts:
    description:
      - Take fields another server-side applier owns (the same env name or mount in the server module).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds the OAP rollout may take.
    type: int
    default: 600
extends_documentation_fragment:
  - skywalking.swck.k8s_auth
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: A server dry run of every change.
  diff_mode:
    support: full
  platform:
    platforms: kubernetes
  action_group:
    support: full
    membership: [skywalking.swck.swck]
seealso:
  - module: skywalking.swck.oap_server
  - module: skywalking.swck.oap_dynamic_config
"""

EXAMPLES = r"""
- name: Alarm rules and log levels for the OAP servers, owned apart from them
  skywalking.swck.oap_config:
    name: skywalking
    namespace: skywalking
    oap:
      env:
        SW_CORE_RECORD_DATA_TTL: "7"
      config_files:
        alarm-settings.yml: "{{ lookup('ansible.builtin.file', 'alarm-settings.yml') }}"
        log4j2.xml: "{{ lookup('ansible.builtin.file', 'log4j2.xml') }}"
"""

RETURN = r"""
objects:
  description: The ConfigMap and every OAP Deployment, with what was done to it.
  returned: always
  type: list
  elements: dict
counts:
  description: Number of objects per action.
  returned: always
  type: dict
spec:
  description: The normalised options.
  returned: always
  type: dict
spec_warnings:
  description: Warnings about the options (an env name the OAP version does not read).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import (
    diff_list,
    fail,
    invocation,
    new_client,
    new_module,
)


def main():
    from ansible_collections.skywalking.swck.plugins.module_utils.ops import static_config as ops
    from ansible_collections.skywalking.swck.plugins.module_utils.ops.cluster_module import (
        _given,
        secret_values_and_masked,
        shallow_argument_spec,
        task_arguments,
    )
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec as sw_spec

    argument_spec = shallow_argument_spec(sw_spec.argument_spec("oap_config"))
    spec_keys = list(argument_spec)
    argument_spec.update(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        force_conflicts=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
    )
    module = new_module(argument_spec, supports_check_mode=True)
    params = module.params
    raw = _given(params, spec_keys, task_arguments())
    secrets, masked = secret_values_and_masked(sw_spec.options("oap_config"), raw)
    module.no_log_values.update(secrets)
    shown = invocation(module, masked)
    try:
        spec, warnings = sw_spec.normalize(raw, "oap_config")
        for warning in warnings:
            module.warn(warning)
        client = new_client(module)
        result = ops.reconcile(client, spec, state=params["state"], check_mode=module.check_mode,
                               force_conflicts=params["force_conflicts"], wait_timeout=params["wait_timeout"],
                               diff=module._diff)
    except SwckError as err:
        fail(module, err, shown)
    for warning in result.warnings:
        module.warn(warning)
    out = dict(changed=result.changed, objects=result.objects, counts=result.counts(), spec=spec,
               spec_warnings=warnings)
    if module._diff:
        out["diff"] = diff_list(result.diffs)
    module.exit_json(invocation=shown, **out)


if __name__ == "__main__":
    main()
