"""The resource types this cluster serves with full CRUD, as real clusters name them.

Facts (plural, kind, scope, short names, categories, subresources, versions) follow the CRDs
KubeVirt 1.x, CDI, kubernetes-nmstate, Multus and Forklift install and the Kubernetes built-ins.
Schemas are attached at start from the installed schema package (``api/schemas.py``).
"""
from __future__ import annotations

from .resources import Registry, ResourceType

_DEPRECATED_V1ALPHA3 = "kubevirt.io/v1alpha3 is now deprecated and will be removed in a future release."

# (group, versions (preferred first), plural, kind, namespaced, shortNames, categories, subresources)
_BUILTIN = [
    ("", ("v1",), "namespaces", "Namespace", False, ("ns",), (), ("status", "finalize")),
    ("", ("v1",), "nodes", "Node", False, ("no",), (), ("status", "proxy")),
    ("", ("v1",), "pods", "Pod", True, ("po",), ("all",), ("status", "eviction", "log", "exec", "binding")),
    ("", ("v1",), "services", "Service", True, ("svc",), ("all",), ("status", "proxy")),
    ("", ("v1",), "secrets", "Secret", True, (), (), ()),
    ("", ("v1",), "configmaps", "ConfigMap", True, ("cm",), (), ()),
    ("", ("v1",), "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), (), ("status",)),
    ("", ("v1",), "persistentvolumes", "PersistentVolume", False, ("pv",), (), ("status",)),
    ("", ("v1",), "events", "Event", True, ("ev",), (), ()),
    ("", ("v1",), "resourcequotas", "ResourceQuota", True, ("quota",), (), ("status",)),
    ("", ("v1",), "serviceaccounts", "ServiceAccount", True, ("sa",), (), ("token",)),
    ("", ("v1",), "endpoints", "Endpoints", True, ("ep",), (), ()),
    ("storage.k8s.io", ("v1",), "storageclasses", "StorageClass", False, ("sc",), (), ()),
    ("events.k8s.io", ("v1",), "events", "Event", True, ("ev",), (), ()),
    ("apiextensions.k8s.io", ("v1",), "customresourcedefinitions", "CustomResourceDefinition", False,
     ("crd", "crds"), ("api-extensions",), ("status",)),
    ("policy", ("v1",), "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",), (), ("status",)),
]

_CUSTOM = [
    ("kubevirt.io", ("v1", "v1alpha3"), "virtualmachines", "VirtualMachine", True, ("vm", "vms"), ("all",), ("status",)),
    ("kubevirt.io", ("v1", "v1alpha3"), "virtualmachineinstances", "VirtualMachineInstance", True,
     ("vmi", "vmis"), ("all",), ()),
    ("kubevirt.io", ("v1", "v1alpha3"), "virtualmachineinstancemigrations", "VirtualMachineInstanceMigration",
     True, ("vmim", "vmims"), ("all",), ("status",)),
    ("kubevirt.io", ("v1", "v1alpha3"), "virtualmachineinstancereplicasets", "VirtualMachineInstanceReplicaSet",
     True, ("vmirs", "vmirss"), ("all",), ("status", "scale")),
    ("kubevirt.io", ("v1", "v1alpha3"), "virtualmachineinstancepresets", "VirtualMachineInstancePreset",
     True, ("vmipreset", "vmipresets"), ("all",), ()),
    ("kubevirt.io", ("v1", "v1alpha3"), "kubevirts", "KubeVirt", True, ("kv", "kvs"), ("all",), ("status",)),
    ("instancetype.kubevirt.io", ("v1beta1",), "virtualmachineinstancetypes", "VirtualMachineInstancetype", True,
     ("vminstancetype", "vminstancetypes", "vmf", "vmfs"), ("all",), ()),
    ("instancetype.kubevirt.io", ("v1beta1",), "virtualmachineclusterinstancetypes",
     "VirtualMachineClusterInstancetype", False,
     ("vmclusterinstancetype", "vmclusterinstancetypes", "vmcf", "vmcfs"), ("all",), ()),
    ("instancetype.kubevirt.io", ("v1beta1",), "virtualmachinepreferences", "VirtualMachinePreference", True,
     ("vmpref", "vmprefs", "vmp", "vmps"), ("all",), ()),
    ("instancetype.kubevirt.io", ("v1beta1",), "virtualmachineclusterpreferences", "VirtualMachineClusterPreference",
     False, ("vmcp", "vmcps"), ("all",), ()),
    ("snapshot.kubevirt.io", ("v1beta1", "v1alpha1"), "virtualmachinesnapshots", "VirtualMachineSnapshot", True,
     ("vmsnapshot", "vmsnapshots"), ("all",), ("status",)),
    ("snapshot.kubevirt.io", ("v1beta1", "v1alpha1"), "virtualmachinesnapshotcontents",
     "VirtualMachineSnapshotContent", True, ("vmsnapshotcontent", "vmsnapshotcontents"), ("all",), ("status",)),
    ("snapshot.kubevirt.io", ("v1beta1", "v1alpha1"), "virtualmachinerestores", "VirtualMachineRestore", True,
     ("vmrestore", "vmrestores"), ("all",), ("status",)),
    ("clone.kubevirt.io", ("v1beta1", "v1alpha1"), "virtualmachineclones", "VirtualMachineClone", True,
     ("vmclone", "vmclones"), ("all",), ("status",)),
    ("export.kubevirt.io", ("v1beta1", "v1alpha1"), "virtualmachineexports", "VirtualMachineExport", True,
     ("vmexport", "vmexports"), ("all",), ("status",)),
    ("migrations.kubevirt.io", ("v1alpha1",), "migrationpolicies", "MigrationPolicy", False, (), ("all",),
     ("status",)),
    ("pool.kubevirt.io", ("v1beta1", "v1alpha1"), "virtualmachinepools", "VirtualMachinePool", True,
     ("vmpool", "vmpools"), ("all",), ("status", "scale")),
    ("snapshot.storage.k8s.io", ("v1",), "volumesnapshots", "VolumeSnapshot", True, ("vs",), (), ("status",)),
    ("snapshot.storage.k8s.io", ("v1",), "volumesnapshotclasses", "VolumeSnapshotClass", False,
     ("vsclass", "vsclasses"), (), ()),
    ("snapshot.storage.k8s.io", ("v1",), "volumesnapshotcontents", "VolumeSnapshotContent", False,
     ("vsc", "vscs"), (), ("status",)),
    ("cdi.kubevirt.io", ("v1beta1",), "datavolumes", "DataVolume", True, ("dv", "dvs"), ("all",), ("status",)),
    ("cdi.kubevirt.io", ("v1beta1",), "datasources", "DataSource", True, ("das",), ("all",), ("status",)),
    ("cdi.kubevirt.io", ("v1beta1",), "dataimportcrons", "DataImportCron", True, ("dic", "dics"), ("all",),
     ("status",)),
    ("cdi.kubevirt.io", ("v1beta1",), "storageprofiles", "StorageProfile", False, (), (), ("status",)),
    ("cdi.kubevirt.io", ("v1beta1",), "cdiconfigs", "CDIConfig", False, (), (), ("status",)),
    ("cdi.kubevirt.io", ("v1beta1",), "cdis", "CDI", False, ("cdi", "cdis"), (), ("status",)),
    ("upload.cdi.kubevirt.io", ("v1beta1",), "uploadtokenrequests", "UploadTokenRequest", True,
     ("utr", "utrs"), (), ()),
    ("nmstate.io", ("v1", "v1beta1"), "nodenetworkconfigurationpolicies", "NodeNetworkConfigurationPolicy", False,
     ("nncp",), (), ("status",)),
    ("nmstate.io", ("v1beta1",), "nodenetworkconfigurationenactments", "NodeNetworkConfigurationEnactment", False,
     ("nnce",), (), ("status",)),
    ("nmstate.io", ("v1beta1",), "nodenetworkstates", "NodeNetworkState", False, ("nns",), (), ("status",)),
    ("k8s.cni.cncf.io", ("v1",), "network-attachment-definitions", "NetworkAttachmentDefinition", True,
     ("net-attach-def",), (), ()),
    ("forklift.konveyor.io", ("v1beta1",), "providers", "Provider", True, (), (), ("status",)),
    ("forklift.konveyor.io", ("v1beta1",), "networkmaps", "NetworkMap", True, (), (), ("status",)),
    ("forklift.konveyor.io", ("v1beta1",), "storagemaps", "StorageMap", True, (), (), ("status",)),
    ("forklift.konveyor.io", ("v1beta1",), "plans", "Plan", True, (), (), ("status",)),
    ("forklift.konveyor.io", ("v1beta1",), "migrations", "Migration", True, (), (), ("status",)),
    ("forklift.konveyor.io", ("v1beta1",), "hooks", "Hook", True, (), (), ("status",)),
    ("forklift.konveyor.io", ("v1beta1",), "hosts", "Host", True, (), (), ("status",)),
]

# Served on the openshift flavour only (real OpenShift types clients look up).
_OPENSHIFT = [
    ("project.openshift.io", ("v1",), "projects", "Project", False, (), (), ()),
    ("config.openshift.io", ("v1",), "dnses", "DNS", False, (), (), ("status",)),
    ("route.openshift.io", ("v1",), "routes", "Route", True, (), ("all",), ("status",)),
]
# Custom resources of the openshift flavour only: OpenShift Virtualization's operator (HCO).
_OPENSHIFT_CRDS = [
    ("hco.kubevirt.io", ("v1beta1",), "hyperconvergeds", "HyperConverged", True, ("hco", "hcos"), (), ("status",)),
]

# OpenShift add-on operators' CRDs, served on the openshift flavour only (absent on kubernetes: 404).
_OPENSHIFT_ADDONS = [
    # medik8s Node Maintenance Operator (config/crd/bases/nodemaintenance.medik8s.io_nodemaintenances.yaml)
    ("nodemaintenance.medik8s.io", ("v1beta1",), "nodemaintenances", "NodeMaintenance", False, ("nm",), (),
     ("status",)),
]

# Group-level, versionless names used by the subresource API (aggregated, served by virt-api).
SUBRESOURCE_GROUP = "subresources.kubevirt.io"


def _singular(kind: str) -> str:
    return kind.lower()


def _make(entry: tuple, custom: bool) -> ResourceType:
    group, versions, plural, kind, namespaced, short_names, categories, subresources = entry
    deprecated = {"v1alpha3": _DEPRECATED_V1ALPHA3} if group == "kubevirt.io" else {}
    return ResourceType(
        group=group, version=versions[0], plural=plural, kind=kind, namespaced=namespaced,
        singular=_singular(kind), short_names=tuple(short_names), categories=tuple(categories),
        subresources=frozenset(subresources), served_versions=tuple(versions),
        deprecated_versions=deprecated, custom=custom)


def build_registry(flavor: str = "openshift") -> Registry:
    registry = Registry()
    for entry in _BUILTIN:
        registry.add(_make(entry, custom=entry[0] == "apiextensions.k8s.io" and False))
    for entry in _CUSTOM:
        registry.add(_make(entry, custom=True))
    if flavor == "openshift":
        for entry in _OPENSHIFT:
            registry.add(_make(entry, custom=entry[0] == "config.openshift.io"))
        for entry in _OPENSHIFT_CRDS:
            registry.add(_make(entry, custom=True))
        for entry in _OPENSHIFT_ADDONS:
            registry.add(_make(entry, custom=True))
    return registry
