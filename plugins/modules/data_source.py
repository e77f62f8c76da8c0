#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: data_source
short_description: Publish golden images as CDI DataSources
version_added: 0.1.0
description:
  - Create, re-point or delete a C(DataSource) (C(cdi.kubevirt.io/v1beta1)), the name VMs and
    DataVolumes clone a golden image from (C(sourceRef)), like the boot sources OpenShift
    Virtualization publishes in C(openshift-virtualization-os-images).
  - A DataSource points at a PVC, a VolumeSnapshot, or one other DataSource of its namespace (CDI
    resolves one level only). Re-pointing it is an update; the VMs already cloned keep their disks.
  - Sets the default instancetype and preference labels KubeVirt reads to size a VM that boots
    from the image (C(instancetype.kubevirt.io/default-instancetype) and friends).
  - A DataSource a DataImportCron manages is re-pointed and re-created by the cron; changing or
    deleting it needs O(force) (and only lasts until the next import). Manage the cron with
    M(virt.kubevirt.data_import_cron) instead.
  - Deleting a DataSource deletes no data. VMs whose C(dataVolumeTemplates) clone from it keep
    their disks; the task warns, naming them, as their templates cannot be populated again.
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
    description: Name of the DataSource.
    type: str
    required: true
  namespace:
    description: Namespace of the DataSource.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the DataSource; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Change or delete a DataSource that a DataImportCron manages.
    type: bool
    default: false
  pvc:
    description:
      - The PVC (or the DataVolume of that name) holding the image (C(spec.source.pvc)). The
        DataSource is ready once the claim exists and its DataVolume, if any, succeeded.
      - One of O(pvc), O(snapshot) and O(data_source) is required with O(state=present).
    type: dict
    suboptions:
      name:
        description: Name of the claim.
        type: str
        required: true
      namespace:
        description: Namespace of the claim; defaults to O(namespace).
        type: str
  snapshot:
    description:
      - The VolumeSnapshot holding the image (C(spec.source.snapshot)); ready once it is C(readyToUse).
    type: dict
    suboptions:
      name:
        description: Name of the VolumeSnapshot.
        type: str
        required: true
      namespace:
        description: Namespace of the VolumeSnapshot; defaults to O(namespace).
        type: str
  data_source:
    description:
      - Another DataSource of the same namespace (C(spec.source.dataSource)), for example a stable
        name such as C(rhel9) that points at the DataSource of the current release. That one must
        point at a PVC or snapshot itself.
    type: dict
    suboptions:
      name:
        description: Name of the other DataSource.
        type: str
        required: true
      namespace:
        description: Its namespace; must be O(namespace) when given.
        type: str
  default_instancetype:
    description:
      - Label C(instancetype.kubevirt.io/default-instancetype), the instancetype a VM booting from
        this image gets when it names none (for example V(u1.medium)).
    type: str
  default_instancetype_kind:
    description: Label C(instancetype.kubevirt.io/default-instancetype-kind).
    type: str
    choices: [VirtualMachineClusterInstancetype, VirtualMachineInstancetype]
  default_preference:
    description:
      - Label C(instancetype.kubevirt.io/default-preference), for example V(fedora) or V(rhel.9).
    type: str
  default_preference_kind:
    description: Label C(instancetype.kubevirt.io/default-preference-kind).
    type: str
    choices: [VirtualMachineClusterPreference, VirtualMachinePreference]
  labels:
    description:
      - Labels of the DataSource. The labels this module manages become exactly these; when omitted,
        they stay as they are (the default_* options then manage their own label only).
    type: dict
  annotations:
    description:
      - Annotations of the DataSource; like O(labels), exactly these of the ones this module manages.
    type: dict
  wait:
    description:
      - Wait until the DataSource is ready (condition C(Ready=True)), for example until the import
        of its PVC succeeded.
      - Fails at once when CDI cannot resolve it (C(SelfReference), C(CrossNamespaceReference),
        C(MaxReferenceDepthReached)); a missing source (C(NotFound)) is waited for.
seealso:
  - module: virt.kubevirt.data_source_info
  - module: virt.kubevirt.data_import_cron
  - module: virt.kubevirt.datavolume
  - name: CDI DataSources
    description: The DataSource API and how DataVolumes use it through sourceRef.
    link: https://github.com/kubevirt/containerized-data-importer/blob/main/doc/datasource.md
"""

EXAMPLES = r"""
- name: Publish an imported image as a golden image, with the size VMs booting from it get
  virt.kubevirt.data_source:
    name: fedora
    namespace: images
    pvc:
      name: fedora-41
    default_instancetype: u1.medium
    default_preference: fedora
    wait: true

- name: A stable name that points at the current release
  virt.kubevirt.data_source:
    name: fedora-latest
    namespace: images
    data_source:
      name: fedora

- name: Publish a VolumeSnapshot (fast clones on CSI storage)
  virt.kubevirt.data_source:
    name: rhel9
    namespace: images
    snapshot:
      name: rhel9-2026-12

- name: A VM whose root disk clones the golden image
  virt.kubevirt.vm:
    name: web-1
    namespace: vms
    run_strategy: Always
    disks:
      - name: root
        data_volume:
          data_source:
            name: fedora
            namespace: images
          size: 10Gi
    networks:
      - name: default

- name: Retire it
  virt.kubevirt.data_source:
    name: fedora-latest
    namespace: images
    state: absent
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
      description: What was observed (the conditions' reasons).
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.2, subject: DataSource images/fedora, state: "Ready=False ImportInProgress"}
    - {time: "2026-12-03T10:02:40Z", elapsed: 29.1, subject: DataSource images/fedora, state: "Ready=True Ready"}
result:
  description:
    - The DataSource as returned by the API server (in check mode, the dry-run result); empty when it does not exist.
  returned: always
  type: dict
  sample:
    apiVersion: cdi.kubevirt.io/v1beta1
    kind: DataSource
    metadata:
      name: fedora
      namespace: images
      labels:
        instancetype.kubevirt.io/default-instancetype: u1.medium
    spec:
      source:
        pvc:
          name: fedora-41
          namespace: images
    status:
      conditions:
        - type: Ready
          status: "True"
          reason: Ready
          message: DataSource is ready to be consumed
      source:
        pvc:
          name: fedora-41
          namespace: images
summary:
  description: Whether the DataSource is ready, why not, and the source CDI resolved.
  returned: when O(state=present)
  type: dict
  contains:
    ready:
      description: Condition C(Ready) is C(True).
      type: bool
    reason:
      description: The condition's reason (V(Ready), V(NotFound), V(SnapshotNotReady), a DataVolume phase...).
      type: str
    message:
      description: The condition's message.
      type: str
    source:
      description: The resolved C(pvc) or C(snapshot) source (C(status.source)), empty while not ready.
      type: dict
  sample:
    ready: true
    reason: Ready
    message: DataSource is ready to be consumed
    source:
      pvc: {name: fedora-41, namespace: images}
method:
  description: What the module did, V(create), V(update), V(delete) or V(none).
  returned: always
  type: str
  sample: create
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._ds_lifecycle import absent, present
from ansible_collections.virt.kubevirt.plugins.module_utils._ds_spec import DS_ARGUMENT_SPEC, validate_ds_params
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_ds_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(DS_ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
