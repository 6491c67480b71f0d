# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Quantities written the way the API server writes them back.  Pure.

Parsing is ``k8s/quantity.py`` (the one grammar); this module only formats.  The API server
stores a quantity in canonical form (``k8s.io/apimachinery/pkg/api/resource/quantity.go``,
``CanonicalizeBytes``): the format of the input suffix is kept (binary ``Ki..Ei``, decimal
``m, k, M, ...`` or exponent ``e3``), and the number is rewritten with the largest suffix
that keeps it an integer: ``0.5`` -> ``500m``, ``1024Mi`` -> ``1Gi``, ``2000`` -> ``2k``,
``1.5Gi`` -> ``1536Mi``.  Binary values below 1024 or not whole are written in decimal form;
values are rounded up to whole nano-units, the smallest scale the server keeps.  Writing manifests in this form means the server does not rewrite
our values (no perpetual diff) and a value we compare is the value the server shows.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import quantity as k8s_quantity

_BINARY = (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10))
_DECIMAL = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}


def _format_of(text):
    text = text.strip()
    if text[-2:] in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"):
        return "binary"
    for i, char in enumerate(text):
        if char in "eE" and i > 0:
            return "exponent"
    return "decimal"


def _decimal_parts(value):
    """``(mantissa, exponent)`` with an integer mantissa and an exponent that is a multiple of 3."""
    # Round up to nano units (the server's smallest scale), as it does.
    nanos = (value * Decimal(10) ** 9).to_integral_value(rounding=ROUND_CEILING)
    if nanos == 0:
        return 0, 0
    exponent = -9
    mantissa = int(nanos)
    while mantissa % 1000 == 0 and exponent < 18:
        mantissa //= 1000
        exponent += 3
    return mantissa, exponent


def canonical(value):
    """The canonical text of a quantity (str, int or float); None when it is not one."""
    number = k8s_quantity.parse(value)
    if number is None:
        return None
    fmt = "decimal" if not isinstance(value, str) else _format_of(value)
    if fmt == "binary":
        if -1024 < number < 1024 or number != number.to_integral_value():
            fmt = "decimal"
        else:
            whole = int(number)
            for suffix, shift in _BINARY:
                if whole % (1 << shift) == 0:
                    return "%d%s" % (whole >> shift, suffix)
            return "%d" % whole
    mantissa, exponent = _decimal_parts(number)
    if mantissa == 0:
        return "0"
    if fmt == "exponent":
        return "%d" % mantissa if exponent == 0 else "%de%d" % (mantissa, exponent)
    return "%d%s" % (mantissa, _DECIMAL[exponent])


def cpu_millicores(value):
    """CPU quantity in millicores (rounded up); None when not a quantity."""
    return k8s_quantity.to_millicores(value)


def memory_bytes(value):
    """Memory quantity in bytes (rounded down); None when not a quantity."""
    return k8s_quantity.to_bytes(value)


def mebibytes(value):
    """A memory quantity in whole MiB (rounded down)."""
    number = k8s_quantity.to_bytes(value)
    return None if number is None else number // (1 << 20)


def compare(a, b):
    """-1, 0 or 1 comparing two quantities; raises ValueError when either is not one."""
    x, y = k8s_quantity.parse(a), k8s_quantity.parse(b)
    if x is None or y is None:
        raise ValueError("not a quantity: %r, %r" % (a, b))
    return (x > y) - (x < y)
