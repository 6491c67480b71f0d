# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
from __future__ import annotations

import copy

import yaml

from ansible_collections.skywalking.swck.plugins.module_utils.k8s import manifest
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking import render, spec, status
from ansible_collections.skywalking.swck.plugins.module_utils.skywalking.builders import cluster


def normalized(**extra):
    raw = {"name": "sw", "namespace": "obs"}
    raw.update(extra)
    return spec.normalize(raw)[0]


# --------------------------------------------------------------------------- render


def test_render_paths_follow_stages_and_objects():
    plan = cluster.build(normalized(oap={"config_files": {"oal/core.oal": "a\nb\n"}},
                                    telemetry={"event_exporter": {"enabled": True}}))
    files = render.render(plan)
    assert len(files) == len(plan)
    paths = [path for path, _text in files]
    assert len(set(paths)) == len(paths)
    assert paths[0] == "10-foundation/serviceaccount-sw-oap.yaml"
    assert "10-foundation/configmap-sw-oap-config.yaml" in paths
    assert "10-foundation/clusterrole-skywalking-swck-obs-sw-event-exporter.yaml" in paths
    assert [p.split("/")[0] for p in paths][-1] == "50-frontends"
    assert "20-storage/statefulset-sw-banyandb.yaml" in paths
    assert any(p.startswith("30-schema/job-sw-oap-init-") for p in paths)
    assert "40-oap/deployment-sw-oap.yaml" in paths
    folders = [p.split("/")[0] for p in paths]
    assert folders == sorted(folders)


def test_render_round_trips_and_reads_well():
    plan = cluster.build(normalized(oap={"config_files": {"application.yml": "core:\n  default: {}\n"}}))
    files = render.render(plan)
    for (path, text), obj in zip(files, plan.objects()):
        assert text.startswith("apiVersion: ")
        assert text.splitlines()[1].startswith("kind: ")
        assert yaml.safe_load(text) == obj, path
    config = dict(files)["10-foundation/configmap-sw-oap-config.yaml"]
    assert "application.yml: |\n    core:\n      default: {}\n" in config


def test_render_is_stable():
    first = render.render(cluster.build(normalized(satellite={"enabled": True})))
    second = render.render(cluster.build(normalized(satellite={"enabled": True})))
    assert first == second
    stream = render.render_stream(cluster.build(normalized()))
    assert stream.count("---\n") == len(cluster.build(normalized()))
    assert [d["kind"] for d in yaml.safe_load_all(stream)] == [o["kind"] for o in cluster.build(normalized()).objects()]


def test_render_with_the_engine_preparation():
    plan = cluster.build(normalized())
    files = render.render(plan, prepare=lambda obj: manifest.prepare(obj, "sw"))
    first = yaml.safe_load(files[0][1])
    assert first["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "skywalking.swck"
    assert manifest.APPLIED_ANNOTATION in first["metadata"]["annotations"]


# --------------------------------------------------------------------------- status


def live(plan, ready=True):
    """The plan's objects as the API would return them once the controllers did their work."""
    out = []
    for obj in plan.objects():
        obj = copy.deepcopy(obj)
        obj["metadata"]["generation"] = 1
        if obj["kind"] in ("Deployment", "StatefulSet"):
            want = obj["spec"].get("replicas", 2)
            obj["spec"].setdefault("replicas", want)
            got = want if ready else 0
            obj["status"] = {"observedGeneration": 1, "replicas": want, "readyReplicas": got, "updatedReplicas": want,
                             "availableReplicas": got}
            if obj["kind"] == "StatefulSet":
                obj["status"].update(currentRevision="r1", updateRevision="r1")
        if obj["kind"] == "Job":
            obj["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]} if ready else \
                {"active": 1}
        out.append(obj)
    return out


def test_status_of_a_ready_cluster():
    value = normalized(satellite={"enabled": True})
    result = status.summarize(value, live(cluster.build(value)))
    assert result["ready"] is True
    by_name = {c["name"]: c for c in result["components"]}
    assert by_name["sw-oap"]["state"] == "Ready" and by_name["sw-oap"]["desired"] == 2
    assert by_name["sw-oap"]["version"] == "11.0.0"
    assert by_name["sw-banyandb"]["version"] == "0.11.0"
    assert by_name["sw-ui"]["image"] == "apache/skywalking-ui:horizon-0.7.0"
    assert result["init_job"]["state"] == "Complete" and result["init_job"]["current"] is True
    assert result["endpoints"]["agents"] == "sw-satellite.obs.svc:11800"
    assert result["endpoints"]["ui"] == "http://sw-ui.obs.svc:80"
    assert result["endpoints"]["oap_rest"] == "http://sw-oap.obs.svc:12800"
    lines = result["summary"]
    assert lines[0].split() == ["COMPONENT", "KIND", "NAME", "READY", "UP-TO-DATE", "VERSION", "STATUS"]
    assert lines[1].split() == ["oap", "Deployment", "sw-oap", "2/2", "2", "11.0.0", "Ready"]
    assert any(line.split()[:2] == ["init", "Job"] and line.endswith("Complete") for line in lines)
    assert "agents: sw-satellite.obs.svc:11800" in lines


def test_status_while_rolling_out_and_missing_parts():
    value = normalized(oap={"mode": "split"})
    objs = live(cluster.build(value), ready=False)
    objs = [o for o in objs if o["metadata"]["name"] != "sw-ui"]
    result = status.summarize(value, objs)
    assert result["ready"] is False
    by_name = {c["name"]: c for c in result["components"]}
    assert by_name["sw-oap-receiver"]["state"] == "Progressing"
    assert by_name["sw-oap-aggregator"]["component"] == "oap-aggregator"
    assert by_name["sw-ui"]["state"] == "Missing" and by_name["sw-ui"]["desired"] is None
    assert result["init_job"]["state"] == "Running"
    assert result["endpoints"]["agents"] == "sw-oap.obs.svc:11800"


def test_status_reports_failures_restarts_and_stale_init_jobs():
    value = normalized()
    objs = live(cluster.build(value))
    for obj in objs:
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "sw-oap":
            obj["status"]["conditions"] = [{"type": "Progressing", "status": "False",
                                            "reason": "ProgressDeadlineExceeded", "message": "took too long"}]
        if obj["kind"] == "Job":
            obj["metadata"]["name"] = "sw-oap-init-0123456789"
            obj["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]}
    pod = {"kind": "Pod", "metadata": {"name": "sw-oap-x", "labels": {
        "app.kubernetes.io/name": "skywalking", "app.kubernetes.io/instance": "sw", "app.kubernetes.io/component": "oap",
        "skywalking.swck/oap-role": "mixed"}},
        "status": {"containerStatuses": [{"restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    result = status.summarize(value, objs + [pod])
    oap_status = result["components"][0]
    assert oap_status["state"] == "Failed" and oap_status["restarts"] == 4
    assert oap_status["waiting"] == ["CrashLoopBackOff"]
    assert oap_status["conditions"][0]["reason"] == "ProgressDeadlineExceeded"
    job = result["init_job"]
    assert job["state"] == "Failed" and job["current"] is False and job["name"] == "sw-oap-init-0123456789"
    assert job["expected"] != job["name"]
    assert "Failed (CrashLoopBackOff)" in result["summary"][1]
    assert result["ready"] is False


def test_status_external_endpoints():
    value = normalized(ui={"ingress": {"enabled": True, "host": "sw.example.com", "tls_secret": "tls"}},
                       oap={"service": {"type": "LoadBalancer"}})
    objs = live(cluster.build(value))
    for obj in objs:
        if obj["kind"] == "Service" and obj["metadata"]["name"] == "sw-oap":
            obj["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    eps = status.summarize(value, objs)["endpoints"]
    assert eps["ui_external"] == "https://sw.example.com/"
    assert eps["agents_external"] == "203.0.113.7:11800"
    routed = normalized(ui={"route": {"enabled": True}})
    context = {"api_versions": ["route.openshift.io/v1"]}
    objs = live(cluster.build(routed, context))
    for obj in objs:
        if obj["kind"] == "Route":
            obj["status"] = {"ingress": [{"host": "sw-ui-obs.apps.example.com"}]}
    assert status.summarize(routed, objs, context)["endpoints"]["ui_external"] == "https://sw-ui-obs.apps.example.com/"


def test_status_of_nothing():
    value = normalized()
    result = status.summarize(value, [])
    assert result["ready"] is False
    assert {c["state"] for c in result["components"]} == {"Missing"}
    assert result["init_job"]["state"] == "Missing"


def test_scaled_to_zero_counts_as_settled():
    value = normalized(oap={"replicas": 0, "pdb": {"enabled": False}})
    result = status.summarize(value, live(cluster.build(value)))
    assert result["components"][0]["state"] == "ScaledToZero"
    assert result["ready"] is True
