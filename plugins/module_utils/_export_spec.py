# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.vm_export's options: checks before any request, the VirtualMachineExport and token Secret bodies.

An export's spec is not changed in place (KubeVirt reads the source once and keeps serving it), so
an existing export under the name must already have the requested source, token Secret and TTL.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._kubevirt_config import duration_seconds
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import SECRET, VIRTUAL_MACHINE_EXPORT
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import (
    check_choice,
    check_dns_label,
    check_resource_name,
    check_text,
    check_url,
    invalid,
)

SOURCE_KINDS = {"VirtualMachine": "kubevirt.io", "VirtualMachineSnapshot": "snapshot.kubevirt.io",
                "PersistentVolumeClaim": ""}
FORMATS = ("raw", "gzip", "oci")
OCI_SOURCES = ("VirtualMachine", "VirtualMachineSnapshot")  # KubeVirt's supportsOCI (and VirtualMachineTemplate)
DEFAULT_TTL = "2h"  # exportv1.DefaultDurationTTL
TOKEN_KEY = "token"  # the key KubeVirt reads in the token Secret
MANAGED_LABEL = "virt.kubevirt.io/export"

EXPORT_ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "source": {"type": "dict", "options": {
        "kind": {"type": "str", "default": "VirtualMachine", "choices": list(SOURCE_KINDS)},
        "name": {"type": "str", "required": True},
    }},
    "token_secret": {"type": "str", "no_log": False},
    "token": {"type": "str", "no_log": True},
    "ttl_duration": {"type": "str"},
    "proxy_url": {"type": "str"},
    "download": {"type": "dict", "options": {
        "dest": {"type": "path", "required": True},
        "volume": {"type": "str"},
        "format": {"type": "str", "default": "raw", "choices": list(FORMATS)},
        "force": {"type": "bool", "default": False},
        "validate_certs": {"type": "bool", "default": True},
        "ca_cert": {"type": "path"},
    }},
    "delete_after": {"type": "bool", "default": False},
    "wait": {"type": "bool", "default": True},
}


def validate_export_params(params: Mapping[str, Any]) -> None:
    check_dns_label("name", params["name"])
    check_dns_label("namespace", params["namespace"])
    if params["state"] == "absent":
        return
    source = params.get("source")
    if not source:
        raise invalid("source", "is required with state=present: the kind and name of what to export")
    check_choice("source.kind", source["kind"], list(SOURCE_KINDS))
    check_resource_name("source.name", source["name"])
    if params.get("token_secret") is not None:
        check_resource_name("token_secret", params["token_secret"])
    if params.get("token") is not None:
        token = check_text("token", params["token"])
        if len(token) < 16:
            raise invalid("token", "must be at least 16 characters (it is the only credential of the export)")
    ttl = params.get("ttl_duration")
    if ttl is not None and not duration_seconds(ttl):
        raise invalid("ttl_duration", "must be a positive duration such as 30m, 2h or 1h30m, got %r" % ttl)
    if params.get("proxy_url") is not None:
        check_url("proxy_url", params["proxy_url"], schemes=("https",))
    download = params.get("download") or {}
    if download.get("format") == "oci":
        if download.get("volume") is not None:
            raise invalid("download.volume", "is not used with download.format=oci: the OCI image (export.oci.tar) holds "
                          "every disk of the export and the VM's definition; leave download.volume out")
        if source["kind"] not in OCI_SOURCES:
            raise invalid("download.format", "oci is for source.kind %s: KubeVirt makes no OCI image of a %s; use raw "
                          "or gzip" % (" or ".join(OCI_SOURCES), source["kind"]))
    if download.get("volume") is not None:
        check_resource_name("download.volume", download["volume"])
    if download.get("dest") is not None and download["dest"].endswith("/"):
        raise invalid("download.dest", "must be a file path, not a directory: %s" % download["dest"])
    if params.get("delete_after") and not download:
        raise invalid("delete_after", "needs download: the export is removed once the volume is downloaded")


def secret_name_for(params: Mapping[str, Any]) -> Optional[str]:
    """The Secret the export names in spec.tokenSecretRef: the given one, else one this module makes
    for a given token; None lets KubeVirt generate ``export-token-<name>``."""
    if params.get("token_secret"):
        return params["token_secret"]
    if params.get("token"):
        return "%s-export-token" % params["name"]
    return None


def build_export(params: Mapping[str, Any]) -> Dict[str, Any]:
    source = params["source"]
    spec: Dict[str, Any] = {"source": {"kind": source["kind"], "name": source["name"]}}
    if SOURCE_KINDS[source["kind"]]:
        spec["source"]["apiGroup"] = SOURCE_KINDS[source["kind"]]
    secret = secret_name_for(params)
    if secret:
        spec["tokenSecretRef"] = secret
    if params.get("ttl_duration"):
        spec["ttlDuration"] = params["ttl_duration"]
    return {"apiVersion": VIRTUAL_MACHINE_EXPORT.api_version, "kind": VIRTUAL_MACHINE_EXPORT.kind,
            "metadata": {"name": params["name"], "namespace": params["namespace"]}, "spec": spec}


def build_token_secret(params: Mapping[str, Any], name: str) -> Dict[str, Any]:
    token = base64.b64encode(params["token"].strip().encode()).decode()
    return {"apiVersion": SECRET.api_version, "kind": SECRET.kind, "type": "Opaque",
            "metadata": {"name": name, "namespace": params["namespace"], "labels": {MANAGED_LABEL: params["name"]}},
            "data": {TOKEN_KEY: token}}


def secret_token(secret: Optional[Mapping[str, Any]]) -> Optional[str]:
    """The token a Secret holds (key ``token``), None when it has none."""
    raw = ((secret or {}).get("data") or {}).get(TOKEN_KEY)
    if not raw:
        return None
    try:
        return base64.b64decode(raw).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def spec_mismatches(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> List[str]:
    """Fields of ``wanted``'s spec an existing export has otherwise (the source, token Secret, TTL)."""
    have, want = live.get("spec") or {}, wanted["spec"]
    problems = []
    for field in ("kind", "name"):
        current = (have.get("source") or {}).get(field)
        if current != want["source"][field]:
            problems.append("spec.source.%s is %r, not %r" % (field, current, want["source"][field]))
    if want.get("tokenSecretRef") and have.get("tokenSecretRef") != want["tokenSecretRef"]:
        problems.append("spec.tokenSecretRef is %r, not %r" % (have.get("tokenSecretRef"), want["tokenSecretRef"]))
    have_ttl = duration_seconds(have.get("ttlDuration") or DEFAULT_TTL)
    if want.get("ttlDuration") and have_ttl != duration_seconds(want["ttlDuration"]):
        problems.append("spec.ttlDuration is %r, not %r" % (have.get("ttlDuration") or DEFAULT_TTL, want["ttlDuration"]))
    return problems
