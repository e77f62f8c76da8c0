"""The common-instancetypes bundle (v1.5.1, what KubeVirt v1.7 embeds) as virt-operator deploys it:
objects, labels, and a VM using u1.small + centos.stream9 through the HTTPS API."""
from __future__ import annotations

from tests.cluster.tests.harness import CIT, CPREF
from tests.cluster.tests.test_virt_http import KUBEVIRT, printable, vm_body
from tests.cluster.tests.virt_harness import Sim

IT_GROUP = ("instancetype.kubevirt.io", "v1beta1")


def test_bundle_is_served_cluster_wide_at_start(apis):
    custom, _ = apis
    its = custom.list_cluster_custom_object(*IT_GROUP, "virtualmachineclusterinstancetypes")["items"]
    prefs = custom.list_cluster_custom_object(*IT_GROUP, "virtualmachineclusterpreferences")["items"]
    names = {i["metadata"]["name"] for i in its}
    assert len(its) == 55 and len(prefs) == 54
    assert {f"u1.{s}" for s in ("nano", "micro", "small", "medium", "2xmedium", "large", "xlarge", "2xlarge",
                                "4xlarge", "8xlarge")} <= names
    assert {"o1.nano", "cx1.medium", "cx1.medium1gi", "m1.large", "m1.8xlarge1gi", "n1.medium", "rt1.micro"} <= names
    assert {"centos.stream9", "centos.stream10", "fedora", "rhel.8", "rhel.9", "rhel.10", "ubuntu", "windows.2k22",
            "windows.11", "windows.2k25.virtio"} <= {p["metadata"]["name"] for p in prefs}
    assert {i["apiVersion"] for i in its + prefs} == {"instancetype.kubevirt.io/v1beta1"}


def test_instancetypes_have_the_bundle_sizes_and_labels(apis):
    custom, _ = apis
    get = lambda name: custom.get_cluster_custom_object(*IT_GROUP, "virtualmachineclusterinstancetypes", name)  # noqa: E731
    small = get("u1.small")
    assert small["spec"] == {"cpu": {"guest": 1}, "memory": {"guest": "2Gi"}}
    labels = small["metadata"]["labels"]
    assert labels["instancetype.kubevirt.io/class"] == "general.purpose"
    assert (labels["instancetype.kubevirt.io/cpu"], labels["instancetype.kubevirt.io/memory"],
            labels["instancetype.kubevirt.io/size"]) == ("1", "2Gi", "small")
    assert labels["instancetype.kubevirt.io/vendor"] == "kubevirt.io"
    assert labels["instancetype.kubevirt.io/common-instancetypes-version"] == "v1.5.1"
    assert labels["app.kubernetes.io/managed-by"] == "virt-operator"
    assert small["metadata"]["annotations"]["instancetype.kubevirt.io/displayName"] == "General Purpose"
    assert get("u1.8xlarge")["spec"] == {"cpu": {"guest": 32}, "memory": {"guest": "128Gi"}}
    assert get("o1.medium")["spec"]["memory"] == {"guest": "4Gi", "overcommitPercent": 50}
    cx1 = get("cx1.medium1gi")
    assert cx1["spec"]["cpu"] == {"guest": 1, "maxSockets": 1, "dedicatedCPUPlacement": True,
                                  "isolateEmulatorThread": True, "numa": {"guestMappingPassthrough": {}}}
    assert cx1["spec"]["memory"] == {"guest": "2Gi", "hugepages": {"pageSize": "1Gi"}}
    assert cx1["spec"]["ioThreadsPolicy"] == "auto"
    assert cx1["metadata"]["labels"]["instancetype.kubevirt.io/dedicatedCPUPlacement"] == "true"
    assert cx1["metadata"]["labels"]["instancetype.kubevirt.io/hugepages"] == "1Gi"
    assert get("m1.large")["spec"]["memory"] == {"guest": "16Gi", "hugepages": {"pageSize": "2Mi"}}
    n1 = get("n1.medium")
    assert n1["spec"]["cpu"] == {"guest": 4, "dedicatedCPUPlacement": True, "isolateEmulatorThread": True}
    assert n1["spec"]["annotations"]["cpu-quota.crio.io"] == "disable"
    # The bundle's labels select families, as the console's instance type picker does.
    general = custom.list_cluster_custom_object(*IT_GROUP, "virtualmachineclusterinstancetypes",
                                                label_selector="instancetype.kubevirt.io/class=general.purpose")
    assert sorted(i["metadata"]["name"] for i in general["items"])[:3] == ["u1.2xlarge", "u1.2xmedium", "u1.4xlarge"]
    assert len(general["items"]) == 10


def test_preferences_have_the_bundle_fields(apis):
    custom, _ = apis
    get = lambda name: custom.get_cluster_custom_object(*IT_GROUP, "virtualmachineclusterpreferences", name)  # noqa: E731
    centos = get("centos.stream9")
    assert centos["spec"]["devices"] == {"preferredDiskBus": "virtio", "preferredDiskDedicatedIoThread": True,
                                         "preferredInterfaceModel": "virtio", "preferredRng": {}}
    assert centos["spec"]["requirements"] == {"cpu": {"guest": 1}, "memory": {"guest": "1.5Gi"}}
    assert centos["metadata"]["labels"]["instancetype.kubevirt.io/os-type"] == "linux"
    assert centos["metadata"]["annotations"]["openshift.io/display-name"] == "CentOS Stream 9"
    assert get("fedora")["spec"]["firmware"] == {"preferredEfi": {"secureBoot": True}}
    assert get("fedora")["metadata"]["labels"]["instancetype.kubevirt.io/arch"] == "amd64"
    win = get("windows.2k22")
    assert win["spec"]["devices"]["preferredDiskBus"] == "sata"
    assert win["spec"]["devices"]["preferredInterfaceModel"] == "e1000e"
    assert win["spec"]["features"]["preferredHyperv"]["spinlocks"] == {"spinlocks": 8191}
    assert win["spec"]["preferredTerminationGracePeriodSeconds"] == 3600
    assert win["metadata"]["labels"]["instancetype.kubevirt.io/os-type"] == "windows"
    assert get("windows.2k22.virtio")["spec"]["devices"]["preferredDiskBus"] == "virtio"


def test_vm_with_u1_small_and_centos_stream9_runs(cluster, apis, fresh_namespace):
    custom, _ = apis
    body = vm_body("centos")
    template = body["spec"]["template"]["spec"]
    del template["domain"]["memory"]  # the instance type provides it
    template["domain"]["devices"] = {"disks": [{"name": "root"}]}
    body["spec"]["instancetype"] = {"name": "u1.small"}
    body["spec"]["preference"] = {"name": "centos.stream9"}
    custom.create_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachines", body)
    vm = printable(custom, fresh_namespace, "centos", "Running")
    assert vm["status"]["instancetypeRef"] == {"kind": "VirtualMachineClusterInstancetype", "name": "u1.small"}
    assert vm["status"]["preferenceRef"] == {"kind": "VirtualMachineClusterPreference", "name": "centos.stream9"}
    assert not any(c["type"] == "Failure" for c in vm["status"]["conditions"])
    vmi = custom.get_namespaced_custom_object(*KUBEVIRT, fresh_namespace, "virtualmachineinstances", "centos")
    domain = vmi["spec"]["domain"]
    assert domain["memory"]["guest"] == "2Gi" and domain["cpu"]["sockets"] == 1
    assert domain["devices"]["disks"][0]["disk"]["bus"] == "virtio"
    assert domain["devices"]["interfaces"][0]["model"] == "virtio"


def test_openshift_flavour_labels_them_like_hco():
    with Sim(flavor="openshift", time_scale=0.005) as sim:
        it = sim.get(CIT, "u1.medium", None)
        assert it["metadata"]["labels"]["app.kubernetes.io/component"] == "compute"
        assert it["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "virt-operator"
        assert sim.get(CPREF, "rhel.9", None)["spec"]["firmware"] == {"preferredEfi": {"secureBoot": True}}

