# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Properties of the Java agent injection on random pod templates and workloads.

* remove(inject(x)) is x exactly: same keys, same key order, same values (compared as JSON text);
* inject(inject(x)) is inject(x);
* a container never ends up with two SkyWalking -javaagent options, and keeps its own options.
"""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import inject as inj

NAMES = st.sampled_from(["app", "web", "worker", "envoy", "my-app", "db-proxy", "batch"])
ENV_NAMES = st.sampled_from(["JAVA_TOOL_OPTIONS", "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "SW_AGENT_NAME",
                             "SW_AGENT_COLLECTOR_BACKEND_SERVICES", "TZ", "FOO"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
JVM_OPTS = st.one_of(TEXT, st.lists(st.sampled_from(["-Xmx1g", "-Dfoo=bar", "-XX:+UseG1GC", "-javaagent:/opt/other.jar",
                                                     "-javaagent:/opt/skywalking-agent.jar", ""]),
                                    max_size=3).map(" ".join))


@st.composite
def ordered(draw, pairs):
    """A dict of the given (key, value) pairs, in a random key order."""
    items = draw(st.permutations(pairs))
    return dict(items)


@st.composite
def env_var(draw):
    name = draw(ENV_NAMES)
    shape = draw(st.sampled_from(["value", "value", "none", "null", "valueFrom"]))
    if shape == "value":
        return {"name": name, "value": draw(JVM_OPTS if "OPTIONS" in name else TEXT)}
    if shape == "none":
        return {"name": name}
    if shape == "null":
        return {"name": name, "value": None}
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}


def maybe_list(strategy, max_size=3):
    """A key that is absent (None here), null, empty, or a list."""
    return st.one_of(st.just("absent"), st.just(None), st.lists(strategy, max_size=max_size))


@st.composite
def container(draw, name):
    pairs = [("name", name), ("image", draw(st.sampled_from(["app:1", "registry/app@sha256:abc"])))]
    env = draw(maybe_list(env_var()))
    if env != "absent":
        pairs.append(("env", env))
    mounts = draw(maybe_list(st.builds(lambda n, p: {"name": n, "mountPath": p},
                                       st.sampled_from(["data", "cfg"]), st.sampled_from(["/data", "/etc/app", "/tmp"])),
                             max_size=2))
    if mounts != "absent":
        pairs.append(("volumeMounts", mounts))
    if draw(st.booleans()):
        pairs.append(("ports", [{"containerPort": draw(st.integers(1, 65535))}]))
    return draw(ordered(pairs))


ANNOTATION_POOL = [
    (inj.AGENT_PREFIX + "agent.service_name", st.sampled_from(["demo", "orders", "a.b"])),
    (inj.AGENT_PREFIX + "collector.backend_service", st.sampled_from(["oap:11800", "sw-oap.sw.svc:11800,sat:11800"])),
    (inj.AGENT_PREFIX + "agent.sevice_name", st.just("typo")),
    (inj.PLUGINS_PREFIX + "plugin.jdbc.trace_sql_parameters", st.sampled_from(["true", "false"])),
    (inj.OPTIONAL_ANNOTATION, st.sampled_from(["trace", "trace|webflux"])),
    (inj.OPTIONAL_REPORTER_ANNOTATION, st.just("kafka")),
    (inj.BOOTSTRAP_ANNOTATION, st.just("jdk-threading")),
    (inj.CONTAINER_ANNOTATION, st.sampled_from(["app", "^web$", "w", ".*", "nomatch", "("])),
    (inj.SIDECAR_PREFIX + "sidecarVolumeMount.MountPath", st.sampled_from(["/opt/sw", "/sky/agent"])),
    (inj.SIDECAR_PREFIX + "sidecarVolume.Name", st.sampled_from(["agent", "sky-agent"])),
    (inj.SIDECAR_PREFIX + "env.Name", st.sampled_from(["JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS"])),
    (inj.SIDECAR_PREFIX + "initcontainer.resources.limits", st.sampled_from(['{"memory": "64Mi"}', '{"cpu": "0"}'])),
    (inj.INJECTED_ANNOTATION, st.sampled_from(["false", "yes"])),
    ("example.com/owner", TEXT),
    ("checksum/config", st.just("abc")),
]


@st.composite
def annotations(draw):
    chosen = draw(st.lists(st.sampled_from(range(len(ANNOTATION_POOL))), unique=True, max_size=6))
    pairs = [(ANNOTATION_POOL[i][0], draw(ANNOTATION_POOL[i][1])) for i in chosen]
    return draw(ordered(pairs))


@st.composite
def pod_template(draw):
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    containers = [draw(container(n)) for n in names]
    spec_pairs = [("containers", containers)]
    inits = draw(maybe_list(st.builds(lambda n: {"name": n, "image": "busybox"}, st.sampled_from(["migrate", "wait"])),
                            max_size=1))
    if inits != "absent":
        spec_pairs.append(("initContainers", inits))
    volumes = draw(maybe_list(st.builds(lambda n: {"name": n, "emptyDir": {}}, st.sampled_from(["data", "cfg"])),
                              max_size=1))
    if volumes != "absent":
        spec_pairs.append(("volumes", volumes))
    if draw(st.booleans()):
        spec_pairs.append(("restartPolicy", "Always"))
    labels = {"app": "demo", inj.INJECTION_LABEL: draw(st.sampled_from(["true", "True", "TRUE", "true", "false"]))}
    meta_pairs = [("labels", draw(ordered(list(labels.items()))))]
    shape = draw(st.sampled_from(["absent", "null", "empty", "some"]))
    if shape == "null":
        meta_pairs.append(("annotations", None))
    elif shape == "empty":
        meta_pairs.append(("annotations", {}))
    elif shape == "some":
        meta_pairs.append(("annotations", draw(annotations())))
    return draw(ordered([("metadata", draw(ordered(meta_pairs))), ("spec", draw(ordered(spec_pairs)))]))


@st.composite
def workload(draw):
    tpl = draw(pod_template())
    kind = draw(st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", None]))
    if kind is None:
        return tpl
    meta = {"name": "w", "namespace": "apps"}
    if kind == "Pod":
        meta.update(tpl["metadata"])
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": tpl["spec"]}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta,
                "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": tpl}}}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": {"template": tpl}}


DEFAULTS = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={
        "backend_service": st.sampled_from(["sw-oap.sw.svc:11800", "sw-satellite.sw.svc:11800"]),
        "ca_secret": st.just("sw-ca"),
        "env": st.just([{"name": "SW_AGENT_NAMESPACE", "value": "prod"}]),
        "optional_plugins": st.just(["trace"]),
    }))
SWAGENTS = st.lists(st.builds(
    lambda name, image, env, matcher: {"kind": "SwAgent", "metadata": {"name": name, "namespace": "apps"}, "spec": dict(
        [("javaSidecar", {"image": image, "env": env})] + ([("containerMatcher", matcher)] if matcher else []))},
    st.sampled_from(["a", "b", "c"]), st.sampled_from(["agent:1", "agent:2"]),
    st.just([{"name": "SW_AGENT_NAME", "value": "from-swagent"}, {"name": "TZ", "value": "UTC"}]),
    st.sampled_from([None, ".*", "app"])), max_size=2, unique_by=lambda a: a["metadata"]["name"])


def text(obj):
    return json.dumps(obj)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=workload(), defaults=DEFAULTS, swagents=SWAGENTS)
def test_remove_after_inject_is_the_identity(obj, defaults, swagents):
    original = text(obj)
    injected = inj.inject_object(obj, defaults, swagents)
    assert text(obj) == original, "inject must not modify its input"
    assert injected.report["status"] in ("injected", "skipped", "error")
    if injected.report["status"] == "injected":
        assert inj.is_injected(injected.obj)
    removed = inj.remove_object(injected.obj)
    assert text(removed.obj) == original


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=workload(), defaults=DEFAULTS, swagents=SWAGENTS)
def test_inject_is_idempotent(obj, defaults, swagents):
    once = inj.inject_object(obj, defaults, swagents)
    twice = inj.inject_object(once.obj, defaults, swagents)
    assert text(twice.obj) == text(once.obj)
    assert not twice.report["changed"]
    if once.report["status"] == "injected":
        assert twice.report["status"] == "already_injected"


def agents(value):
    if not isinstance(value, str):
        return 0
    return sum(1 for part in value.split() if part.startswith("-javaagent:") and "skywalking-agent.jar" in part)


@settings(max_examples=300, deadline=None)
@given(obj=workload(), defaults=DEFAULTS)
def test_one_agent_per_container_and_own_options_kept(obj, defaults):
    outcome = inj.inject_object(obj, defaults)
    if outcome.report["status"] != "injected":
        return
    path = inj.template_path(outcome.obj)
    before, after = obj, outcome.obj
    for key in path:
        before, after = before[key], after[key]
    originals = dict((c["name"], c) for c in before["spec"]["containers"])
    for item in after["spec"]["containers"]:
        if item["name"] not in outcome.report["containers"]:
            assert item == originals[item["name"]]
            continue
        own_agents = {}
        for e in originals[item["name"]].get("env") or []:
            # a name given twice (Kubernetes takes the last): each entry keeps what it had
            own_agents[e["name"]] = max(own_agents.get(e["name"], 0), agents(e.get("value")))
        for var in item["env"]:
            # never a second agent: at most one, or as many as the container's own value already had
            assert agents(var.get("value")) <= max(1, own_agents.get(var["name"], 0))
        own = [e for e in originals[item["name"]].get("env") or [] if isinstance(e.get("value"), str)]
        for var in own:
            # the container's own option text is still there (merged values start with it)
            now = [e for e in item["env"] if e["name"] == var["name"]]
            assert any(isinstance(e.get("value"), str) and e["value"].startswith(var["value"]) for e in now)


def test_properties_see_both_outcomes():
    """The generators reach injection, errors and skips (so the properties above are not vacuous)."""
    seen = set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(obj=workload())
    def collect(obj):
        seen.add(inj.inject_object(copy.deepcopy(obj)).report["status"])

    collect()
    assert {"injected", "error", "skipped"} <= seen
