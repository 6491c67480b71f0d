# Copyright (c) skywalking.swck contributors
# Licensed under the Apache License, Version 2.0 (see LICENSE)
"""Every module through ansible-playbook: idempotence, check mode, diff, bad input."""

from __future__ import annotations

import base64

from .test_engine import deployment, live


def apply_task(namespace, value="1", **extra):
    args = {
        "instance": "mod-" + namespace,
        "namespace": namespace,
        "definitions": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"value": value}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
             "stringData": {"password": "pw-" + value}},
            deployment("web", namespace, replicas=2),
        ],
    }
    args.update(extra)
    return {"name": "apply", "skywalking.swck.apply": args}


def test_apply_module_idempotent_with_zero_writes(playbook, namespace, audit):
    first = playbook.run([apply_task(namespace, wait=True)])
    assert first[0]["changed"] is True
    assert first[0]["counts"] == {"created": 3}
    audit.start()
    second = playbook.run([apply_task(namespace, wait=True)])
    assert second[0]["changed"] is False
    assert second[0]["counts"] == {"unchanged": 3}
    assert audit.writes() == []


def test_apply_module_check_mode_changes_nothing(playbook, control_plane, namespace, audit):
    playbook.run([apply_task(namespace)])
    audit.start()
    run = playbook.run([apply_task(namespace, value="2")], check=True)
    assert run[0]["changed"] is True
    assert run[0]["counts"] == {"configured": 2, "unchanged": 1}
    assert all("dryRun=All" in e["requestURI"] for e in audit.writes())
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace)["data"] == {"value": "1"}
    # check mode on a fresh namespace: a creation is predicted, nothing is persisted
    new_ns = namespace + "-x"
    run = playbook.run([{"skywalking.swck.apply": {"instance": "mod-check", "definitions": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": new_ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": new_ns}}]}}], check=True)
    assert run[0]["counts"] == {"created": 2}
    assert live(control_plane, "/api/v1/namespaces/" + new_ns) is None


def test_apply_module_diff_is_readable_and_masks_secrets(playbook, namespace):
    playbook.run([apply_task(namespace)])
    run = playbook.run([apply_task(namespace, value="2")], diff=True)
    diffs = {d["after_header"]: d for d in run[0]["diff"]}
    cm = diffs["ConfigMap %s/settings" % namespace]
    assert "value: '1'" in cm["before"] and "value: '2'" in cm["after"]
    assert "managedFields" not in cm["before"] + cm["after"]
    secret = diffs["Secret %s/creds" % namespace]
    assert "password: '********'" in secret["before"]
    assert "password: '******** (changed)'" in secret["after"]
    for plain in ("pw-1", "pw-2"):
        assert plain not in run.stdout
        assert base64.b64encode(plain.encode()).decode() not in run.stdout
    assert "Deployment %s/web" % namespace not in diffs  # unchanged: no diff
    # diff on a no-op run: nothing to show
    again = playbook.run([apply_task(namespace, value="2")], diff=True)
    assert again[0]["changed"] is False and again[0]["diff"] == []


def test_apply_module_bad_input_names_the_field_and_writes_nothing(playbook, namespace, audit):
    bad = apply_task(namespace)
    bad["skywalking.swck.apply"]["definitions"][2]["spec"]["template"]["spec"]["containers"][0]["resources"] = {
        "limits": {"memory": "plenty"}}
    audit.start()
    run = playbook.run([bad], expect_rc=2)
    assert run[0]["failed"] is True
    assert run[0]["msg"] == ("definitions[2].spec.template.spec.containers[0].resources.limits.memory: "
                             "'plenty' is not a valid quantity (e.g. 500m, 2, 1Gi)")
    assert audit.writes() == []
    run = playbook.run([{"skywalking.swck.apply": {"instance": "Bad Instance!", "definitions": []}}], expect_rc=2)
    assert run[0]["msg"].startswith("instance: ")


def test_apply_module_prune_and_absent(playbook, control_plane, namespace):
    playbook.run([apply_task(namespace)])
    task = apply_task(namespace, prune=True)
    task["skywalking.swck.apply"]["definitions"] = task["skywalking.swck.apply"]["definitions"][:1]
    run = playbook.run([task])
    assert sorted((o["kind"], o["action"]) for o in run[0]["objects"]) == [
        ("ConfigMap", "unchanged"), ("Deployment", "pruned"), ("Secret", "pruned")]
    absent = {"instance": "mod-" + namespace, "namespace": namespace, "state": "absent", "wait": True}
    refused = playbook.run([{"skywalking.swck.apply": absent}], expect_rc=2)
    assert "set delete_all=true" in refused[0]["msg"]
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace) is not None
    gone = playbook.run([{"skywalking.swck.apply": dict(absent, delete_all=True)}])
    assert gone[0]["changed"] is True
    assert [o["action"] for o in gone[0]["objects"]] == ["deleted"]
    assert live(control_plane, "/api/v1/namespaces/%s/configmaps/settings" % namespace) is None
    again = playbook.run([{"skywalking.swck.apply": dict(absent, delete_all=True)}])
    assert again[0]["changed"] is False and again[0]["objects"] == []


def test_apply_module_from_src_file_with_module_defaults(playbook, namespace, tmp_path):
    src = tmp_path / "rendered.yaml"
    src.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-file\n  namespace: %s\n"
                   "data:\n  a: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n"
                   "  namespace: %s\n" % (namespace, namespace))
    # Auth set once for the action group; no K8S_AUTH_* or default kubeconfig to fall back on.
    tasks = [{"name": "with module_defaults for the action group",
              "module_defaults": {"group/skywalking.swck.swck": {"kubeconfig": str(playbook.plane.kubeconfig)}},
              "block": [{"skywalking.swck.apply": {"instance": "src-" + namespace, "src": str(src)}},
                        {"skywalking.swck.cluster_info": {}}]}]
    run = playbook.run(tasks, env={"K8S_AUTH_KUBECONFIG": "", "KUBECONFIG": "/nonexistent"})
    assert run[0]["counts"] == {"created": 2}
    assert [o["source"] for o in run[0]["objects"]] == ["src[0]", "src[1]"]
    assert run[1]["ready_nodes"] == 3


def test_apply_module_src_that_is_not_a_manifest(playbook, namespace, tmp_path, audit):
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00")
    audit.start()
    failed = playbook.run([{"skywalking.swck.apply": {"instance": "bin-" + namespace, "src": str(binary)}}],
                          expect_rc=2)[0]
    assert failed["msg"] == "src: %s is not UTF-8 text (byte 0): give a YAML or JSON manifest" % binary
    missing = playbook.run([{"skywalking.swck.apply": {"instance": "bin-" + namespace,
                                                       "src": str(tmp_path / "nope.yaml")}}], expect_rc=2)[0]
    assert missing["msg"].startswith("src: cannot read %s:" % (tmp_path / "nope.yaml"))
    assert audit.writes() == []


def test_cluster_info_module(playbook, control_plane, audit, kube_version):
    audit.start()
    run = playbook.run([{"skywalking.swck.cluster_info": {}}])
    info = run[0]
    assert info["changed"] is False
    assert info["server"]["gitVersion"] == kube_version
    assert info["server"]["host"] == control_plane.server
    assert info["ready_nodes"] == 3
    assert [n["name"] for n in info["nodes"]] == ["kwok-node-0", "kwok-node-1", "kwok-node-2"]
    assert info["summary"][1].split() == ["NAME", "STATUS", "ROLES", "VERSION", "INTERNAL-IP"]
    assert info["summary"][2].split()[:2] == ["kwok-node-0", "Ready"]
    assert audit.writes() == []
    # check mode and diff mode: same answer, no change, no diff
    checked = playbook.run([{"skywalking.swck.cluster_info": {}}], check=True, diff=True)
    assert checked[0]["changed"] is False and "diff" not in checked[0]
    assert checked[0]["nodes"] == info["nodes"]
    assert audit.writes() == []


def test_auth_errors_are_clear(playbook, control_plane, tmp_path):
    run = playbook.run([{"skywalking.swck.cluster_info": {"kubeconfig": str(tmp_path / "missing")}}],
                       expect_rc=2)
    assert run[0]["msg"] == "kubeconfig: file %s does not exist" % (tmp_path / "missing")
    # A user without RBAC permissions: the API's 403 is reported, not a traceback.
    kubeconfig = control_plane.user_kubeconfig("nobody")
    run = playbook.run([{"skywalking.swck.cluster_info": {"kubeconfig": str(kubeconfig)}}], expect_rc=2)
    assert "403" in run[0]["msg"] and "forbidden" in run[0]["msg"].lower()
    # Impersonation (kubernetes.core option names): admin acting as that user is refused the same way.
    run = playbook.run([{"skywalking.swck.cluster_info": {"impersonate_user": "nobody"}}], expect_rc=2)
    assert "403" in run[0]["msg"] and 'User "nobody"' in run[0]["msg"]


def test_k8s_auth_environment_variables(playbook, control_plane):
    """host/ca/client cert from K8S_AUTH_* variables, without any kubeconfig."""
    pki = control_plane.workdir / "pki"
    env = {"K8S_AUTH_KUBECONFIG": "", "K8S_AUTH_HOST": control_plane.server,
           "K8S_AUTH_SSL_CA_CERT": str(pki / "ca.crt"), "K8S_AUTH_CERT_FILE": str(pki / "admin.crt"),
           "K8S_AUTH_KEY_FILE": str(pki / "admin.key"), "KUBECONFIG": "/nonexistent"}
    run = playbook.run([{"skywalking.swck.cluster_info": {}}], env=env)
    assert run[0]["ready_nodes"] == 3


def test_apply_module_passes_api_warnings_on(playbook, namespace):
    dep = deployment("warned", namespace, replicas=1)
    dep["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["memory"] = "100m"
    run = playbook.run([{"skywalking.swck.apply": {"instance": "warn-" + namespace, "definitions": [dep]}}])
    assert any("fractional byte value" in w for w in run[0]["api_warnings"])
    assert any("fractional byte value" in w for w in run[0]["warnings"])
