# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Point Istio's mesh config at SkyWalking, and undo it: the I/O half of ``skywalking/istio.py``.

Istio owns its mesh ConfigMap (``istio``, or ``istio-<revision>``, in Istio's namespace; usually
installed by Helm or istioctl).  This code does not take it over: it writes only the ``mesh`` key and
its own annotations (``istio.RECORD_ANNOTATION``, and ``TEXT_ANNOTATION``: the text before the first
merge, written back on removal when the settings are the same again), with one JSON merge patch carrying the
ConfigMap's ``resourceVersion`` as a precondition (a ConfigMap changed since it was read is read
again and the change recomputed once), field manager ``skywalking.swck/mesh``.  The record keeps the
values this changed, so ``state=absent`` puts them back (``istio.restore_mesh_config``).

The OAP side is returned as data for the provisioning code: the Envoy receiver env vars
(``istio.oap_mesh_env``) and the read-only cluster RBAC rules (``istio.mesh_cluster_rules``).  With
``rbac=True`` a ClusterRole and ClusterRoleBinding for OAP's ServiceAccount (``<cluster>-oap``) are
applied here, through ``Engine.apply`` as the instance ``<cluster>-mesh`` (an ApplySet in the
cluster's namespace), so ``state=absent`` deletes exactly them.  Where they are is also recorded on the
ConfigMap (``RBAC_ANNOTATION``: ``<namespace>/<instance>``), so a removal without ``cluster`` finds them too;
the removal deletes them before it writes the ConfigMap, so the record outlives a failed deletion.

Every option is checked, and with ``rbac`` the cluster's namespace must exist (the instance's ApplySet
parent lives there), before the first write: a refusal leaves the ConfigMap as it was.
"""

from __future__ import annotations

from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import CHANGING_ACTIONS
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.errors import ApiError, SpecError, SwckError
from ansible_collections.skywalking.swck.plugins.module_utils.k8s.manifest import is_dns_label, is_dns_subdomain
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject, istio, names

FIELD_MANAGER = "skywalking.swck/mesh"
RBAC_API = "rbac.authorization.k8s.io/v1"
INSTANCE_SUFFIX = "-mesh"
# The mesh text as it was before the first merge (so an exact removal restores its quoting and comments).
TEXT_ANNOTATION = "skywalking.swck/mesh-config-text"
# Where this module applied OAP's mesh RBAC: ``<cluster namespace>/<cluster>-mesh`` (the apply instance).
RBAC_ANNOTATION = "skywalking.swck/mesh-rbac"


def configmap_name(revision=None, configmap=None):
    """The mesh ConfigMap's name: ``configmap``, else ``istio-<revision>``, else ``istio``.  Raises SpecError."""
    if configmap:
        if not is_dns_subdomain(configmap):
            raise SpecError("configmap", "%r is not a ConfigMap name" % (configmap,))
        return configmap
    if revision:
        name = "%s-%s" % (istio.MESH_CONFIGMAP, revision)
        if not is_dns_subdomain(name):
            raise SpecError("revision", "%r does not make a ConfigMap name (istio-<revision>)" % (revision,))
        return name
    return istio.MESH_CONFIGMAP


def cluster_role_name(spec):
    """The ClusterRole/ClusterRoleBinding of a cluster's mesh access: namespace and name in it (cluster-scoped)."""
    return "skywalking-swck:%s:%s:oap-mesh" % (spec["namespace"], spec["name"])


def mesh_address(spec, via_satellite=False):
    """``<service>.<namespace>.svc:11800`` of the cluster's OAP (receiver) Service, or its Satellite Service."""
    if via_satellite and not (spec.get("satellite") or {}).get("enabled"):
        raise SpecError("via_satellite", "cluster %s has no Satellite (cluster.satellite.enabled is false)"
                        % spec["name"])
    return inject.collector_address(spec["name"], spec["namespace"], satellite=via_satellite,
                                    oap_service=names.oap_service(spec), satellite_service=names.satellite(spec))


def rbac_objects(spec, service_entries=True):
    """The ClusterRole and ClusterRoleBinding that give OAP's ServiceAccount what ``k8s-mesh`` reads."""
    name = cluster_role_name(spec)
    return [
        {"apiVersion": RBAC_API, "kind": "ClusterRole", "metadata": {"name": name},
         "rules": istio.mesh_cluster_rules(service_entries)},
        {"apiVersion": RBAC_API, "kind": "ClusterRoleBinding", "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": names.oap_account(spec), "namespace": spec["namespace"]}]},
    ]


def plan_change(live, state, address=None, metrics_address=None, access_log=True, metrics=True, stats_regexps=None,
                rbac_ref=None):
    """What to write to the mesh ConfigMap ``live``: ``(patch or None, info)``.  Pure.

    ``patch``: a JSON merge patch of ``data.mesh`` and the annotations, with the ConfigMap's
    ``resourceVersion`` (None when nothing changes).  ``info``: ``{"before", "after"}`` mesh texts,
    ``record`` (the record after), ``kept`` (dotted keys someone changed since, left as they are on
    removal).  The first merge also keeps the text as it was (``TEXT_ANNOTATION``): a removal that
    gives back the same settings writes that text, so quoting and comments come back too.  ``rbac_ref``
    (``<namespace>/<instance>``, with ``state=present``): recorded in ``RBAC_ANNOTATION``; a removal drops it.
    Raises SpecError.
    """
    data = live.get("data") or {}
    text = data.get(istio.MESH_KEY)
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    stored = annotations.get(istio.RECORD_ANNOTATION)
    saved = annotations.get(TEXT_ANNOTATION)
    patch = {}
    marks = {}
    info = {"before": text, "after": text, "record": stored, "kept": []}
    if state == "present":
        new_text, record, changed = istio.merge_mesh_config(text, address, metrics_address, access_log, metrics,
                                                            stats_regexps, record=stored)
        new_record = istio.record_text(record)
        if changed:
            patch["data"] = {istio.MESH_KEY: new_text}
            info["after"] = new_text
            if stored is None and text is not None and saved is None:
                marks[TEXT_ANNOTATION] = text
        if changed or (stored is not None and stored != new_record):
            marks[istio.RECORD_ANNOTATION] = new_record
            info["record"] = new_record
    elif stored is not None:
        new_text, kept, changed = istio.restore_mesh_config(text, stored)
        if saved is not None and istio.load_mesh(saved) == istio.load_mesh(new_text):
            new_text, changed = saved, saved != text
        info["kept"] = kept
        if changed:
            patch["data"] = {istio.MESH_KEY: new_text}
            info["after"] = new_text
        marks[istio.RECORD_ANNOTATION] = None
        info["record"] = None
    if state == "absent" and saved is not None:
        marks[TEXT_ANNOTATION] = None
    if state == "present" and rbac_ref and annotations.get(RBAC_ANNOTATION) != rbac_ref:
        marks[RBAC_ANNOTATION] = rbac_ref
    if state == "absent" and RBAC_ANNOTATION in annotations:
        marks[RBAC_ANNOTATION] = None
    if marks:
        patch["metadata"] = {"annotations": marks}
    if not patch:
        return None, info
    patch.setdefault("metadata", {})["resourceVersion"] = live["metadata"].get("resourceVersion")
    return patch, info


def reconcile(client, state="present", istio_namespace=istio.ISTIO_NAMESPACE, revision=None, configmap=None,
              cluster=None, address=None, metrics_address=None, via_satellite=False, access_log=True, metrics=True,
              stats_regexps=None, http_analysis=("k8s-mesh",), tcp_analysis=("k8s-mesh",), service_entries=True,
              rbac=False, check_mode=False):
    """Point (``state=present``) or un-point (``absent``) Istio's mesh config at SkyWalking; returns a dict.

    ``cluster``: a provisioning spec (``skywalking/spec.py``); the address defaults to its OAP Service
    (``via_satellite``: its Satellite Service); ``address`` overrides it.  ``rbac``: also apply (or
    delete) OAP's cluster RBAC for mesh metadata (needs ``cluster``).  The result holds ``changed``,
    ``configmap`` (namespace/name), ``address``, ``before``/``after`` mesh texts, ``record``, ``kept``,
    ``oap_env``, ``cluster_rules``, ``rbac`` (per-object actions), ``warnings``.
    Raises SpecError for invalid options (nothing written) and SwckError (the ConfigMap is missing, ...).
    """
    if state not in ("present", "absent"):
        raise SpecError("state", "must be present or absent")
    if not is_dns_label(istio_namespace or ""):
        raise SpecError("istio_namespace", "%r is not a namespace name" % (istio_namespace,))
    name = configmap_name(revision, configmap)
    spec = None
    warnings = []
    if cluster:
        from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import spec as sw_spec

        spec, _spec_warnings = sw_spec.normalize(cluster)
        if spec["oap"]["tls"]["grpc"]["secret"] and not via_satellite:
            warnings.append("OAP's gRPC port uses TLS (cluster.oap.tls.grpc): Envoy's access log and metrics "
                            "services need TLS settings for it, which this module does not write")
    if state == "present" and not address:
        if spec is None:
            raise SpecError("address", "give address (host:port of OAP's gRPC port) or cluster")
        address = mesh_address(spec, via_satellite)
    if rbac and spec is None:
        raise SpecError("rbac", "needs cluster (the OAP ServiceAccount is <cluster>-oap in the cluster's namespace)")
    oap_env = istio.oap_mesh_env(http_analysis, tcp_analysis, metrics_service=metrics)
    rules = istio.mesh_cluster_rules(service_entries)
    if state == "present":
        istio.desired_settings(address, metrics_address, access_log, metrics, stats_regexps)  # validate first
    rbac_ref = None
    if state == "present" and rbac:
        rbac_ref = "%s/%s" % (spec["namespace"], spec["name"] + INSTANCE_SUFFIX)
        _check_namespace(client, spec["namespace"])

    res = client.resource("v1", "ConfigMap")
    out = {"changed": False, "configmap": "%s/%s" % (istio_namespace, name), "address": address,
           "oap_env": oap_env, "cluster_rules": rules, "rbac": [], "kept": [], "warnings": warnings}
    live = client.read(res, istio_namespace, name)
    if state == "absent":
        # the RBAC first: when its deletion fails, the record on the ConfigMap still says where it is
        targets = []
        if spec is not None:
            targets.append((spec["namespace"], spec["name"] + INSTANCE_SUFFIX))
        recorded = (((live or {}).get("metadata") or {}).get("annotations") or {}).get(RBAC_ANNOTATION)
        if recorded:
            parsed = _parse_rbac_ref(recorded)
            if parsed is None:
                warnings.append("ConfigMap %s/%s: annotation %s=%r is not <namespace>/<instance>: ignored"
                                % (istio_namespace, name, RBAC_ANNOTATION, recorded))
            elif parsed not in targets:
                targets.append(parsed)
        for namespace, instance in targets:
            objects, rbac_changed, rbac_warnings = _rbac_delete(client, namespace, instance, check_mode)
            out["rbac"].extend(objects)
            out["changed"] = out["changed"] or rbac_changed
            warnings.extend(rbac_warnings)
    if live is None:
        if state == "absent":
            warnings.append("ConfigMap %s/%s does not exist: nothing to restore" % (istio_namespace, name))
            info = {"before": None, "after": None, "record": None, "kept": []}
        else:
            raise SwckError("ConfigMap %s/%s not found: is Istio installed in namespace %s%s?" % (
                istio_namespace, name, istio_namespace, "" if revision or configmap else
                " (for a revisioned install, give revision)"))
    else:
        info = _write(client, res, live, state, address, metrics_address, access_log, metrics, stats_regexps,
                      check_mode, rbac_ref)
        out["changed"] = out["changed"] or info.pop("changed")
    out.update(before=info["before"], after=info["after"], record=info["record"], kept=info["kept"])
    if info["kept"]:
        warnings.append("kept values someone changed since they were set: %s" % ", ".join(info["kept"]))
    if state == "present" and rbac:
        out["rbac"], rbac_changed, rbac_warnings = _rbac(client, spec, state, rbac, service_entries, check_mode)
        out["changed"] = out["changed"] or rbac_changed
        warnings.extend(rbac_warnings)
    return out


def _check_namespace(client, namespace):
    """The cluster's namespace must exist before anything is written (the RBAC's apply instance lives there)."""
    try:
        found = client.read(client.resource("v1", "Namespace"), None, namespace)
    except ApiError as err:
        if err.status == 403:
            return  # may not read it: the apply itself will say
        raise
    if found is None:
        raise SpecError("cluster.namespace", "namespace %s does not exist: OAP's mesh RBAC (rbac=true) is recorded "
                                             "there; create the cluster first (nothing was written)" % namespace)


def _parse_rbac_ref(text):
    parts = text.split("/") if isinstance(text, str) else []
    if len(parts) == 2 and is_dns_label(parts[0]) and is_dns_subdomain(parts[1]):
        return parts[0], parts[1]
    return None


def _rbac_delete(client, namespace, instance, check_mode):
    from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine

    result = Engine(client, check_mode=check_mode).delete(None, instance, namespace=namespace, delete_all=True)
    changed = any(o["action"] in CHANGING_ACTIONS for o in result.objects)
    warnings = [w for w in result.warnings if "has no ApplySet parent" not in w]
    return result.objects, changed, warnings


def _write(client, res, live, state, address, metrics_address, access_log, metrics, stats_regexps, check_mode,
           rbac_ref=None):
    for attempt in (1, 2):
        patch, info = plan_change(live, state, address, metrics_address, access_log, metrics, stats_regexps,
                                  rbac_ref)
        if patch is None:
            info["changed"] = False
            return info
        meta = live["metadata"]
        try:
            client.patch_merge(res, meta.get("namespace"), meta["name"], patch, field_manager=FIELD_MANAGER,
                               dry_run=check_mode)
        except ApiError as err:
            if err.status != 409 or attempt == 2:
                raise
            live = client.read(res, meta.get("namespace"), meta["name"])
            if live is None:
                raise SwckError("ConfigMap %s/%s was deleted while being changed"
                                % (meta.get("namespace"), meta["name"]))
            continue
        info["changed"] = True
        return info
    raise SwckError("unreachable")  # pragma: no cover


def _rbac(client, spec, state, rbac, service_entries, check_mode):
    from ansible_collections.skywalking.swck.plugins.module_utils.k8s.engine import Engine

    engine = Engine(client, check_mode=check_mode)
    instance = spec["name"] + INSTANCE_SUFFIX
    result = engine.apply(rbac_objects(spec, service_entries), instance, namespace=spec["namespace"], prune=True)
    changed = any(o["action"] in CHANGING_ACTIONS for o in result.objects)
    warnings = [w for w in result.warnings if "has no ApplySet parent" not in w]
    return result.objects, changed, warnings
