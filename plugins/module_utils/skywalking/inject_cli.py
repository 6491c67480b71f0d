# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Command line Java agent injection for GitOps pipelines (SWCK's ``swctl`` use case).

::

    python -m ansible_collections.skywalking.swck.plugins.module_utils.skywalking.inject_cli \\
        [-f FILE|-] [--remove] [--agent-image IMAGE] [--backend-service HOST:PORT[,...]] \\
        [--defaults FILE] [--swagents FILE] [--mark-errors] < app.yaml > app-injected.yaml

Reads multi-document YAML (a file, or stdin with ``-f -``, the default; UTF-8), injects the agent into every
labelled workload (or removes it with ``--remove``) with the same function as the
``skywalking.swck.inject_java_agent`` filter and the ``skywalking.swck.inject`` module, and writes
the documents to stdout in the same order (empty documents are dropped).  SwAgent documents in the
input apply to the other documents and are written unchanged.  At most one of ``-f``, ``--defaults``
and ``--swagents`` may read stdin (``-``); the SwAgents are checked even when the input holds no workload.

Warnings go to stderr, among them one for every injected workload without a collector address.  Exit
status: 0 on success; 2 when the input cannot be read or parsed, an option is invalid, or an object is
invalid -- then each error is on stderr (``not removed: ...`` with ``--remove``) and nothing is written to
stdout, unless ``--mark-errors`` is given: then every document is written, invalid workloads carrying
``sidecar.skywalking.apache.org/error`` in their own metadata (SWCK's marker), and the status is
still 2.  The YAML library (PyYAML, a dependency of ansible-core) is imported only when run.
"""

from __future__ import annotations

import argparse
import sys

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import SpecError
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject

EXIT_OK = 0
EXIT_ERROR = 2
PROG = "python -m ansible_collections.skywalking.swck.plugins.module_utils.skywalking.inject_cli"


class CliError(Exception):
    """Input the command cannot use; the message is for the user."""


def _yaml():
    try:
        import yaml  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - ansible-core depends on PyYAML
        raise CliError("PyYAML is required (pip install pyyaml)")
    return yaml


def load_documents(text):
    """The non-empty documents of a multi-document YAML text, in order.  Raises ``CliError``."""
    yaml = _yaml()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except yaml.YAMLError as exc:
        raise CliError("the input is not valid YAML: %s" % exc)
    except RecursionError:
        raise CliError("the input is not usable YAML: it is nested too deeply")
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a tagged value: !!int x, a date 2024-13-01
        raise CliError("the input is not usable YAML: %s" % exc)


def dump_documents(docs):
    """Multi-document YAML text: keys in their order, block style, no line folding."""
    yaml = _yaml()
    if not docs:
        return ""
    text = yaml.dump_all(docs, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=False,
                         allow_unicode=True, width=1 << 20)
    if list(yaml.safe_load_all(text)) != list(docs):  # PyYAML writes some line breaks (U+0085, U+2028) raw
        text = yaml.dump_all(docs, Dumper=yaml.SafeDumper, sort_keys=False, default_flow_style=False,
                             allow_unicode=False, width=1 << 20)
    return text


def render(text, defaults=None, swagents=(), state="present", mark_errors=False):
    """Inject (or remove) in a YAML text; returns ``(output_text, reports)``.

    ``reports``: one per workload (see ``inject.inject_object``).  Raises ``CliError`` for unreadable
    input and ``SpecError`` for invalid ``defaults``.  Invalid workloads do not raise: their report
    says ``error``.
    """
    docs = load_documents(text)
    result, reports = inject.inject_all(docs, defaults, swagents, state=state, mark_errors=mark_errors)
    return dump_documents(result), reports


def _parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Inject the SkyWalking Java agent into Kubernetes manifests (SWCK's labels and "
                               "annotations), or remove it. Reads multi-document YAML, writes it to stdout.")
    parser.add_argument("-f", "--filename", default="-", metavar="FILE|-",
                        help="the manifests to read; '-' (the default) reads stdin")
    parser.add_argument("--remove", action="store_true", help="remove the injection instead of injecting")
    parser.add_argument("--agent-image", metavar="IMAGE",
                        help="agent image (default %s; the jar is the same in every flavour)" % inject.AGENT_IMAGE)
    parser.add_argument("--backend-service", metavar="HOST:PORT[,...]",
                        help="collector address, set as %s where a container does not set it" % inject.BACKEND_ENV)
    parser.add_argument("--defaults", metavar="FILE",
                        help="YAML mapping of injection defaults (the inject_java_agent filter's defaults)")
    parser.add_argument("--swagents", metavar="FILE", help="YAML file of SwAgent objects to apply")
    parser.add_argument("--mark-errors", action="store_true",
                        help="write invalid workloads with SWCK's error annotation instead of writing nothing")
    return parser


def _read(path, stdin):
    """The text of ``path`` (``-``: ``stdin``).  Raises ``CliError`` (unreadable, not UTF-8)."""
    if path == "-":
        try:
            return stdin.read()
        except UnicodeDecodeError as exc:
            raise CliError("cannot read stdin: it is not UTF-8 text (%s)" % exc)
        except (IOError, OSError) as exc:
            raise CliError("cannot read stdin: %s" % exc)
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except UnicodeDecodeError as exc:
        raise CliError("cannot read %s: it is not UTF-8 text (%s)" % (path, exc))
    except (IOError, OSError) as exc:
        raise CliError("cannot read %s: %s" % (path, exc))


def _check_stdin_readers(args):
    """Refuse two options reading stdin (``-``): the first would take all of it."""
    readers = [option for option, value in (("-f", args.filename), ("--defaults", args.defaults),
                                            ("--swagents", args.swagents)) if value == "-"]
    if len(readers) > 1:
        raise CliError("%s each read stdin ('-'), which can be read once: give all but one of them a file%s"
                       % (" and ".join(readers), " (-f defaults to '-')" if "-f" in readers else ""))


def _ref(report):
    return inject.describe(report)


NO_COLLECTOR = ("no collector address: the agent would report to its built-in 127.0.0.1:11800, i.e. nowhere; give "
                "--backend-service, backend_service in --defaults, %s in a SwAgent's javaSidecar.env, or the "
                "annotation %scollector.backend_service" % (inject.BACKEND_ENV, inject.AGENT_PREFIX))


def _check_option(option, key, value):
    """Check a command line option that sets the default ``key`` alone, naming the option (not ``defaults.<key>``)."""
    try:
        inject.effective_defaults({key: value})
    except SpecError as exc:
        raise CliError("%s: %s" % (option, exc.problem))


def main(argv=None, stdin=None, stdout=None, stderr=None):
    """Run the command; returns the exit status (0, or 2 on any error)."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    args = _parser().parse_args(argv)
    try:
        _check_stdin_readers(args)
        defaults = {}
        if args.defaults:
            docs = load_documents(_read(args.defaults, stdin))
            if len(docs) != 1 or not isinstance(docs[0], dict):
                raise CliError("%s: expected one YAML mapping of defaults" % args.defaults)
            defaults = docs[0]
        if args.agent_image:
            _check_option("--agent-image", "image", args.agent_image)
            defaults["image"] = args.agent_image
        if args.backend_service:
            _check_option("--backend-service", "backend_service", args.backend_service)
            defaults["backend_service"] = args.backend_service
        swagents = load_documents(_read(args.swagents, stdin)) if args.swagents else []
        output, reports = render(_read(args.filename, stdin), defaults, swagents,
                                 state="absent" if args.remove else "present", mark_errors=args.mark_errors)
    except (CliError, SpecError) as exc:
        stderr.write("error: %s\n" % exc)
        return EXIT_ERROR
    failed = False
    for report in reports:
        for warning in report["warnings"]:
            stderr.write("warning: %s: %s\n" % (_ref(report), warning))
        if report.get("has_collector") is False:
            stderr.write("warning: %s: %s\n" % (_ref(report), NO_COLLECTOR))
        if report["status"] == inject.ERROR:
            failed = True
            stderr.write("error: %s: %s%s\n" % (_ref(report), "not removed: " if report["action"] == "remove" else "",
                                                report["reason"]))
    if failed and not args.mark_errors:
        return EXIT_ERROR
    stdout.write(output)
    return EXIT_ERROR if failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
