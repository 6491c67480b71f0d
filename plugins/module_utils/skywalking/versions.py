# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""The compatibility matrix: which OAP release lines we support and what each one needs.  Pure.

This is the ONE place that knows versions.  Everything else (spec defaults, builders,
status) asks this module.

Facts (checked 2026-11-30, see /work/notes/research-backend.md of the project and
SkyWalking's ``docs/en/changes/changes*.md``):

* OAP 11.0.x (current): BanyanDB 0.11.x only (OAP compares the server's API version with
  ``SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS`` exactly and refuses to start
  otherwise); the booster UI was removed, the Horizon UI (own release cadence, image
  ``apache/skywalking-ui:horizon-<ver>``) is the UI; a new admin server (HTTP 17128, internal
  gRPC 17129, no authentication); every REST server can do TLS (``SW_CORE_REST_SSL_*``).
* OAP 10.4.x (previous): BanyanDB 0.10.x; booster UI ``apache/skywalking-ui:<oap version>``
  (port 8080) or Horizon (which then needs ``templates.mode: readonly``).
* Satellite 1.3.0 (image tag with a ``v``: ``apache/skywalking-satellite:v1.3.0``), Java agent
  9.7.0, Kubernetes event exporter 1.0.0.
"""

from __future__ import annotations

import re

CURRENT = "11.0"
PREVIOUS = "10.4"

DOCKER_HUB = "docker.io"

# Repositories (without registry) of the default images.
OAP_REPOSITORY = "apache/skywalking-oap-server"
UI_REPOSITORY = "apache/skywalking-ui"
BANYANDB_REPOSITORY = "apache/skywalking-banyandb"
SATELLITE_REPOSITORY = "apache/skywalking-satellite"
JAVA_AGENT_REPOSITORY = "apache/skywalking-java-agent"
EVENT_EXPORTER_REPOSITORY = "apache/skywalking-kubernetes-event-exporter"
OTEL_COLLECTOR_REPOSITORY = "otel/opentelemetry-collector-contrib"

EVENT_EXPORTER_VERSION = "1.0.0"
OTEL_COLLECTOR_VERSION = "0.115.1"

BOOSTER = "booster"
HORIZON = "horizon"
UI_FLAVOURS = (BOOSTER, HORIZON)

# Ports (SkyWalking's defaults; the admin ports exist on 11.0 only).
OAP_GRPC_PORT = 11800
OAP_REST_PORT = 12800
OAP_METRICS_PORT = 1234
ADMIN_HTTP_PORT = 17128
ADMIN_GRPC_PORT = 17129
BOOSTER_PORT = 8080
HORIZON_PORT = 8081


class Line(object):
    """One supported OAP release line and everything that goes with it."""

    __slots__ = ("name", "status", "oap_version", "banyandb_line", "banyandb_version", "banyandb_api",
                 "ui_flavours", "default_ui", "horizon_version", "admin_server", "rest_tls",
                 "satellite_version", "java_agent_version", "horizon_templates_mode")

    def __init__(self, name, status, oap_version, banyandb_line, banyandb_version, banyandb_api, ui_flavours,
                 default_ui, horizon_version, admin_server, rest_tls, satellite_version, java_agent_version,
                 horizon_templates_mode):
        self.name = name
        self.status = status
        self.oap_version = oap_version
        self.banyandb_line = banyandb_line
        self.banyandb_version = banyandb_version
        self.banyandb_api = banyandb_api
        self.ui_flavours = tuple(ui_flavours)
        self.default_ui = default_ui
        self.horizon_version = horizon_version
        self.admin_server = admin_server
        self.rest_tls = rest_tls
        self.satellite_version = satellite_version
        self.java_agent_version = java_agent_version
        self.horizon_templates_mode = horizon_templates_mode

    def describe(self):
        return "%s.x (%s)" % (self.name, self.status)

    def __repr__(self):
        return "Line(%s)" % self.name


LINES = {
    "11.0": Line(
        name="11.0", status="current", oap_version="11.0.0",
        banyandb_line="0.11", banyandb_version="0.11.0", banyandb_api="0.11",
        ui_flavours=(HORIZON,), default_ui=HORIZON, horizon_version="0.7.0",
        admin_server=True, rest_tls=True,
        satellite_version="1.3.0", java_agent_version="9.7.0",
        # Horizon reads and seeds its templates through OAP 11's /ui-management API.
        horizon_templates_mode="live",
    ),
    "10.4": Line(
        name="10.4", status="previous", oap_version="10.4.0",
        banyandb_line="0.10", banyandb_version="0.10.3", banyandb_api="0.10",
        ui_flavours=(BOOSTER, HORIZON), default_ui=BOOSTER, horizon_version="0.7.0",
        admin_server=False, rest_tls=False,
        satellite_version="1.3.0", java_agent_version="9.7.0",
        # OAP 10 has no template API Horizon can use (Horizon docs: "OAP 10 requires readonly").
        horizon_templates_mode="readonly",
    ),
}

SUPPORTED = (CURRENT, PREVIOUS)

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?([-+.][0-9A-Za-z.+-]+)?$")


class VersionError(ValueError):
    """An unsupported version or an incompatible combination; the message names the versions."""


def supported_text():
    return " and ".join("%s.x (%s)" % (name, LINES[name].status) for name in SUPPORTED)


def split(version):
    """``"11.0.1"`` -> ``(11, 0, 1, "")``; ``"10.4"`` -> ``(10, 4, None, "")``.

    Accepts a leading ``v`` and a suffix (``-rc1``, ``-slim``).  Numbers (YAML may turn
    ``10.4`` into a float) are accepted through ``str()``.  Raises VersionError.
    """
    if isinstance(version, bool) or not isinstance(version, (str, int, float)):
        raise VersionError("%r is not a version (expected MAJOR.MINOR or MAJOR.MINOR.PATCH)" % (version,))
    match = _VERSION.match(str(version).strip())
    if not match:
        raise VersionError("%r is not a version (expected MAJOR.MINOR or MAJOR.MINOR.PATCH)" % (version,))
    patch = match.group(3)
    return int(match.group(1)), int(match.group(2)), (None if patch is None else int(patch)), match.group(4) or ""


def component_version(version):
    """A component version (BanyanDB, UI, Satellite) as the spec takes it: ``(version, had_v)``.

    It must be a full ``MAJOR.MINOR.PATCH`` (it becomes the image tag), optionally with a suffix
    such as ``-rc1`` (kept); a leading ``v`` is removed (``had_v`` says so).  Raises VersionError.
    """
    try:
        major, minor, patch = split(version)[:3]
    except VersionError:
        raise VersionError("%r is not a version (expected MAJOR.MINOR.PATCH)" % (version,))
    text = str(version).strip()
    if patch is None:
        raise VersionError("%r is not a full version: give MAJOR.MINOR.PATCH (e.g. %d.%d.0), it is the image tag"
                           % (version, major, minor))
    if text.startswith("v"):
        return text[1:], True
    return text, False


def line_of(version):
    """The ``"MAJOR.MINOR"`` of a version string."""
    major, minor = split(version)[:2]
    return "%d.%d" % (major, minor)


def resolve_oap(version=None):
    """Resolve a requested OAP version to ``(Line, full_version)``.

    ``None`` means the current line's default.  ``"10.4"`` means that line's default patch
    release; ``"11.0.1"`` is taken as given.  Raises VersionError listing the supported lines
    when the line is not one of them.
    """
    if version is None or version == "":
        line = LINES[CURRENT]
        return line, line.oap_version
    major, minor, patch, suffix = split(version)
    name = "%d.%d" % (major, minor)
    line = LINES.get(name)
    if line is None:
        raise VersionError("OAP %s is not supported; supported release lines are %s" % (version, supported_text()))
    if patch is None:
        return line, line.oap_version
    return line, "%d.%d.%d%s" % (major, minor, patch, suffix)


def check_banyandb(line, banyandb_version, oap_version=None):
    """Raise VersionError unless ``banyandb_version`` belongs to the BanyanDB line ``line`` accepts."""
    try:
        name = line_of(banyandb_version)
    except VersionError:
        raise VersionError("BanyanDB %r is not a version (expected MAJOR.MINOR.PATCH)" % (banyandb_version,))
    if name != line.banyandb_line:
        raise VersionError(
            "OAP %s needs BanyanDB %s.x; BanyanDB %s is not compatible (OAP checks the server API version "
            "against SW_STORAGE_BANYANDB_COMPATIBLE_SERVER_API_VERSIONS=%s and refuses to start)"
            % (oap_version or line.oap_version, line.banyandb_line, banyandb_version, line.banyandb_api))


def check_ui(line, flavour, ui_version=None, oap_version=None):
    """Raise VersionError unless the UI flavour (and, for booster, its version) suits the OAP line.

    The booster UI is released with OAP and shares its version line; Horizon has its own
    cadence and works with both lines.
    """
    if flavour not in line.ui_flavours:
        raise VersionError("OAP %s supports the %s UI only, not %s" % (
            oap_version or line.oap_version, " or ".join(line.ui_flavours), flavour))
    if flavour == BOOSTER and ui_version is not None:
        try:
            name = line_of(ui_version)
        except VersionError:
            raise VersionError("booster UI %r is not a version" % (ui_version,))
        if name != line.name:
            raise VersionError("the booster UI %s does not match OAP %s (the booster UI is released with OAP: "
                               "use a %s.x UI)" % (ui_version, oap_version or line.oap_version, line.name))


def default_ui_version(line, flavour, oap_version):
    """Booster follows the OAP version; Horizon has its own version."""
    return oap_version if flavour == BOOSTER else line.horizon_version


def _with_registry(repository, tag, registry):
    if registry:
        return "%s/%s:%s" % (registry.rstrip("/"), repository, tag)
    return "%s:%s" % (repository, tag)


def oap_image(version, registry=None):
    return _with_registry(OAP_REPOSITORY, version, registry)


def ui_image(flavour, version, registry=None):
    """``apache/skywalking-ui:<ver>`` (booster) or ``apache/skywalking-ui:horizon-<ver>`` (Horizon)."""
    tag = version if flavour == BOOSTER else "horizon-%s" % version
    return _with_registry(UI_REPOSITORY, tag, registry)


def banyandb_image(version, registry=None):
    return _with_registry(BANYANDB_REPOSITORY, version, registry)


def satellite_image(version, registry=None):
    """Satellite tags carry a ``v`` (its Makefile: ``skywalking-satellite:v$(VERSION)``)."""
    tag = version if str(version).startswith("v") else "v%s" % version
    return _with_registry(SATELLITE_REPOSITORY, tag, registry)


def java_agent_image(version, flavour="java17", registry=None):
    return _with_registry(JAVA_AGENT_REPOSITORY, "%s-%s" % (version, flavour), registry)


def event_exporter_image(version=EVENT_EXPORTER_VERSION, registry=None):
    return _with_registry(EVENT_EXPORTER_REPOSITORY, version, registry)


def otel_collector_image(version=OTEL_COLLECTOR_VERSION, registry=None):
    return _with_registry(OTEL_COLLECTOR_REPOSITORY, version, registry)


# Image references as the kubelet parses them (github.com/distribution/reference, regexp.go): a
# reference it cannot parse leaves the pod in InvalidImageName after every object was written.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = r"(?:%s(?:\.%s)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_NAME = r"(?:%s/)?%s(?:/%s)*" % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT)
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(r"^(?P<name>%s)(?::%s)?(?:@%s)?$" % (_NAME, _TAG, _DIGEST))
_REGISTRY = re.compile(r"^%s(?:/%s)*/?$" % (_DOMAIN, _PATH_COMPONENT))
_TAG_ONLY = re.compile(r"^%s$" % _TAG)
_NAME_MAX = 255  # distribution/reference's NameTotalLengthMax
_REFERENCE_MAX = 1024  # longer is never a reference (and is not worth matching)


def _scheme_problem(text):
    if "://" in text:
        return "must not contain a scheme (%s): give the registry host and path only" % text.split("://", 1)[0]
    return None


def image_problem(image):
    """Why ``image`` is not an image reference the kubelet can pull (``repo[:tag][@digest]``), or None."""
    if not isinstance(image, str) or not image.strip():
        return "must not be empty"
    problem = _scheme_problem(image)
    if problem:
        return problem
    if image != image.strip() or any(c.isspace() for c in image):
        return "%r must not contain whitespace" % (image,)
    match = _REFERENCE.fullmatch(image) if len(image) <= _REFERENCE_MAX else None
    if not match:
        return ("%r is not an image reference ([registry/]repository[:tag][@digest]; the repository in lowercase "
                "letters, digits and '.', '_', '-' separators)" % (image,))
    if len(match.group("name")) > _NAME_MAX:
        return "%r: the repository name is longer than %d characters" % (image, _NAME_MAX)
    return None


def registry_problem(registry):
    """Why ``registry`` (``host[:port][/path]``, the prefix of the default images) is not usable, or None.

    Empty means none (Docker Hub), as the image functions read it.
    """
    if registry == "":
        return None
    if not isinstance(registry, str) or not registry.strip():
        return "must not be blank (leave it unset for Docker Hub)"
    problem = _scheme_problem(registry)
    if problem:
        return problem
    if any(c.isspace() for c in registry) or len(registry) > _NAME_MAX or not _REGISTRY.fullmatch(registry):
        return ("%r is not a registry (host[:port] and an optional lowercase path, e.g. registry.example.com/mirror)"
                % (registry,))
    return None


def is_image_tag(tag):
    """Whether ``tag`` can be an image tag (letters, digits, '_', '.', '-'; at most 128 characters)."""
    return isinstance(tag, str) and bool(_TAG_ONLY.fullmatch(tag))


def image_tag(image):
    """The tag of an image reference (``None`` without one; digests are ignored)."""
    if not isinstance(image, str) or not image:
        return None
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return last.rsplit(":", 1)[1]


def version_from_image(image):
    """A version guessed from an image tag: ``horizon-0.7.0`` -> ``0.7.0``, ``v1.3.0`` -> ``1.3.0``."""
    tag = image_tag(image)
    if tag is None:
        return None
    for prefix in ("horizon-", "v"):
        if tag.startswith(prefix) and tag[len(prefix):][:1].isdigit():
            tag = tag[len(prefix):]
    return tag


def matrix():
    """The matrix as plain data (for docs and the info module)."""
    out = []
    for name in SUPPORTED:
        line = LINES[name]
        out.append({
            "line": name, "status": line.status, "oap_version": line.oap_version,
            "oap_image": oap_image(line.oap_version),
            "banyandb_line": line.banyandb_line, "banyandb_version": line.banyandb_version,
            "banyandb_api": line.banyandb_api, "banyandb_image": banyandb_image(line.banyandb_version),
            "ui_flavours": list(line.ui_flavours), "default_ui": line.default_ui,
            "ui_image": ui_image(line.default_ui, default_ui_version(line, line.default_ui, line.oap_version)),
            "horizon_version": line.horizon_version,
            "admin_server": line.admin_server, "admin_ports": [ADMIN_HTTP_PORT, ADMIN_GRPC_PORT] if line.admin_server
            else [], "rest_tls": line.rest_tls,
            "satellite_version": line.satellite_version, "java_agent_version": line.java_agent_version,
        })
    return out
