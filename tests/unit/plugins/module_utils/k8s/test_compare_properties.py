# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Property tests: what the server adds never counts as drift; any changed desired value does."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import compare

keys = st.text(alphabet="abcdefghij", min_size=1, max_size=4)
scalars = st.one_of(st.text(alphabet="xyz-", min_size=1, max_size=5), st.integers(-5, 5), st.booleans())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3),
                            st.dictionaries(keys, inner, min_size=1, max_size=4)),
    max_leaves=20,
)
objects = st.dictionaries(keys, documents, min_size=1, max_size=5)


def server_side(desired, extra):
    """What a server might hold: the desired values plus fields it added (defaults, status)."""
    live = copy.deepcopy(desired)
    for key, value in extra.items():
        live.setdefault("srv-" + key, value)
    return live


def scalar_paths(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from scalar_paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from scalar_paths(value, path + (i,))
    else:
        yield path


@settings(max_examples=200, deadline=None)
@given(objects, objects)
def test_added_fields_are_not_drift(desired, extra):
    assert compare.contains(desired, server_side(desired, extra))


@settings(max_examples=200, deadline=None)
@given(objects, st.data())
def test_any_changed_value_is_drift(desired, data):
    paths = list(scalar_paths(desired))
    path = data.draw(st.sampled_from(paths))
    live = copy.deepcopy(desired)
    node = live
    for step in path[:-1]:
        node = node[step]
    old = node[path[-1]]
    node[path[-1]] = "changed-%r" % (old,)
    assert not compare.contains(desired, live)
    assert compare.differences(desired, live)[0][0].startswith(".")
