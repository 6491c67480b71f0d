# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Is an object ready?  Pure functions over the object's status.

``evaluate(obj)`` returns ``(state, reason)`` with state READY, PENDING or
FAILED.  FAILED is terminal (a failed Job, a Deployment past its progress
deadline, a failed Pod): waiting longer will not help.
"""

from __future__ import annotations

READY = "ready"
PENDING = "pending"
FAILED = "failed"

WAITABLE_KINDS = frozenset(["Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "CustomResourceDefinition",
                            "Namespace", "ReplicaSet"])


def _conditions(obj):
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


def _generation_seen(obj):
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    generation = meta.get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return False, "waiting for the controller to observe generation %s (seen %s)" % (generation, observed)
    return True, ""


def _replicas(obj):
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else value


def deployment(obj):
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    if spec.get("paused"):
        return PENDING, "rollout is paused"
    seen, why = _generation_seen(obj)
    cond = _conditions(obj).get("Progressing")
    if cond and cond.get("reason") == "ProgressDeadlineExceeded":
        return FAILED, "progress deadline exceeded: %s" % cond.get("message", "")
    if not seen:
        return PENDING, why
    want = _replicas(obj)
    updated = status.get("updatedReplicas") or 0
    total = status.get("replicas") or 0
    available = status.get("availableReplicas") or 0
    if updated < want:
        return PENDING, "%d of %d replicas updated" % (updated, want)
    if total > updated:
        return PENDING, "%d old replica(s) pending termination" % (total - updated)
    if available < want:
        return PENDING, "%d of %d updated replicas available" % (available, want)
    return READY, "%d/%d replicas available" % (available, want)


def statefulset(obj):
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    seen, why = _generation_seen(obj)
    if not seen:
        return PENDING, why
    want = _replicas(obj)
    ready = status.get("readyReplicas") or 0
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        partition = (strategy.get("rollingUpdate") or {}).get("partition") or 0
        need_updated = max(0, want - partition)
        updated = status.get("updatedReplicas") or 0
        if updated < need_updated:
            return PENDING, "%d of %d replicas updated (partition %d)" % (updated, need_updated, partition)
        if partition == 0 and status.get("updateRevision") and \
                status.get("currentRevision") != status.get("updateRevision") and updated < want:
            return PENDING, "rolling update to revision %s in progress" % status.get("updateRevision")
    if ready < want:
        return PENDING, "%d of %d replicas ready" % (ready, want)
    available = status.get("availableReplicas")
    if available is not None and available < want:
        return PENDING, "%d of %d replicas available" % (available, want)
    return READY, "%d/%d replicas ready" % (ready, want)


def daemonset(obj):
    status = obj.get("status") or {}
    seen, why = _generation_seen(obj)
    if not seen:
        return PENDING, why
    want = status.get("desiredNumberScheduled") or 0
    updated = status.get("updatedNumberScheduled") or 0
    available = status.get("numberAvailable") or 0
    if updated < want:
        return PENDING, "%d of %d pods updated" % (updated, want)
    if available < want:
        return PENDING, "%d of %d pods available" % (available, want)
    return READY, "%d/%d pods available" % (available, want)


def job(obj):
    conds = _conditions(obj)
    status = obj.get("status") or {}
    for kind in ("Failed", "FailureTarget"):
        cond = conds.get(kind)
        if cond and cond.get("status") == "True":
            return FAILED, "job failed: %s: %s" % (cond.get("reason", ""), cond.get("message", ""))
    cond = conds.get("Complete")
    if cond and cond.get("status") == "True":
        return READY, "complete (%s succeeded)" % status.get("succeeded", 0)
    if (obj.get("spec") or {}).get("suspend"):
        return PENDING, "job is suspended"
    return PENDING, "%s active, %s succeeded, %s failed" % (
        status.get("active", 0), status.get("succeeded", 0), status.get("failed", 0))


def pod(obj):
    status = obj.get("status") or {}
    phase = status.get("phase")
    if phase == "Succeeded":
        return READY, "succeeded"
    if phase == "Failed":
        return FAILED, "pod failed: %s" % (status.get("reason") or status.get("message") or container_problems(obj)
                                           or "no reason given")
    cond = _conditions(obj).get("Ready")
    if cond and cond.get("status") == "True":
        return READY, "ready"
    problems = container_problems(obj)
    sched = _conditions(obj).get("PodScheduled")
    if sched and sched.get("status") == "False":
        return PENDING, "not scheduled: %s" % (sched.get("message") or sched.get("reason"))
    return PENDING, "phase %s%s" % (phase or "Pending", ("; " + problems) if problems else "")


def container_problems(obj):
    """Human summary of containers that are not running and ready."""
    status = obj.get("status") or {}
    out = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in status.get(key) or []:
            state = cs.get("state") or {}
            last = (cs.get("lastState") or {}).get("terminated")
            name = cs.get("name")
            if "waiting" in state:
                w = state["waiting"] or {}
                text = "container %s waiting: %s" % (name, w.get("reason", ""))
                if w.get("message"):
                    text += " (%s)" % w["message"]
                if last:
                    text += ", last exit %s %s" % (last.get("exitCode"), last.get("reason", ""))
                if cs.get("restartCount"):
                    text += ", %d restarts" % cs["restartCount"]
                out.append(text)
            elif "terminated" in state and key == "containerStatuses":
                t = state["terminated"] or {}
                out.append("container %s terminated: %s exit %s" % (name, t.get("reason", ""), t.get("exitCode")))
            elif key == "containerStatuses" and not cs.get("ready"):
                out.append("container %s running but not ready" % name)
    return "; ".join(out)


def crd(obj):
    conds = _conditions(obj)
    names = conds.get("NamesAccepted")
    if names and names.get("status") == "False":
        return FAILED, "names not accepted: %s" % names.get("message", "")
    est = conds.get("Established")
    if est and est.get("status") == "True":
        return READY, "established"
    return PENDING, "not established yet"


def namespace(obj):
    phase = (obj.get("status") or {}).get("phase")
    if phase == "Terminating":
        return PENDING, "namespace is terminating"
    return READY, "active"


def replicaset(obj):
    seen, why = _generation_seen(obj)
    if not seen:
        return PENDING, why
    want = _replicas(obj)
    available = (obj.get("status") or {}).get("availableReplicas") or 0
    if available < want:
        return PENDING, "%d of %d replicas available" % (available, want)
    return READY, "%d/%d replicas available" % (available, want)


_BY_KIND = {
    "Deployment": deployment,
    "StatefulSet": statefulset,
    "DaemonSet": daemonset,
    "Job": job,
    "Pod": pod,
    "CustomResourceDefinition": crd,
    "Namespace": namespace,
    "ReplicaSet": replicaset,
}


def condition(obj, condition_type, wanted="True"):
    """``(state, reason)`` for "``status.conditions[type]`` has status ``wanted``" (custom resources).

    PENDING while the condition is missing, has another status, or the controller has not
    observed the current generation yet (when it reports ``observedGeneration``).
    """
    if obj is None:
        return PENDING, "does not exist"
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return PENDING, "is being deleted"
    seen, why = _generation_seen(obj) if "observedGeneration" in (obj.get("status") or {}) else (True, "")
    if not seen:
        return PENDING, why
    cond = _conditions(obj).get(condition_type)
    if cond is None:
        return PENDING, "no %s condition yet" % condition_type
    text = "%s=%s" % (condition_type, cond.get("status"))
    if cond.get("reason"):
        text += " (%s)" % cond["reason"]
    if cond.get("message"):
        text += ": %s" % cond["message"]
    if cond.get("status") == wanted:
        return READY, text
    return PENDING, text


def evaluate(obj):
    """``(state, reason)`` for any object; kinds without readiness are READY once they exist."""
    if obj is None:
        return PENDING, "does not exist"
    if (obj.get("metadata") or {}).get("deletionTimestamp") and obj.get("kind") != "Pod":
        return PENDING, "is being deleted"
    fn = _BY_KIND.get(obj.get("kind"))
    if fn is None:
        return READY, "exists"
    return fn(obj)
