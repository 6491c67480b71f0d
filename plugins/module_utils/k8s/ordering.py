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
WORKLOADS = 3
LATE = 4

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
    "ClusterRoleBinding": CONFIG,
    "Role": CONFIG,
    "RoleBinding": CONFIG,
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

# Kinds never pruned unless the caller names them: deleting them destroys data
# or other people's objects.
NEVER_PRUNED_BY_DEFAULT = frozenset(["Namespace", "PersistentVolumeClaim", "PersistentVolume",
                                     "CustomResourceDefinition"])

# What a prune looks at by default, besides the kinds being applied.
DEFAULT_PRUNE_KINDS = (
    ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"), ("batch/v1", "CronJob"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("networking.k8s.io/v1", "NetworkPolicy"), ("networking.k8s.io/v1", "Ingress"),
    ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
)


def phase_of(kind):
    """Phase of a kind; custom resources come last, after their definitions."""
    return _PHASE.get(kind, LATE)


def phases(items, kind_of):
    """Split ``items`` into ordered phases (lists), keeping input order inside each."""
    buckets = {}
    for item in items:
        buckets.setdefault(phase_of(kind_of(item)), []).append(item)
    return [buckets[p] for p in sorted(buckets)]
