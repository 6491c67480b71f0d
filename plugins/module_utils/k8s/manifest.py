# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Pure handling of desired manifests: parse, validate, label, fingerprint.

Nothing here talks to a cluster, so everything is unit tested directly.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re

from . import quantity
from .errors import SpecError

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# The instance that applied an object.  Our own key: the app.kubernetes.io/* labels (name,
# instance, part-of, component) describe the application and stay the manifest's.
INSTANCE_LABEL = "skywalking.swck/instance"
# Where objects applied by 0.1.0 kept their instance (read only, to recognise them).
LEGACY_INSTANCE_LABEL = "app.kubernetes.io/instance"
MANAGED_BY = "skywalking.swck"
APPLIED_ANNOTATION = "skywalking.swck/applied"
# KEP-3659 ApplySet membership label (the parent object is described in applyset.py).
APPLYSET_PART_OF_LABEL = "applyset.kubernetes.io/part-of"
# The field manager of an instance: one per instance, so two instances never share ownership.
FIELD_MANAGER_PREFIX = "skywalking.swck/"

# used with fullmatch: Python's "$" also matches before a final newline ("web\n" is no name)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_API_VERSION = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?v[0-9]+((alpha|beta)[0-9]+)?$")
_KIND = re.compile(r"^[A-Z][A-Za-z0-9]*$")
# Kinds whose names are DNS labels rather than subdomains.
_LABEL_NAMED_KINDS = frozenset(["Namespace", "Service"])


def field_manager_for(instance):
    """The field manager name of ``instance`` (``skywalking.swck/<instance>``)."""
    return FIELD_MANAGER_PREFIX + instance


def ownership_labels(instance, applyset_id=None):
    labels = {MANAGED_BY_LABEL: MANAGED_BY, INSTANCE_LABEL: instance}
    if applyset_id:
        labels[APPLYSET_PART_OF_LABEL] = applyset_id
    return labels


def member_selector(applyset_id):
    """Label selector matching exactly the members of one ApplySet."""
    return "%s=%s" % (APPLYSET_PART_OF_LABEL, applyset_id)


def is_dns_label(value):
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS_LABEL.fullmatch(value))


def is_dns_subdomain(value):
    return isinstance(value, str) and len(value) <= 253 and bool(_DNS_SUBDOMAIN.fullmatch(value))


def is_label_value(value):
    return isinstance(value, str) and len(value) <= 63 and bool(_LABEL_VALUE.fullmatch(value))


def is_qualified_key(key):
    """A label/annotation key: optional DNS-subdomain prefix and a name of <= 63 chars."""
    if not isinstance(key, str) or not key:
        return False
    prefix, name = key.rpartition("/")[::2]
    if "/" in key and not is_dns_subdomain(prefix):
        return False
    return len(name) <= 63 and bool(_QUALIFIED_NAME.fullmatch(name))


# ApplySets (and field managers) of the SkyWalking modules start with this; apply tasks may not.
RESERVED_INSTANCE_PREFIX = "sw."


def validate_instance(instance, field="instance", reserved_ok=False):
    if not is_label_value(instance) or not instance:
        raise SpecError(field, "%r is not a valid label value (1-63 characters: letters, digits, '-', '_', '.', "
                               "starting and ending with a letter or digit)" % (instance,))
    if not reserved_ok and instance.startswith(RESERVED_INSTANCE_PREFIX):
        raise SpecError(field, "%r: instances starting with %r are the SkyWalking modules' ApplySets"
                               % (instance, RESERVED_INSTANCE_PREFIX))


def load_definitions(definitions, field="definitions"):
    """Accept a dict, a list of dicts, or YAML text (several documents); expand ``*List`` kinds."""
    if definitions is None:
        return []
    if isinstance(definitions, (str, bytes)):
        try:
            import yaml
        except ImportError:  # pragma: no cover
            raise SpecError(field, "PyYAML is required to parse YAML text")
        try:
            docs = [d for d in yaml.load_all(definitions, Loader=_strict_loader()) if d is not None]
        except yaml.YAMLError as exc:
            raise SpecError(field, "is not valid YAML: %s" % yaml_error_text(exc))
    elif isinstance(definitions, dict):
        docs = [definitions]
    elif isinstance(definitions, list):
        docs = list(definitions)
    else:
        raise SpecError(field, "must be a list of objects, an object or YAML text, not %s" % type(definitions).__name__)
    out = []
    for i, doc in enumerate(docs):
        path = "%s[%d]" % (field, i)
        if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            for j, item in enumerate(doc["items"]):
                out.append((("%s.items[%d]" % (path, j)), item))
        else:
            out.append((path, doc))
    return out


_STRICT_LOADER = []


def _strict_loader():
    """A SafeLoader that refuses a mapping key given twice (kubectl does too; YAML says keys are unique).

    PyYAML would silently keep the last value, so a typo'd copy of ``env`` or ``replicas`` goes unseen.
    """
    if not _STRICT_LOADER:
        import yaml

        class StrictLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
            def construct_mapping(self, node, deep=False):
                seen = set()
                for key_node, _value_node in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=deep)
                    try:
                        duplicate = key in seen
                    except TypeError:
                        duplicate = False  # an unhashable key: the base constructor reports it
                    if duplicate:
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping", node.start_mark,
                            "found duplicate key %r" % (key,), key_node.start_mark)
                    try:
                        seen.add(key)
                    except TypeError:
                        pass
                return super().construct_mapping(node, deep=deep)

        _STRICT_LOADER.append(StrictLoader)
    return _STRICT_LOADER[0]


def yaml_error_text(exc):
    """A YAML syntax error without the text around it (the text may hold a Secret value)."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if not problem:
        return "syntax error"
    text = problem
    if mark is not None:
        text += " at line %d, column %d" % (mark.line + 1, mark.column + 1)
    context = getattr(exc, "context", None)
    cmark = getattr(exc, "context_mark", None)
    if context:
        text += " (%s%s)" % (context, " at line %d, column %d" % (cmark.line + 1, cmark.column + 1) if cmark else "")
    return text


def _check_map(obj_path, what, mapping, check_values):
    if mapping is None:
        return
    if not isinstance(mapping, dict):
        raise SpecError("%s.metadata.%s" % (obj_path, what), "must be a mapping")
    for key, value in mapping.items():
        if not is_qualified_key(key):
            raise SpecError("%s.metadata.%s" % (obj_path, what), "%r is not a valid key" % (key,))
        if check_values and not (isinstance(value, str) and is_label_value(value)):
            raise SpecError("%s.metadata.%s.%s" % (obj_path, what, key),
                            "%r is not a valid label value (at most 63 characters, alphanumeric, '-', '_', '.')"
                            % (value,))
        if not check_values and not isinstance(value, str):
            raise SpecError("%s.metadata.%s.%s" % (obj_path, what, key), "annotation values must be strings")


def validate_object(path, obj):
    """Structural checks that the API server would otherwise reject half-way through a run."""
    if not isinstance(obj, dict):
        raise SpecError(path, "must be an object (mapping), not %s" % type(obj).__name__)
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str) or not _API_VERSION.fullmatch(api_version):
        raise SpecError(path + ".apiVersion", "%r is not a valid apiVersion (e.g. v1, apps/v1)" % (api_version,))
    kind = obj.get("kind")
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise SpecError(path + ".kind", "%r is not a valid kind (e.g. Deployment)" % (kind,))
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise SpecError(path + ".metadata", "is required and must be a mapping")
    name = meta.get("name")
    if meta.get("generateName") and not name:
        raise SpecError(path + ".metadata.name", "is required (generateName is not supported: it is not idempotent)")
    valid = is_dns_label(name) if kind in _LABEL_NAMED_KINDS else is_dns_subdomain(name)
    if kind not in _LABEL_NAMED_KINDS and isinstance(name, str) and ":" in name and kind.startswith("Cluster"):
        valid = True  # e.g. system:aggregate-to-view ClusterRoles
    if not valid:
        raise SpecError(path + ".metadata.name", "%r is not a valid %s name (%s)" % (
            name, kind, "lowercase RFC 1123 label, at most 63 characters" if kind in _LABEL_NAMED_KINDS
            else "lowercase RFC 1123 subdomain, at most 253 characters"))
    namespace = meta.get("namespace")
    if namespace is not None and not is_dns_label(namespace):
        raise SpecError(path + ".metadata.namespace", "%r is not a valid namespace name" % (namespace,))
    _check_map(path, "labels", meta.get("labels"), True)
    _check_map(path, "annotations", meta.get("annotations"), False)
    for forbidden in ("resourceVersion", "uid", "managedFields"):
        if meta.get(forbidden):
            raise SpecError(path + ".metadata." + forbidden,
                            "must not be set in a desired manifest (it comes from the server)")
    _check_quantities(obj.get("spec"), path + ".spec")
    if kind == "Secret":
        for key in ("data", "stringData"):
            if obj.get(key) is not None and not isinstance(obj.get(key), dict):
                raise SpecError("%s.%s" % (path, key), "must be a mapping")
        for key, value in (obj.get("data") or {}).items():
            try:
                base64.b64decode(value, validate=True)
            except (TypeError, ValueError):
                raise SpecError("%s.data.%s" % (path, key), "is not valid base64 (use stringData for plain text)")
        for key, value in (obj.get("stringData") or {}).items():
            if isinstance(value, (dict, list)) or value is None:
                # never show the value: it is a secret
                raise SpecError("%s.stringData.%s" % (path, key), "must be a string, not a %s" % (
                    "null" if value is None else type(value).__name__))


def _check_quantities(node, path):
    """Resource requests/limits anywhere in the object must be valid quantities."""
    if isinstance(node, dict):
        for key, value in node.items():
            sub = "%s.%s" % (path, key)
            if key in ("limits", "requests") and path.endswith(".resources") and isinstance(value, dict):
                for res_name, qty in value.items():
                    if not quantity.is_quantity(qty):
                        raise SpecError("%s.%s" % (sub, res_name),
                                        "%r is not a valid quantity (e.g. 500m, 2, 1Gi)" % (qty,))
            else:
                _check_quantities(value, sub)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _check_quantities(item, "%s[%d]" % (path, i))


def fingerprint(obj):
    """A stable hash of a manifest's content (key order does not matter) that reveals no Secret value.

    The applied marker: it changes whenever the set of fields we apply changes.  The
    values of a Secret's ``data`` are left out (the keys stay in): the hash sits in an
    annotation anyone who can read the object sees, and a hash of a short password is
    guessed offline.  Secret values are compared with the live object directly instead.
    """
    if obj.get("kind") == "Secret" and isinstance(obj.get("data"), dict):
        obj = dict(obj, data={k: "" for k in obj["data"]})
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def prepare(obj, instance, applyset_id=None, path="definition"):
    """Return the manifest to send (a copy): ownership labels, stringData folded into data, applied marker.

    ``obj`` must have passed ``validate_object``.  Raises SpecError when the manifest
    sets an ownership label to another value.
    """
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    labels = dict(meta.get("labels") or {})
    for key, value in ownership_labels(instance, applyset_id).items():
        if key in labels and labels[key] != value:
            raise SpecError("%s.metadata.labels.%s" % (path, key),
                            "is reserved for ownership and must be %r (or left out), not %r" % (value, labels[key]))
        labels[key] = value
    meta["labels"] = labels
    if out["kind"] == "Secret" and out.get("stringData"):
        data = dict(out.get("data") or {})
        for key, value in out.pop("stringData").items():
            if not isinstance(value, str):
                value = str(value)
            data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
        out["data"] = data
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(APPLIED_ANNOTATION, None)
    meta["annotations"] = annotations
    annotations[APPLIED_ANNOTATION] = fingerprint(out)
    return out


# Marks other tools leave on the objects they manage: (where, key, description).
_FOREIGN_MARKS = (
    ("annotations", "meta.helm.sh/release-name", "Helm release %s"),
    ("labels", "helm.toolkit.fluxcd.io/name", "Flux HelmRelease %s"),
    ("labels", "kustomize.toolkit.fluxcd.io/name", "Flux Kustomization %s"),
    ("labels", "argocd.argoproj.io/instance", "Argo CD application %s"),
    ("annotations", "argocd.argoproj.io/tracking-id", "Argo CD (tracking id %s)"),
    ("labels", "kapp.k14s.io/app", "kapp app %s"),
)

OURS = "ours"
OTHER_INSTANCE = "other-instance"
FOREIGN = "foreign"
UNMANAGED = "unmanaged"


def ownership(live, applyset_id, instance, legacy_ok=True):
    """Who owns an existing object, from its labels, annotations and owner references.

    Returns ``(verdict, description)``:
      * OURS: a member of this ApplySet (or an object of this instance from before
        ApplySets, labelled for this instance and without another ApplySet);
      * OTHER_INSTANCE: labelled by skywalking.swck for another instance;
      * FOREIGN: managed by another tool (Helm, Flux, Argo CD, another ApplySet,
        another ``app.kubernetes.io/managed-by``) or controlled by another object;
      * UNMANAGED: no marks at all (created by hand: ``kubectl create``).
    """
    meta = live.get("metadata") or {}
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    member_of = labels.get(APPLYSET_PART_OF_LABEL)
    if labels.get(MANAGED_BY_LABEL) == MANAGED_BY:
        legacy = not member_of and INSTANCE_LABEL not in labels and labels.get(LEGACY_INSTANCE_LABEL) == instance
        mine = labels.get(INSTANCE_LABEL) == instance
        # both must hold: the ApplySet (a parent name another tool could also derive) and the instance
        if (member_of == applyset_id and mine) or (legacy_ok and not member_of and mine) or (legacy_ok and legacy):
            return OURS, "this instance"
        other = labels.get(INSTANCE_LABEL) or labels.get(LEGACY_INSTANCE_LABEL) or "?"
        if other == instance:
            return OTHER_INSTANCE, "instance %s of another ApplySet (%s)" % (other, member_of)
        return OTHER_INSTANCE, "skywalking.swck instance %s" % other
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return FOREIGN, "controlled by %s %s" % (ref.get("kind"), ref.get("name"))
    if member_of:
        return FOREIGN, "ApplySet %s" % member_of
    for where, key, text in _FOREIGN_MARKS:
        value = (labels if where == "labels" else annotations).get(key)
        if value:
            return FOREIGN, text % value
    if labels.get(MANAGED_BY_LABEL):
        return FOREIGN, "%s=%s" % (MANAGED_BY_LABEL, labels[MANAGED_BY_LABEL])
    return UNMANAGED, "created outside skywalking.swck (no ownership labels)"


def object_ref(obj):
    """``Kind namespace/name`` (or ``Kind name``) for messages."""
    meta = obj.get("metadata") or {}
    if meta.get("namespace"):
        return "%s %s/%s" % (obj.get("kind"), meta["namespace"], meta.get("name"))
    return "%s %s" % (obj.get("kind"), meta.get("name"))


def group_of(api_version):
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def identity(obj):
    """Key identifying an object regardless of API version: (group, kind, namespace, name)."""
    meta = obj.get("metadata") or {}
    return (group_of(obj.get("apiVersion", "")), obj.get("kind"), meta.get("namespace") or "", meta.get("name"))
