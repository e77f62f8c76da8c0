# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument spec of virt.kubevirt.vm (documented in the module's DOCUMENTATION)."""

from __future__ import annotations

from typing import Any, Dict, Sequence

from ansible_collections.virt.kubevirt.plugins.module_utils._vm_spec import INSTANCETYPE_KINDS, PREFERENCE_KINDS

# A reference to an object by name, in the VM's namespace unless given.
_NAMED_REF: Dict[str, Any] = {
    "type": "dict",
    "options": {"name": {"type": "str", "required": True}, "namespace": {"type": "str"}},
}
_MATCHER_POLICIES = ["Reject", "Ignore", "RejectInferFromVolumeFailure", "IgnoreInferFromVolumeFailure"]


def _matcher_spec(kinds: Sequence[str]) -> Dict[str, Any]:
    return {
        "type": "dict",
        "options": {
            "name": {"type": "str"},
            "kind": {"type": "str", "choices": list(kinds), "default": kinds[0]},
            "infer_from_volume": {"type": "str"},
            "infer_from_volume_failure_policy": {"type": "str", "choices": _MATCHER_POLICIES},
        },
    }


VM_ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "labels": {"type": "dict"},
    "annotations": {"type": "dict"},
    "template_labels": {"type": "dict"},
    "template_annotations": {"type": "dict"},
    "run_strategy": {"type": "str", "choices": ["Always", "RerunOnFailure", "Manual", "Halted", "Once"]},
    "restart": {"type": "bool", "default": False},
    "instancetype": _matcher_spec(INSTANCETYPE_KINDS),
    "preference": _matcher_spec(PREFERENCE_KINDS),
    "cpu": {"type": "dict", "options": {"cores": {"type": "int"}, "sockets": {"type": "int"}, "threads": {"type": "int"}}},
    "memory": {"type": "str"},
    "disks": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "type": {"type": "str", "choices": ["disk", "cdrom", "lun"], "default": "disk"},
            "bus": {"type": "str"},
            "boot_order": {"type": "int"},
            "container_disk": {"type": "str"},
            "pvc": {"type": "str"},
            "existing_data_volume": {"type": "str"},
            "data_volume": {
                "type": "dict",
                "options": {
                    "name": {"type": "str"},
                    "url": {"type": "str"},
                    "registry": {"type": "str"},
                    "clone_pvc": _NAMED_REF,
                    "data_source": _NAMED_REF,
                    "blank": {"type": "bool", "default": False},
                    "size": {"type": "str"},
                    "storage_class": {"type": "str"},
                    "access_modes": {
                        "type": "list",
                        "elements": "str",
                        "choices": ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"],
                    },
                    "volume_mode": {"type": "str", "choices": ["Filesystem", "Block"]},
                },
                "mutually_exclusive": [["url", "registry", "clone_pvc", "data_source", "blank"]],
                "required_one_of": [["url", "registry", "clone_pvc", "data_source", "blank"]],
            },
        },
        "mutually_exclusive": [["container_disk", "pvc", "existing_data_volume", "data_volume"]],
        "required_one_of": [["container_disk", "pvc", "existing_data_volume", "data_volume"]],
    },
    "networks": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "network_name": {"type": "str"},
            "binding": {"type": "str", "choices": ["masquerade", "bridge", "sriov"]},
            "mac_address": {"type": "str"},
            "model": {"type": "str"},
            "ports": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "port": {"type": "int", "required": True},
                    "protocol": {"type": "str", "choices": ["TCP", "UDP"]},
                    "name": {"type": "str"},
                },
            },
        },
    },
    "cloud_init": {
        "type": "dict",
        "options": {
            "user_data": {"type": "str"},
            "user_data_secret": {"type": "str", "no_log": False},
            "network_data": {"type": "str"},
            "network_data_secret": {"type": "str", "no_log": False},
            "ssh_authorized_keys": {"type": "list", "elements": "str", "no_log": False},
        },
        "mutually_exclusive": [["user_data", "user_data_secret"], ["network_data", "network_data_secret"]],
    },
    "ssh_key_secrets": {
        "type": "list",
        "elements": "dict",
        "no_log": False,
        "options": {
            "secret": {"type": "str", "required": True, "no_log": False},
            "propagation_method": {"type": "str", "choices": ["no_cloud", "qemu_guest_agent"], "default": "no_cloud"},
            "users": {"type": "list", "elements": "str"},
        },
    },
    "node_selector": {"type": "dict"},
    "tolerations": {"type": "list", "elements": "dict"},
    "affinity": {"type": "dict"},
    "eviction_strategy": {"type": "str", "choices": ["None", "LiveMigrate", "LiveMigrateIfPossible", "External"]},
    "termination_grace_period": {"type": "int"},
    "spec": {"type": "dict"},
    "delete_options": {
        "type": "dict",
        "options": {
            "propagationPolicy": {"type": "str", "choices": ["Background", "Foreground", "Orphan"], "default": "Background"},
            "gracePeriodSeconds": {"type": "int"},
        },
    },
    "force": {"type": "bool", "default": False},
}
