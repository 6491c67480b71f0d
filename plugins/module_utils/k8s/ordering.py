# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Apply order: what must exist before what.  Pure.

Objects in one phase do not depend on each other and are applied
concurrently; phases run one after another.  Deletion (prune) runs the
phases backwards.
"""

from __future__ import annotations

NAMESPACES = 0
DEFINITIONS = 1
CONFIG = 2
BINDINGS = 3  # after the Roles they bind: creating a binding to a missing Role is refused for non-admins
WORKLOADS = 4
LATE = 5

_PHASE = {
    "Namespace": NAMESPACES,
    "CustomResourceDefinition": DEFINITIONS,
    "PriorityClass": DEFINITIONS,
    "StorageClass": DEFINITIONS,
    "IngressClass": DEFINITIONS,
    "ResourceQuota": CONFIG,
    "LimitRange": CONFIG,
    "ServiceAccount": CONFIG,
    "Secret": CONFIG,
    "ConfigMap": CONFIG,
    "ClusterRole": CONFIG,
    "ClusterRoleBinding": BINDINGS,
    "Role": CONFIG,
    "RoleBinding": BINDINGS,
    "PersistentVolume": CONFIG,
    "PersistentVolumeClaim": CONFIG,
    "Service": CONFIG,
    "NetworkPolicy": CONFIG,
    "PodDisruptionBudget": CONFIG,
    "Ingress": CONFIG,
    "Deployment": WORKLOADS,
    "StatefulSet": WORKLOADS,
    "DaemonSet": WORKLOADS,
    "ReplicaSet": WORKLOADS,
    "ReplicationController": WORKLOADS,
    "Job": WORKLOADS,
    "CronJob": WORKLOADS,
    "Pod": WORKLOADS,
    "HorizontalPodAutoscaler": LATE,
    "MutatingWebhookConfiguration": LATE,
    "ValidatingWebhookConfiguration": LATE,
}

# Kinds never pruned or deleted unless the caller names them (``prune_kinds``):
# deleting them destroys data or everything inside them.
PROTECTED_KINDS = frozenset([("", "Namespace"), ("", "PersistentVolumeClaim"), ("", "PersistentVolume"),
                             ("apiextensions.k8s.io", "CustomResourceDefinition")])


def phase_of(kind):
    """Phase of a kind; custom resources come last, after their definitions."""
    return _PHASE.get(kind, LATE)


def phases(items, kind_of):
    """Split ``items`` into ordered phases (lists), keeping input order inside each."""
    buckets = {}
    for item in items:
        buckets.setdefault(phase_of(kind_of(item)), []).append(item)
    return [buckets[p] for p in sorted(buckets)]
