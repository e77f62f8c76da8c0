# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What virt.kubevirt.vm_export does: check the source, make the token Secret and the export, wait
for Ready, download a volume (or, with format oci, the whole VM as an OCI image once OCIReady is
True), and remove the export when asked.

The token is only ever read from its Secret to send it in a header: it is added to the task's
no_log values at once and never returned (the result names the Secret).
"""

from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._events import describe_events, recent_events
from ansible_collections.virt.kubevirt.plugins.module_utils._export_download import (
    Downloader,
    DownloadOutcome,
    file_sha256,
    oci_file,
    ssl_context,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._export_spec import (
    build_export,
    build_token_secret,
    secret_name_for,
    secret_token,
    spec_mismatches,
    validate_export_params,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._export_status import (
    OCI_MANIFEST,
    OCI_READY_DESCRIPTION,
    READY_DESCRIPTION,
    export_ready,
    export_settled,
    link_of,
    manifest_urls,
    not_ready_detail,
    oci_export_ready,
    oci_export_settled,
    progress_state,
    volume_names,
    volume_url,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._predicates import is_gone, status_of
from ansible_collections.virt.kubevirt.plugins.module_utils._resources import (
    PERSISTENT_VOLUME_CLAIM,
    SECRET,
    VIRTUAL_MACHINE,
    VIRTUAL_MACHINE_EXPORT as VMEXPORT,
    VIRTUAL_MACHINE_INSTANCE,
    VIRTUAL_MACHINE_SNAPSHOT,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._validate import invalid

USER_AGENT = "virt.kubevirt.vm_export"
SOURCE_REFS = {"VirtualMachine": VIRTUAL_MACHINE, "VirtualMachineSnapshot": VIRTUAL_MACHINE_SNAPSHOT,
               "PersistentVolumeClaim": PERSISTENT_VOLUME_CLAIM}


def _where(namespace: str, name: str) -> str:
    return "VirtualMachineExport %s/%s" % (namespace, name)


def _check_source(module: Any, params: Mapping[str, Any]) -> None:
    """The source exists, and a VM is stopped (KubeVirt keeps a running VM's export Pending, InUse)."""
    source, namespace = params["source"], params["namespace"]
    where = "%s %s/%s" % (source["kind"], namespace, source["name"])
    if module.client.get(SOURCE_REFS[source["kind"]], source["name"], namespace) is None:
        raise invalid("source.name", "%s not found" % where)
    if source["kind"] == "VirtualMachine" and module.client.get(VIRTUAL_MACHINE_INSTANCE, source["name"], namespace):
        raise invalid("source", "Virtual Machine %s/%s is running: KubeVirt exports a stopped VM only (its export "
                      "would stay Pending with reason InUse); stop it first, or export a VirtualMachineSnapshot of it"
                      % (namespace, source["name"]))


def _token_secret(module: Any, params: Mapping[str, Any]) -> Optional[str]:
    """Make or update the Secret of a given token; check a named one exists. Returns 'created'/'updated'/None."""
    name = secret_name_for(params)
    if name is None:
        return None
    live = module.client.get(SECRET, name, params["namespace"])
    if not params.get("token"):
        if live is None or secret_token(live) is None:
            raise invalid("token_secret", "Secret %s/%s %s; give token to have it made" % (
                params["namespace"], name, "not found" if live is None else "has no key 'token'"))
        return None
    if live is None:
        module.client.create(SECRET, build_token_secret(params, name), params["namespace"])
        return "created"
    if secret_token(live) != params["token"].strip():
        body = build_token_secret(params, name)
        body["metadata"]["resourceVersion"] = live["metadata"].get("resourceVersion")
        module.client.replace(SECRET, body, params["namespace"])
        return "updated"
    return None


def _wants_oci(params: Mapping[str, Any]) -> bool:
    return bool(params.get("download")) and params["download"]["format"] == "oci"


def _wait(module: Any, export: Dict[str, Any], oci: bool) -> Dict[str, Any]:
    """Until Ready (and with ``oci`` OCIReady True, while the exporter computes the digests)."""
    namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
    final = module.waiter().wait(VMEXPORT, name, namespace, oci_export_settled if oci else export_settled,
                                 module.params["wait_timeout"], OCI_READY_DESCRIPTION if oci else READY_DESCRIPTION,
                                 event_kinds=(VMEXPORT.kind,), initial=export, deleted_is_final=True,
                                 summary=progress_state)
    if final is not None and (oci_export_ready if oci else export_ready)(final):
        return final
    events = recent_events(module.client, namespace, name, kinds=(VMEXPORT.kind,))
    state = "was deleted while the task waited (its TTL expired?)" if final is None else \
        "is not ready: %s" % not_ready_detail(final)
    raise KubeApiError("%s %s. Recent events: %s" % (_where(namespace, name), state, describe_events(events)),
                       reason="ExportNotReady", details={"export": final, "events": events})


def _token_of(module: Any, export: Mapping[str, Any]) -> str:
    name = status_of(export).get("tokenSecretRef") or (export.get("spec") or {}).get("tokenSecretRef")
    namespace = export["metadata"]["namespace"]
    token = secret_token(module.client.get(SECRET, name, namespace)) if name else None
    if not token:
        raise KubeApiError("download: the token Secret %s/%s of %s has no token" % (
            namespace, name, _where(namespace, export["metadata"]["name"])), reason="NoToken")
    module.ansible.no_log_values.add(token)
    return token


def _download(module: Any, export: Mapping[str, Any]) -> Dict[str, Any]:
    params, options = module.params, module.params["download"]
    namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
    link = link_of(export, params.get("proxy_url"))
    if link is None:
        raise invalid("proxy_url", "%s has no external link (KubeVirt found no vmexport-proxy Route or Ingress); set "
                      "proxy_url to the address of virt-exportproxy, e.g. a port-forward of its service"
                      % _where(namespace, name))
    if options["format"] == "oci":
        return _download_oci(module, export, link)
    names = volume_names(link)
    volume = options.get("volume") or (names[0] if len(names) == 1 else None)
    if volume is None or volume not in names:
        raise invalid("download.volume", "%s %s; the export has: %s" % (
            "must name one volume" if volume is None else "%r is not a volume of the export" % volume,
            _where(namespace, name), ", ".join(names) or "none"))
    url = volume_url(link, volume, options["format"])
    if url is None:
        raise invalid("download.format", "%r is not offered for volume %s (KubeVirt serves raw and gzip for disk "
                      "images, dir and tar.gz for other content)" % (options["format"], volume))
    dest = options["dest"]
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        raise invalid("download.dest", "the folder of %s does not exist" % dest)
    raw = options["format"] == "raw"
    extra = {"volume": volume, "format": options["format"]}
    if module.check_mode:
        done = os.path.isfile(dest) and not options["force"]
        return dict(DownloadOutcome(dest, url, os.path.getsize(dest) if done else 0,
                                    file_sha256(dest) if done else "", not done, extra=extra).as_result())
    context = ssl_context(link.get("cert"), options.get("ca_cert"), options["validate_certs"])
    downloader = Downloader(_token_of(module, export), context, USER_AGENT,
                            observe=lambda state: module.progress.observe("volume %s" % volume, state))
    if os.path.isfile(dest) and not options["force"]:
        size = os.path.getsize(dest)
        if not raw or downloader.remote_size(url) == size:
            return DownloadOutcome(dest, url, size, file_sha256(dest), False, extra=extra).as_result()
    module.progress.begin()
    try:
        outcome = downloader.fetch(url, dest, resumable=raw and not options["force"])
    finally:
        module.progress.finish()
    outcome.extra = extra
    return outcome.as_result()


def _download_oci(module: Any, export: Mapping[str, Any], link: Mapping[str, Any]) -> Dict[str, Any]:
    """The whole VM as one OCI image layout tar (KubeVirt >= 1.9 with the OCIExport gate), checked on the way."""
    options = module.params["download"]
    namespace, name = export["metadata"]["namespace"], export["metadata"]["name"]
    url = manifest_urls(link).get(OCI_MANIFEST)
    if url is None:
        raise invalid("download.format", "%s has no oci link: KubeVirt (>= 1.9) serves the VM as an OCI image "
                      "(export.oci.tar) only when the alpha feature gate OCIExport is enabled (spec.configuration."
                      "developerConfiguration.featureGates of the KubeVirt CR; on OpenShift through the HyperConverged "
                      "CR's jsonpatch annotation); an export made before the gate was enabled has none either: delete it "
                      "(state: absent) and run again, or use format raw or gzip" % _where(namespace, name))
    dest = options["dest"]
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        raise invalid("download.dest", "the folder of %s does not exist" % dest)
    extra: Dict[str, Any] = {"format": "oci"}
    done = os.path.isfile(dest) and not options["force"]
    if module.check_mode:
        return dict(DownloadOutcome(dest, url, os.path.getsize(dest) if done else 0, file_sha256(dest) if done else "",
                                    not done, extra=extra).as_result())
    context = ssl_context(link.get("cert"), options.get("ca_cert"), options["validate_certs"])
    downloader = Downloader(_token_of(module, export), context, USER_AGENT,
                            observe=lambda state: module.progress.observe("image export.oci.tar", state))
    if done:
        # Each exporter pod writes its own created time into index.json, so the tar's sha256 differs from pod to
        # pod; the manifest digest names the same config and disk layers: kept when the export serves that one.
        try:
            sha256, image = oci_file(dest)
        except KubeApiError as exc:
            raise invalid("download.dest", "%s exists: set download.force to download it again"
                          % exc.message[len("download: "):]) from None
        if downloader.oci_manifest_digest(url) == image["manifest_digest"]:
            return DownloadOutcome(dest, url, os.path.getsize(dest), sha256, False,
                                   extra=dict(extra, image=image)).as_result()
    module.progress.begin()
    try:
        outcome = downloader.fetch(url, dest, resumable=not options["force"], oci=True)
    finally:
        module.progress.finish()
    outcome.extra = dict(extra, **outcome.extra)
    return outcome.as_result()


def _result(export: Optional[Dict[str, Any]], proxy_url: Optional[str]) -> Dict[str, Any]:
    link = link_of(export, proxy_url) if export else None
    status = status_of(export)
    return {"export": export or {}, "phase": status.get("phase"), "ready": export_ready(export),
            "token_secret": status.get("tokenSecretRef") or ((export or {}).get("spec") or {}).get("tokenSecretRef"),
            "ttl_expiration_time": status.get("ttlExpirationTime"), "links": status.get("links") or {},
            "volumes": volume_names(link), "manifests": manifest_urls(link)}


def present(module: Any) -> Dict[str, Any]:
    params, client = module.params, module.client
    validate_export_params(params)
    namespace, name = params["namespace"], params["name"]
    wanted = build_export(params)
    download = params.get("download")
    if params["delete_after"] and download and os.path.isfile(download["dest"]) and not download["force"]:
        result = _result(None, None)
        result.update(changed=False, method="none", deleted=False, download=dict(
            DownloadOutcome(download["dest"], "", os.path.getsize(download["dest"]), file_sha256(download["dest"]),
                            False).as_result()))
        return result
    live = client.get(VMEXPORT, name, namespace)
    if live is not None:
        problems = spec_mismatches(live, wanted)
        if problems:
            raise invalid("name", "%s exists with another spec (%s); an export is not changed in place: delete it "
                          "(state: absent) or use another name" % (_where(namespace, name), "; ".join(problems)))
        if live["metadata"].get("deletionTimestamp"):
            raise KubeApiError("name: %s is being deleted; run the task again once it is gone" % _where(namespace, name),
                               reason="Conflict")
    else:
        _check_source(module, params)
    secret_change = _token_secret(module, params)
    changed, method, export = bool(secret_change), "none", live
    if live is None:
        export = client.create(VMEXPORT, wanted, namespace)
        changed, method = True, "create"
    oci = _wants_oci(params)
    if (params["wait"] or download) and not module.check_mode and not (oci_export_ready if oci else export_ready)(export):
        export = _wait(module, export, oci)
    result = _result(export, params.get("proxy_url"))
    if download:
        if module.check_mode and not (oci_export_ready if oci else export_ready)(export):
            result["download"] = {"dest": download["dest"], "changed": True}
        else:
            result["download"] = _download(module, export)
        changed = changed or result["download"]["changed"]
    result["deleted"] = False
    if params["delete_after"]:
        client.delete(VMEXPORT, name, namespace)
        result["deleted"], changed = True, True
    result.update(changed=changed, method=method, token_secret_change=secret_change)
    if changed:
        module.add_diff(result, {"export": _diffable(live)}, {"export": None if result["deleted"] else _diffable(export)})
    return result


def _diffable(export: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    return None if export is None else {"metadata": {"name": export["metadata"]["name"],
                                                     "namespace": export["metadata"].get("namespace")},
                                        "spec": export.get("spec")}


def absent(module: Any) -> Dict[str, Any]:
    params, client = module.params, module.client
    validate_export_params(params)
    live = client.get(VMEXPORT, params["name"], params["namespace"])
    result = _result(live, None)
    result.update(changed=False, method="none", deleted=False)
    if live is None:
        return result
    if not live["metadata"].get("deletionTimestamp"):
        client.delete(VMEXPORT, params["name"], params["namespace"])
        result.update(changed=True, method="delete", deleted=True)
        module.add_diff(result, {"export": _diffable(live)}, {"export": None})
    if params["wait"] and not module.check_mode:
        module.waiter().wait(VMEXPORT, params["name"], params["namespace"], is_gone, params["wait_timeout"],
                             "the export deleted", initial=live)
    return result


def run_export(module: Any) -> Dict[str, Any]:
    return present(module) if module.params["state"] == "present" else absent(module)
