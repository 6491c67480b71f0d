# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Every plugin's DOCUMENTATION, EXAMPLES and RETURN is valid YAML of the expected shape.

ansible-test's validate-modules checks much more, but only in the slower sanity stage; a
block that does not parse (an unquoted ``: `` in a description) fails here at once, naming
the plugin and the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = sorted(list((ROOT / "plugins" / "modules").glob("*.py")) + list((ROOT / "plugins" / "filter").glob("*.py")))


def blocks(path):
    out = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            out[node.targets[0].id] = node.value.value
    return out


@pytest.mark.parametrize("path", [p for p in PLUGINS if not p.name.startswith("__")], ids=lambda p: p.name)
def test_documentation_parses(path):
    found = blocks(path)
    if path.parent.name == "filter" and not found:
        return  # a filter file holding only the FilterModule (its docs live in a sibling file)
    assert set(found) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, path.name
    doc = yaml.safe_load(found["DOCUMENTATION"])
    assert isinstance(doc, dict) and doc.get("short_description")
    for item in doc.get("description") or []:
        assert isinstance(item, str), "%s: a description item is not text (an unquoted ': '?): %r" % (path.name, item)
    for item in doc.get("seealso") or []:
        assert isinstance(item, dict), "%s: seealso items are mappings" % path.name
    yaml.safe_load(found["EXAMPLES"])
    ret = yaml.safe_load(found["RETURN"])
    assert ret is None or isinstance(ret, dict)
