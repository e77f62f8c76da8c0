# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Before/after views of objects with the server's bookkeeping hidden."""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping, Optional

NOISY_METADATA = (
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
)
# Annotations that controllers rewrite on their own (MAC pool bookkeeping, API version stamps).
NOISY_ANNOTATION_PREFIXES = (
    "kubemacpool.io/",
    "kubevirt.io/latest-observed-api-version",
    "kubevirt.io/storage-observed-api-version",
)


def _quiet_annotations(annotations: Mapping[str, Any]) -> Dict[str, Any]:
    return {
        key: value
        for key, value in annotations.items()
        if not any(key.startswith(prefix) for prefix in NOISY_ANNOTATION_PREFIXES)
    }


def clean_object(obj: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """A copy of ``obj`` without status and server-maintained metadata ({} for None)."""
    if not obj:
        return {}
    cleaned = copy.deepcopy(dict(obj))
    cleaned.pop("status", None)
    metadata = cleaned.get("metadata")
    if isinstance(metadata, dict):
        for key in NOISY_METADATA:
            metadata.pop(key, None)
        if isinstance(metadata.get("annotations"), dict):
            metadata["annotations"] = _quiet_annotations(metadata["annotations"])
            if not metadata["annotations"]:
                del metadata["annotations"]
    return cleaned


def make_diff(before: Optional[Mapping[str, Any]], after: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The ``diff`` return value Ansible renders for ``--diff``."""
    return {"before": clean_object(before), "after": clean_object(after)}


def has_difference(before: Optional[Mapping[str, Any]], after: Optional[Mapping[str, Any]]) -> bool:
    return clean_object(before) != clean_object(after)
