# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The remove_java_agent filter: undo skywalking.swck's Java agent injection, offline."""

from __future__ import annotations

DOCUMENTATION = r"""
name: remove_java_agent
author: skywalking.swck developers (@skywalking-swck)
version_added: "0.1.0"
short_description: Remove the SkyWalking Java agent that inject_java_agent injected
description:
  - Undoes exactly what P(skywalking.swck.inject_java_agent#filter) (or the C(skywalking.swck.inject)
    module, or the C(inject_cli) command) injected, as recorded in the pod template annotation
    C(skywalking.swck/java-agent) - the init container, the volumes, the mounts and the env vars it
    added, the options it appended to an existing C(JAVA_TOOL_OPTIONS), and the annotations it set.
  - A manifest injected once and not edited since comes back exactly as it was before the injection
    (same keys in the same order). Edits made after the injection are kept.
  - Objects without the record come back unchanged, including pods injected by SWCK's webhook (which
    records nothing that could be undone).
positional: _input
options:
  _input:
    description:
      - A Kubernetes object, a list of objects, or a C(List) object. The result has the same shape.
    type: raw
    required: true
notes:
  - An unreadable C(skywalking.swck/java-agent) annotation fails the template with an error naming it.
seealso:
  - plugin: skywalking.swck.inject_java_agent
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Render the manifests without the agent again
  ansible.builtin.set_fact:
    plain: "{{ injected | skywalking.swck.remove_java_agent }}"

- name: Round trip
  ansible.builtin.assert:
    that:
      - (manifests | skywalking.swck.inject_java_agent | skywalking.swck.remove_java_agent) == manifests
"""

RETURN = r"""
_value:
  description: The input without this collection's injection, in the same shape (object, list or C(List)).
  type: raw
"""

from ansible_collections.skywalking.swck.plugins.filter.inject_java_agent import run


def remove_java_agent(data):
    """``data | skywalking.swck.remove_java_agent``."""
    return run(data, "absent")


class FilterModule(object):
    """SkyWalking Java agent removal filter."""

    def filters(self):
        return {"remove_java_agent": remove_java_agent}
