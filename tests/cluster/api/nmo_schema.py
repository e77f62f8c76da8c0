"""Structural schema of NodeMaintenance (nodemaintenance.medik8s.io/v1beta1), written from the CRD the
Node Maintenance Operator installs (config/crd/bases/nodemaintenance.medik8s.io_nodemaintenances.yaml,
generated from api/v1beta1/nodemaintenance_types.go). The schema package the other types come from
is OpenShift Virtualization's and does not ship it: NMO is a separate add-on.
"""
from __future__ import annotations

from typing import Any

_INT: dict[str, Any] = {"type": "integer"}
_STRING: dict[str, Any] = {"type": "string"}

NODE_MAINTENANCE: dict[str, Any] = {
    "type": "object",
    "description": "NodeMaintenance is the Schema for the nodemaintenances API",
    "properties": {
        "apiVersion": _STRING,
        "kind": _STRING,
        "metadata": {"type": "object"},
        "spec": {
            "type": "object", "required": ["nodeName"],
            "description": "NodeMaintenanceSpec defines the desired state of NodeMaintenance",
            "properties": {
                "nodeName": {"type": "string", "description": "Node name to apply maintanance on/off"},
                "reason": {"type": "string", "description": "Reason for maintanance"},
            },
        },
        "status": {
            "type": "object",
            "description": "NodeMaintenanceStatus defines the observed state of NodeMaintenance",
            "properties": {
                "phase": dict(_STRING, description="Phase is the represtation of the maintenance progress "
                                                   "(Running,Succeeded,Failed)"),
                "drainProgress": dict(_INT, description="Percentage completion of draining the node"),
                "lastUpdate": {"type": "string", "format": "date-time",
                               "description": "The last time the status has been updated"},
                "lastError": dict(_STRING, description="LastError represents the latest error if any in the "
                                                       "latest reconciliation"),
                "pendingPods": {"type": "array", "items": _STRING,
                                "description": "PendingPods is a list of pending pods for eviction"},
                "pendingPodsRefs": {"type": "array", "description": "PendingPodsRefs is a list of refs of pending "
                                    "pods for eviction", "items": {"type": "object", "properties": {
                                        "name": _STRING, "namespace": _STRING}}},
                "totalpods": dict(_INT, description="TotalPods is the total number of all pods on the node from "
                                                    "the start"),
                "evictionPods": dict(_INT, description="EvictionPods is the total number of pods up for eviction "
                                                       "from the start"),
                "errorOnLeaseCount": dict(_INT, description="Consecutive number of errors upon obtaining a lease"),
            },
        },
    },
}
