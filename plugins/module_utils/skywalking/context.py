# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""What the builders may know about the target cluster, given by the caller.  Pure.

The builders never talk to the cluster; the module reads discovery once and passes a small
context::

    {"api_versions": ["v1", "apps/v1", "policy/v1", "route.openshift.io/v1", ...],   # served group/versions
     "openshift": None}                                                            # None: infer from the APIs

``None`` (no context) means a plain Kubernetes cluster serving the usual APIs
(:data:`DEFAULT_API_VERSIONS`), no OpenShift Route API, not OpenShift.
"""

from __future__ import annotations

ROUTE_API = "route.openshift.io/v1"
SCC_API = "security.openshift.io/v1"
DEFAULT_API_VERSIONS = frozenset([
    "v1", "apps/v1", "batch/v1", "policy/v1", "autoscaling/v2", "networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
])


class Context(object):
    """Served API group/versions and whether the cluster is OpenShift."""

    __slots__ = ("api_versions", "openshift")

    def __init__(self, api_versions=None, openshift=None):
        self.api_versions = frozenset(DEFAULT_API_VERSIONS if api_versions is None else api_versions)
        if openshift is None:
            openshift = SCC_API in self.api_versions or ROUTE_API in self.api_versions
        self.openshift = bool(openshift)

    def serves(self, api_version):
        return api_version in self.api_versions

    @property
    def has_routes(self):
        return ROUTE_API in self.api_versions

    def __repr__(self):
        return "Context(%d APIs, openshift=%s)" % (len(self.api_versions), self.openshift)


def make(context=None):
    """A Context from None, a Context, or a mapping ``{"api_versions": [...], "openshift": bool|None}``."""
    if isinstance(context, Context):
        return context
    if context is None:
        return Context()
    if not isinstance(context, dict):
        raise TypeError("context must be a mapping, not %s" % type(context).__name__)
    return Context(context.get("api_versions"), context.get("openshift"))
