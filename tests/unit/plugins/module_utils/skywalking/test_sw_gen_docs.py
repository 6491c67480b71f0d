# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""hack/gen_docs.py: the module docs, role argument specs and Markdown come from the one schema."""
from __future__ import annotations

import os

import pytest
import yaml

import gen_docs  # hack/ is on pytest's pythonpath

from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec

MODULE = '''#!/usr/bin/python
DOCUMENTATION = r"""
module: cluster
options:
  # BEGIN GENERATED SPEC OPTIONS (slice=ui)
  stale: text
  # END GENERATED SPEC OPTIONS
  state:
    description: [present or absent]
    type: str
"""
'''

ROLE = '''argument_specs:
  main:
    options:
      skywalking_cluster:
        type: dict
        required: true
        description: The cluster.
        options:
          # BEGIN GENERATED SPEC OPTIONS (slice=cluster)
          # END GENERATED SPEC OPTIONS
'''


def test_module_block_is_replaced_and_valid_yaml():
    text = gen_docs.update_text(MODULE, "plugins/modules/cluster.py")
    assert "stale: text" not in text
    docs = yaml.safe_load(text.split('r"""', 1)[1].rsplit('"""', 1)[0])
    options = docs["options"]
    assert list(options)[-1] == "state"
    del options["state"]
    assert options == spec.documentation("ui")
    assert "suboptions" in options["ui"]


def test_role_block_uses_options_and_no_log():
    text = gen_docs.update_text(ROLE, "roles/backend/meta/argument_specs.yml")
    options = yaml.safe_load(text)["argument_specs"]["main"]["options"]["skywalking_cluster"]["options"]
    assert set(options) == set(spec.SCHEMA)
    assert "options" in options["oap"] and "suboptions" not in options["oap"]
    assert options["storage"]["options"]["password"]["no_log"] is True
    assert options["oap"]["options"]["replicas"]["default"] == 2
    assert options["oap"]["options"]["replicas"]["description"]


def test_generation_is_deterministic_and_idempotent():
    once = gen_docs.update_text(MODULE, "m.py")
    assert gen_docs.update_text(once, "m.py") == once
    assert gen_docs.update_text(MODULE, "m.py") == once
    assert gen_docs.options_yaml("cluster", "module", "  ") == gen_docs.options_yaml("cluster", "module", "  ")
    assert gen_docs.markdown_tables() == gen_docs.markdown_tables()


def test_format_override_and_unknown_slice():
    text = MODULE.replace("(slice=ui)", "(slice=info, format=role)")
    out = gen_docs.update_text(text, "m.py")
    assert "suboptions" not in out and "name:" in out
    with pytest.raises(ValueError, match="unknown slice 'nope'"):
        gen_docs.update_text(MODULE.replace("slice=ui", "slice=nope"), "m.py")
    with pytest.raises(ValueError, match="has no END marker"):
        gen_docs.update_text(MODULE.replace("  # END GENERATED SPEC OPTIONS\n", ""), "m.py")


def test_markdown_tables():
    tables = gen_docs.markdown_tables()
    assert "| `oap.replicas` | int | `2` |" in tables
    assert "| `storage.password` (secret, refused) | raw |" in tables
    assert "### Sizing profiles" in tables and "### Supported versions" in tables
    assert "`O(" not in tables and "V(" not in tables


def test_docs_cluster_spec_is_up_to_date():
    path = os.path.join(gen_docs.ROOT, "docs", "cluster-spec.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert gen_docs.update_text(text, path) == text, "run: python hack/gen_docs.py docs/cluster-spec.md"


def test_main_check_mode(tmp_path):
    target = tmp_path / "m.py"
    target.write_text(MODULE, encoding="utf-8")
    assert gen_docs.main(["--check", str(target)]) == 1
    assert target.read_text(encoding="utf-8") == MODULE
    assert gen_docs.main([str(target)]) == 0
    assert gen_docs.main(["--check", str(target)]) == 0
    role = tmp_path / "role"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(ROLE, encoding="utf-8")
    assert gen_docs.main([str(role)]) == 0
    assert "skywalking_cluster" in (role / "meta" / "argument_specs.yml").read_text(encoding="utf-8")


def test_modules_and_role_are_up_to_date():
    """Every generated block in the modules matches the schema (run hack/gen_docs.py)."""
    folder = os.path.join(gen_docs.ROOT, "plugins", "modules")
    modules = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            if "BEGIN GENERATED SPEC OPTIONS" in handle.read():
                modules.append(os.path.join(folder, name))
    assert len(modules) >= 7
    assert gen_docs.main(["--check"] + modules) == 0
