# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Sizing profiles: requests/limits per component, JVM heap, and the storage knobs that matter at scale.  Pure.

Memory requests equal memory limits for the JVM components (OAP, booster UI) so the heap we
derive from the limit is always backed.  The JVM heap is a share of the memory limit
(``oap.heap_percent``, default 60 %) and leaves the rest for off-heap memory: gRPC/Netty direct
buffers, metaspace, thread stacks, the BanyanDB client's buffers.

The storage knobs are OAP env names checked against both lines' lists (``oap_env.py``);
small keeps OAP's own defaults (bulk 5000 / 15 BanyanDB write threads / 2 ES concurrent
requests / SQL batch 100, from OAP's ``application.yml`` and ``bydb.yml``).
"""

from __future__ import annotations

PROFILES = ("small", "medium", "large")
DEFAULT_PROFILE = "small"

# component -> profile -> {"requests": {...}, "limits": {...}}
RESOURCES = {
    "oap": {
        "small": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "medium": {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "4Gi"}},
        "large": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "8", "memory": "8Gi"}},
    },
    "oap_init": {
        "small": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "medium": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "large": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    },
    "banyandb": {
        "small": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
        "medium": {"requests": {"cpu": "1", "memory": "4Gi"}, "limits": {"cpu": "4", "memory": "8Gi"}},
        "large": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "8", "memory": "16Gi"}},
    },
    "ui": {
        "small": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "medium": {"requests": {"cpu": "200m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "large": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}},
    },
    "satellite": {
        "small": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "medium": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}},
        "large": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "4", "memory": "2Gi"}},
    },
    "fetcher": {
        "small": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "medium": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "large": {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    },
    "event_exporter": {
        "small": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "256Mi"}},
        "medium": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        "large": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
    },
}

# OAP env per storage kind and profile ("small" = OAP's defaults, nothing set).
STORAGE_KNOBS = {
    "banyandb": {
        "medium": {"SW_STORAGE_BANYANDB_MAX_BULK_SIZE": "10000", "SW_STORAGE_BANYANDB_CONCURRENT_WRITE_THREADS": "20"},
        "large": {"SW_STORAGE_BANYANDB_MAX_BULK_SIZE": "20000", "SW_STORAGE_BANYANDB_CONCURRENT_WRITE_THREADS": "30"},
    },
    "elasticsearch": {
        "medium": {"SW_STORAGE_ES_BULK_ACTIONS": "10000", "SW_STORAGE_ES_CONCURRENT_REQUESTS": "4"},
        "large": {"SW_STORAGE_ES_BULK_ACTIONS": "20000", "SW_STORAGE_ES_CONCURRENT_REQUESTS": "8"},
    },
    "jdbc": {
        "medium": {"SW_STORAGE_MAX_SIZE_OF_BATCH_SQL": "200", "SW_STORAGE_ASYNC_BATCH_PERSISTENT_POOL_SIZE": "8"},
        "large": {"SW_STORAGE_MAX_SIZE_OF_BATCH_SQL": "500", "SW_STORAGE_ASYNC_BATCH_PERSISTENT_POOL_SIZE": "16"},
    },
}

# OAP's prepare threads (persistence workers), per profile; small keeps OAP's default (2).
CORE_KNOBS = {
    "medium": {"SW_CORE_PREPARE_THREADS": "4"},
    "large": {"SW_CORE_PREPARE_THREADS": "8"},
}

DEFAULT_HEAP_PERCENT = 60


def resource(component, profile, kind, name):
    """One value, e.g. ``resource("oap", "small", "limits", "memory") -> "2Gi"``."""
    return RESOURCES[component][profile][kind][name]


def storage_family(storage_type):
    if storage_type in ("elasticsearch", "opensearch"):
        return "elasticsearch"
    if storage_type in ("mysql", "postgresql"):
        return "jdbc"
    return storage_type


def storage_knobs(storage_type, profile):
    """OAP env for the storage kind at this profile (a new dict)."""
    out = dict(CORE_KNOBS.get(profile, {}))
    out.update(STORAGE_KNOBS.get(storage_family(storage_type), {}).get(profile, {}))
    return out


def heap_mebibytes(memory_limit_bytes, percent=DEFAULT_HEAP_PERCENT):
    """JVM heap in MiB for a container memory limit in bytes: ``percent`` of it, at least 256 MiB."""
    return max(256, int(memory_limit_bytes * percent // 100) // (1 << 20))


def profile_table():
    """Rows for the docs: (component, profile, requests cpu/memory, limits cpu/memory)."""
    out = []
    for component in sorted(RESOURCES):
        for profile in PROFILES:
            res = RESOURCES[component][profile]
            out.append((component, profile, res["requests"]["cpu"], res["requests"]["memory"],
                        res["limits"]["cpu"], res["limits"]["memory"]))
    return out
