# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The schema language on a small tree of its own (the real schema is tested through spec)."""
from __future__ import annotations

import pytest

from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import schema
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.schema import Computed, Opt

TREE = {
    "name": Opt("str", "Name.", required=True),
    "size": Opt("str", "Size.", default="s", choices=("s", "m", "l")),
    "count": Opt("int", "Count.", default=Computed(lambda root: {"s": 1, "m": 2, "l": 3}[root["size"]], "from size"),
                 minimum=0),
    "port": Opt("port", "Port.", default=80),
    "memory": Opt("quantity", "Memory.", default="1Gi"),
    "tags": Opt("list", "Tags.", elements="str", default=[]),
    "env": Opt("dict", "Env.", values="str", default={}),
    "token": Opt("raw", "Never.", secret=True, reject="no tokens here"),
    "api_key": Opt("str", "Name of a Secret holding the key."),
    "nested": Opt("dict", "Nested.", options={
        "flag": Opt("bool", "Flag.", default=False),
        "ratio": Opt("float", "Ratio.", default=0.5, maximum=1),
        "items": Opt("list", "Items.", elements="dict", default=[], options={
            "id": Opt("int", "Id.", required=True),
        }),
    }),
}


def run(raw):
    return schema.normalize(TREE, raw)


def test_defaults_and_computed():
    out, problems = run({"name": "x", "size": "m"})
    assert not problems
    assert out == {"name": "x", "size": "m", "count": 2, "port": 80, "memory": "1Gi", "tags": [], "env": {},
                   "token": None, "api_key": None, "nested": {"flag": False, "ratio": 0.5, "items": []}}


def test_coercion_like_ansible():
    out, problems = run({"name": 5, "count": "7", "port": 8080.0, "memory": "2048Mi", "tags": "a, b",
                         "env": {"A": 1}, "nested": {"flag": "yes", "ratio": "0.25", "items": [{"id": "3"}]}})
    assert not problems
    assert out["name"] == "5" and out["count"] == 7 and out["port"] == 8080 and out["memory"] == "2Gi"
    assert out["tags"] == ["a", "b"] and out["env"] == {"A": "1"}
    assert out["nested"] == {"flag": True, "ratio": 0.25, "items": [{"id": 3}]}


def test_every_problem_with_its_path():
    _spec, problems = run({"size": "xl", "count": -1, "port": 0, "memory": "lots", "tags": [1, None],
                           "env": {"A": None}, "token": "t0ps3cret", "bogus": 1,
                           "nested": {"flag": "maybe", "ratio": 2, "items": [{}, "x"], "flg": True}})
    found = dict(problems.items)
    assert found["name"] == "is required"
    assert found["size"].startswith("must be one of s, m, l, not string 'xl'")
    assert found["count"] == "must be >= 0 (got -1)"
    assert found["port"] == "must be between 1 and 65535 (got 0)"
    assert found["memory"] == "string 'lots' is not a valid quantity (e.g. 500m, 2, 1Gi)"
    assert "tags[1]" in found and "tags[0]" not in found
    assert found["env.A"] == "must not be empty"
    assert found["token"] == "no tokens here"
    assert found["bogus"].startswith("is not a known field")
    assert found["nested.flag"].startswith("must be a boolean")
    assert found["nested.ratio"] == "must be <= 1 (got 2.0)"
    assert found["nested.items[0].id"] == "is required"
    assert found["nested.items[1]"] == "must be a mapping, not string 'x'"
    assert found["nested.flg"] == "is not a known field; did you mean nested.flag?"
    assert all("t0ps3cret" not in text for _field, text in problems.items)


def test_invalid_values_fall_back_to_defaults_so_later_checks_still_run():
    out, problems = run({"name": "x", "size": "xl", "count": "many"})
    assert len(problems) == 2
    assert out["size"] == "s" and out["count"] == 1


def test_paths_quote_keys_that_are_not_identifiers():
    assert schema.join_path("files", "a.yml") == 'files["a.yml"]'
    assert schema.join_path("env", "SW_X") == "env.SW_X"
    assert schema.join_path("list", 3) == "list[3]"
    assert schema.join_path("", "top") == "top"


def test_argument_spec():
    spec = schema.argument_spec(TREE)
    assert spec["name"] == {"type": "str", "required": True}
    assert spec["count"] == {"type": "int"}
    assert spec["port"] == {"type": "int", "default": 80}
    assert spec["memory"] == {"type": "raw", "default": "1Gi"}
    assert spec["tags"] == {"type": "list", "elements": "str", "default": []}
    assert spec["token"] == {"type": "raw", "no_log": True}
    assert spec["api_key"] == {"type": "str", "no_log": False}
    assert spec["nested"]["options"]["items"] == {"type": "list", "elements": "dict", "default": [],
                                                  "options": {"id": {"type": "int", "required": True}}}
    assert "default" not in spec["nested"]


def test_documentation():
    docs = schema.documentation(TREE)
    assert docs["count"] == {"description": ["Count.", "Default: from size."], "type": "int"}
    assert docs["size"]["choices"] == ["s", "m", "l"] and docs["size"]["default"] == "s"
    assert docs["nested"]["suboptions"]["items"]["suboptions"]["id"]["required"] is True


def test_select_slices():
    picked = schema.select(TREE, ["name", "nested.flag"])
    assert list(picked) == ["name", "nested"]
    assert list(picked["nested"].options) == ["flag"]
    assert list(TREE["nested"].options) == ["flag", "ratio", "items"]  # the original is untouched
    with pytest.raises(KeyError):
        schema.select(TREE, ["missing"])
    with pytest.raises(KeyError):
        schema.select(TREE, ["name.sub"])


def test_rows_and_texts():
    paths = [path for path, _opt in schema.rows(TREE)]
    assert paths[-4:] == ["nested.flag", "nested.ratio", "nested.items", "nested.items[].id"]
    assert schema.default_text(TREE["count"]) == "from size"
    assert schema.default_text(TREE["nested"].options["flag"]) == "`false`"
    assert schema.type_text(TREE["env"]) == "mapping of str"


def test_bad_definitions_are_programming_errors():
    with pytest.raises(ValueError):
        Opt("text", "x")
    with pytest.raises(ValueError):
        Opt("str", "x", options={})
