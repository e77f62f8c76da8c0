# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks of the datavolume and datavolume_info options, before any request (see _validate.py)."""

from __future__ import annotations

import re
from typing import Any, Mapping

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_options import SOURCES
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import quantity_value
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_annotations,
    check_choice,
    check_dns_label,
    check_int_range,
    check_labels,
    check_quantity,
    check_read_scope,
    check_registry_url,
    check_resource_name,
    check_text,
    check_unique,
    check_url,
    invalid,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_selector import check_label_selector

# The modes the PVC API accepts (CDI's webhook refuses others with the same list).
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
VOLUME_MODES = ("Filesystem", "Block")
# CDI's webhook: "PVC size should be at least 1MiB".
MIN_SIZE = 2 ** 20
# Sources CDI sizes from the source itself when storage.size is omitted.
_SIZED_BY_SOURCE = ("clone_pvc", "snapshot", "source_ref")
# An HTTP header line as CDI passes it to the importer ("Name: value").
_HEADER = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+:")


def _given(params: Mapping[str, Any]) -> list:
    return [option for option in SOURCES if params.get(option)]


def _headers(option: str, values: Any) -> None:
    for index, header in enumerate(values or []):
        where = "%s[%d]" % (option, index)
        check_text(where, header)
        if not _HEADER.match(header):
            # Never echo it: header values are often tokens.
            raise invalid(where, "must be an HTTP header line 'Name: value', for example 'Authorization: Bearer ...'")


def check_source(params: Mapping[str, Any], option: str) -> None:
    value = params[option]
    if option in ("http", "s3", "gcs"):
        # CDI's webhook accepts http, https and gs URLs; gs:// is meant for GCS only.
        schemes = {"http": ("http", "https"), "s3": ("http", "https"), "gcs": ("gs", "http", "https")}[option]
        check_url(option + ".url", value.get("url"), schemes)
    if option == "registry":
        if bool(value.get("url")) == bool(value.get("image_stream")):
            raise invalid("registry", "set exactly one of url (docker://... or oci-archive://...) and image_stream")
        if value.get("url") is not None:
            check_registry_url("registry.url", value["url"])
        if value.get("image_stream") is not None:
            check_text("registry.image_stream", value["image_stream"])
    if option == "http":
        _headers("http.extra_headers", value.get("extra_headers"))
        for index, secret in enumerate(value.get("secret_extra_headers") or []):
            check_resource_name("http.secret_extra_headers[%d]" % index, secret)
    if isinstance(value, dict):
        for sub in ("secret_ref", "cert_config_map"):
            if value.get(sub) is not None:
                check_resource_name("%s.%s" % (option, sub), value[sub])
        if option in ("clone_pvc", "snapshot", "source_ref"):
            check_resource_name(option + ".name", value.get("name"))
            if value.get("namespace") is not None:
                check_dns_label(option + ".namespace", value["namespace"])


def check_storage(params: Mapping[str, Any], source: str) -> None:
    storage = params.get("storage") or {}
    size = storage.get("size")
    if size is None:
        if source not in _SIZED_BY_SOURCE:
            raise invalid("storage.size", "is required for a %s DataVolume (only clone_pvc, snapshot and source_ref "
                          "take their size from the source)" % source)
    else:
        check_quantity("storage.size", size)
        if (quantity_value(size) or 0) < MIN_SIZE:
            raise invalid("storage.size", "must be at least 1Mi (CDI refuses smaller volumes), got %r" % size)
    if storage.get("class") is not None:
        check_resource_name("storage.class", storage["class"])
    modes = storage.get("access_modes")
    if modes is not None:
        if not modes:
            raise invalid("storage.access_modes", "must not be empty; omit it to let CDI choose from the StorageProfile")
        for index, mode in enumerate(modes):
            check_choice("storage.access_modes[%d]" % index, mode, ACCESS_MODES)
        check_unique("access modes", [("storage.access_modes[%d]" % i, m) for i, m in enumerate(modes)])
    if storage.get("volume_mode") is not None:
        check_choice("storage.volume_mode", storage["volume_mode"], VOLUME_MODES)
    if params.get("content_type") == "archive":
        if source in ("blank", "registry"):
            raise invalid("content_type", "archive cannot be used with a %s source (CDI allows it for http, s3, gcs "
                          "and upload)" % source)
        if storage.get("volume_mode") == "Block":
            raise invalid("content_type", "archive needs volume_mode Filesystem (an archive is unpacked into a file system)")


def validate_dv_params(params: Mapping[str, Any]) -> None:
    """Every datavolume option checked; raises on the first problem, before any request is sent."""
    check_resource_name("name", params.get("name"))
    check_dns_label("namespace", params.get("namespace"))
    if params.get("wait_timeout") is not None:
        check_int_range("wait_timeout", params["wait_timeout"], 0)
    if params.get("state") == "absent":
        return
    given = _given(params)
    if len(given) != 1:
        found = "got %s" % ", ".join(given) if given else "got none"
        raise invalid("source", "set exactly one of %s; %s" % (", ".join(SOURCES), found))
    check_labels("labels", params.get("labels"))
    check_annotations("annotations", params.get("annotations"))
    check_source(params, given[0])
    check_storage(params, given[0])


def validate_dv_info_params(params: Mapping[str, Any]) -> None:
    check_read_scope(params)
    for index, selector in enumerate(params.get("label_selectors") or []):
        check_label_selector("label_selectors[%d]" % index, check_text("label_selectors[%d]" % index, selector))
    if params.get("wait_timeout") is not None:
        check_int_range("wait_timeout", params["wait_timeout"], 0)
