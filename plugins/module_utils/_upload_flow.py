# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.datavolume_upload: upload DataVolume (created when missing) -> UploadReady ->
UploadTokenRequest -> streamed POST to the upload proxy -> checksum annotation -> Succeeded.

CDI accepts one upload per DataVolume: once Succeeded it refuses more. So a re-run is judged by
the sha256 the module stores on the DataVolume after a successful upload: the same file is
``changed: false`` with no write, another one is an error saying what to do.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._apply import ensure_applied
from ansible_collections.virt.kubevirt.plugins.module_utils._client import USER_AGENT
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_options import DV_ARGUMENT_SPEC
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_spec import build_dv, check_unchanged, live_source
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_status import dv_failure, dv_target
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_validate import validate_dv_params
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    CDI_CONFIG,
    DATA_VOLUME,
    PERSISTENT_VOLUME_CLAIM,
    UPLOAD_TOKEN_REQUEST,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._upload import file_sha256, proxy_base, stream_upload
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import check_url, invalid

SHA256_ANNOTATION = "virt.kubevirt.io/upload-sha256"
BIND_IMMEDIATE = "cdi.kubevirt.io/storage.bind.immediate.requested"
EVENT_KINDS = (DATA_VOLUME.kind, PERSISTENT_VOLUME_CLAIM.kind)
# The answer of the proxy can take a while: it comes once the image is written (and converted).
MIN_ANSWER_TIMEOUT = 300.0

UPLOAD_ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "namespace": {"type": "str", "required": True},
    "src": {"type": "path", "required": True},
    "storage": DV_ARGUMENT_SPEC["storage"],
    "create": {"type": "bool", "default": True},
    "upload_proxy_url": {"type": "str"},
    "wait": {"type": "bool", "default": True},
}


def _where(params: Mapping[str, Any]) -> str:
    return "DataVolume %s/%s" % (params["namespace"], params["name"])


def _dv_params(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The task as virt.kubevirt.datavolume options, so its checks and spec builder apply as they are."""
    return {"name": params["name"], "namespace": params["namespace"], "upload": True, "storage": params.get("storage"),
            "wait_timeout": params.get("wait_timeout")}


def validate_upload_params(params: Mapping[str, Any]) -> None:
    """Everything that needs no request; a bad ``src`` fails before the first one."""
    dv_params = _dv_params(params)
    if params.get("storage"):
        validate_dv_params(dv_params)
    else:
        validate_dv_params(dict(dv_params, storage={"size": "1Gi"}))  # name, namespace; size is checked on create
    src = params["src"]
    if not os.path.isfile(src):
        raise invalid("src", "%s is not a file%s" % (src, "" if os.path.exists(src) else " (it does not exist)"))
    try:
        with open(src, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise invalid("src", "%s cannot be read: %s" % (src, exc.strerror or exc)) from None
    if os.path.getsize(src) == 0:
        raise invalid("src", "%s is empty; CDI refuses an empty image" % src)
    if params.get("upload_proxy_url") is not None:
        check_url("upload_proxy_url", proxy_base(params["upload_proxy_url"]))


def _proxy_url(client: Any, params: Mapping[str, Any]) -> str:
    if params.get("upload_proxy_url"):
        return proxy_base(params["upload_proxy_url"])
    config = client.get(CDI_CONFIG, "config") or {}
    url = status_of(config).get("uploadProxyURL")
    if not url:
        raise invalid("upload_proxy_url", "CDIConfig config has no status.uploadProxyURL (CDI publishes it when "
                      "cdi-uploadproxy has a Route or Ingress); set upload_proxy_url to the proxy's address")
    return proxy_base(url)


def _existing(params: Mapping[str, Any], live: Dict[str, Any]) -> None:
    """An existing DataVolume must be an upload target described as the task describes it."""
    source = live_source(live)
    if source != "upload":
        raise invalid("name", "%s was created %s, not for an upload (spec.source.upload); use another name" % (
            _where(params), "from %s" % source if source else "without a source"))
    if params.get("storage") and check_unchanged(_dv_params(params), live) is not None:
        raise invalid("storage.size", "%s has %s; grow it with virt.kubevirt.datavolume, not with an upload" % (
            _where(params), ((live.get("spec") or {}).get("storage") or {}).get("resources", {}).get("requests", {})
            .get("storage")))


def _finished(params: Mapping[str, Any], live: Dict[str, Any], src: str) -> Dict[str, Any]:
    """A Succeeded DataVolume: unchanged when it holds this file, else an error (CDI takes one upload)."""
    have = ((live.get("metadata") or {}).get("annotations") or {}).get(SHA256_ANNOTATION)
    sha256 = file_sha256(src)
    if have == sha256:
        return {"changed": False, "method": "none", "sha256": sha256, "size": os.path.getsize(src), "sent": 0,
                "duration": 0.0, "result": live}
    said = "holds an upload with sha256 %s (annotation %s)" % (have, SHA256_ANNOTATION) if have else \
        "was populated without this module (no %s annotation)" % SHA256_ANNOTATION
    raise invalid("src", "%s is Succeeded and %s, but %s has sha256 %s; a DataVolume takes a single upload: delete it "
                  "(virt.kubevirt.datavolume state=absent) or upload into another name" % (_where(params), said, src, sha256))


def _wait(module: Any, params: Mapping[str, Any], dv: Any, upload: bool, timeout: float) -> Dict[str, Any]:
    predicate, description = dv_target(upload)
    dv = module.waiter().wait(DATA_VOLUME, params["name"], params["namespace"], predicate, timeout, description,
                              event_kinds=EVENT_KINDS, initial=dv, deleted_is_final=True) or {}
    failure = dv_failure(dv)
    phase = status_of(dv).get("phase")
    wanted = "UploadReady" if upload else "Succeeded"
    if failure or phase != wanted:
        reason = failure or "phase %s" % phase
        if phase == "WaitForFirstConsumer":
            reason += "; the StorageClass binds on first consumer: create the DataVolume with the annotation %s=true" % (
                BIND_IMMEDIATE)
        events = recent_events(module.client, params["namespace"], params["name"], kinds=EVENT_KINDS)
        raise KubeApiError("%s cannot become %s: %s. Recent events: %s" % (
            _where(params), description, reason, describe_events(events)),
            reason="DataVolumeFailed", details={"last_state": dv, "events": events})
    return dv


def _token(module: Any, params: Mapping[str, Any]) -> str:
    body = {"apiVersion": UPLOAD_TOKEN_REQUEST.api_version, "kind": UPLOAD_TOKEN_REQUEST.kind,
            "metadata": {"name": "virt-kubevirt-upload-%s" % params["name"]}, "spec": {"pvcName": params["name"]}}
    answer = module.client.create(UPLOAD_TOKEN_REQUEST, body, params["namespace"])
    token = status_of(answer).get("token")
    if not token:
        raise KubeApiError("UploadTokenRequest for %s returned no status.token" % _where(params), reason="NoUploadToken")
    module.ansible.no_log_values.add(token)  # never in a result or log line
    return str(token)


def upload(module: Any) -> Dict[str, Any]:
    params = module.params
    validate_upload_params(params)
    client = module.client
    name, namespace, src = params["name"], params["namespace"], params["src"]
    started = time.monotonic()

    def left() -> float:
        return max(0.0, params["wait_timeout"] - (time.monotonic() - started))

    live = client.get(DATA_VOLUME, name, namespace)
    result: Dict[str, Any] = {"changed": False, "method": "none", "created": False}
    if live is not None:
        _existing(params, live)
        if status_of(live).get("phase") == "Succeeded":
            return dict(result, **_finished(params, live, src))
    elif not params["create"]:
        raise invalid("create", "%s does not exist and create is false; create it (virt.kubevirt.datavolume upload=true) "
                      "or set create: true" % _where(params))
    elif not (params.get("storage") or {}).get("size"):
        raise invalid("storage.size", "is required to create %s for the upload" % _where(params))
    base = _proxy_url(client, params)  # before any write: a missing address fails early
    dv: Optional[Dict[str, Any]] = live
    if live is None:
        outcome = ensure_applied(client, DATA_VOLUME, build_dv(_dv_params(params)), namespace, live=None)
        dv = outcome.after
        result.update(changed=True, method="create", created=True)
        module.add_diff(result, None, dv)
    result.update(upload_proxy_url=base)
    if module.check_mode:
        # What would be sent; no token is asked for and nothing is posted.
        result.update(changed=True, method="upload", sha256=file_sha256(src), size=os.path.getsize(src), sent=0,
                      duration=0.0, result=dv)
        return result
    ready = _wait(module, params, dv, True, left())
    token = _token(module, params)
    sent = stream_upload(client.api_client, base, token, src, USER_AGENT, timeout=max(MIN_ANSWER_TIMEOUT, left()))
    dv = client.patch(DATA_VOLUME, name, {"metadata": {"annotations": {SHA256_ANNOTATION: sent.sha256}}}, namespace)
    if not result["created"]:
        module.add_diff(result, ready, dv)
    result.update(changed=True, method="upload", sha256=sent.sha256, size=sent.size, sent=sent.sent,
                  duration=sent.seconds)
    if params["wait"]:
        dv = _wait(module, params, dv, False, left())
    result["result"] = dv
    return result
