#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: datavolume
short_description: Manage CDI DataVolumes (import, clone, blank and upload disks)
version_added: 0.1.0
description:
  - Create and delete C(DataVolume) objects of the Containerized Data Importer (C(cdi.kubevirt.io/v1beta1)),
    that is disks imported over HTTP(S), from S3, GCS or a container registry, cloned from a PVC or a
    VolumeSnapshot (also from another namespace), taken from a C(DataSource), blank, or prepared for an upload.
  - The DataVolume is server-side applied with the field manager C(virt.kubevirt); an unchanged
    re-run sends no write (one GET of the DataVolume and one of its claim).
  - Exactly one source option is required; V(state=present) on an existing DataVolume checks that
    the task still describes it.
  - A DataVolume's spec cannot change after creation (CDI refuses any update). A task that changes
    a source or storage field fails before any write, naming the option and the live value. Only
    O(labels) and O(annotations) are updated in place.
  - A larger O(storage.size) grows the claim (PersistentVolumeClaim) instead, when its StorageClass
    has C(allowVolumeExpansion=true); otherwise the task fails with a message saying so. A smaller one fails.
  - Storage fields the task omits (class, access modes, volume mode) are chosen by CDI from the
    StorageClass's C(StorageProfile) when it creates the claim; RV(pvc) reports what it chose.
  - V(state=absent) refuses to delete a DataVolume that a VirtualMachine still uses (a volume
    naming it or its claim, or the VM's C(dataVolumeTemplates)) unless O(force=true), and names the VMs.
  - The upload of a local file into an O(upload) DataVolume is not part of this module.
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
  diff_mode:
    support: full
options:
  name:
    description: Name of the DataVolume (an RFC 1123 subdomain); CDI gives its claim the same name.
    type: str
    required: true
  namespace:
    description: Namespace of the DataVolume.
    type: str
    required: true
  state:
    description:
      - V(present) creates the DataVolume (or updates its labels and annotations, or grows its claim).
      - V(absent) deletes it; CDI's claim is garbage-collected with it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - With V(state=absent), delete the DataVolume even when VirtualMachines use it.
    type: bool
    default: false
  labels:
    description:
      - Labels of the DataVolume; CDI copies them to the claim it creates.
      - The labels this module manages become exactly these; when omitted, they stay as they are.
    type: dict
  annotations:
    description:
      - Annotations of the DataVolume, for example C(cdi.kubevirt.io/storage.bind.immediate.requested=true)
        to populate a claim of a WaitForFirstConsumer class without waiting for a VM.
      - Like O(labels), the annotations this module manages become exactly these; when omitted, they stay as they are.
    type: dict
  http:
    description: Import from an http:// or https:// URL (C(spec.source.http)).
    type: dict
    suboptions:
      url:
        description: URL of the image (qcow2, raw, iso, optionally gz or xz compressed).
        type: str
        required: true
      cert_config_map:
        description: ConfigMap in the namespace holding the CA bundle to verify the server with.
        type: str
      secret_ref:
        description: Secret in the namespace with the basic auth keys C(accessKeyId) (user) and C(secretKey) (password).
        type: str
      extra_headers:
        description: "HTTP header lines the importer sends, such as V(X-Trace: 1)."
        type: list
        elements: str
      secret_extra_headers:
        description: Secrets in the namespace whose values are header lines the importer sends (for tokens).
        type: list
        elements: str
      insecure_skip_verify:
        description: Skip verifying the server's certificate.
        type: bool
  s3:
    description: Import from an S3 bucket (C(spec.source.s3)).
    type: dict
    suboptions:
      url:
        description: http(s) URL of the object, for example V(https://s3.us-east-1.amazonaws.com/bucket/disk.qcow2).
        type: str
        required: true
      secret_ref:
        description: Secret in the namespace with C(accessKeyId) and C(secretKey).
        type: str
      cert_config_map:
        description: ConfigMap in the namespace holding the CA bundle of the endpoint.
        type: str
  gcs:
    description: Import from Google Cloud Storage (C(spec.source.gcs)).
    type: dict
    suboptions:
      url:
        description: V(gs://bucket/object) or an http(s) URL of the object.
        type: str
        required: true
      secret_ref:
        description: Secret in the namespace with the service account key C(serviceAccount).
        type: str
  registry:
    description: Import a container disk image from a registry (C(spec.source.registry)); set O(registry.url) or O(registry.image_stream).
    type: dict
    suboptions:
      url:
        description: V(docker://registry/image:tag) or V(oci-archive://path).
        type: str
      image_stream:
        description: An OpenShift ImageStream name (with O(registry.pull_method=node)).
        type: str
      pull_method:
        description:
          - V(pod) pulls through CDI's importer pod (the default); V(node) lets the node's container
            runtime pull it (node pull secrets and mirrors apply).
        type: str
        choices: [pod, node]
      secret_ref:
        description: Secret in the namespace with the registry credentials C(accessKeyId) and C(secretKey).
        type: str
      cert_config_map:
        description: ConfigMap in the namespace holding the registry's CA bundle.
        type: str
  blank:
    description: Create an empty disk (C(spec.source.blank)).
    type: bool
    default: false
  upload:
    description:
      - Create an empty DataVolume that waits for an upload (C(spec.source.upload)); with O(wait) the
        task waits until CDI is ready to receive it (phase C(UploadReady)).
    type: bool
    default: false
  clone_pvc:
    description:
      - Clone a PersistentVolumeClaim (C(spec.source.pvc)). Without O(storage.size) the clone gets the source's size.
      - A clone from another namespace needs the C(datavolumes/source) C(create) permission in that namespace.
    type: dict
    suboptions:
      name:
        description: Name of the source claim.
        type: str
        required: true
      namespace:
        description: Namespace of the source claim; defaults to O(namespace).
        type: str
  snapshot:
    description: Restore a VolumeSnapshot (C(spec.source.snapshot)).
    type: dict
    suboptions:
      name:
        description: Name of the VolumeSnapshot.
        type: str
        required: true
      namespace:
        description: Namespace of the VolumeSnapshot; defaults to O(namespace).
        type: str
  source_ref:
    description: Populate from a DataSource, such as a golden image (C(spec.sourceRef)).
    type: dict
    suboptions:
      name:
        description: Name of the DataSource.
        type: str
        required: true
      namespace:
        description: Namespace of the DataSource, for example V(openshift-virtualization-os-images); defaults to O(namespace).
        type: str
      kind:
        description: Kind of the reference; CDI supports only V(DataSource).
        type: str
        choices: [DataSource]
        default: DataSource
  storage:
    description:
      - The claim to create (C(spec.storage)). Omitted fields are filled in by CDI from the StorageProfile.
    type: dict
    suboptions:
      size:
        description:
          - Size of the volume, a Kubernetes quantity such as V(20Gi), at least V(1Mi). Required but for
            O(clone_pvc), O(snapshot) and O(source_ref), which default to the source's size.
          - A larger value on an existing DataVolume expands its claim (see the description).
        type: str
      class:
        description: StorageClass name; it must exist. Defaults to the cluster's default (virtualization) class.
        type: str
      access_modes:
        description: Access modes, each one of V(ReadWriteOnce), V(ReadOnlyMany), V(ReadWriteMany), V(ReadWriteOncePod).
        type: list
        elements: str
      volume_mode:
        description: V(Filesystem) or V(Block).
        type: str
  preallocation:
    description: Ask CDI to preallocate the whole disk (C(spec.preallocation)).
    type: bool
  content_type:
    description: V(kubevirt) for a VM disk image (CDI's default), V(archive) for a tar archive unpacked into the volume.
    type: str
    choices: [kubevirt, archive]
  wait:
    description:
      - With V(state=present), wait until CDI populated the volume (phase C(Succeeded)), or for
        O(upload) until it is ready for the upload (C(UploadReady)). A claim of a WaitForFirstConsumer
        class is only populated once a VM uses it, so the wait ends at phase C(WaitForFirstConsumer) then.
      - The wait fails early, with CDI's message, when CDI reports a failure it does not recover from
        on its own (phase C(Failed), an importer that ended in error (C(Running=False)), an invalid claim).
      - With a larger O(storage.size), also waits until the claim reports the new capacity.
      - With V(state=absent), waits until the DataVolume and its claim are gone.
notes:
  - The live progress of an import is in C(result.status.progress) (V(N/A) or V(NN.NN%)).
seealso:
  - module: virt.kubevirt.datavolume_info
  - module: virt.kubevirt.vm
"""

EXAMPLES = r"""
- name: Import a Fedora cloud image over HTTPS and wait until it is on disk
  virt.kubevirt.datavolume:
    name: fedora-41
    namespace: images
    http:
      url: https://download.fedoraproject.org/pub/fedora/linux/releases/41/Cloud/x86_64/images/Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2
    storage:
      size: 10Gi
    wait: true
    wait_timeout: 1800

- name: Import from a private server with basic auth, a CA bundle and a token header
  virt.kubevirt.datavolume:
    name: rhel-9
    namespace: images
    http:
      url: https://images.example.com/rhel-9.qcow2
      secret_ref: images-basic-auth
      cert_config_map: images-ca
      secret_extra_headers:
        - images-token-header
    storage:
      size: 20Gi
      class: ocs-storagecluster-ceph-rbd-virtualization
      access_modes: [ReadWriteMany]
      volume_mode: Block

- name: A container disk from a registry, pulled by the node
  virt.kubevirt.datavolume:
    name: centos-stream-9
    namespace: images
    registry:
      url: docker://quay.io/containerdisks/centos-stream:9
      pull_method: node
    storage:
      size: 12Gi

- name: A blank 50 GiB data disk bound at once on a WaitForFirstConsumer class
  virt.kubevirt.datavolume:
    name: data-1
    namespace: vms
    blank: true
    storage:
      size: 50Gi
      class: local-wffc
    annotations:
      cdi.kubevirt.io/storage.bind.immediate.requested: "true"
    preallocation: true

- name: Clone a golden image from another namespace
  virt.kubevirt.datavolume:
    name: web-1-root
    namespace: vms
    clone_pvc:
      name: fedora-41
      namespace: images
    wait: true

- name: A disk from the DataSource OpenShift ships
  virt.kubevirt.datavolume:
    name: web-2-root
    namespace: vms
    source_ref:
      name: fedora
      namespace: openshift-virtualization-os-images
    storage:
      size: 30Gi

- name: An empty DataVolume to upload an image into
  virt.kubevirt.datavolume:
    name: uploaded
    namespace: images
    upload: true
    storage:
      size: 10Gi
    wait: true

- name: Grow the upload DataVolume above from 10Gi to 20Gi (its StorageClass must allow volume expansion)
  virt.kubevirt.datavolume:
    name: uploaded
    namespace: images
    upload: true
    storage:
      size: 20Gi

- name: Delete a DataVolume even though a VM still uses it
  virt.kubevirt.datavolume:
    name: web-1-root
    namespace: vms
    state: absent
    force: true
    wait: true
"""

RETURN = r"""
progress:
  description:
    - The states observed while the task waited (O(wait=true)), oldest first; the first and the
      newest 99 are kept. When the task runs in the controller's worker they are also shown in the
      play output while it waits.
  returned: when the task waited
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
      description: The object, as C(Kind namespace/name).
      type: str
    state:
      description: What was observed, C(status.phase) and C(status.progress).
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.4, subject: DataVolume images/fedora-41, state: "ImportInProgress 45.10%"}
    - {time: "2026-12-03T10:02:40Z", elapsed: 29.1, subject: DataVolume images/fedora-41, state: "Succeeded 100.0%"}
result:
  description:
    - The DataVolume as returned by the API server (in check mode, the dry-run result), with
      C(status.phase), C(status.progress) and C(status.conditions) (Bound, Ready, Running).
    - Empty when the DataVolume does not exist.
  returned: always
  type: dict
  sample:
    apiVersion: cdi.kubevirt.io/v1beta1
    kind: DataVolume
    metadata:
      name: fedora-41
      namespace: images
    status:
      phase: Succeeded
      progress: 100.0%
pvc:
  description:
    - The claim CDI created for the DataVolume, with what CDI chose from the StorageProfile; null
      before CDI created it (and in check mode for a new DataVolume).
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: Claim name.
      type: str
    phase:
      description: Claim phase, V(Pending), V(Bound) or V(Lost).
      type: str
    storage_class:
      description: StorageClass of the claim.
      type: str
    access_modes:
      description: Access modes of the claim.
      type: list
      elements: str
    volume_mode:
      description: V(Filesystem) or V(Block).
      type: str
    requested:
      description: Requested size (CDI adds the file system overhead to Filesystem claims).
      type: str
    capacity:
      description: Capacity of the bound volume.
      type: str
    volume_name:
      description: The PersistentVolume it is bound to.
      type: str
  sample:
    name: fedora-41
    phase: Bound
    storage_class: ocs-storagecluster-ceph-rbd-virtualization
    access_modes: [ReadWriteMany]
    volume_mode: Block
    requested: 10Gi
    capacity: 10Gi
method:
  description: What the module did, V(create), V(update) (labels or annotations), V(expand), V(delete) or V(none).
  returned: always
  type: str
  sample: create
expanded:
  description: Whether the claim was asked to grow to O(storage.size).
  returned: when O(state=present)
  type: bool
  sample: false
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_lifecycle import absent, present
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_options import DV_ARGUMENT_SPEC
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_validate import validate_dv_params
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_dv_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(DV_ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
