# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Property tests of compare.py.

Values are drawn to look like what fools a loose comparison: quantity-like and
number-like strings ("1.10", "1k", "08", "500m"), numbers, booleans.  Live objects
gain fields and map-list items the way the server and other field managers add
them; a changed value must always be seen, however close it looks.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import compare, quantity
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.schema import Schemas

SCHEMAS = Schemas()
DEPLOYMENT = SCHEMAS.node_for("apps/v1", "Deployment")
CONFIGMAP = SCHEMAS.node_for("v1", "ConfigMap")

suffixes = st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi", "e3", "E2"])
numbers = st.one_of(st.integers(0, 5000).map(str),
                    st.decimals(min_value=0, max_value=100, places=3, allow_nan=False).map(str))
quantity_like = st.builds(lambda n, s: n + s, numbers, suffixes)
number_like = st.one_of(numbers, st.integers(0, 999).map(lambda n: "0%d" % n),
                        numbers.map(lambda n: n + "0" if "." in n else n + ".0"))
tricky_text = st.one_of(quantity_like, number_like, st.text(alphabet="abc-.", min_size=1, max_size=6))
scalars = st.one_of(tricky_text, st.integers(-5, 5000), st.booleans())
keys = st.text(alphabet="abcdefghij", min_size=1, max_size=4)
env_names = st.text(alphabet="ABCDEFG_", min_size=1, max_size=5)


def configmaps():
    return st.dictionaries(keys, tricky_text, min_size=1, max_size=6).map(lambda d: {"data": d})


def containers():
    env = st.dictionaries(env_names, tricky_text, min_size=1, max_size=5).map(
        lambda d: [{"name": k, "value": v} for k, v in sorted(d.items())])
    resources = st.fixed_dictionaries({"cpu": quantity_like, "memory": quantity_like})
    return st.builds(lambda name, image, env, req: {"name": name, "image": image, "env": env,
                                                    "resources": {"requests": req}},
                     st.sampled_from(["app", "web", "oap"]), tricky_text, env, resources)


def deployments():
    return st.lists(containers(), min_size=1, max_size=3, unique_by=lambda c: c["name"]).map(
        lambda cs: {"spec": {"replicas": 2, "template": {"spec": {"containers": cs}}}})


def differs(desired, live, node):
    return bool(compare.differences(desired, live, node, SCHEMAS))


def another_look(text):
    """A different string that a loose comparison might call equal: same amount, other spelling."""
    amount = quantity.parse(text)
    if amount is not None:
        candidates = [str(amount), text + "0" if "." in text else text + ".0", "0" + text, text.lstrip("0") or "0"]
        candidates += ["%s" % (amount / 1000) + "k", "%d" % (amount * 1000) + "m" if amount == int(amount) else text]
        for candidate in candidates:
            if candidate != text:
                return candidate
    return text + "x"


@settings(max_examples=300, deadline=None)
@given(configmaps(), st.dictionaries(keys, tricky_text, max_size=3))
def test_fields_others_add_are_not_drift(desired, extra):
    live = copy.deepcopy(desired)
    for key, value in extra.items():
        live["data"].setdefault("other-" + key, value)
    live["metadata"] = {"resourceVersion": "1", "uid": "u"}
    assert not differs(desired, live, CONFIGMAP)


@settings(max_examples=300, deadline=None)
@given(configmaps(), st.data())
def test_a_differently_spelled_value_is_drift_outside_quantities(desired, data):
    key = data.draw(st.sampled_from(sorted(desired["data"])))
    live = copy.deepcopy(desired)
    live["data"][key] = another_look(desired["data"][key])
    assume(live["data"][key] != desired["data"][key])
    assert differs(desired, live, CONFIGMAP)


@settings(max_examples=300, deadline=None)
@given(deployments(), st.data())
def test_items_another_manager_inserts_are_not_drift(desired, data):
    live = copy.deepcopy(desired)
    for container in live["spec"]["template"]["spec"]["containers"]:
        at = data.draw(st.integers(0, len(container["env"])))
        container["env"].insert(at, {"name": "ADDED_BY_OTHERS", "value": data.draw(tricky_text)})
        container["imagePullPolicy"] = "IfNotPresent"
    at = data.draw(st.integers(0, len(live["spec"]["template"]["spec"]["containers"])))
    live["spec"]["template"]["spec"]["containers"].insert(at, {"name": "injected-sidecar", "image": "x"})
    assert not differs(desired, live, DEPLOYMENT)


@settings(max_examples=300, deadline=None)
@given(deployments(), st.data())
def test_changing_one_of_our_env_values_is_drift(desired, data):
    live = copy.deepcopy(desired)
    container = data.draw(st.sampled_from(live["spec"]["template"]["spec"]["containers"]))
    var = data.draw(st.sampled_from(container["env"]))
    var["value"] = another_look(var["value"])
    assume(var["value"] != "")
    container["env"].insert(0, {"name": "ADDED_BY_OTHERS", "value": "1"})
    assert differs(desired, live, DEPLOYMENT)


@settings(max_examples=300, deadline=None)
@given(deployments(), st.data())
def test_quantities_compare_by_amount(desired, data):
    live = copy.deepcopy(desired)
    container = data.draw(st.sampled_from(live["spec"]["template"]["spec"]["containers"]))
    name = data.draw(st.sampled_from(["cpu", "memory"]))
    amount = quantity.parse(container["resources"]["requests"][name])
    container["resources"]["requests"][name] = str(amount)  # the same amount, canonically spelled
    assert not differs(desired, live, DEPLOYMENT)
    container["resources"]["requests"][name] = str(amount + Decimal(1))
    assert differs(desired, live, DEPLOYMENT)


@settings(max_examples=200, deadline=None)
@given(st.one_of(tricky_text, st.integers(0, 9999)))
def test_strings_and_numbers_never_equal(value):
    other = value if not isinstance(value, str) else (int(value) if value.isdigit() else None)
    assume(other is not None and not isinstance(other, str))
    assert not compare.scalars_equal(str(other), other)
    assert not compare.scalars_equal(other, str(other))
