#!/usr/bin/env python
# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Write the cluster spec's documentation into files, from the one schema in plugins/module_utils/skywalking/spec.py.

Usage::

    python hack/gen_docs.py [--check] FILE_OR_ROLE_DIR...

Each file is searched for marker blocks and the text between the markers is replaced:

* ``# BEGIN GENERATED SPEC OPTIONS (slice=NAME)`` ... ``# END GENERATED SPEC OPTIONS`` -- in a
  module's DOCUMENTATION (the options of the slice as module docs, with ``suboptions``) or in a
  role's ``meta/argument_specs.yml`` (``format=role`` is implied for ``.yml`` files: nested
  ``options``, ``no_log``).  The block is indented like the BEGIN marker.  ``(slice=NAME,
  format=module|role)`` overrides the format.
* ``<!-- BEGIN GENERATED SPEC TABLES -->`` ... ``<!-- END GENERATED SPEC TABLES -->`` -- in
  Markdown (docs/cluster-spec.md): a table per section.

A role directory means its ``meta/argument_specs.yml``.  ``--check`` changes nothing and exits 1
when a file is not up to date (for CI).  Output is deterministic: same schema, same bytes.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _import_spec():
    """Import the collection's spec module from this checkout."""
    candidates = [os.path.join(ROOT, ".venv", "collections")]
    parts = ROOT.split(os.sep)
    if len(parts) >= 3 and parts[-3] == "ansible_collections":
        candidates.insert(0, os.sep.join(parts[:-3]))
    for path in candidates:
        if os.path.isdir(path) and path not in sys.path:
            sys.path.insert(0, path)
    from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import schema, sizing, spec, versions
    return schema, sizing, spec, versions


schema, sizing, spec, versions = _import_spec()

import yaml  # noqa: E402  (after the path set-up, like the collection imports)

OPTIONS_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN GENERATED SPEC OPTIONS \((?P<args>[^)]*)\)[ \t]*$", re.M)
OPTIONS_END = re.compile(r"^[ \t]*# END GENERATED SPEC OPTIONS[ \t]*$", re.M)
TABLES_BEGIN = "<!-- BEGIN GENERATED SPEC TABLES -->"
TABLES_END = "<!-- END GENERATED SPEC TABLES -->"


class _Dumper(yaml.SafeDumper):
    """Indents sequences under their key (yamllint's and ansible-lint's expectation)."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _represent_str(dumper, data):
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def role_options(options):
    """Role argument_specs options: nested ``options`` (not ``suboptions``) and ``no_log``."""
    argspec = schema.argument_spec(options)
    docs = schema.documentation(options)
    return _merge_role(argspec, docs)


def _merge_role(argspec, docs):
    out = {}
    for name, entry in argspec.items():
        doc = docs[name]
        item = {"description": doc["description"], "type": entry["type"]}
        for key in ("elements", "choices", "required", "default", "no_log", "aliases"):
            if key in entry:
                item[key] = entry[key]
        if "options" in entry:
            item["options"] = _merge_role(entry["options"], doc["suboptions"])
        out[name] = item
    return out


def options_yaml(slice_name, fmt="module", indent=""):
    """The YAML text of a slice's options, indented (no trailing newline issues: ends with a newline)."""
    options = spec.options(slice_name)
    data = schema.documentation(options) if fmt == "module" else role_options(options)
    text = yaml.dump(data, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=110, allow_unicode=True)
    return "".join((indent + line if line.strip() else line) for line in text.splitlines(True))


_MARKUP = re.compile(r"\b([OVCI])\(([^()]*(?:\([^()]*\)[^()]*)*)\)")


def plain(text):
    """Ansible doc markup as Markdown: O(x), V(x), C(x) -> `x`."""
    return _MARKUP.sub(lambda m: "`%s`" % m.group(2), text)


def _cell(text):
    return plain(text).replace("|", "\\|").replace("\n", " ")


def markdown_tables():
    """A table per top-level section of the schema, plus the sizing profiles and the version matrix."""
    out = []
    sections = list(spec.SCHEMA.items())
    top = [(name, opt) for name, opt in sections if opt.options is None]
    out.append("### Top-level options\n")
    out.append("| option | type | default | description |")
    out.append("|---|---|---|---|")
    for name, opt in top:
        cells = (name, " (required)" if opt.required else "", schema.type_text(opt), _cell(schema.default_text(opt)),
                 _cell(" ".join(opt.description)))
        out.append("| `%s`%s | %s | %s | %s |" % cells)
    for name, opt in sections:
        if opt.options is None:
            continue
        out.append("")
        out.append("### `%s`\n" % name)
        out.append(_cell(" ".join(opt.description)))
        out.append("")
        out.append("| option | type | default | description |")
        out.append("|---|---|---|---|")
        for path, sub in schema.rows(opt.options, name):
            if sub.options is not None and sub.type == "dict":
                out.append("| `%s` | %s | | %s |" % (path, schema.type_text(sub), _cell(" ".join(sub.description))))
                continue
            flags = []
            if sub.secret:
                flags.append("secret")
            if sub.reject:
                flags.append("refused")
            extra = " (%s)" % ", ".join(flags) if flags else ""
            choices = " One of: %s." % ", ".join("`%s`" % c for c in sub.choices) if sub.choices else ""
            cells = (path, extra, schema.type_text(sub), _cell(schema.default_text(sub)),
                     _cell(" ".join(sub.description)), choices)
            out.append("| `%s`%s | %s | %s | %s%s |" % cells)
    out.append("")
    out.append("### Sizing profiles\n")
    out.append("| component | profile | requests cpu | requests memory | limits cpu | limits memory |")
    out.append("|---|---|---|---|---|---|")
    for row in sizing.profile_table():
        out.append("| %s |" % " | ".join(row))
    out.append("")
    out.append("### Supported versions\n")
    out.append("| OAP line | default OAP | BanyanDB | UI flavours (default first) | admin server | REST TLS | "
               "Satellite | Java agent |")
    out.append("|---|---|---|---|---|---|---|---|")
    for row in versions.matrix():
        flavours = [row["default_ui"]] + [f for f in row["ui_flavours"] if f != row["default_ui"]]
        out.append("| %s (%s) | `%s` | %s.x (default `%s`) | %s | %s | %s | %s | %s |" % (
            row["line"], row["status"], row["oap_image"], row["banyandb_line"], row["banyandb_image"],
            ", ".join(flavours), "17128/17129" if row["admin_server"] else "no", "yes" if row["rest_tls"] else "no",
            row["satellite_version"], row["java_agent_version"]))
    return "\n".join(out) + "\n"


def _parse_args(text):
    args = {}
    for part in text.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            args[key.strip()] = value.strip()
    return args


def update_text(text, path):
    """``text`` with every marker block regenerated.  Raises ValueError on unbalanced markers."""
    out = []
    pos = 0
    while True:
        begin = OPTIONS_BEGIN.search(text, pos)
        if not begin:
            break
        end = OPTIONS_END.search(text, begin.end())
        if not end:
            raise ValueError("%s: '# BEGIN GENERATED SPEC OPTIONS' at offset %d has no END marker"
                             % (path, begin.start()))
        args = _parse_args(begin.group("args"))
        slice_name = args.get("slice", "cluster")
        if slice_name not in spec.SLICES:
            raise ValueError("%s: unknown slice %r (known: %s)" % (path, slice_name, ", ".join(sorted(spec.SLICES))))
        fmt = args.get("format") or ("role" if path.endswith((".yml", ".yaml")) else "module")
        out.append(text[pos:begin.end()])
        out.append("\n")
        out.append(options_yaml(slice_name, fmt, begin.group("indent")))
        line_start = text.rfind("\n", 0, end.start()) + 1
        pos = line_start
    out.append(text[pos:])
    text = "".join(out)
    if TABLES_BEGIN in text:
        start = text.index(TABLES_BEGIN) + len(TABLES_BEGIN)
        if TABLES_END not in text[start:]:
            raise ValueError("%s: %s has no %s" % (path, TABLES_BEGIN, TABLES_END))
        stop = text.index(TABLES_END, start)
        text = text[:start] + "\n" + markdown_tables() + text[stop:]
    return text


def target(path):
    if os.path.isdir(path):
        return os.path.join(path, "meta", "argument_specs.yml")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    parser.add_argument("paths", nargs="+", help="module files, role directories, Markdown files")
    args = parser.parse_args(argv)
    stale = []
    for raw in args.paths:
        path = target(raw)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        new = update_text(text, path)
        if new == text:
            continue
        stale.append(path)
        if not args.check:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(new)
    for path in stale:
        sys.stdout.write("%s %s\n" % ("out of date:" if args.check else "updated:", path))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
