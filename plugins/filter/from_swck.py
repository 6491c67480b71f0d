# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The from_swck filter: SWCK custom resources as a cluster spec, with a migration report."""

from __future__ import annotations

DOCUMENTATION = r"""
name: from_swck
author: skywalking.swck developers (@skywalking-swck)
version_added: "0.2.0"
short_description: Map SWCK custom resources onto the collection's cluster spec
description:
  - Reads the custom resources of SWCK's backend operator (C(operator.skywalking.apache.org/v1alpha1)
    OAPServer, UI, Storage, BanyanDB, Satellite, OAPServerConfig, OAPServerDynamicConfig, Fetcher,
    EventExporter) and returns the equivalent cluster spec (the options of P(skywalking.swck.cluster#module),
    the C(skywalking_cluster) variable of the C(skywalking.swck.backend) role) together with a report.
  - The report lists, per document and field, where each value went, and every value that could not be
    mapped with the reason; nothing is dropped silently. Objects that are not SWCK resources are reported
    as ignored.
  - Plaintext credentials (an env value of a C(*PASSWORD*)-like name, user names and passwords in URLs,
    SWCK's built-in C(default) Elasticsearch user, a password line in a config file) are never copied; the
    spec references a key of one Secret (O(credentials_secret)) instead, and the report names the key to
    create. Neither the spec nor the report contains such a value.
  - The spec is validated like the module validates it; a problem names the SWCK document and field it
    comes from. Inputs that cannot be one cluster fail with an error naming the document and field (a
    second OAPServer (or UI, BanyanDB, Satellite, Fetcher, EventExporter), documents of several namespaces,
    a missing Storage, incompatible versions (BanyanDB or the booster UI for the OAP line), a Satellite for
    another OAPServer, an OAP version this collection does not deploy unless O(version) is given).
  - See docs/swck-migration.md in the collection for the table of SWCK fields and spec options.
positional: _input
options:
  _input:
    description:
      - SWCK custom resources as YAML text (several documents separated by C(---)), one object, a list of
        objects, or C(List) objects.
    type: raw
    required: true
  name:
    description:
      - Name of the cluster; default the OAPServer's C(metadata.name) (else the first SWCK document's).
      - SWCK names the OAP objects C(<OAPServer name>-oap); the collection names them C(<name>-oap).
    type: str
  namespace:
    description:
      - Namespace of the cluster; default the documents' C(metadata.namespace). Required when no document
        has one.
    type: str
  credentials_secret:
    description:
      - Name of the Secret the spec references for plaintext credentials found in the documents; default
        C(<name>-swck-credentials). Create it before applying the spec.
    type: str
  version:
    description:
      - The OAP version of the cluster, over the OAPServer's C(spec.version).
      - Required when the OAPServer runs a version this collection does not deploy (for example C(9.5.0)).
        Moving to another version is an upgrade (OAP's init Job migrates the storage schema), never made
        silently. Read SkyWalking's upgrade notes first.
    type: str
notes:
  - The result is a plain mapping; combine it with other options with P(ansible.builtin.combine#filter)
    (C(recursive=true)), explicit options last.
  - Warnings of the spec validation (for example an OAP env name the OAP version does not read) are in the
    report with status C(warning).
seealso:
  - module: skywalking.swck.cluster
"""

EXAMPLES = r"""
- name: Turn SWCK resources into a cluster spec and show what could not be mapped
  ansible.builtin.set_fact:
    migrated: "{{ lookup('ansible.builtin.file', 'swck-backend.yaml') | skywalking.swck.from_swck(namespace='skywalking') }}"

- name: Show the fields that need attention
  ansible.builtin.debug:
    msg: "{{ migrated.report | rejectattr('status', 'in', ['mapped', 'ignored']) | map(attribute='text') | list }}"

- name: Deploy the migrated cluster, with explicit options on top
  ansible.builtin.include_role:
    name: skywalking.swck.backend
  vars:
    skywalking_cluster: "{{ migrated.spec | ansible.builtin.combine({'ui': {'users_secret': {'name': 'horizon-users'}}},
                                                                   recursive=true) }}"
"""

RETURN = r"""
_value:
  description: The mapped spec and the report.
  type: dict
  contains:
    spec:
      description:
        - The cluster spec, with only the options the documents determine (everything else keeps the module's
          defaults), always with C(name) and C(namespace).
      type: dict
    report:
      description:
        - One entry per document field, in document order.
        - C(status) is C(mapped) (the value is at C(target)), C(not_mapped) (C(message) says why and what to
          set instead), C(needs_secret) (a plaintext credential, not copied; C(secret) names the Secret and
          key the spec references), C(note), C(ignored) (not SWCK configuration) or C(warning) (a warning of
          the spec validation).
        - "C(text) is the entry as one line, for example
          C(OAPServer/default spec.config[3] (SW_FOO): kept as oap.env.SW_FOO)."
      type: list
      elements: dict
      contains:
        document:
          description: C(Kind/name) of the SWCK document (none for some warnings).
          type: str
        field:
          description: Field path in the document, for example C(spec.service.template.type).
          type: str
        status:
          description: One of C(mapped), C(not_mapped), C(needs_secret), C(note), C(ignored), C(warning).
          type: str
        target:
          description: The spec option the value went to (or that the entry is about).
          type: str
        message:
          description: What happened, and what to do for values that were not mapped.
          type: str
        text:
          description: The whole entry as one line.
          type: str
        secret:
          description:
            - For C(needs_secret) entries whose value the spec now reads from a Secret - C(name) of the Secret and
              C(key) (or C(keys)) to store the value under.
          type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.manifest import load_definitions
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import swck


def from_swck(data, name=None, namespace=None, credentials_secret=None, version=None):
    """``yaml_text | skywalking.swck.from_swck(...)`` -> ``{"spec": ..., "report": [...]}``."""
    for option, value in (("name", name), ("namespace", namespace), ("credentials_secret", credentials_secret),
                          ("version", version)):
        if value is not None and not isinstance(value, str):
            raise AnsibleFilterError("%s: must be a string" % option)
    try:
        documents = [obj for _where, obj in load_definitions(data, "_input")]
        spec, report = swck.from_swck(documents, name=name or None, namespace=namespace or None,
                                      credentials_secret=credentials_secret or None, version=version or None)
    except SpecError as exc:
        raise AnsibleFilterError(str(exc))
    return {"spec": spec, "report": report}


class FilterModule(object):
    """SWCK migration filter."""

    def filters(self):
        return {"from_swck": from_swck}
