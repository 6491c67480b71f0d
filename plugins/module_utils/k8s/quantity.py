# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Kubernetes resource quantities (``500m``, ``2``, ``1Gi``, ``1e3``).  Pure.

The one grammar of the collection, as defined by
``k8s.io/apimachinery/pkg/api/resource/quantity.go``::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= [+-] <digits> [ . <digits> ] | [+-] . <digits>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
    <decimalSI>       ::= m | "" | k | M | G | T | P | E   (and n, u, which the server accepts)
    <decimalExponent> ::= e <signedNumber> | E <signedNumber>

``parse`` returns the value as a ``Decimal`` (in base units: cores, bytes, ...),
or ``None`` when the text is not a quantity.
"""

from __future__ import annotations

import re
from decimal import ROUND_UP, Decimal, InvalidOperation

_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_MILLI = Decimal("0.001")
PATTERN = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$")


def parse(value):
    """A quantity (str, int or float) as a Decimal in base units; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if not isinstance(value, str):
        return None
    match = PATTERN.match(value.strip())
    if not match:
        return None
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        return None
    suffix = match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    return number * _DECIMAL[suffix]


# The largest amount the API server keeps (apimachinery quantity.go caps a larger parsed value to it
# silently): 2^63-1 base units.
MAX_AMOUNT = Decimal(2 ** 63 - 1)


def too_large(value):
    """Whether ``value`` (a quantity) exceeds ``MAX_AMOUNT`` in magnitude: the API server would store
    ``9223372036854775807`` instead, and every later comparison would differ.  False for a non-quantity.
    """
    number = parse(value)
    return number is not None and abs(number) > MAX_AMOUNT


def is_quantity(value):
    return parse(value) is not None


def stored(value):
    """The amount the API server stores for a quantity: rounded away from zero to milli-units.

    Measured on kube-apiserver v1.35/v1.37 (a dry-run create): ``1.23456789012`` is stored as
    ``1235m``, ``1e-10`` as ``1e-3``, ``0.0001`` CPU as ``1m``, ``1.0000000001Ki`` as ``1024001m``.
    None when the value is not a quantity.
    """
    number = parse(value)
    return None if number is None else number.quantize(_MILLI, rounding=ROUND_UP)


def equal(a, b):
    """Whether two quantities denote the same stored amount (``0.5`` and ``500m``; ``0.0001`` and ``1m``).

    False if either is not a quantity.
    """
    x, y = stored(a), stored(b)
    return x is not None and y is not None and x == y


def to_bytes(value):
    """A memory quantity in bytes (int, rounded down); None when it is not a quantity."""
    number = parse(value)
    return None if number is None else int(number)


def to_millicores(value):
    """A CPU quantity in millicores (int, rounded up as Kubernetes does); None when it is not a quantity."""
    number = parse(value)
    if number is None:
        return None
    milli = number * 1000
    return int(milli) if milli == int(milli) else int(milli) + (1 if milli > 0 else 0)
