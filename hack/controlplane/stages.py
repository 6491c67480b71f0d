# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""KWOK stage configuration: what the fake kubelet does with nodes and pods.

KWOK's own stages (copied from the kwok module at build time) make nodes Ready,
pods Running/Ready and Job pods Succeeded.  On top of them this module adds
*pod behaviours* selected by container image, so a test can make the pods of
one image misbehave while every other pod stays healthy:

``never-ready``
    the pod runs but its containers never pass readiness (Ready=False);
``crash-loop``
    every container is in ``CrashLoopBackOff`` after exiting with code 1;
``fail``
    the containers exit with code 1 and the pod ends ``Failed`` (a Job's pods fail).

KWOK picks one stage among those whose selector matches, so the stock
``pod-ready`` stage is narrowed to exclude the chosen images.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

IMAGE_KEY = ".spec.containers.[].image"

BEHAVIOURS = ("never-ready", "crash-loop", "fail")

_POD_ADDRESSES = """
{{ $hostIPs := NodeIPsWith .spec.nodeName }}
{{ with $hostIPs }}
hostIP: {{ index . 0 | Quote }}
hostIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
{{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
{{ with $podIPs }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
"""

_INIT_DONE = """
initContainerStatuses:
{{ range .spec.initContainers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: true
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      finishedAt: {{ $now | Quote }}
      reason: Completed
      startedAt: {{ $now | Quote }}
{{ end }}
"""

_NOT_READY_CONDITIONS = """
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: Initialized
- lastTransitionTime: {{ $now | Quote }}
  status: "True"
  type: PodScheduled
- lastTransitionTime: {{ $now | Quote }}
  message: "containers with unready status"
  reason: ContainersNotReady
  status: "False"
  type: Ready
- lastTransitionTime: {{ $now | Quote }}
  message: "containers with unready status"
  reason: ContainersNotReady
  status: "False"
  type: ContainersReady
"""

_EXITED = """
    terminated:
      exitCode: 1
      reason: Error
      message: "simulated failure (kwok %s stage)"
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}"""

_RUNNING = """
    running:
      startedAt: {{ $now | Quote }}"""

_BACK_OFF = (
    "\n    waiting:"
    "\n      reason: CrashLoopBackOff"
    '\n      message: "back-off restarting failed container"'
)


def _containers(started: bool, restarts: int, state: str, last_state: str = "") -> str:
    """containerStatuses for every container of the pod, none of them ready."""
    block = "\ncontainerStatuses:\n{{ range .spec.containers }}\n"
    block += "- image: {{ .image | Quote }}\n  name: {{ .name | Quote }}\n  ready: false\n"
    block += "  started: %s\n  restartCount: %d\n" % ("true" if started else "false", restarts)
    if last_state:
        block += "  lastState:" + last_state + "\n"
    return block + "  state:" + state + "\n{{ end }}\n"


# behaviour -> (containerStatuses, pod phase)
_BEHAVIOUR_STATUS = {
    "never-ready": (_containers(True, 0, _RUNNING), "Running"),
    "crash-loop": (_containers(False, 5, _BACK_OFF, _EXITED % "crash-loop"), "Running"),
    "fail": (_containers(False, 0, _EXITED % "fail"), "Failed"),
}


def _behaviour_stage(behaviour: str, images: list[str]) -> dict:
    containers, phase = _BEHAVIOUR_STATUS[behaviour]
    template = "{{ $now := Now }}\n" + _NOT_READY_CONDITIONS + containers + _INIT_DONE + _POD_ADDRESSES
    template += "phase: %s\nstartTime: {{ $now | Quote }}\n" % phase
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": f"swck-pod-{behaviour}"},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {
                "matchExpressions": [
                    {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
                    {"key": ".status.phase", "operator": "In", "values": ["Pending"]},
                    {"key": IMAGE_KEY, "operator": "In", "values": sorted(images)},
                ]
            },
            "next": {"statusTemplate": template},
        },
    }


def render(stage_dir: Path, behaviours: dict[str, list[str]] | None = None, extra: list[dict] | None = None) -> str:
    """Return the multi-document KWOK configuration."""
    behaviours = {k: list(v) for k, v in (behaviours or {}).items() if v}
    unknown = set(behaviours) - set(BEHAVIOURS)
    if unknown:
        raise ValueError(f"unknown pod behaviour(s) {sorted(unknown)}; known: {list(BEHAVIOURS)}")
    special = sorted({image for images in behaviours.values() for image in images})
    docs = []
    for path in sorted(stage_dir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            doc = copy.deepcopy(doc)
            if special and doc["metadata"]["name"] == "pod-ready":
                doc["spec"]["selector"]["matchExpressions"].append(
                    {"key": IMAGE_KEY, "operator": "NotIn", "values": special}
                )
            docs.append(doc)
    for behaviour, images in sorted(behaviours.items()):
        docs.append(_behaviour_stage(behaviour, images))
    docs.extend(extra or [])
    return yaml.safe_dump_all(docs, sort_keys=False)
