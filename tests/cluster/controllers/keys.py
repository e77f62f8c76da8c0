"""Group/resource keys of the objects the simulated controllers read and write.

Defined once, so that the storage, CDI, GC and KubeVirt controllers never disagree about a plural.
"""
from __future__ import annotations

from ..api.resources import GR

# core/v1
NAMESPACE: GR = ("", "namespaces")
NODE: GR = ("", "nodes")
POD: GR = ("", "pods")
PVC: GR = ("", "persistentvolumeclaims")
PV: GR = ("", "persistentvolumes")
CONFIGMAP: GR = ("", "configmaps")
SECRET: GR = ("", "secrets")
SERVICE: GR = ("", "services")
# storage and CDI
SC: GR = ("storage.k8s.io", "storageclasses")
DV: GR = ("cdi.kubevirt.io", "datavolumes")
DATASOURCE: GR = ("cdi.kubevirt.io", "datasources")
SP: GR = ("cdi.kubevirt.io", "storageprofiles")
CDICONFIG: GR = ("cdi.kubevirt.io", "cdiconfigs")
CDI: GR = ("cdi.kubevirt.io", "cdis")
UTR: GR = ("upload.cdi.kubevirt.io", "uploadtokenrequests")
# KubeVirt
VM: GR = ("kubevirt.io", "virtualmachines")
VMI: GR = ("kubevirt.io", "virtualmachineinstances")
VMIM: GR = ("kubevirt.io", "virtualmachineinstancemigrations")
KUBEVIRT: GR = ("kubevirt.io", "kubevirts")
INSTANCETYPE: GR = ("instancetype.kubevirt.io", "virtualmachineinstancetypes")
CLUSTER_INSTANCETYPE: GR = ("instancetype.kubevirt.io", "virtualmachineclusterinstancetypes")
PREFERENCE: GR = ("instancetype.kubevirt.io", "virtualmachinepreferences")
CLUSTER_PREFERENCE: GR = ("instancetype.kubevirt.io", "virtualmachineclusterpreferences")
NAD: GR = ("k8s.cni.cncf.io", "network-attachment-definitions")
