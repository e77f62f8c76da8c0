"""API discovery: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/{g}``, ``/apis/{g}/{v}``.

Plain JSON discovery (APIVersions, APIGroupList, APIGroup, APIResourceList) as kube-apiserver
serves it, plus aggregated discovery (``apidiscovery.k8s.io/v2`` APIGroupDiscoveryList) when the
client asks for it in Accept, as kubectl does. Served types come from the registry; for flavor
openshift the registry's ``discovery_only`` types add the rest of a real OpenShift cluster's
groups. ``subresources.kubevirt.io`` mimics virt-api's own (Go-encoded) resource list. Answers are
built once and cached as bytes.
"""
from __future__ import annotations

import base64
import hashlib
import re
import threading
from typing import Optional

from .request import encode
from .resources import Registry, ResourceType

KUBE_VERSION = {
    "major": "1", "minor": "35", "emulationMajor": "1", "emulationMinor": "35",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "34",
    "gitVersion": "v1.35.2", "gitCommit": "3b6ce3d7cbbbc4b1ae4d4d8ef5c16f1cd1a7bb41",
    "gitTreeState": "clean", "buildDate": "2026-02-10T11:04:32Z", "goVersion": "go1.25.6",
    "compiler": "gc", "platform": "linux/amd64",
}
SUBRESOURCE_GROUP = "subresources.kubevirt.io"
SUBRESOURCE_VERSIONS = ("v1", "v1alpha3")
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

# virt-api's subresource list (pkg/virt-api/api.go): names only, so Go encodes kind "" and verbs null.
_VIRT_API_RESOURCES = (
    "expand-vm-spec", "virtualmachineinstances/vnc", "virtualmachineinstances/vnc/screenshot",
    "virtualmachineinstances/console", "virtualmachineinstances/portforward",
    "virtualmachineinstances/pause", "virtualmachineinstances/unpause", "virtualmachineinstances/freeze",
    "virtualmachineinstances/unfreeze", "virtualmachineinstances/reset", "virtualmachineinstances/softreboot",
    "virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart", "virtualmachines/migrate",
    "virtualmachines/expand-spec", "virtualmachines/objectgraph", "virtualmachines/evacuate/cancel",
    "virtualmachineinstances/guestosinfo", "virtualmachineinstances/userlist",
    "virtualmachineinstances/filesystemlist", "virtualmachineinstances/addvolume",
    "virtualmachineinstances/removevolume", "virtualmachineinstances/objectgraph",
    "virtualmachineinstances/sev/fetchcertchain", "virtualmachineinstances/sev/querylaunchmeasurement",
    "virtualmachineinstances/sev/setupsession", "virtualmachineinstances/sev/injectlaunchsecret",
    "virtualmachineinstances/evacuate/cancel",
)

# Built-in groups in kube-apiserver's order; everything else follows alphabetically.
_BUILTIN_ORDER = (
    "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
    "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io", "policy", "rbac.authorization.k8s.io",
    "storage.k8s.io", "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
    "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io", "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
)

# (group, version, kind, verbs) of built-in subresources that are not the parent kind.
_SUBRESOURCE_KINDS = {
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
    "binding": ("", "", "Binding", ["create"]),
    "exec": ("", "", "PodExecOptions", ["create", "get"]),
    "log": ("", "", None, ["get"]),
    "finalize": ("", "", None, ["update"]),
    "status": ("", "", None, ["get", "patch", "update"]),
}
_PROXY_KINDS = {"pods": "PodProxyOptions", "nodes": "NodeProxyOptions", "services": "ServiceProxyOptions"}

_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Sort key putting GA before beta before alpha, higher numbers first (kube-aware)."""
    match = _VERSION_RE.match(version)
    if not match:
        return (3, 0, 0, version)
    major, stage, minor = int(match.group(1)), match.group(2), int(match.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


def _group_order(group: str) -> tuple:
    if group in _BUILTIN_ORDER:
        return (0, _BUILTIN_ORDER.index(group), group)
    return (1, 0, group)


def storage_version_hash(group: str, version: str, kind: str) -> str:
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _verbs(rtype: ResourceType) -> list[str]:
    verbs = list(rtype.verbs)
    if rtype.gr == ("", "namespaces"):
        verbs = [v for v in verbs if v != "deletecollection"]
    return verbs


def resource_entries(rtype: ResourceType, version: str) -> list[dict]:
    """APIResourceList entries for ``rtype`` in ``version``: the resource and its subresources."""
    entry: dict = {"name": rtype.plural, "singularName": rtype.singular or rtype.kind.lower(),
                   "namespaced": rtype.namespaced, "kind": rtype.kind, "verbs": _verbs(rtype)}
    if rtype.short_names:
        entry["shortNames"] = list(rtype.short_names)
    if rtype.categories:
        entry["categories"] = list(rtype.categories)
    if rtype.gr != ("project.openshift.io", "projects"):
        entry["storageVersionHash"] = storage_version_hash(rtype.group, rtype.version, rtype.kind)
    out = [entry]
    for sub in sorted(rtype.subresources):
        sub_entry: dict = {"name": f"{rtype.plural}/{sub}", "singularName": "", "namespaced": rtype.namespaced}
        if sub == "proxy":
            group, sub_version, kind, verbs = "", "", _PROXY_KINDS.get(rtype.plural, "ProxyOptions"), \
                ["create", "delete", "get", "patch", "update"]
        else:
            group, sub_version, kind, verbs = _SUBRESOURCE_KINDS.get(sub, ("", "", None, ["get", "patch", "update"]))
        if group:
            sub_entry["group"] = group
            sub_entry["version"] = sub_version
        sub_entry["kind"] = kind or rtype.kind
        sub_entry["verbs"] = list(verbs)
        out.append(sub_entry)
    return out


class Discovery:
    def __init__(self, registry: Registry, server_address: str = "127.0.0.1:6443") -> None:
        self.registry = registry
        self.server_address = server_address
        self._lock = threading.Lock()
        self._cache: dict[str, bytes] = {}
        # group -> version -> [ResourceType], versions ordered by priority
        self.groups: dict[str, dict[str, list[ResourceType]]] = {}
        self._build()

    def _build(self) -> None:
        table: dict[str, dict[str, dict[str, ResourceType]]] = {}
        for rtype in self.registry.types():
            for version in rtype.served_versions or (rtype.version,):
                table.setdefault(rtype.group, {}).setdefault(version, {})[rtype.plural] = rtype
        for rtype in self.registry.discovery_only:
            for version in rtype.served_versions or (rtype.version,):
                table.setdefault(rtype.group, {}).setdefault(version, {}).setdefault(rtype.plural, rtype)
        groups: dict[str, dict[str, list[ResourceType]]] = {}
        for group in sorted(table, key=_group_order):
            versions = table[group]
            groups[group] = {v: sorted(versions[v].values(), key=lambda t: t.plural)
                             for v in sorted(versions, key=version_priority)}
        self.groups = groups
        self.has_subresource_group = ("kubevirt.io", "virtualmachines") in {t.gr for t in self.registry.types()}

    def served_type(self, group: str, version: str, plural: str) -> Optional[ResourceType]:
        """A discovery-only type of this group/version (answered with empty lists)."""
        for rtype in self.groups.get(group, {}).get(version, ()):
            if rtype.plural == plural:
                return rtype
        return None

    # -- documents -----------------------------------------------------------------------------
    def _cached(self, key: str, build) -> bytes:
        with self._lock:
            data = self._cache.get(key)
        if data is None:
            data = encode(build())
            with self._lock:
                self._cache[key] = data
        return data

    def _group_versions(self, group: str) -> list[str]:
        if group == SUBRESOURCE_GROUP and self.has_subresource_group:
            return list(SUBRESOURCE_VERSIONS)
        return list(self.groups.get(group, {}))

    def _api_group(self, group: str) -> dict:
        versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in self._group_versions(group)]
        return {"name": group, "versions": versions, "preferredVersion": dict(versions[0])}

    def _group_names(self) -> list[str]:
        names = [g for g in self.groups if g]
        if self.has_subresource_group and SUBRESOURCE_GROUP not in names:
            names.append(SUBRESOURCE_GROUP)
        return names

    def version(self) -> bytes:
        return self._cached("/version", lambda: KUBE_VERSION)

    def api_versions(self) -> bytes:
        return self._cached("/api", lambda: {
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}]})

    def group_list(self) -> bytes:
        return self._cached("/apis", lambda: {
            "kind": "APIGroupList", "apiVersion": "v1",
            "groups": [self._api_group(g) for g in self._group_names()]})

    def group(self, group: str) -> Optional[bytes]:
        if group not in self._group_names():
            return None
        return self._cached(f"/apis/{group}", lambda: dict(kind="APIGroup", apiVersion="v1",
                                                            **self._api_group(group)))

    def resource_list(self, group: str, version: str) -> Optional[bytes]:
        if group == SUBRESOURCE_GROUP and self.has_subresource_group:
            if version not in SUBRESOURCE_VERSIONS:
                return None
            return self._cached(f"/apis/{group}/{version}", lambda: {
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}",
                "resources": [{"name": name, "singularName": "", "namespaced": True, "kind": "", "verbs": None}
                              for name in _VIRT_API_RESOURCES]})
        types = self.groups.get(group, {}).get(version)
        if types is None:
            return None
        group_version = f"{group}/{version}" if group else version

        def build() -> dict:
            resources: list[dict] = []
            for rtype in types:
                resources.extend(resource_entries(rtype, version))
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                    "resources": resources}
        return self._cached(f"/rl/{group_version}", build)

    # -- aggregated discovery (apidiscovery.k8s.io/v2) ------------------------------------------
    def aggregated(self, core: bool, api_version: str = "apidiscovery.k8s.io/v2") -> bytes:
        def build() -> dict:
            groups = [""] if core else self._group_names()
            items = []
            for group in groups:
                meta: dict = {"creationTimestamp": None}
                if group:
                    meta = {"name": group, "creationTimestamp": None}
                versions = []
                for version in self._group_versions(group):
                    versions.append({"version": version, "resources": self._aggregated_resources(group, version),
                                     "freshness": "Current"})
                items.append({"metadata": meta, "versions": versions})
            return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}
        return self._cached(f"/agg/{core}/{api_version}", build)

    def _aggregated_resources(self, group: str, version: str) -> list[dict]:
        if group == SUBRESOURCE_GROUP:
            entries = [{"name": n, "namespaced": True, "kind": "", "verbs": None} for n in _VIRT_API_RESOURCES]
            custom = True
        else:
            entries = []
            custom = False
            for rtype in self.groups.get(group, {}).get(version, ()):
                custom = rtype.custom
                entries.extend(resource_entries(rtype, version))
        out: list[dict] = []
        parents: dict[str, dict] = {}
        for entry in entries:
            if "/" in entry["name"]:
                continue
            res = {"resource": entry["name"],
                   "responseKind": {"group": group if custom else "", "version": version if custom else "",
                                    "kind": entry["kind"]},
                   "scope": "Namespaced" if entry["namespaced"] else "Cluster",
                   "singularResource": entry.get("singularName", ""), "verbs": entry["verbs"]}
            if entry.get("shortNames"):
                res["shortNames"] = entry["shortNames"]
            if entry.get("categories"):
                res["categories"] = entry["categories"]
            out.append(res)
            parents[entry["name"]] = res
        for entry in entries:
            parent_name, sep, sub = entry["name"].partition("/")
            if not sep:
                continue
            parent = parents.get(parent_name)
            if parent is None:
                parent = {"resource": parent_name, "responseKind": {"group": "", "version": "", "kind": ""},
                          "scope": "Namespaced" if entry["namespaced"] else "Cluster"}
                out.append(parent)
                parents[parent_name] = parent
            kind = {"group": entry.get("group", group if custom else ""),
                    "version": entry.get("version", version if custom else ""),
                    "kind": entry["kind"]} if entry["kind"] else {"group": "", "version": "", "kind": ""}
            sub_entry: dict = {"subresource": sub, "responseKind": kind}
            if entry.get("verbs") is not None:
                sub_entry["verbs"] = entry["verbs"]
            parent.setdefault("subresources", []).append(sub_entry)
        return out


def wants_aggregated(accept: str) -> Optional[str]:
    """The aggregated discovery apiVersion the Accept header asks for first, if any."""
    for part in accept.split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in part.split(";")[1:] if "=" in p}
        if params.get("as") == "APIGroupDiscoveryList" and params.get("g") == "apidiscovery.k8s.io":
            if params.get("v") in ("v2", "v2beta1"):
                return f"apidiscovery.k8s.io/{params['v']}"
        elif part.split(";")[0].strip() in ("application/json", "*/*"):
            return None
    return None
