# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Staged plans: what the engine applies, in which order, with which gates.  Pure.

A :class:`Plan` is an ordered list of :class:`Stage` objects.  The engine applies
one stage (in dependency phases, concurrently inside a phase), then waits for the
stage's :class:`Gate`, then goes on with the next stage.  Pruning happens once,
after the last stage, across the whole plan.

Builders (``plugins/module_utils/skywalking/``) are pure functions that return a
Plan; modules hand it to ``Engine.apply``.  A plain list of manifests is a plan
with one stage and no gate.

``Plan.kinds`` names the kinds (``(group, kind)`` pairs, group ``""`` for the core
API) the plan may own besides those of its objects.  The engine records every
kind an instance has applied in its ApplySet parent; ``kinds`` lets a builder
name kinds it may have rendered in an earlier version (so they are still
pruned when a feature is switched off) without listing objects.
"""

from __future__ import annotations

READY = "ready"
CONDITION = "condition"


class Gate(object):
    """What must hold before the next stage starts.

    ``mode``:
      * ``ready``: the gated objects are ready (readiness.evaluate: Deployments
        available and updated, StatefulSets ready, Jobs Complete, ...);
      * ``condition``: each gated object carries
        ``status.conditions[type == condition_type].status == condition_status``
        (for custom resources, e.g. ``Ready=True``).

    ``targets``: the kinds or ``(kind, name)`` pairs of the stage to wait for;
    ``None`` means every object of the stage whose kind has a readiness rule.
    ``timeout``: seconds; ``None`` uses the caller's ``wait_timeout``.
    ``name``: how the gate is named in reports (e.g. "schema init Job complete").
    """

    __slots__ = ("mode", "targets", "condition_type", "condition_status", "timeout", "name")

    def __init__(self, mode=READY, targets=None, condition_type=None, condition_status="True", timeout=None,
                 name=None):
        if mode not in (READY, CONDITION):
            raise ValueError("gate mode must be %r or %r, not %r" % (READY, CONDITION, mode))
        if mode == CONDITION and not condition_type:
            raise ValueError("a condition gate needs condition_type")
        self.mode = mode
        self.targets = None if targets is None else list(targets)
        self.condition_type = condition_type
        self.condition_status = condition_status
        self.timeout = timeout
        self.name = name

    @classmethod
    def ready(cls, targets=None, timeout=None, name=None):
        return cls(READY, targets=targets, timeout=timeout, name=name)

    @classmethod
    def condition(cls, condition_type, status="True", targets=None, timeout=None, name=None):
        return cls(CONDITION, targets=targets, condition_type=condition_type, condition_status=status,
                   timeout=timeout, name=name)

    def selects(self, obj):
        """Whether the manifest ``obj`` is one this gate waits for."""
        if self.targets is None:
            return True
        kind = obj.get("kind")
        name = (obj.get("metadata") or {}).get("name")
        for target in self.targets:
            if isinstance(target, (tuple, list)):
                if tuple(target) == (kind, name):
                    return True
            elif target == kind:
                return True
        return False

    def describe(self):
        if self.name:
            return self.name
        if self.mode == CONDITION:
            return "%s=%s" % (self.condition_type, self.condition_status)
        return "ready"

    def __repr__(self):
        return "Gate(%s)" % self.describe()


class Stage(object):
    """A named group of manifests applied together, optionally followed by a gate."""

    __slots__ = ("name", "objects", "gate")

    def __init__(self, name, objects, gate=None):
        self.name = name
        self.objects = list(objects)
        self.gate = gate

    def __repr__(self):
        return "Stage(%s, %d object(s), %r)" % (self.name, len(self.objects), self.gate)


class Plan(object):
    """An ordered list of stages, plus the kinds the plan may own."""

    def __init__(self, stages=None, kinds=None):
        self.stages = list(stages or [])
        self.kinds = set(kinds or [])

    def add(self, name, objects, gate=None):
        """Append a stage; returns it.  Stage names must be unique."""
        if any(s.name == name for s in self.stages):
            raise ValueError("stage %r is already in the plan" % name)
        stage = Stage(name, objects, gate)
        self.stages.append(stage)
        return stage

    def own_kind(self, group, kind):
        """Declare that the plan may own objects of ``(group, kind)`` (see module docstring)."""
        self.kinds.add((group, kind))

    def objects(self):
        """Every manifest of every stage, in order."""
        return [obj for stage in self.stages for obj in stage.objects]

    def __len__(self):
        return sum(len(s.objects) for s in self.stages)

    def __repr__(self):
        return "Plan(%r)" % (self.stages,)

    @classmethod
    def single(cls, objects, name="apply"):
        """A plan of one stage without a gate (what a plain list of manifests means)."""
        return cls([Stage(name, objects)])
