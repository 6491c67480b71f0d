# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Errors raised by the apply engine.  Every message is meant for a human."""

from __future__ import annotations


class SwckError(Exception):
    """Base class: a failure the module reports with its message."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class SpecError(SwckError):
    """The input is invalid; raised before anything is sent to the cluster."""

    def __init__(self, field, problem):
        self.field = field
        self.problem = problem
        super().__init__("%s: %s" % (field, problem), field=field)


class ApiError(SwckError):
    """The API server answered with an error status."""

    def __init__(self, status, reason, message, method=None, path=None, body=None):
        self.status = status
        self.reason = reason
        self.api_message = message
        self.method = method
        self.path = path
        self.body = body if isinstance(body, dict) else {}
        self.retried = False  # set by the client when an earlier attempt of this request was sent
        text = "%s %s: %s %s: %s" % (method or "", path or "", status, reason or "", message or "")
        super().__init__(" ".join(text.split()), status=status, reason=reason)

    @property
    def causes(self):
        return (self.body.get("details") or {}).get("causes") or []

    @property
    def is_precondition_failure(self):
        """A 409 for a failed uid/resourceVersion precondition (the object changed since it was read)."""
        return self.status == 409 and "precondition" in (self.api_message or "").lower()

    @property
    def is_field_conflict(self):
        """True for server-side apply field-manager conflicts (never retried)."""
        return self.status == 409 and any(is_conflict_cause(c) for c in self.causes)


def is_conflict_cause(cause):
    """A status cause describing a field owned by another manager."""
    return "FieldManagerConflict" in (cause.get("reason"), cause.get("type"))


class ConflictError(SwckError):
    """Server-side apply refused because other field managers own fields."""

    def __init__(self, obj_ref, conflicts):
        self.obj_ref = obj_ref
        self.conflicts = conflicts
        listing = "; ".join("%s (owned by %s)" % (c["field"], c["manager"]) for c in conflicts)
        super().__init__(
            "%s: apply conflicts with other field managers: %s. "
            "Set force_conflicts=true to take ownership of these fields." % (obj_ref, listing),
            conflicts=conflicts,
        )


class ConnectionFailure(SwckError):
    """The API server could not be reached (after retries)."""


class WaitTimeout(SwckError):
    """Objects did not become ready within the wait budget."""

    def __init__(self, timeout, pending):
        self.pending = pending
        lines = ["%s: %s" % (p["ref"], p["reason"]) for p in pending]
        super().__init__(
            "timed out after %ss waiting for %d object(s) to become ready:\n  %s"
            % (timeout, len(pending), "\n  ".join(lines)),
            pending=pending,
        )


class WaitFailed(SwckError):
    """An object reached a terminal failure while waiting (failed Job, deadline exceeded)."""

    def __init__(self, failed):
        self.failed = failed
        lines = ["%s: %s" % (p["ref"], p["reason"]) for p in failed]
        super().__init__(
            "%d object(s) failed while waiting:\n  %s" % (len(failed), "\n  ".join(lines)),
            failed=failed,
        )
