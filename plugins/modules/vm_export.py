#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_export
short_description: Export a stopped VM, a VM snapshot or a PVC, and download its volumes
version_added: 0.1.0
description:
  - Creates a C(VirtualMachineExport) (C(export.kubevirt.io/v1beta1)) of a stopped VirtualMachine, a
    C(VirtualMachineSnapshot) or a PersistentVolumeClaim, waits until KubeVirt's exporter serves it
    (phase C(Ready)), showing its state live, and returns its links and manifest URLs.
  - A running VM cannot be exported (KubeVirt keeps the export C(Pending) with reason C(InUse)), so the
    task fails before any write and says to stop the VM or to export a snapshot of it. A wait also
    ends at once on the other reasons only the user can clear (a claim in use, a missing source).
  - The export is idempotent by name. Its spec is not changed in place, so an export with another
    source, token Secret or TTL under O(name) fails the task.
  - The token is the only credential of the export. Without O(token) and O(token_secret), KubeVirt
    generates it into the Secret C(export-token-<name>); with O(token) the module stores it in
    O(token_secret) (default C(<name>-export-token)). The token is never returned nor logged; the
    result names the Secret (RV(token_secret)).
  - With O(download), one volume is fetched through the external link to a file on the host that
    runs the module (the controller), streamed in 1 MiB blocks, so memory stays constant whatever
    the disk size, and its sha256 is computed on the way. TLS is verified against the CA KubeVirt
    publishes in the link (C(cert)). Bytes go to C(<dest>.part), renamed to O(download.dest) once
    complete; a C(.part) left by an interrupted run is resumed with an HTTP C(Range) request (raw
    format). An existing O(download.dest) of the remote size is kept (changed V(false)) unless
    O(download.force).
  - With O(download.format=oci) (KubeVirt 1.9 or later, alpha feature gate C(OCIExport) enabled in the
    KubeVirt CR), the whole VM is downloaded as one OCI image layout tar (C(export.oci.tar), with the VM's
    definition as the config and each disk as a zstd-compressed layer), for a V(VirtualMachine) or
    V(VirtualMachineSnapshot) source. The module first waits for the export's C(OCIReady) condition
    (C(DigestsPending) while KubeVirt computes the sha256 of every disk, shown live, then
    C(DigestsComputed)). The tar is streamed to the file in constant memory and read as an OCI image on
    the way; every blob must match the digest it is named by and the manifest's config and layers must
    all be there (RV(download.image)). Without the gate the export has no C(oci) link and the task fails
    naming it.
  - O(delete_after) deletes the export once the volume is downloaded; KubeVirt also deletes an export
    itself when its O(ttl_duration) has passed.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.wait
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
    details: The token Secret and the export are created (or deleted) as server dry runs; nothing is downloaded.
  diff_mode:
    support: full
options:
  name:
    description: Name of the VirtualMachineExport (a DNS-1035 label).
    type: str
    required: true
  namespace:
    description: Namespace of the export and of its source.
    type: str
    required: true
  state:
    description: V(present) creates the export unless it exists (and downloads); V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  source:
    description: What to export. Required with V(state=present).
    type: dict
    suboptions:
      kind:
        description:
          - V(VirtualMachine) (it must be stopped; every PVC and DataVolume disk is exported),
            V(VirtualMachineSnapshot) (KubeVirt restores its volumes into temporary claims
            C(<export>-<claim>)) or V(PersistentVolumeClaim) (it must not be in use by a running pod).
        type: str
        choices: [VirtualMachine, VirtualMachineSnapshot, PersistentVolumeClaim]
        default: VirtualMachine
      name:
        description: Name of the source object.
        type: str
        required: true
  token_secret:
    description:
      - Secret holding the export token under the key C(token) (C(spec.tokenSecretRef)).
      - Without O(token) it must exist. Without both, KubeVirt generates C(export-token-<name>).
    type: str
  token:
    description:
      - The export token (at least 16 characters), stored in O(token_secret) (created or updated).
      - Never returned nor logged.
    type: str
  ttl_duration:
    description:
      - How long the export lives (C(spec.ttlDuration)), a duration such as V(30m) or V(1h30m).
        KubeVirt deletes the export when it is over. KubeVirt's default is V(2h).
    type: str
  proxy_url:
    description:
      - Address of virt-exportproxy to use instead of the host of the external link, for example
        V(https://localhost:8443) with C(kubectl port-forward -n openshift-cnv svc/virt-exportproxy 8443:443)
        on a cluster without a reachable Route or Ingress. The links' paths are kept.
      - The certificate of a port-forwarded proxy does not name C(localhost); set O(download.validate_certs=false)
        or give O(download.ca_cert).
    type: str
  download:
    description: Download one volume of the export to a local file once it is Ready.
    type: dict
    suboptions:
      dest:
        description: Path of the file to write on the host that runs the module; its folder must exist.
        type: path
        required: true
      volume:
        description:
          - Name of the volume (the claim name; for a snapshot the original claim's name), as in RV(volumes).
          - Required when the export has more than one volume (V(raw) and V(gzip)); not allowed with V(oci),
            whose image holds every disk.
        type: str
      format:
        description:
          - V(raw) (C(disk.img), resumable) or V(gzip) (C(disk.img.gz), compressed by the exporter on the
            fly, so it cannot be resumed and an existing O(download.dest) is kept as is).
          - V(oci) (C(export.oci.tar), KubeVirt 1.9 or later with the feature gate C(OCIExport); VirtualMachine
            and VirtualMachineSnapshot sources) is the VM and all its disks as one OCI image layout tar. An
            existing O(download.dest) is kept when it is a whole image with the manifest digest the export serves
            (read from C(index.json) at the start of the tar, a few KiB, then the connection is closed), else
            downloaded again; the tar's own sha256 differs from one exporter pod to the next (the C(created) time
            in C(index.json)), its manifest does not. A C(.part) is resumed with a C(Range) request, but
            KubeVirt's exporter answers with the whole tar, so the download starts over; a resumed image that
            fails the checks is fetched again whole.
        type: str
        choices: [raw, gzip, oci]
        default: raw
      force:
        description: Download again even if O(download.dest) exists, and start over instead of resuming a C(.part).
        type: bool
        default: false
      validate_certs:
        description: Verify the export server's certificate (against the link's C(cert), or O(download.ca_cert)).
        type: bool
        default: true
      ca_cert:
        description: CA file to verify the export server with instead of the link's C(cert).
        type: path
  delete_after:
    description:
      - Delete the export after the download (requires O(download)).
      - A re-run whose O(download.dest) exists (and not O(download.force)) does nothing at all.
    type: bool
    default: false
  wait:
    description:
      - Wait until the export is C(Ready). A download always waits.
    type: bool
    default: true
notes:
  - The VMExport feature gate must be enabled in KubeVirt (OpenShift Virtualization enables it).
seealso:
  - module: virt.kubevirt.vm_snapshot
  - name: KubeVirt export API
    description: How VirtualMachineExport works.
    link: https://kubevirt.io/user-guide/storage/export_api/
"""

EXAMPLES = r"""
- name: Export a stopped VM and download its data disk, then remove the export
  virt.kubevirt.vm_export:
    name: db-export
    namespace: prod
    source:
      kind: VirtualMachine
      name: db
    ttl_duration: 1h
    download:
      volume: db-data
      dest: /backups/db-data.img
    delete_after: true
  register: exported

- name: Show the checksum of the downloaded disk
  ansible.builtin.debug:
    msg: "{{ exported.download.sha256 }}"

- name: Export a snapshot with a token of our own, through a port-forwarded virt-exportproxy
  virt.kubevirt.vm_export:
    name: web-snap-export
    namespace: prod
    source:
      kind: VirtualMachineSnapshot
      name: web-snap-1
    token_secret: web-export-token
    token: "{{ vault_export_token }}"
    proxy_url: https://localhost:8443
    download:
      dest: /backups/web-root.img.gz
      format: gzip
      validate_certs: false

- name: Download a stopped VM as one OCI image (KubeVirt 1.9+, feature gate OCIExport)
  virt.kubevirt.vm_export:
    name: db-oci
    namespace: prod
    source:
      kind: VirtualMachine
      name: db
    download:
      dest: /backups/db.oci.tar
      format: oci
    delete_after: true
  register: image

- name: Show the disks in the image
  ansible.builtin.debug:
    msg: "{{ image.download.image.layers | map(attribute='name') | list }}"

- name: Export a PVC without waiting
  virt.kubevirt.vm_export:
    name: dump-export
    namespace: prod
    source:
      kind: PersistentVolumeClaim
      name: memory-dump
    wait: false

- name: Remove an export
  virt.kubevirt.vm_export:
    name: dump-export
    namespace: prod
    state: absent
"""

RETURN = r"""
progress:
  description:
    - The states observed while the task waited, oldest first (the export's phase and Ready condition, then the
      download by tenths); the first and the newest 99 are kept. When the task runs in the controller's worker
      they are also shown in the play output.
  returned: when the task waited or downloaded
  type: list
  elements: dict
  contains:
    time:
      description: When the state was observed (UTC, ISO 8601).
      type: str
    elapsed:
      description: Seconds since the task started.
      type: float
    subject:
      description: The object, as C(Kind namespace/name), or C(volume <name>) for a download.
      type: str
    state:
      description: What was observed.
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.2, subject: VirtualMachineExport prod/db-export,
       state: "Pending, Ready=False PodPending"}
    - {time: "2026-12-03T10:02:12Z", elapsed: 1.1, subject: VirtualMachineExport prod/db-export,
       state: "Ready, Ready=True PodReady"}
    - {time: "2026-12-03T10:02:40Z", elapsed: 29.1, subject: volume db-data, state: "100% of 10.0 GiB"}
    - {time: "2026-12-03T11:00:05Z", elapsed: 3.2, subject: VirtualMachineExport prod/db-oci,
       state: "Pending, Ready=False Unknown, OCIReady=False DigestsPending"}
export:
  description: The VirtualMachineExport (in check mode as it would be created; empty when absent).
  returned: always
  type: dict
phase:
  description: C(status.phase) of the export (C(Pending), C(Ready), C(Terminated), C(Skipped)).
  returned: always
  type: str
  sample: Ready
ready:
  description: Whether the export is Ready and has links.
  returned: always
  type: bool
token_secret:
  description: Name of the Secret holding the token (C(status.tokenSecretRef)); the token itself is never returned.
  returned: always
  type: str
  sample: export-token-db-export
token_secret_change:
  description: V(created) or V(updated) when the module wrote the Secret of O(token), else null.
  returned: with state=present
  type: str
ttl_expiration_time:
  description: When KubeVirt deletes the export (C(status.ttlExpirationTime)).
  returned: always
  type: str
  sample: "2026-12-03T12:02:11Z"
links:
  description: C(status.links) as KubeVirt publishes them (C(internal) and C(external), each with C(cert), C(volumes), C(manifests)).
  returned: always
  type: dict
volumes:
  description: Names of the exported volumes (external link).
  returned: always
  type: list
  elements: str
  sample: [db-data]
manifests:
  description:
    - Manifest URLs of the external link by type (C(all), C(auth-header-secret)); VM and snapshot sources only.
    - C(oci) is the OCI image (C(export.oci.tar)) when KubeVirt's feature gate C(OCIExport) is enabled.
  returned: always
  type: dict
  sample:
    all: https://proxy.apps.example.com/api/export.kubevirt.io/v1beta1/namespaces/prod/virtualmachineexports/db-export/external/manifests/all
download:
  description: The download of O(download).
  returned: when download is given
  type: dict
  contains:
    dest:
      description: The local file.
      type: str
    url:
      description: The URL fetched (no token in it).
      type: str
    volume:
      description: The volume downloaded (V(raw) and V(gzip)).
      type: str
    format:
      description: V(raw), V(gzip) or V(oci).
      type: str
    image:
      description: With V(oci), the OCI image read from the tar (checked digests and sizes); not in check mode.
      type: dict
      contains:
        manifest_digest:
          description: Digest of the image manifest (from C(index.json)).
          type: str
          sample: sha256:ccf52d01e815c6c097fc775ee0758695067a61aa2db4f9d17b64d057c50b6b95
        artifact_type:
          description: The manifest's C(artifactType).
          type: str
          sample: application/vnd.kubevirt.virtualmachine.v1
        config:
          description: C(mediaType), C(digest) and C(size) of the config blob (the VM's definition).
          type: dict
        layers:
          description: One per disk, in the manifest's order.
          type: list
          elements: dict
          contains:
            name:
              description: The exported claim (annotation C(io.kubevirt.disk.name)).
              type: str
            title:
              description: Annotation C(org.opencontainers.image.title), C(<claim>.raw.zst).
              type: str
            media_type:
              description: C(application/vnd.kubevirt.disk.raw+zstd).
              type: str
            digest:
              description: sha256 of the compressed layer.
              type: str
            size:
              description: Size of the compressed layer in bytes.
              type: int
            disk_size:
              description: Size of the disk (annotation C(io.kubevirt.disk.size), a quantity such as C(10Gi)).
              type: str
    size:
      description: Size of the local file in bytes.
      type: int
    sha256:
      description: sha256 of the local file (computed from the bytes received, plus those of a resumed C(.part)).
      type: str
    changed:
      description: Whether bytes were (or in check mode would be) downloaded.
      type: bool
    resumed_from:
      description: Bytes already in C(<dest>.part) that the download continued from (0 for a fresh one).
      type: int
    transferred:
      description: Bytes received by this run.
      type: int
    seconds:
      description: Seconds the transfer took.
      type: float
deleted:
  description: Whether the export was (or would be) deleted.
  returned: always
  type: bool
method:
  description: V(create) when the export was (or would be) created, V(delete) when deleted, V(none) otherwise.
  returned: always
  type: str
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._export_flow import run_export
from ansible_collections.virt.kubevirt.plugins.module_utils._export_spec import EXPORT_ARGUMENT_SPEC
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule


def run(module: KubevirtModule) -> Dict[str, Any]:
    return run_export(module)


def main() -> None:
    KubevirtModule(EXPORT_ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
