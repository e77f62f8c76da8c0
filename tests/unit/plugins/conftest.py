# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fakes for unit tests: an in-memory API server plugged in as the engine's transport."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils import _module
from ansible_collections.virt.kubevirt.plugins.module_utils._api import APPLY_PATCH, ResourceClient
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._merge import deep_merge
from ansible_collections.virt.kubevirt.plugins.module_utils._transport import HttpResponse


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, Any]
    body: Any
    content_type: Optional[str]

    @property
    def write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH", "DELETE")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


def status_error(code: int, reason: str, message: str, causes: Optional[list] = None) -> KubeApiError:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}
    if causes:
        body["details"] = {"causes": causes}
    return KubeApiError.from_response(code, json.dumps(body).encode())


def prune_released(obj: Any, owned: Dict[str, Any], applied: Any) -> None:
    """Server-side apply semantics: drop fields the manager owned but no longer applies."""
    if not isinstance(obj, dict):
        return
    for key, child in owned.items():
        name = key[2:]
        if not isinstance(applied, dict) or name not in applied:
            obj.pop(name, None)
        elif child:
            prune_released(obj.get(name), child, applied[name])


def fields_of(value: Any) -> Dict[str, Any]:
    """fieldsV1 for an applied body (lists atomic, as KubeVirt's are)."""
    if not isinstance(value, dict):
        return {}
    return {"f:%s" % key: fields_of(child) for key, child in value.items()}


@dataclass
class FakeApiServer:
    """Just enough of an API server: objects by path, apply as merge, lists, delete, subresources."""

    objects: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    requests: List[Request] = field(default_factory=list)
    failures: Dict[Any, List[KubeApiError]] = field(default_factory=dict)
    page_size: Optional[int] = None
    version: int = 100

    def put(self, path: str, obj: Dict[str, Any]) -> Dict[str, Any]:
        self.version += 1
        stored = copy.deepcopy(obj)
        stored.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        stored["metadata"].setdefault("uid", "uid-%d" % self.version)
        self.objects[path] = stored
        return stored

    def fail(self, method: str, path: str, *errors: KubeApiError) -> None:
        self.failures.setdefault((method, path), []).extend(errors)

    @property
    def writes(self) -> List[Request]:
        return [r for r in self.requests if r.write and not r.dry_run]

    def __call__(self, api_client, method, path, query=None, body=None, content_type=None, timeout=None, stream=False):
        query_dict = {key: value for key, value in (query or []) if value is not None}
        self.requests.append(Request(method, path, query_dict, body, content_type))
        pending = self.failures.get((method, path))
        if pending:
            raise pending.pop(0)
        handler = getattr(self, "_" + method.lower())
        status, answer = handler(path, query_dict, body, content_type)
        return HttpResponse(status=status, headers={}, data=json.dumps(answer).encode() if answer is not None else b"")

    def _not_found(self, path: str) -> KubeApiError:
        return status_error(404, "NotFound", '"%s" not found' % path.rsplit("/", 1)[-1])

    @staticmethod
    def _rest(path: str) -> List[str]:
        """Path segments after /apis/GROUP/VERSION or /api/VERSION."""
        parts = path.strip("/").split("/")
        return parts[3:] if parts[0] == "apis" else parts[2:]

    def _get(self, path, query, body, content_type):
        rest = self._rest(path)
        if len(rest) in (2, 4):  # an object
            if path not in self.objects:
                raise self._not_found(path)
            return 200, self.objects[path]
        plural = rest[-1]
        namespace = rest[1] if len(rest) == 3 else None
        parts = path.strip("/").split("/")
        group_version = "/" + "/".join(parts[:3] if parts[0] == "apis" else parts[:2]) + "/"
        objs = []
        for key in sorted(self.objects):
            obj_rest = self._rest(key)
            if not key.startswith(group_version) or obj_rest[-2] != plural:
                continue
            if namespace and (len(obj_rest) != 4 or obj_rest[1] != namespace):
                continue
            objs.append(self.objects[key])
        selector = query.get("fieldSelector")
        if selector and selector.startswith("metadata.name="):
            objs = [o for o in objs if o["metadata"]["name"] == selector.split("=", 1)[1].split(",")[0]]
        start = int(query.get("continue") or 0)
        size = self.page_size or len(objs) or 1
        page = objs[start:start + size]
        metadata = {"resourceVersion": str(self.version)}
        if start + size < len(objs):
            metadata["continue"] = str(start + size)
        return 200, {"kind": "List", "items": copy.deepcopy(page), "metadata": metadata}

    def _patch(self, path, query, body, content_type):
        patch = body
        live = self.objects.get(path)
        if content_type != APPLY_PATCH and live is None:
            raise self._not_found(path)
        merged = deep_merge(live or {}, patch)
        merged.setdefault("status", {})
        if content_type == APPLY_PATCH and live:
            for entry in live["metadata"].get("managedFields") or []:
                if entry["manager"] == query.get("fieldManager"):
                    prune_released(merged, entry["fieldsV1"], patch)
        if content_type == APPLY_PATCH:
            merged["metadata"]["managedFields"] = [
                {"manager": query.get("fieldManager"), "operation": "Apply", "fieldsV1": fields_of(patch)}
            ]
        if query.get("dryRun") == "All":
            merged.setdefault("metadata", {}).setdefault("uid", "dry-run-uid")
            return 200, merged
        return (201 if live is None else 200), self.put(path, merged)

    def _delete(self, path, query, body, content_type):
        if path not in self.objects:
            raise self._not_found(path)
        obj = copy.deepcopy(self.objects[path])
        if not (query.get("dryRun") == "All" or (body or {}).get("dryRun")):
            del self.objects[path]
        return 200, obj

    def _put(self, path, query, body, content_type):
        return 202, None

    def _post(self, path, query, body, content_type):
        name = body["metadata"]["name"]
        target = "%s/%s" % (path, name)
        if target in self.objects:
            raise status_error(409, "AlreadyExists", '"%s" already exists' % name)
        if query.get("dryRun") == "All":
            return 201, body
        return 201, self.put(target, body)


VM_PATH = "/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachines/{name}"
VMI_PATH = "/apis/kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}"


@pytest.fixture
def api_error():
    """Build a KubeApiError the way the transport does from a Status answer."""
    return status_error


@pytest.fixture
def api_server() -> FakeApiServer:
    return FakeApiServer()


@pytest.fixture
def client(api_server) -> ResourceClient:
    return ResourceClient(object(), transport=api_server, sleep=lambda seconds: None, rand=lambda: 0.5)


class ModuleExit(Exception):
    def __init__(self, result: Dict[str, Any], failed: bool) -> None:
        super().__init__(result)
        self.result = result
        self.failed = failed


@pytest.fixture
def run_module(monkeypatch, api_server):
    """Run a module's main() against the fake server; returns (result dict, failed flag)."""
    from ansible.module_utils import basic
    from ansible.module_utils.testing import patch_module_args

    def exit_json(self, **kwargs):
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        raise ModuleExit(kwargs, True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(_module, "create_api_client", lambda auth: object())
    monkeypatch.setattr(
        _module, "ResourceClient",
        functools.partial(ResourceClient, transport=api_server, sleep=lambda seconds: None),
    )

    def run(main, args: Dict[str, Any], check_mode: bool = False, diff: bool = False):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        with patch_module_args(args):
            with pytest.raises(ModuleExit) as caught:
                main()
        return caught.value.result, caught.value.failed

    return run
