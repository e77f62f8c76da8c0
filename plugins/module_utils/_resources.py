# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resources addressed by known group/version/plural, so no task ever needs API discovery."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote


@dataclass(frozen=True)
class ResourceRef:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def display(self) -> str:
        """Kind plus group, as the API server names resources in messages."""
        return "%s.%s" % (self.plural, self.group) if self.group else self.plural

    def path(self, namespace: Optional[str] = None, name: Optional[str] = None, subresource: Optional[str] = None) -> str:
        """URL path of the collection, an object, or an object's subresource."""
        prefix = "/apis/%s/%s" % (self.group, self.version) if self.group else "/api/%s" % self.version
        parts = [prefix]
        if self.namespaced and namespace:
            parts.append("namespaces/%s" % quote(namespace, safe=""))
        parts.append(self.plural)
        if name:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


# Core (legacy group).
NAMESPACE = ResourceRef("", "v1", "namespaces", "Namespace", namespaced=False)
NODE = ResourceRef("", "v1", "nodes", "Node", namespaced=False)
POD = ResourceRef("", "v1", "pods", "Pod")
SERVICE = ResourceRef("", "v1", "services", "Service")
SECRET = ResourceRef("", "v1", "secrets", "Secret")
CONFIG_MAP = ResourceRef("", "v1", "configmaps", "ConfigMap")
EVENT = ResourceRef("", "v1", "events", "Event")
PERSISTENT_VOLUME_CLAIM = ResourceRef("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim")
SERVICE_ACCOUNT = ResourceRef("", "v1", "serviceaccounts", "ServiceAccount")
STORAGE_CLASS = ResourceRef("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False)
POD_DISRUPTION_BUDGET = ResourceRef("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget")

# KubeVirt.
VIRTUAL_MACHINE = ResourceRef("kubevirt.io", "v1", "virtualmachines", "VirtualMachine")
VIRTUAL_MACHINE_INSTANCE = ResourceRef("kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance")
VIRTUAL_MACHINE_INSTANCE_MIGRATION = ResourceRef(
    "kubevirt.io", "v1", "virtualmachineinstancemigrations", "VirtualMachineInstanceMigration"
)
KUBEVIRT = ResourceRef("kubevirt.io", "v1", "kubevirts", "KubeVirt")
HYPERCONVERGED = ResourceRef("hco.kubevirt.io", "v1beta1", "hyperconvergeds", "HyperConverged")
VIRTUAL_MACHINE_SNAPSHOT = ResourceRef(
    "snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots", "VirtualMachineSnapshot"
)
VIRTUAL_MACHINE_SNAPSHOT_CONTENT = ResourceRef(
    "snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshotcontents", "VirtualMachineSnapshotContent"
)
VIRTUAL_MACHINE_RESTORE = ResourceRef("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores", "VirtualMachineRestore")
VIRTUAL_MACHINE_CLONE = ResourceRef("clone.kubevirt.io", "v1beta1", "virtualmachineclones", "VirtualMachineClone")
VIRTUAL_MACHINE_EXPORT = ResourceRef("export.kubevirt.io", "v1beta1", "virtualmachineexports", "VirtualMachineExport")
# virt-api lifecycle endpoints: PUT .../virtualmachines/NAME/{start,stop,restart,migrate,...}.
VIRTUAL_MACHINE_SUBRESOURCES = ResourceRef("subresources.kubevirt.io", "v1", "virtualmachines", "VirtualMachine")
VIRTUAL_MACHINE_INSTANCE_SUBRESOURCES = ResourceRef(
    "subresources.kubevirt.io", "v1", "virtualmachineinstances", "VirtualMachineInstance"
)
INSTANCETYPE = ResourceRef("instancetype.kubevirt.io", "v1beta1", "virtualmachineinstancetypes", "VirtualMachineInstancetype")
CLUSTER_INSTANCETYPE = ResourceRef(
    "instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterinstancetypes", "VirtualMachineClusterInstancetype",
    namespaced=False,
)
PREFERENCE = ResourceRef("instancetype.kubevirt.io", "v1beta1", "virtualmachinepreferences", "VirtualMachinePreference")
CLUSTER_PREFERENCE = ResourceRef(
    "instancetype.kubevirt.io", "v1beta1", "virtualmachineclusterpreferences", "VirtualMachineClusterPreference",
    namespaced=False,
)

# CDI.
DATA_VOLUME = ResourceRef("cdi.kubevirt.io", "v1beta1", "datavolumes", "DataVolume")
DATA_SOURCE = ResourceRef("cdi.kubevirt.io", "v1beta1", "datasources", "DataSource")
DATA_IMPORT_CRON = ResourceRef("cdi.kubevirt.io", "v1beta1", "dataimportcrons", "DataImportCron")
STORAGE_PROFILE = ResourceRef("cdi.kubevirt.io", "v1beta1", "storageprofiles", "StorageProfile", namespaced=False)
CDI_CONFIG = ResourceRef("cdi.kubevirt.io", "v1beta1", "cdiconfigs", "CDIConfig", namespaced=False)
# cdi-apiserver answers a create with status.token; nothing is stored.
UPLOAD_TOKEN_REQUEST = ResourceRef("upload.cdi.kubevirt.io", "v1beta1", "uploadtokenrequests", "UploadTokenRequest")

# CSI snapshots.
VOLUME_SNAPSHOT = ResourceRef("snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot")

# Networking.
NETWORK_ATTACHMENT_DEFINITION = ResourceRef(
    "k8s.cni.cncf.io", "v1", "network-attachment-definitions", "NetworkAttachmentDefinition"
)

# OpenShift.
PROJECT = ResourceRef("project.openshift.io", "v1", "projects", "Project", namespaced=False)
DNS_CONFIG = ResourceRef("config.openshift.io", "v1", "dnses", "DNS", namespaced=False)

# medik8s Node Maintenance Operator (an OpenShift add-on).
NODE_MAINTENANCE = ResourceRef(
    "nodemaintenance.medik8s.io", "v1beta1", "nodemaintenances", "NodeMaintenance", namespaced=False
)
