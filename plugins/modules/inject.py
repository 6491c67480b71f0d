#!/usr/bin/python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
module: inject
short_description: Inject the SkyWalking Java agent into workloads, with SWCK's labels and annotations
version_added: 0.2.0
description:
  - Reconciles the SkyWalking Java agent into the pod templates of Deployments, StatefulSets, DaemonSets and
    CronJobs, as SWCK's injection webhook does it to pods, so workloads labelled for SWCK need no change and
    nothing has to run in the cluster.
  - "Selection: namespaces labelled C(swck-injection=enabled) (or O(namespaces), or O(namespace_selector)), and
    in them the workloads whose pod template carries the label C(swck-java-agent-injected) with the value
    C(true) (case-insensitive). The pod template's SWCK annotations (C(strategy.skywalking.apache.org/*),
    C(sidecar.skywalking.apache.org/*), C(agent.skywalking.apache.org/*), C(plugins.skywalking.apache.org/*),
    C(optional.skywalking.apache.org), C(optional-reporter.skywalking.apache.org),
    C(bootstrap.skywalking.apache.org)) tune it; docs/injection.md in the collection has the reference."
  - "Precedence: annotation > SwAgent (O(swagents), and SWCK's SwAgent objects in the namespace when
    O(read_swagents=true) and the CRD is served; sorted by name, the last wins field by field) > O(defaults)
    (and the collector address derived from O(cluster))."
  - Reversible. What was changed is recorded in the pod template annotation C(skywalking.swck/java-agent);
    O(state=absent), or taking the label away (from the workload's template, or SWCK's label from the
    namespace), removes exactly that, so the template is the user's again, byte for
    byte.
  - Only workloads whose template changes are written, each with one JSON patch that replaces the pod template
    on the condition that the workload's C(metadata.generation) is still the one the change was computed from
    (a workload edited in between is read again and recomputed; a Deployment's generation also moves when its own
    annotations change), field manager C(skywalking.swck/injector). A
    re-run that changes nothing sends no write request. The number of read requests does not depend on the number of workloads
    or namespaces (one cluster-wide list per kind), unless the credentials may only list namespace by
    namespace.
  - Invalid workloads (for example an empty C(agent.skywalking.apache.org/agent.service_name), or a container
    regular expression that matches nothing) are reported in RV(invalid) with the reason, each named in a warning,
    and left untouched; the others proceed and the task does not fail (unless O(fail_on_invalid=true)).
  - "Jobs: the API server refuses changes to the pod template of an existing Job, so in a cluster Jobs are reported in
    RV(not_injectable) and never changed (inject the CronJob that creates them, or render the Job before creating
    it). Bare Pods are reported there too. CronJobs are injected, so their next Jobs get the agent."
  - Rollout pacing with O(max_concurrent). A template change restarts the workload's pods. At most
    O(max_concurrent) such workloads are written at once, each batch must be Ready before the next one is
    written, and the first batch that is not stops the run with the reason. A workload that was not Ready before
    the run touched it is named as already unhealthy.
  - Warnings for a workload the agent goes into without any collector address (it would report to its built-in
    C(127.0.0.1:11800)), and for a SwAgent whose image is the default of SWCK's SwAgent CRD (an 8.16.0 agent).
  - Credentials are not printed. Env values whose name says credential (C(SW_AGENT_AUTHENTICATION), C(*PASSWORD*),
    C(*TOKEN*), ...) in O(defaults.env), in SwAgents and in the templates shown by C(--diff), and the secrets of
    O(cluster), are masked in the output, the diff and the arguments echoed at C(-v).
author:
  - skywalking.swck developers (@skywalking-swck)
options:
  namespaces:
    description:
      - Namespaces to reconcile, whatever their labels. Without it (or with an empty list), the namespaces that
        O(namespace_selector) selects.
      - Namespaces that do not exist are reported in a warning.
    type: list
    elements: str
  namespace_selector:
    description:
      - Label selector of the namespaces to reconcile, for example V(team=shop,swck-injection=enabled).
      - Without this option and without O(namespaces), the namespaces labelled C(swck-injection=enabled) (SWCK's
        label) are reconciled, and workloads this module injected in namespaces that no longer carry that label
        have the injection removed, as with SWCK's webhook. With this option or O(namespaces), only the selected
        namespaces are touched.
      - Mutually exclusive with O(namespaces).
    type: str
  kinds:
    description:
      - The workload kinds to reconcile.
    type: list
    elements: str
    choices: [Deployment, StatefulSet, DaemonSet, Job, CronJob]
    default: [Deployment, StatefulSet, DaemonSet, Job, CronJob]
  state:
    description:
      - V(present) injects the agent into every selected workload (and removes it where the label was taken
        away).
      - V(absent) removes this module's injection from every workload in scope.
    type: str
    choices: [present, absent]
    default: present
  defaults:
    description:
      - Injection settings below the SwAgents and the annotations. Unset keys take the documented defaults.
      - Each value is checked with its type as given (Ansible does not convert it); a wrong type is refused before
        any request, naming the key (for example C(defaults.image), a list instead of a string).
    type: dict
    suboptions:
      image:
        description:
          - The agent image of the init container. The jar is the same in every flavour (C(-alpine), C(-java8)
            ... C(-java25)); the flavour only picks the base of the init container, which runs C(sh), C(cp),
            C(grep) and C(xargs).
          - A string.
        type: raw
        default: apache/skywalking-java-agent:9.7.0-java8
      backend_service:
        description:
          - Collector address (C(host:port), comma-separated), set as C(SW_AGENT_COLLECTOR_BACKEND_SERVICES) in
            containers that do not set it. Defaults to the Service of O(cluster) when given.
          - A string.
        type: raw
      init_container_name:
        description:
          - Name of the init container that copies the agent.
          - A string (a DNS label).
        type: raw
        default: inject-skywalking-agent
      command:
        description:
          - Command of the init container.
          - A list of strings.
        type: raw
        default: [sh]
      args:
        description:
          - Arguments of the init container. Default V(["-c", "mkdir -p <mount_path> && cp -r /skywalking/agent/*
            <mount_path>"]).
          - A list of strings.
        type: raw
      resources:
        description:
          - "Resources of the init container: C(limits) and C(requests), each a mapping of resource name to quantity."
          - A mapping.
        type: raw
      security_context:
        description:
          - C(securityContext) of the init container (for example for the C(restricted) Pod Security level).
          - A mapping (a Kubernetes C(SecurityContext)).
        type: raw
      volume_name:
        description:
          - Name of the shared C(emptyDir) volume.
          - A string (a DNS label).
        type: raw
        default: sky-agent
      mount_path:
        description:
          - Where the agent is mounted in the init container and the selected containers.
          - A string (an absolute path).
        type: raw
        default: /sky/agent
      env_name:
        description:
          - The variable that gets the C(-javaagent) option; a value the container already has is kept and
            extended.
          - A string.
        type: raw
        default: JAVA_TOOL_OPTIONS
      env_value:
        description:
          - Replaces C(-javaagent:<mount_path>/skywalking-agent.jar); agent settings from annotations are still
            appended.
          - A string.
        type: raw
      env:
        description:
          - Environment variables added to each selected container that does not set them (C(name) with C(value)
            or C(valueFrom)). Give credentials such as C(SW_AGENT_AUTHENTICATION) with C(valueFrom.secretKeyRef).
          - A list of mappings (Kubernetes C(EnvVar)).
        type: raw
      container_matcher:
        description:
          - Regular expression over container names (found anywhere in the name); unset means every container.
          - A string (an RE2 regular expression).
        type: raw
      optional_plugins:
        description:
          - Optional plugins to activate (patterns matched against the jar names in C(optional-plugins/)).
          - A list of strings.
        type: raw
      optional_reporter_plugins:
        description:
          - Optional reporter plugins to activate.
          - A list of strings.
        type: raw
      bootstrap_plugins:
        description:
          - Bootstrap plugins to activate.
          - A list of strings.
        type: raw
      ca_secret:
        description:
          - Secret with the CA of OAP's gRPC certificate, mounted at C(<mount_path>/ca/ca.crt), where the agent
            turns TLS on. Must exist in every namespace where the module injects a workload; checked before the
            first write (also in check mode), a missing one fails the task naming the namespaces. Derived from
            O(cluster) when OAP's gRPC port uses TLS (then the module keeps a copy in each namespace, see O(cluster)).
          - A string (a Secret name).
        type: raw
      ca_secret_key:
        description:
          - Key of the CA certificate in O(defaults.ca_secret).
          - A string.
        type: raw
        default: ca.crt
  cluster:
    description:
      - The SkyWalking cluster the agents report to, as a provisioning spec (at least C(name) and C(namespace);
        C(satellite.enabled), C(oap.mode), C(oap.tls.grpc)). A spec without C(name) or C(namespace) (also V({})) is
        refused, naming C(cluster.name) or C(cluster.namespace); other problems are named C(cluster.<field>).
      - The collector address defaults to its Satellite Service when Satellite is enabled, else to its OAP
        (receiver) Service, C(<service>.<namespace>.svc:11800).
      - When OAP's gRPC port uses TLS (C(oap.tls.grpc.secret)) and no Satellite is in between, the CA certificate
        of that Secret (key C(oap.tls.grpc.ca)) is copied into a Secret C(<name>-agent-ca) holding only
        C(ca.crt) in every namespace whose workloads mount it. The copies belong to the instance
        C(<name>-agent-ca) (an ApplySet in the cluster's namespace) and are deleted when no workload needs them.
    type: dict
  swagents:
    description:
      - SwAgent-like settings per namespace, applied like SWCK's SwAgent objects (all matching ones, sorted by
        name, the last wins field by field).
      - "Each item is a SwAgent object (C(metadata.name), optional C(metadata.namespace), C(spec)) or its short
        form: C(name), C(namespace) and SWCK's spec fields (C(selector), C(containerMatcher), C(javaSidecar),
        C(sharedVolumeName), C(optionalPlugins), C(optionalReporterPlugins), C(bootstrapPlugins)). Without a
        namespace it applies in every namespace."
      - "Each item is checked as given (a mapping; Ansible does not convert it). Checked before any request: unknown
        fields (also in C(javaSidecar): C(name), C(image), C(command), C(args), C(resources), C(env)), wrong types
        and a name given twice in one namespace are refused, naming the item (for example
        C(swagents[1].spec.javaSidecar.imag), with the SwAgent's name)."
    type: list
    elements: raw
  read_swagents:
    description:
      - Also apply the SwAgent objects (C(operator.skywalking.apache.org/v1alpha1)) of each namespace when the
        cluster serves that kind (SWCK's CRD is installed), so a SWCK installation's SwAgents keep working.
    type: bool
    default: true
  max_concurrent:
    description:
      - Rollout pacing. At most this many workloads whose pods restart (Deployments and StatefulSets with
        replicas, DaemonSets) are written at once; each batch must be Ready before the next is written (at most
        O(wait_timeout) seconds per batch) and the first batch that is not stops the run (the task fails and
        names the batch and why).
      - V(0) writes every workload at once.
      - CronJobs, and workloads scaled to zero, restart nothing and are written first, unpaced.
    type: int
    default: 0
  wait:
    description:
      - Without pacing, wait for every restarted workload to be Ready (one batch).
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds each batch may take to become Ready.
    type: int
    default: 300
  fail_on_invalid:
    description:
      - Fail the task when a workload is invalid (RV(invalid) is not empty), for example to get a failed job in AWX.
        The other workloads are reconciled first either way; the result is complete.
      - V(false) reports invalid workloads in RV(invalid) and in warnings, and the task succeeds.
    type: bool
    default: false
  mark_errors:
    description:
      - Write SWCK's C(sidecar.skywalking.apache.org/error) annotation, with the reason, on the metadata of each
        invalid workload (never on its pod template, so its pods do not restart). A later successful injection
        or removal deletes it, also in a run without O(mark_errors).
    type: bool
    default: false
extends_documentation_fragment:
  - skywalking.swck.k8s_auth
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
attributes:
  check_mode:
    support: full
    details: Every write is a server dry run (C(dryRun=All)); the result lists the plan (RV(batches)).
  diff_mode:
    support: full
    details: The pod template (and the workload's annotations when O(mark_errors) changes them), before and after.
  platform:
    platforms: kubernetes
  action_group:
    support: full
    membership: [skywalking.swck.swck]
notes:
  - Needs get/list on namespaces, list on the selected kinds and on pods, patch on the selected kinds, and, with
    O(read_swagents=true), list on C(swagents.operator.skywalking.apache.org). Credentials that cannot list a kind
    in all namespaces make the module list it namespace by namespace.
  - Fields of the template that another field manager owns and the injection changes (typically a container's
    own C(JAVA_TOOL_OPTIONS), which the agent option is merged into) are listed in RV(shared_fields). When that
    manager applies with server-side apply (a GitOps controller), a warning says its next apply may undo the
    change. Render the agent into such manifests in the pipeline instead (P(skywalking.swck.inject_java_agent#filter), or the command line
    in docs/injection.md).
  - The field manager C(skywalking.swck/injector) is shared by every run of this module; an apply instance of
    P(skywalking.swck.apply#module) must not be called C(injector).
seealso:
  - plugin: skywalking.swck.inject_java_agent
    plugin_type: filter
  - plugin: skywalking.swck.remove_java_agent
    plugin_type: filter
  - module: skywalking.swck.mesh
"""

EXAMPLES = r"""
- name: Inject every labelled workload in namespaces labelled swck-injection=enabled
  skywalking.swck.inject:
    defaults:
      backend_service: skywalking-oap.skywalking.svc:11800

- name: Inject for a cluster this collection provisions, at most two rollouts at a time
  skywalking.swck.inject:
    cluster:
      name: skywalking
      namespace: skywalking
      satellite:
        enabled: true
    namespaces: [shop, billing]
    max_concurrent: 2
    wait_timeout: 600

- name: Namespace-wide settings, as a SwAgent would give them
  skywalking.swck.inject:
    namespace_selector: team=shop
    swagents:
      - name: java17
        namespace: shop
        javaSidecar:
          image: apache/skywalking-java-agent:9.7.0-java17
        optionalPlugins: [trace, webflux]

- name: Remove the agent everywhere this module injected it
  skywalking.swck.inject:
    state: absent

# The workload that selects and tunes the injection (SWCK's label and annotations):
#   spec:
#     template:
#       metadata:
#         labels:
#           swck-java-agent-injected: "true"
#         annotations:
#           agent.skywalking.apache.org/agent.service_name: orders
#           strategy.skywalking.apache.org/inject.Container: "^app$"
"""

RETURN = r"""
injected:
  description: Workloads injected by this run.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Deployment", "namespace": "shop", "name": "orders", "containers": ["app"]}]
  contains:
    kind:
      description: Kind.
      type: str
    namespace:
      description: Namespace.
      type: str
    name:
      description: Name.
      type: str
    containers:
      description: Containers that carry the agent.
      type: list
      elements: str
    swagents:
      description: SwAgents applied (C(namespace/name)), in order.
      type: list
      elements: str
      returned: when any applied
updated:
  description: Workloads whose injection changed (annotations, SwAgents or defaults changed); the old injection was
    replaced.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "StatefulSet", "namespace": "shop", "name": "stock", "containers": ["app"]}]
already_injected:
  description: Workloads that already hold exactly this injection (not written).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "CronJob", "namespace": "shop", "name": "report", "containers": ["report"]}]
removed:
  description: Workloads whose injection was removed, with the reason (state=absent, label taken away, namespace no
    longer selected).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Deployment", "namespace": "shop", "name": "legacy", "reason": "state=absent"}]
not_injectable:
  description:
    - Labelled objects left alone, with the reason (an existing Job or a bare Pod cannot change its pod template; a
      template injected by SWCK's webhook). Bare pods carry their C(owner) when they have one.
    - "Not called C(skipped): Ansible reads that key as the task's own status."
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Pod", "namespace": "shop", "name": "debug", "reason": "a running pod cannot gain containers: ..."}]
invalid:
  description:
    - Workloads not injected, with the reason (and the C(field) and C(annotation) at fault, the C(swagent) when one
      of the cluster's SwAgents is invalid, or the API server's C(status) when it refused the write); left untouched.
    - When the API server refused the write, the reason holds only its causes or short message (an object it
      quotes is left out, credential values are masked, the text is shortened).
    - "Not called C(failed): Ansible reads that key as the task's own status."
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Deployment", "namespace": "shop", "name": "bad",
            "field": "spec.template.metadata.annotations[\"agent.skywalking.apache.org/agent.service_name\"]",
            "annotation": "agent.skywalking.apache.org/agent.service_name",
            "reason": "spec.template.metadata.annotations[...]: the service name must not be empty"}]
not_applied:
  description: Workloads not written because rollout pacing stopped at an earlier batch.
  returned: always
  type: list
  elements: dict
  sample: []
counts:
  description: Number of workloads per non-empty list (the keys of the lists above), plus C(not_selected) (unlabelled
    workloads in scope) and C(not_injected) (nothing of ours to remove).
  returned: always
  type: dict
  sample: {"injected": 3, "already_injected": 497, "not_selected": 12}
writes:
  description: Write requests this run made (in check mode, the dry runs that would be writes).
  returned: always
  type: int
  sample: 3
batches:
  description: The paced rollout plan, batch by batch (C(Kind namespace/name)).
  returned: always
  type: list
  elements: list
  sample: [["Deployment shop/orders", "Deployment shop/payments"], ["DaemonSet shop/agent"]]
stopped:
  description: When pacing stopped, the batch (1-based), its workloads, the reason (each detail once), the workloads
    of the batch that were not Ready before this run touched them (C(already_unhealthy)), and the workloads not
    written.
  returned: always
  type: dict
  sample: null
shared_fields:
  description: Template fields the injection changes that another field manager owns (C(object), C(field),
    C(managers), C(operations), and C(verdict) from the field ownership rules of P(skywalking.swck.apply#module)
    - V(drift) for imperative edits such as kubectl, V(held) for a controller or another tool, V(conflict) for
    another server-side applier).
  returned: always
  type: list
  elements: dict
  sample: [{"object": "Deployment shop/orders",
            "field": ".spec.template.spec.containers[name=app].env[name=JAVA_TOOL_OPTIONS].value",
            "managers": ["kubectl-client-side-apply"], "operations": ["Update"], "verdict": "drift"}]
namespaces:
  description: The namespaces reconciled.
  returned: always
  type: list
  elements: str
  sample: [billing, shop]
swagents:
  description: SwAgent objects read from the cluster (C(namespace/name)).
  returned: always
  type: list
  elements: str
  sample: [shop/java17]
ca_secrets:
  description: With O(cluster) and OAP gRPC TLS, what was done to the per-namespace CA copies (actions and counts).
  returned: always
  type: dict
  sample: {"created": 2, "unchanged": 5}
api_warnings:
  description: Warnings returned by the API server.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.module import (
    diff_list,
    fail,
    invocation,
    new_client,
    new_module,
)

KINDS = ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]

# The pure layer checks every value of ``defaults`` and names the key (``defaults.image: must be ...``): the suboptions
# are ``raw`` so that Ansible does not turn a wrong type into something else first (a list into the string "['a']",
# a command string into a list of one).
DEFAULTS_SPEC = dict(
    image=dict(type="raw", default="apache/skywalking-java-agent:9.7.0-java8"),
    backend_service=dict(type="raw"),
    init_container_name=dict(type="raw", default="inject-skywalking-agent"),
    command=dict(type="raw", default=["sh"]),
    args=dict(type="raw"),
    resources=dict(type="raw"),
    security_context=dict(type="raw"),
    volume_name=dict(type="raw", default="sky-agent"),
    mount_path=dict(type="raw", default="/sky/agent"),
    env_name=dict(type="raw", default="JAVA_TOOL_OPTIONS"),
    env_value=dict(type="raw"),
    env=dict(type="raw"),
    container_matcher=dict(type="raw"),
    optional_plugins=dict(type="raw"),
    optional_reporter_plugins=dict(type="raw"),
    bootstrap_plugins=dict(type="raw"),
    ca_secret=dict(type="raw", no_log=False),  # the name of a Secret, not a secret
    ca_secret_key=dict(type="raw", default="ca.crt", no_log=False),
)


def argument_spec():
    return dict(
        namespaces=dict(type="list", elements="str"),
        namespace_selector=dict(type="str"),
        kinds=dict(type="list", elements="str", choices=KINDS, default=list(KINDS)),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        defaults=dict(type="dict", options=DEFAULTS_SPEC),
        cluster=dict(type="dict"),
        swagents=dict(type="list", elements="raw"),
        read_swagents=dict(type="bool", default=True),
        max_concurrent=dict(type="int", default=0),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        mark_errors=dict(type="bool", default=False),
        fail_on_invalid=dict(type="bool", default=False),
    )


def main():
    module = new_module(argument_spec(), supports_check_mode=True, mutually_exclusive=[["namespaces", "namespace_selector"]])
    p = module.params

    from ansible_collections.skywalking.swck.plugins.module_utils.ops import injection

    # credentials in the arguments (env values, the cluster spec's secrets): never printed, not even echoed at -v
    secrets, shown = injection.secret_arguments(p)
    module.no_log_values.update(secrets)
    echoed = invocation(module, shown)
    client = None
    try:
        client = new_client(module)
        injector = injection.Injector(client, check_mode=module.check_mode, diff=module._diff)
        result = injector.run(
            state=p["state"], namespaces=p["namespaces"] or None,
            namespace_selector=p["namespace_selector"], kinds=p["kinds"],
            defaults=p["defaults"], cluster=p["cluster"], swagents=p["swagents"] or [],
            read_swagents=p["read_swagents"], max_concurrent=p["max_concurrent"], wait=p["wait"],
            wait_timeout=p["wait_timeout"], mark_errors=p["mark_errors"])
    except SwckError as err:
        fail(module, err, echoed, api_warnings=list(client.warnings) if client else [])

    out = result.as_dict()
    out["api_warnings"] = list(client.warnings)
    out["invocation"] = echoed
    for warning in result.warnings:
        module.warn(warning)
    if module._diff:
        # the templates shown hold env values of the workloads, SwAgents and defaults: credentials are masked
        found = set()
        for _header, before, after in result.diffs:
            injection.mask_credential_env([before, after], found)
        module.no_log_values.update(v for v in found if len(v) >= 3)
        out["diff"] = diff_list(result.diffs)
    if p["fail_on_invalid"] and out["invalid"] and not result.stopped:
        module.fail_json(msg="%d invalid workload(s), left untouched (the others were reconciled): %s" % (
            len(out["invalid"]), "; ".join("%s %s/%s: %s" % (e["kind"], e["namespace"], e["name"], e["reason"])
                                           for e in out["invalid"])), **out)
    if result.stopped:
        stop = result.stopped
        module.fail_json(msg="rollout stopped at batch %d of %d (%s): %s; not written: %s" % (
            stop["batch"], stop["batches"], ", ".join(stop["workloads"]), stop["reason"],
            ", ".join(stop["not_applied"]) or "none"), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
