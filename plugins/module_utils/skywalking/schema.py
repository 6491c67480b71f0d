# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""A small schema language for option trees, and what we generate from it.  Pure.

One :class:`Opt` describes one option: its type, default, choices, element type, nested
options, description and whether it may carry a secret.  From one tree of them we
generate

* validation and normalisation (:func:`normalize`): values coerced the way Ansible's
  argument spec coerces them, defaults filled, every problem collected with its field path;
* an Ansible ``argument_spec`` (:func:`argument_spec`);
* the ``options`` of a module's DOCUMENTATION and of a role's ``meta/argument_specs.yml``
  (:func:`documentation`);
* a Markdown table per section (:func:`markdown_tables`).

Types: ``str``, ``int``, ``bool``, ``float``, ``raw``, ``dict`` (with ``options``: a nested
option tree; without: a free-form mapping whose values have type ``values``), ``list`` (of
``elements``; ``elements="dict"`` with ``options`` for a list of option trees), and two of
ours that Ansible sees as ``raw``/``int``: ``quantity`` (a Kubernetes resource quantity,
normalised to the API server's canonical text, see :mod:`.quantities`) and ``port``
(an int in 1-65535).

A default can be a :class:`Computed`: a function of the whole normalised tree (e.g. of the
OAP version), filled in after everything else; such an option has no default in the
argument spec (Ansible must not fill it) and its documentation says what it depends on.
"""

from __future__ import annotations

import copy
import difflib
import re

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import quantity as k8s_quantity

from . import quantities

_MISSING = object()

ANSIBLE_TYPES = {"str": "str", "int": "int", "bool": "bool", "float": "float", "raw": "raw", "dict": "dict",
                 "list": "list", "quantity": "raw", "port": "int"}

# ansible-test validate-modules flags options whose name matches this and that do not set no_log.
_NO_LOG_SUSPECT = re.compile(r"(?:pass(?!ive)|secret|token|key)", re.I)

_TRUE = frozenset(["y", "yes", "on", "1", "true", "t"])
_FALSE = frozenset(["n", "no", "off", "0", "false", "f"])
_INT = re.compile(r"^[+-]?[0-9]+$")
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Computed(object):
    """A default computed from the normalised tree: ``fn(root) -> value``; ``doc`` says how."""

    __slots__ = ("fn", "doc")

    def __init__(self, fn, doc):
        self.fn = fn
        self.doc = doc


class Opt(object):
    """One option.  See the module docstring for the types.

    ``check(value) -> problem text or None`` runs on a well-typed, non-None value.
    ``reject``: the option exists only so that Ansible hides its value (``no_log``) and we can
    refuse it with this message (e.g. plain passwords); any non-empty value is a problem.
    ``minimum``/``maximum`` bound ints, floats and ports.
    """

    __slots__ = ("type", "description", "default", "choices", "elements", "options", "values", "secret",
                 "required", "minimum", "maximum", "check", "reject", "aliases")

    def __init__(self, type, description, default=_MISSING, choices=None, elements=None, options=None,
                 values=None, secret=False, required=False, minimum=None, maximum=None, check=None, reject=None,
                 aliases=None):
        if type not in ANSIBLE_TYPES:
            raise ValueError("unknown option type %r" % (type,))
        if options is not None and not (type == "dict" or (type == "list" and elements == "dict")):
            raise ValueError("options need type dict or a list of dicts")
        self.type = type
        self.description = [description] if isinstance(description, str) else list(description)
        self.default = default
        self.choices = None if choices is None else list(choices)
        self.elements = elements
        self.options = options
        self.values = values
        self.secret = secret
        self.required = required
        self.minimum = minimum
        self.maximum = maximum
        self.check = check
        self.reject = reject
        self.aliases = list(aliases) if aliases else None

    @property
    def has_default(self):
        return self.default is not _MISSING

    @property
    def computed(self):
        return isinstance(self.default, Computed)

    def static_default(self):
        """The default as data (deep-copied), or None when there is none or it is computed."""
        if not self.has_default or self.computed:
            return None
        return copy.deepcopy(self.default)


def join_path(path, key):
    """``oap`` + ``replicas`` -> ``oap.replicas``; keys that are not identifiers are quoted: ``files["a.yml"]``."""
    if isinstance(key, int):
        return "%s[%d]" % (path, key)
    if _PLAIN_KEY.match(key):
        return "%s.%s" % (path, key) if path else key
    return '%s["%s"]' % (path, key)


def describe_value(value, secret=False):
    """How a value is named in a message (never the value of a secret option)."""
    if secret:
        return "a %s value" % _type_name(value)
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return "%s %s" % (_type_name(value), text)


def _type_name(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


class Problems(object):
    """Collects ``(path, problem)`` pairs in the order they are found."""

    def __init__(self):
        self.items = []

    def add(self, path, problem):
        self.items.append((path, problem))

    def __bool__(self):
        return bool(self.items)

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items)


def _coerce_scalar(kind, value, secret):
    """``(value, problem)`` for str/int/bool/float/port/quantity; problem None when fine."""
    if kind == "str":
        if isinstance(value, str):
            return value, None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value), None
        return None, "must be a string, not %s" % describe_value(value, secret)
    if kind in ("int", "port"):
        if isinstance(value, bool):
            return None, "must be an integer, not %s" % describe_value(value, secret)
        if isinstance(value, int):
            return value, None
        if isinstance(value, float) and value == int(value):
            return int(value), None
        if isinstance(value, str) and _INT.match(value.strip()):
            return int(value.strip()), None
        return None, "must be an integer, not %s" % describe_value(value, secret)
    if kind == "float":
        if isinstance(value, bool):
            return None, "must be a number, not %s" % describe_value(value, secret)
        if isinstance(value, (int, float)):
            return float(value), None
        if isinstance(value, str):
            try:
                return float(value.strip()), None
            except ValueError:
                pass
        return None, "must be a number, not %s" % describe_value(value, secret)
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower() if isinstance(value, (str, int)) else None
        if text in _TRUE:
            return True, None
        if text in _FALSE:
            return False, None
        return None, "must be a boolean (true/false), not %s" % describe_value(value, secret)
    if kind == "quantity":
        if isinstance(value, bool) or k8s_quantity.parse(value) is None:
            return None, "%s is not a valid quantity (e.g. 500m, 2, 1Gi)" % describe_value(value, secret)
        if k8s_quantity.too_large(value):
            return None, ("%s is larger than the largest quantity Kubernetes keeps (2^63-1 base units; the API "
                          "server would silently cap it)" % describe_value(value, secret))
        return quantities.canonical(value), None
    raise ValueError(kind)  # pragma: no cover - the constructor restricts kinds


def _normalize(opt, value, path, problems, root_key=None):
    """Normalise one value (already known to be not None, or None to take the default)."""
    if value is None:
        if opt.required:
            problems.add(path, "is required")
            return None
        if opt.type == "dict" and opt.options is not None:
            value = {} if opt.default is _MISSING or opt.computed else opt.static_default()
            if value is None:
                return None
        else:
            return opt.static_default()
    if opt.reject is not None:
        if value in ({}, [], ""):
            return None
        problems.add(path, opt.reject)
        return None
    if opt.type == "raw":
        out = value
    elif opt.type == "dict":
        if not isinstance(value, dict):
            problems.add(path, "must be a mapping, not %s" % describe_value(value, opt.secret))
            return _normalize(opt, None, path, Problems()) if opt.options is not None else opt.static_default()
        if opt.options is not None:
            out = normalize_options(opt.options, value, path, problems)
        else:
            out = {}
            for key in sorted(value, key=str):
                if not isinstance(key, str):
                    problems.add(path, "keys must be strings, not %s" % describe_value(key))
                    continue
                item = value[key]
                kind = opt.values or "raw"
                if kind == "raw":
                    out[key] = item
                    continue
                if item is None:
                    problems.add(join_path(path, key), "must not be empty")
                    continue
                coerced, problem = _coerce_scalar(kind, item, opt.secret)
                if problem:
                    problems.add(join_path(path, key), problem)
                else:
                    out[key] = coerced
    elif opt.type == "list":
        if isinstance(value, str) and opt.elements in ("str", None):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            problems.add(path, "must be a list, not %s" % describe_value(value, opt.secret))
            return opt.static_default()
        out = []
        for index, item in enumerate(value):
            item_path = join_path(path, index)
            if opt.elements == "dict":
                if not isinstance(item, dict):
                    problems.add(item_path, "must be a mapping, not %s" % describe_value(item, opt.secret))
                    continue
                out.append(normalize_options(opt.options, item, item_path, problems) if opt.options is not None
                           else item)
            elif opt.elements in (None, "raw"):
                out.append(item)
            else:
                if item is None:
                    problems.add(item_path, "must not be empty")
                    continue
                coerced, problem = _coerce_scalar(opt.elements, item, opt.secret)
                if problem:
                    problems.add(item_path, problem)
                    continue
                problem = _bounds(opt, coerced)
                if problem:
                    problems.add(item_path, problem)
                    continue
                out.append(coerced)
    else:
        out, problem = _coerce_scalar(opt.type, value, opt.secret)
        if problem:
            problems.add(path, problem)
            return opt.static_default()
        problem = _bounds(opt, out)
        if problem:
            problems.add(path, problem)
            return opt.static_default()
    if opt.choices is not None and out not in opt.choices:
        guess = difflib.get_close_matches(str(out), [str(c) for c in opt.choices], n=1, cutoff=0.5)
        hint = " (did you mean %s?)" % guess[0] if guess and guess[0] != str(out) else ""
        problems.add(path, "must be one of %s, not %s%s" % (
            ", ".join(str(c) for c in opt.choices), describe_value(out, opt.secret), hint))
        return opt.static_default()
    if opt.check is not None and out is not None:
        problem = opt.check(out)
        if problem:
            problems.add(path, problem)
    return out


def _bounds(opt, value):
    low, high = opt.minimum, opt.maximum
    if opt.type == "port" or opt.elements == "port":
        low = 1 if low is None else low
        high = 65535 if high is None else high
    if low is not None and value < low:
        return "must be >= %s (got %s)" % (low, value) if high is None else \
            "must be between %s and %s (got %s)" % (low, high, value)
    if high is not None and value > high:
        return "must be <= %s (got %s)" % (high, value) if low is None else \
            "must be between %s and %s (got %s)" % (low, high, value)
    return None


def normalize_options(options, raw, path, problems):
    """Normalise a mapping against an option tree: unknown keys are problems, defaults filled."""
    out = {}
    aliases = {}
    for name, opt in options.items():
        for alias in opt.aliases or ():
            aliases[alias] = name
    given = {}
    for key, value in raw.items():
        target = aliases.get(key, key)
        if target in options:
            given[target] = value
            continue
        suggestion = difflib.get_close_matches(str(key), list(options), n=1, cutoff=0.6)
        hint = "; did you mean %s?" % join_path(path, suggestion[0]) if suggestion else \
            "; known fields: %s" % ", ".join(sorted(options))
        problems.add(join_path(path, str(key)), "is not a known field%s" % hint)
    for name, opt in options.items():
        out[name] = _normalize(opt, given.get(name), join_path(path, name), problems)
    return out


def fill_computed(options, node, root):
    """Second pass: fill every still-None option whose default is :class:`Computed`."""
    if not isinstance(node, dict):
        return
    for name, opt in options.items():
        value = node.get(name)
        if value is None and opt.computed:
            node[name] = opt.default.fn(root)
            value = node[name]
        if opt.options is not None:
            if opt.type == "dict" and isinstance(value, dict):
                fill_computed(opt.options, value, root)
            elif opt.type == "list" and isinstance(value, list):
                for item in value:
                    fill_computed(opt.options, item, root)


def normalize(options, raw, problems=None):
    """Normalise a whole tree: ``(normalised, problems)``; ``raw`` None counts as ``{}``.

    Computed defaults are filled in after every structural check, from the normalised tree.
    """
    problems = problems if problems is not None else Problems()
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.add("spec", "must be a mapping, not %s" % describe_value(raw))
        raw = {}
    out = normalize_options(options, raw, "", problems)
    fill_computed(options, out, out)
    return out, problems


# --------------------------------------------------------------------------- generation


def select(options, paths):
    """A sub-tree with only ``paths`` (``"oap"`` keeps all of oap, ``"oap.env"`` only that child).

    Keeps the order of ``options``.  Raises KeyError for a path that does not exist.
    """
    wanted = {}
    for path in paths:
        head, _dot, rest = path.partition(".")
        if head not in options:
            raise KeyError(path)
        wanted.setdefault(head, [])
        if rest:
            if wanted[head] is not None:
                wanted[head].append(rest)
        else:
            wanted[head] = None
    out = {}
    for name, opt in options.items():
        if name not in wanted:
            continue
        if wanted[name] is None:
            out[name] = opt
        else:
            if opt.options is None:
                raise KeyError(name)
            child = copy.copy(opt)
            child.options = select(opt.options, wanted[name])
            out[name] = child
    return out


def argument_spec(options):
    """The Ansible argument spec of an option tree (nested ``options``, ``elements``, ``no_log``)."""
    spec = {}
    for name, opt in options.items():
        entry = {"type": ANSIBLE_TYPES[opt.type]}
        if opt.type == "list":
            entry["elements"] = ANSIBLE_TYPES.get(opt.elements or "raw", "raw")
        if opt.options is not None:
            entry["options"] = argument_spec(opt.options)
        if opt.choices is not None:
            entry["choices"] = list(opt.choices)
        if opt.required:
            entry["required"] = True
        default = _argspec_default(opt)
        if default is not None:
            entry["default"] = default
        if opt.secret:
            entry["no_log"] = True
        elif _NO_LOG_SUSPECT.search(name):
            entry["no_log"] = False
        if opt.aliases:
            entry["aliases"] = list(opt.aliases)
        spec[name] = entry
    return spec


def _argspec_default(opt):
    """Scalar and list defaults only.  Dicts with options get theirs from the sub-options; computed none."""
    if not opt.has_default or opt.computed or opt.default is None:
        return None
    if opt.type == "dict" and opt.options is not None:
        return None
    return copy.deepcopy(opt.default)


def documentation(options):
    """The DOCUMENTATION ``options`` of an option tree (also valid as role argument_specs options)."""
    docs = {}
    for name, opt in options.items():
        description = list(opt.description)
        if opt.computed:
            description.append("Default: %s." % opt.default.doc)
        entry = {"description": description, "type": ANSIBLE_TYPES[opt.type]}
        if opt.type == "list":
            entry["elements"] = ANSIBLE_TYPES.get(opt.elements or "raw", "raw")
        if opt.choices is not None:
            entry["choices"] = list(opt.choices)
        if opt.required:
            entry["required"] = True
        default = _argspec_default(opt)
        if default is not None:
            entry["default"] = default
        if opt.aliases:
            entry["aliases"] = list(opt.aliases)
        if opt.options is not None:
            entry["suboptions"] = documentation(opt.options)
        docs[name] = entry
    return docs


def default_text(opt):
    """The default as shown in Markdown tables."""
    if opt.computed:
        return opt.default.doc
    if opt.type == "dict" and opt.options is not None:
        return ""
    if not opt.has_default or opt.default is None:
        return ""
    value = opt.default
    if isinstance(value, bool):
        return "`%s`" % str(value).lower()
    if value in ([], {}):
        return "`%s`" % ("[]" if value == [] else "{}")
    return "`%s`" % (value,)


def type_text(opt):
    if opt.type == "list":
        return "list of %s" % (opt.elements or "raw")
    if opt.type == "dict" and opt.options is None:
        return "mapping of %s" % (opt.values or "raw")
    return opt.type


def rows(options, path=""):
    """Flattened ``(path, Opt)`` rows, parents before their children."""
    out = []
    for name, opt in options.items():
        here = join_path(path, name)
        out.append((here, opt))
        if opt.options is not None:
            out.extend(rows(opt.options, here + ("[]" if opt.type == "list" else "")))
    return out
