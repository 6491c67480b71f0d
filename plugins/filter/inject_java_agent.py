# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The inject_java_agent filter: SWCK's Java agent injection, rendered offline."""

from __future__ import annotations

DOCUMENTATION = r"""
name: inject_java_agent
author: skywalking.swck developers (@skywalking-swck)
version_added: "0.1.0"
short_description: Inject the SkyWalking Java agent into workload manifests, as SWCK's webhook does
description:
  - Renders what SWCK's injection webhook does to a pod, on the manifests themselves (SWCK's C(swctl)
    use case, for GitOps). An init container copies the agent into a shared C(emptyDir) volume, the
    selected containers mount it and get C(JAVA_TOOL_OPTIONS=-javaagent:<mount>/skywalking-agent.jar=...).
  - Objects are selected like SWCK does it, by the pod template label C(swck-java-agent-injected) with
    the value C(true) (case-insensitive), and tuned by SWCK's annotations on the pod template
    (C(strategy.skywalking.apache.org/inject.Container), C(sidecar.skywalking.apache.org/*),
    C(agent.skywalking.apache.org/*), C(plugins.skywalking.apache.org/*),
    C(optional.skywalking.apache.org), C(optional-reporter.skywalking.apache.org),
    C(bootstrap.skywalking.apache.org)). See docs/injection.md in the collection.
  - Objects without the label, objects already injected with the same settings, and objects without a
    pod template come back unchanged. An object injected earlier whose annotations changed is
    re-injected; one whose label is no longer C(true) has the injection removed.
  - The template is marked like SWCK marks pods (C(sidecar.skywalking.apache.org/succeed),
    annotation C(swck-java-agent-injected)), and what was changed is recorded in the annotation
    C(skywalking.swck/java-agent) so that P(skywalking.swck.remove_java_agent#filter) restores the
    manifest exactly.
  - The same function backs the C(skywalking.swck.inject) module and the command line entry point
    C(python -m ansible_collections.skywalking.swck.plugins.module_utils.skywalking.inject_cli), and
    identical input gives identical output from all three.
  - Warnings (for example an C(agent.skywalking.apache.org/*) key that the Java agent does not know,
    with the closest known key) are shown as Ansible warnings.
positional: _input
options:
  _input:
    description:
      - A Kubernetes object (Pod, Deployment, StatefulSet, DaemonSet, Job, CronJob), a list of objects,
        or a C(List) object. The result has the same shape.
      - SwAgent objects (C(operator.skywalking.apache.org/v1alpha1)) in the input apply to the other
        objects, as they do in their namespace in a cluster, and come back unchanged.
    type: raw
    required: true
  defaults:
    description:
      - Settings below the SwAgents and annotations (precedence annotation > SwAgent > O(defaults)).
      - "Keys: C(image), C(init_container_name), C(command), C(args), C(resources),
        C(security_context), C(volume_name), C(mount_path), C(env_name), C(env_value), C(env),
        C(backend_service), C(container_matcher), C(optional_plugins), C(optional_reporter_plugins),
        C(bootstrap_plugins), C(ca_secret), C(ca_secret_key); see docs/injection.md."
    type: dict
  swagents:
    description:
      - SwAgent objects to apply, besides those in the input. A SwAgent applies to objects of its
        namespace (or every object when either has no namespace) whose pod template labels match its
        C(spec.selector). Applied in name order; the last one wins field by field.
    type: list
    elements: dict
  agent_image:
    description:
      - The agent image, shortcut for O(defaults) key C(image); when neither is given,
        C(apache/skywalking-java-agent:9.7.0-java8) (SWCK's flavour naming).
      - The jar is the same in every image flavour (C(-alpine), C(-java8) ... C(-java25)); the flavour
        only picks the base of the init container, which runs C(sh), C(cp), C(grep) and C(xargs).
    type: str
  backend_service:
    description:
      - The collector address (C(host:port), comma-separated), shortcut for O(defaults) key
        C(backend_service). It is set as C(SW_AGENT_COLLECTOR_BACKEND_SERVICES) in containers that do not
        set that variable; the annotation C(agent.skywalking.apache.org/collector.backend_service) still wins.
    type: str
notes:
  - An invalid object (for example an invalid container regular expression, or an empty
    C(agent.service_name)) fails the template with an error naming the annotation.
  - The namespace label C(swck-injection=enabled) is not checked here (the manifests carry no namespace
    object); the P(skywalking.swck.inject#module) module checks it.
seealso:
  - plugin: skywalking.swck.remove_java_agent
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Render an injected Deployment
  ansible.builtin.copy:
    dest: /tmp/app.yaml
    content: "{{ lookup('ansible.builtin.file', 'app.yaml') | from_yaml_all | list
                 | skywalking.swck.inject_java_agent(backend_service='sw-oap.skywalking.svc:11800')
                 | to_nice_yaml }}"

- name: Inject with namespace-wide settings, like a SwAgent
  ansible.builtin.set_fact:
    injected: >-
      {{ manifests | skywalking.swck.inject_java_agent(
           swagents=[{'apiVersion': 'operator.skywalking.apache.org/v1alpha1', 'kind': 'SwAgent',
                      'metadata': {'name': 'java', 'namespace': 'shop'},
                      'spec': {'optionalPlugins': ['trace', 'webflux']}}],
           defaults={'ca_secret': 'skywalking-ca'}) }}

# The Deployment that selects and tunes the injection:
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
_value:
  description:
    - The input with the agent injected into every selected object, in the same shape (object, list or
      C(List)); other objects unchanged.
  type: raw
"""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject

display = Display()


def filter_defaults(defaults=None, agent_image=None, backend_service=None):
    """The effective ``defaults`` of the filters and the CLI: ``defaults`` plus the two shortcuts."""
    merged = dict(defaults or {})
    if agent_image:
        merged["image"] = agent_image
    if backend_service:
        merged["backend_service"] = backend_service
    return merged


# the filter options that set a default, and the key each one sets
SHORTCUTS = (("agent_image", "image"), ("backend_service", "backend_service"))


def run(data, state, defaults=None, swagents=None, agent_image=None, backend_service=None):
    """The filters' common body: returns the result; warnings go to Ansible's display.

    ``data``: a Kubernetes object (a mapping), a list of them, or a ``List``; anything else is refused.  Raises
    ``AnsibleFilterError`` naming the option at fault (``agent_image``, ``defaults.image``, ``swagents[0]...``) or the
    invalid objects.
    """
    if not isinstance(data, (Mapping, list)):
        raise AnsibleFilterError("expects a Kubernetes object, a list of them or a List; got %s" % inject.type_name(data))
    if isinstance(data, list):
        for index, item in enumerate(data):
            if not isinstance(item, Mapping):
                raise AnsibleFilterError("item %d: expects a Kubernetes object (a mapping), got %s%s" % (
                    index, inject.type_name(item), " (parse YAML text first, e.g. with from_yaml_all)"
                    if isinstance(item, str) else ""))
    if swagents is not None and not isinstance(swagents, list):
        raise AnsibleFilterError("swagents: must be a list of SwAgent objects, got %s" % inject.type_name(swagents))
    if defaults is not None and not isinstance(defaults, Mapping):
        raise AnsibleFilterError("defaults: must be a mapping, got %s" % inject.type_name(defaults))
    shortcuts = {"agent_image": agent_image, "backend_service": backend_service}
    for option, key in SHORTCUTS:
        if shortcuts[option]:
            try:
                inject.effective_defaults({key: shortcuts[option]})
            except SpecError as exc:
                raise AnsibleFilterError("%s: %s" % (option, exc.problem))
    try:
        result, reports = inject.inject_all(data, filter_defaults(defaults, agent_image, backend_service),
                                            swagents or [], state=state)
    except SpecError as exc:
        raise AnsibleFilterError(str(exc))
    errors = [r for r in reports if r["status"] == inject.ERROR]
    if errors:
        raise AnsibleFilterError("; ".join("%s: %s" % (inject.describe(r), inject.failure(r)) for r in errors))
    for report in reports:
        for warning in report["warnings"]:
            display.warning("%s: %s" % (inject.describe(report), warning))
    return result


def inject_java_agent(data, defaults=None, swagents=None, agent_image=None, backend_service=None):
    """``data | skywalking.swck.inject_java_agent(...)``."""
    return run(data, "present", defaults, swagents, agent_image, backend_service)


class FilterModule(object):
    """SkyWalking Java agent injection filter."""

    def filters(self):
        return {"inject_java_agent": inject_java_agent}
