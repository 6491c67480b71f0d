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

_CONTAINERS = {
    "never-ready": """
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
""",
    "crash-loop": """
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: 5
  lastState:
    terminated:
      exitCode: 1
      reason: Error
      message: "simulated crash (kwok crash-loop stage)"
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: "back-off restarting failed container"
{{ end }}
""",
}


_FAILED_CONTAINERS = """
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: 1
      reason: Error
      message: "simulated failure (kwok fail stage)"
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
"""


def _behaviour_stage(behaviour: str, images: list[str]) -> dict:
    template = "{{ $now := Now }}\n" + _NOT_READY_CONDITIONS
    if behaviour == "fail":
        template += _FAILED_CONTAINERS + _INIT_DONE + _POD_ADDRESSES
        template += "phase: Failed\nstartTime: {{ $now | Quote }}\n"
    else:
        template += _CONTAINERS[behaviour] + _INIT_DONE + _POD_ADDRESSES
        template += "phase: Running\nstartTime: {{ $now | Quote }}\n"
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
