# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument specs of virt.kubevirt.datavolume and datavolume_info (documented in the modules).

Choices that deserve a message of their own (access and volume modes) are checked in
_dv_validate.py instead of by AnsibleModule, so the message names the sub-option path.
"""

from __future__ import annotations

from typing import Any, Dict

# Option -> key under the DataVolume's spec.source (source_ref is spec.sourceRef instead).
SOURCE_KEYS: Dict[str, str] = {
    "http": "http",
    "s3": "s3",
    "gcs": "gcs",
    "registry": "registry",
    "blank": "blank",
    "upload": "upload",
    "clone_pvc": "pvc",
    "snapshot": "snapshot",
}
SOURCES = tuple(SOURCE_KEYS) + ("source_ref",)

# Names of Secrets and ConfigMaps are not secrets themselves: no_log False says so to ansible-test.
_SECRET_NAME: Dict[str, Any] = {"type": "str", "no_log": False}
_NAMED: Dict[str, Any] = {"name": {"type": "str", "required": True}, "namespace": {"type": "str"}}

DV_ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "force": {"type": "bool", "default": False},
    "labels": {"type": "dict"},
    "annotations": {"type": "dict"},
    "http": {
        "type": "dict",
        "options": {
            "url": {"type": "str", "required": True},
            "cert_config_map": {"type": "str"},
            "secret_ref": _SECRET_NAME,
            "extra_headers": {"type": "list", "elements": "str", "no_log": False},
            "secret_extra_headers": {"type": "list", "elements": "str", "no_log": False},
            "insecure_skip_verify": {"type": "bool"},
        },
    },
    "s3": {
        "type": "dict",
        "options": {"url": {"type": "str", "required": True}, "secret_ref": _SECRET_NAME, "cert_config_map": {"type": "str"}},
    },
    "gcs": {"type": "dict", "options": {"url": {"type": "str", "required": True}, "secret_ref": _SECRET_NAME}},
    "registry": {
        "type": "dict",
        "options": {
            "url": {"type": "str"},
            "image_stream": {"type": "str"},
            "pull_method": {"type": "str", "choices": ["pod", "node"]},
            "secret_ref": _SECRET_NAME,
            "cert_config_map": {"type": "str"},
        },
    },
    "blank": {"type": "bool", "default": False},
    "upload": {"type": "bool", "default": False},
    "clone_pvc": {"type": "dict", "options": dict(_NAMED)},
    "snapshot": {"type": "dict", "options": dict(_NAMED)},
    "source_ref": {
        "type": "dict",
        "options": dict(_NAMED, kind={"type": "str", "choices": ["DataSource"], "default": "DataSource"}),
    },
    "storage": {
        "type": "dict",
        "options": {
            "size": {"type": "str"},
            "class": {"type": "str"},
            "access_modes": {"type": "list", "elements": "str"},
            "volume_mode": {"type": "str"},
        },
    },
    "preallocation": {"type": "bool"},
    "content_type": {"type": "str", "choices": ["kubevirt", "archive"]},
}

DV_INFO_ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str"},
    "namespace": {"type": "str"},
    "namespaces": {"type": "list", "elements": "str"},
    "label_selectors": {"type": "list", "elements": "str", "default": []},
}
