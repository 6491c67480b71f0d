#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: apply
short_description: Reconcile many Kubernetes objects in one call with server-side apply
version_added: 0.1.0
description:
  - Applies a list of manifests with server-side apply under one field manager, in dependency order
    (namespaces, definitions, configuration and RBAC, workloads, the rest), independent objects concurrently.
  - An object that already matches is not sent at all, so a re-run makes no write request and reports
    C(changed=false).
  - Every object gets the labels C(app.kubernetes.io/managed-by=skywalking.swck),
    C(app.kubernetes.io/part-of=skywalking) and C(app.kubernetes.io/instance=<instance>);
    with O(prune=true), objects carrying this instance's labels that are no longer listed are deleted.
    Objects without those labels are never pruned or deleted.
  - Before the first write, every object that would change is sent as a server dry run (see O(preflight)),
    so an invalid object fails the run with nothing changed.
  - In check mode every write is a server dry run (C(dryRun=All)); nothing is persisted, validation and
    admission still run.
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  definitions:
    description:
      - The objects, as a list of dictionaries, one dictionary, or YAML text with one or more documents.
      - C(List) kinds are expanded.
    type: raw
    aliases: [resource_definition]
  src:
    description:
      - Path to a YAML file with one or more documents, read on the managed node. Added to O(definitions).
    type: path
  instance:
    description:
      - Name of the owning instance; set as the C(app.kubernetes.io/instance) label and used to select what
        O(prune) and O(state=absent) may delete.
    type: str
    required: true
  namespace:
    description:
      - Namespace for namespaced objects that do not name one.
    type: str
  state:
    description:
      - V(present) applies the objects.
      - V(absent) deletes the listed objects that this instance owns, or, without O(definitions) and O(src),
        every object this instance owns (Namespaces, PersistentVolumeClaims and CustomResourceDefinitions only
        when named in O(prune_kinds)).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Delete objects labelled for this O(instance) that are not in O(definitions).
      - Looks at the kinds being applied, the common workload, configuration, RBAC and network kinds, and
        O(prune_kinds).
    type: bool
    default: false
  prune_kinds:
    description:
      - Extra kinds to prune, as C(apiVersion/Kind) (for example V(v1/PersistentVolumeClaim)).
      - Namespaces, PersistentVolumeClaims, PersistentVolumes and CustomResourceDefinitions are only pruned when
        listed here.
    type: list
    elements: str
  force_conflicts:
    description:
      - Take ownership of fields that another field manager owns. Without it such conflicts fail the run
        and name the fields and their managers.
    type: bool
    default: false
  field_manager:
    description:
      - Server-side apply field manager.
    type: str
    default: skywalking.swck
  preflight:
    description:
      - Dry-run every object that would change before writing any, so a rejected object leaves the cluster
        untouched. Costs one extra request per changed object.
    type: bool
    default: true
extends_documentation_fragment:
  - skywalking.swck.k8s_auth
  - skywalking.swck.k8s_auth.WAIT
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Secret values are masked; C(managedFields) and other server bookkeeping are left out.
  platform:
    platforms: kubernetes
  action_group:
    support: full
    membership: [skywalking.swck.swck]
seealso:
  - module: skywalking.swck.cluster_info
"""

EXAMPLES = r"""
- name: Apply a namespace, a ConfigMap and a Deployment, and wait for the rollout
  skywalking.swck.apply:
    instance: demo
    wait: true
    definitions:
      - apiVersion: v1
        kind: Namespace
        metadata:
          name: demo
      - apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          namespace: demo
        data:
          level: info
      - apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: demo
        spec:
          replicas: 2
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
                - name: web
                  image: nginx:1.27

- name: Apply rendered manifests and delete what is no longer rendered
  skywalking.swck.apply:
    instance: demo
    src: /tmp/rendered.yaml
    prune: true

- name: Remove everything the instance owns
  skywalking.swck.apply:
    instance: demo
    state: absent
    wait: true
"""

RETURN = r"""
objects:
  description: One entry per object, with what was done to it.
  returned: always
  type: list
  elements: dict
  contains:
    apiVersion:
      description: API version.
      type: str
      sample: apps/v1
    kind:
      description: Kind.
      type: str
      sample: Deployment
    namespace:
      description: Namespace (null for cluster-scoped objects).
      type: str
      sample: demo
    name:
      description: Name.
      type: str
      sample: web
    action:
      description: >-
        V(created), V(configured), V(unchanged), V(pruned), V(deleted), V(absent) (already gone) or
        V(skipped) (not owned by this instance, or replaced while being pruned).
      type: str
      sample: unchanged
    source:
      description: Where the object came from in the input.
      type: str
      sample: definitions[2]
counts:
  description: Number of objects per action.
  returned: always
  type: dict
  sample: {"created": 2, "unchanged": 24}
api_warnings:
  description: Warnings returned by the API server (deprecations and the like); also shown as task warnings.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import args as k8s_args
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import (
    diff_list,
    fail,
    new_client,
    new_module,
    protect_secrets,
)


def main():
    argument_spec = dict(
        definitions=dict(type="raw", aliases=["resource_definition"]),
        src=dict(type="path"),
        instance=dict(type="str", required=True),
        namespace=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        prune=dict(type="bool", default=False),
        prune_kinds=dict(type="list", elements="str"),
        force_conflicts=dict(type="bool", default=False),
        field_manager=dict(type="str", default=k8s_args.FIELD_MANAGER),
        preflight=dict(type="bool", default=True),
    )
    argument_spec.update(k8s_args.WAIT_ARG_SPEC)
    module = new_module(argument_spec, supports_check_mode=True)
    p = module.params

    from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine
    from ansible_collections.skywalking.swck.plugins.module_utils.k8s.manifest import (
        load_definitions,
        validate_instance,
    )

    try:
        validate_instance(p["instance"])
        definitions = load_definitions(p["definitions"])
        if p["src"]:
            try:
                with open(p["src"], "r") as handle:
                    text = handle.read()
            except (IOError, OSError) as exc:
                raise SwckError("src: cannot read %s: %s" % (p["src"], exc))
            definitions += load_definitions(text, field="src")
        protect_secrets(module, definitions)
        docs = definitions
        if p["state"] == "present" and not docs:
            raise SwckError("definitions: nothing to apply (give definitions or src)")
        client = new_client(module)
        engine = Engine(client, field_manager=p["field_manager"], check_mode=module.check_mode,
                        force_conflicts=p["force_conflicts"], preflight=p["preflight"])
        if p["state"] == "present":
            result = engine.apply(docs, p["instance"], namespace=p["namespace"], prune=p["prune"],
                                  prune_kinds=p["prune_kinds"], wait=p["wait"], wait_timeout=p["wait_timeout"],
                                  diff=module._diff)
        else:
            result = engine.delete(docs, p["instance"], namespace=p["namespace"], prune_kinds=p["prune_kinds"],
                                   wait=p["wait"], wait_timeout=p["wait_timeout"], diff=module._diff)
    except SwckError as err:
        fail(module, err)

    for warning in result.warnings:
        module.warn(warning)
    out = dict(changed=result.changed, objects=result.objects, counts=result.counts(),
               api_warnings=result.warnings)
    if module._diff:
        out["diff"] = diff_list(result.diffs)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
