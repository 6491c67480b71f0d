#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: apply
short_description: Reconcile many Kubernetes objects in one call with server-side apply
version_added: 0.1.0
description:
  - Applies a list of manifests with server-side apply, in dependency order (Namespaces, definitions,
    configuration and RBAC roles, role bindings, workloads, the rest), independent objects concurrently.
  - An object that already matches is not sent at all, so a re-run makes no write request and reports
    C(changed=false).
  - "Ownership: every object this O(instance) applies is a member of the instance's ApplySet (KEP-3659): it gets
    the label C(applyset.kubernetes.io/part-of) and the labels C(app.kubernetes.io/managed-by=skywalking.swck),
    C(app.kubernetes.io/part-of=skywalking) and C(app.kubernetes.io/instance=<instance>); the ApplySet's parent,
    a ConfigMap C(swck-applyset-<instance>) in O(namespace), records every kind the instance has applied. Each
    instance applies with its own field manager (C(skywalking.swck/<instance>))."
  - An existing object that another instance owns is refused. One that another tool manages (Helm, Flux,
    Argo CD, another ApplySet) or that was created by hand is refused unless O(adopt=true). Refusals are
    reported together before any write.
  - "Drift: a desired value that an imperative edit changed (C(kubectl edit/patch/set/scale/label/annotate),
    see O(drift_managers)) is taken back, with a warning. A value a controller or another tool holds (an HPA's
    C(replicas), Helm) is left alone and reported in RV(held). A value another server-side applier owns is a
    conflict that fails the run unless O(force_conflicts=true)."
  - Before the first write, every object that would change is validated by the API server (a server dry run;
    objects in a namespace the same run creates are dry-run as a create in the C(default) namespace;
    custom resources whose definition the same run creates are checked against that definition's schema).
    Admission that depends on a namespace that does not exist yet runs when it is created.
  - With O(prune=true), members of the instance's ApplySet that are no longer listed are deleted, of every kind
    the instance ever applied; only objects carrying the instance's applied marker and field manager and not
    controlled by another object.
  - In check mode every write is a server dry run (C(dryRun=All)); nothing is persisted, validation and
    admission still run, and every field that would be taken back is reported.
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
      - Name of the owning instance (a label value). It names the ApplySet, the field manager and the
        C(app.kubernetes.io/instance) label; O(prune) and O(state=absent) only touch its members.
    type: str
    required: true
  namespace:
    description:
      - Namespace for namespaced objects that do not name one, and the namespace of the instance's ApplySet
        parent.
      - Without it the parent goes to the one namespace the objects use (an error when they use several), or to
        C(default) when all objects are cluster-scoped.
    type: str
  state:
    description:
      - V(present) applies the objects.
      - V(absent) deletes the listed objects that this instance owns; with O(delete_all=true) and no objects,
        every member of the instance (Namespaces, PersistentVolumeClaims, PersistentVolumes and
        CustomResourceDefinitions only when named in O(prune_kinds)). An empty list is an error.
    type: str
    choices: [present, absent]
    default: present
  delete_all:
    description:
      - With O(state=absent) and no O(definitions), delete every object this instance owns.
      - Required for that on purpose, so that a template that rendered nothing cannot uninstall everything.
    type: bool
    default: false
  prune:
    description:
      - Delete members of this O(instance) that are not in O(definitions), of every kind the instance has applied.
    type: bool
    default: false
  prune_kinds:
    description:
      - Kinds, as C(apiVersion/Kind) (for example V(v1/PersistentVolumeClaim)), that O(prune) and
        O(state=absent) may also delete.
      - Namespaces, PersistentVolumeClaims, PersistentVolumes and CustomResourceDefinitions are only deleted when
        listed here. Other kinds listed here are looked at even when the instance's inventory does not name them.
    type: list
    elements: str
  adopt:
    description:
      - Take over existing objects that were created by hand or are managed by another tool (not by another
        instance of this collection). Without it such objects are refused before any write.
    type: bool
    default: false
  force_conflicts:
    description:
      - Take ownership of fields that another server-side applier owns. Without it such conflicts fail the run
        and name the fields and their managers.
    type: bool
    default: false
  drift_managers:
    description:
      - Field managers whose C(Update) writes are imperative edits that a reconcile takes back. Shell-style
        patterns.
      - Fields changed by other managers (controllers, other tools) are left alone and reported.
    type: list
    elements: str
    default: [kubectl, kubectl-*, k9s, Mozilla, OpenAPI-Generator]
  field_manager:
    description:
      - Server-side apply field manager. Defaults to C(skywalking.swck/<instance>).
    type: str
  preflight:
    description:
      - Validate every object that would change with a server dry run before writing any, so a rejected object
        leaves the cluster untouched. Costs one extra request per changed object.
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
  - name: KEP-3659 ApplySet
    description: How the instance's inventory is kept.
    link: https://github.com/kubernetes/enhancements/tree/master/keps/sig-cli/3659-kubectl-apply-prune
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

- name: Remove everything the instance owns (its Namespace too)
  skywalking.swck.apply:
    instance: demo
    namespace: demo
    state: absent
    delete_all: true
    prune_kinds: [v1/Namespace]
    wait: true
"""

RETURN = r"""
objects:
  description: One entry per object, with what was done to it. Also returned when the task fails after a write.
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
        V(created), V(configured), V(unchanged), V(pruned), V(deleted), V(absent) (already gone),
        V(skipped) (not owned by this instance, or replaced while being deleted) or V(not applied) (the run
        failed before it).
      type: str
      sample: unchanged
    source:
      description: Where the object came from in the input.
      type: str
      sample: definitions[2]
    reason:
      description: Why an object was skipped.
      type: str
      returned: when skipped
counts:
  description: Number of objects per action.
  returned: always
  type: dict
  sample: {"created": 2, "unchanged": 24}
taken_back:
  description: Fields an imperative edit had changed and this run set back (or would, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"object": "Deployment demo/web", "fields": [".spec.template.spec.containers[name=web].image"],
            "managers": ["kubectl-set"]}]
held:
  description: Desired fields a controller or another tool holds; left alone (for example replicas under an HPA).
  returned: always
  type: list
  elements: dict
  sample: [{"object": "Deployment demo/web", "fields": [".spec.replicas"], "managers": ["kube-controller-manager"]}]
stages:
  description: Per stage of the plan, its objects, changes and gate.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "apply", "objects": 3, "changed": 1, "gate": null, "gate_state": null}]
api_warnings:
  description: Warnings returned by the API server (deprecations and the like); also shown as task warnings.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import args as k8s_args
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.fields import DEFAULT_DRIFT_MANAGERS
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import (
    NO_LOG_PLACEHOLDER,
    diff_list,
    fail,
    invocation,
    masked_definitions,
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
        delete_all=dict(type="bool", default=False),
        prune=dict(type="bool", default=False),
        prune_kinds=dict(type="list", elements="str"),
        adopt=dict(type="bool", default=False),
        force_conflicts=dict(type="bool", default=False),
        drift_managers=dict(type="list", elements="str", default=list(DEFAULT_DRIFT_MANAGERS)),
        field_manager=dict(type="str"),
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

    shown = {"definitions": NO_LOG_PLACEHOLDER if p["definitions"] is not None else None}
    try:
        validate_instance(p["instance"])
        definitions = load_definitions(p["definitions"])
        protect_secrets(module, definitions)
        shown["definitions"] = masked_definitions(definitions) if p["definitions"] is not None else None
        if p["src"]:
            try:
                with open(p["src"], "r", encoding="utf-8") as handle:
                    text = handle.read()
            except (IOError, OSError) as exc:
                raise SwckError("src: cannot read %s: %s" % (p["src"], exc))
            except UnicodeDecodeError as exc:
                raise SwckError("src: %s is not UTF-8 text (byte %d): give a YAML or JSON manifest"
                                % (p["src"], exc.start))
            from_src = load_definitions(text, field="src")
            protect_secrets(module, from_src)
            definitions += from_src
        given = p["definitions"] is not None or bool(p["src"])
        if p["state"] == "present" and not definitions:
            raise SwckError("definitions: nothing to apply (give definitions or src)")
        client = new_client(module)
        engine = Engine(client, field_manager=p["field_manager"], check_mode=module.check_mode,
                        force_conflicts=p["force_conflicts"], preflight=p["preflight"], adopt=p["adopt"],
                        drift_managers=p["drift_managers"])
        if p["state"] == "present":
            result = engine.apply(definitions, p["instance"], namespace=p["namespace"], prune=p["prune"],
                                  prune_kinds=p["prune_kinds"], wait=p["wait"], wait_timeout=p["wait_timeout"],
                                  diff=module._diff)
        else:
            result = engine.delete(definitions if given else None, p["instance"], namespace=p["namespace"],
                                   delete_all=p["delete_all"], prune_kinds=p["prune_kinds"], wait=p["wait"],
                                   wait_timeout=p["wait_timeout"], diff=module._diff)
    except SwckError as err:
        fail(module, err, invocation(module, shown))

    for warning in result.warnings:
        module.warn(warning)
    out = result.as_dict()
    out["api_warnings"] = list(client.warnings)
    out["invocation"] = invocation(module, shown)
    if module._diff:
        out["diff"] = diff_list(result.diffs)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
