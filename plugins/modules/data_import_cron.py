#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: data_import_cron
short_description: Keep a golden image fresh with a CDI DataImportCron
version_added: 0.1.0
description:
  - Create or delete a C(DataImportCron) (C(cdi.kubevirt.io/v1beta1)). CDI polls a container
    registry on a schedule, imports each new image digest into a PVC named after the managed
    DataSource and the digest, points the managed DataSource at the newest import, and deletes
    older imports beyond O(imports_to_keep). This is how OpenShift Virtualization refreshes the boot
    sources in C(openshift-virtualization-os-images).
  - CDI imports at once when the cron is created. With O(wait), the task returns once the cron is
    up to date (condition C(UpToDate=True)) and its DataSource is ready.
  - CDI refuses any change of a cron's spec. A task that asks for a different spec fails before any
    write, naming each field, unless O(recreate=true), which deletes and creates the cron again (its
    DataSource and imports stay unless its retention policy is V(None)). Labels and annotations can
    change in place.
  - CDI schedules registry sources only (its webhook refuses http sources for a cron).
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
    description: Name of the DataImportCron (at most 63 characters).
    type: str
    required: true
  namespace:
    description: Namespace of the DataImportCron, its DataSource and its imports.
    type: str
    required: true
  state:
    description: V(present) creates the cron (or updates its labels and annotations); V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Delete (or re-create) a cron whose O(retention_policy) is V(None), which makes CDI delete its
        DataSource and every import along with it.
    type: bool
    default: false
  recreate:
    description:
      - When the live cron's spec differs from the task, delete it and create it again instead of failing.
    type: bool
    default: false
  schedule:
    description:
      - When to poll the registry, a standard cron line of 5 fields (for example V(0 */12 * * *)) or a
        macro such as V(@daily). Required with O(state=present).
    type: str
  managed_data_source:
    description:
      - Name of the DataSource the cron creates and keeps pointed at its newest import (a DNS-1035
        label); its imports are named C(<managed_data_source>-<12 hex digits of the digest>).
        Required with O(state=present).
    type: str
  registry:
    description:
      - The image to poll (C(spec.template.spec.source.registry)); set O(registry.url) or
        O(registry.image_stream). Required with O(state=present).
    type: dict
    suboptions:
      url:
        description: V(docker://registry/image:tag); CDI pins each import to the digest it found.
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
  storage:
    description:
      - The claim of each import (C(spec.template.spec.storage)); omitted fields are filled in by CDI from the StorageProfile.
    type: dict
    suboptions:
      size:
        description: Size of each import, a Kubernetes quantity such as V(30Gi), at least V(1Mi). Required.
        type: str
      class:
        description: StorageClass name.
        type: str
      access_modes:
        description: Access modes, each one of V(ReadWriteOnce), V(ReadOnlyMany), V(ReadWriteMany), V(ReadWriteOncePod).
        type: list
        elements: str
      volume_mode:
        description: V(Filesystem) or V(Block).
        type: str
  imports_to_keep:
    description: How many imports to keep when garbage-collecting (CDI's default is 3).
    type: int
  garbage_collect:
    description: V(Outdated) deletes imports beyond O(imports_to_keep) (CDI's default); V(Never) keeps them all.
    type: str
    choices: [Outdated, Never]
  retention_policy:
    description:
      - What happens to the DataSource and imports when the cron is deleted. V(RetainAll) (CDI's
        default) keeps them; V(None) deletes them with the cron.
    type: str
    choices: [RetainAll, "None"]
  service_account_name:
    description: ServiceAccount CDI creates the import DataVolumes as.
    type: str
  default_instancetype:
    description:
      - Label C(instancetype.kubevirt.io/default-instancetype) of the cron; CDI copies it to the
        DataSource and every import, so VMs booting from them get this instancetype.
    type: str
  default_instancetype_kind:
    description: Label C(instancetype.kubevirt.io/default-instancetype-kind).
    type: str
    choices: [VirtualMachineClusterInstancetype, VirtualMachineInstancetype]
  default_preference:
    description: Label C(instancetype.kubevirt.io/default-preference), copied the same way.
    type: str
  default_preference_kind:
    description: Label C(instancetype.kubevirt.io/default-preference-kind).
    type: str
    choices: [VirtualMachineClusterPreference, VirtualMachinePreference]
  labels:
    description:
      - Labels of the cron (those under C(kubevirt.io) domains are copied by CDI to what it creates).
        The labels this module manages become exactly these; when omitted, they stay as they are.
    type: dict
  annotations:
    description: Annotations of the cron; like O(labels), exactly these of the ones this module manages.
    type: dict
seealso:
  - module: virt.kubevirt.data_source
  - module: virt.kubevirt.data_source_info
  - name: CDI DataImportCron
    description: How CDI polls, imports and garbage-collects.
    link: https://github.com/kubevirt/containerized-data-importer/blob/main/doc/os-image-poll-and-update.md
"""

EXAMPLES = r"""
- name: Refresh the Fedora golden image twice a day, keep the last two imports
  virt.kubevirt.data_import_cron:
    name: fedora-image-cron
    namespace: images
    schedule: "0 */12 * * *"
    managed_data_source: fedora
    registry:
      url: docker://quay.io/containerdisks/fedora:41
      pull_method: node
    storage:
      size: 30Gi
    imports_to_keep: 2
    default_instancetype: u1.medium
    default_preference: fedora
    wait: true
    wait_timeout: 1800

- name: Change its schedule (CDI refuses spec changes, so the cron is re-created; the image stays)
  virt.kubevirt.data_import_cron:
    name: fedora-image-cron
    namespace: images
    schedule: "@daily"
    managed_data_source: fedora
    registry:
      url: docker://quay.io/containerdisks/fedora:41
      pull_method: node
    storage:
      size: 30Gi
    imports_to_keep: 2
    default_instancetype: u1.medium
    default_preference: fedora
    recreate: true

- name: Stop refreshing (RetainAll keeps the DataSource and its imports)
  virt.kubevirt.data_import_cron:
    name: fedora-image-cron
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
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.3, subject: DataImportCron images/fedora-image-cron,
       state: "UpToDate=False Outdated, Progressing=True ImportProgressing"}
    - {time: "2026-12-03T10:04:40Z", elapsed: 149.1, subject: DataImportCron images/fedora-image-cron,
       state: "UpToDate=True UpToDate, Progressing=False NoImport"}
result:
  description:
    - The DataImportCron as returned by the API server (in check mode, the dry-run result, or the
      body to create when it would be re-created); empty when it does not exist.
  returned: always
  type: dict
  sample:
    apiVersion: cdi.kubevirt.io/v1beta1
    kind: DataImportCron
    metadata:
      name: fedora-image-cron
      namespace: images
    spec:
      schedule: "0 */12 * * *"
      managedDataSource: fedora
    status:
      lastImportedPVC: {name: fedora-3f1c2a9b8e7d, namespace: images}
data_source:
  description: C(ready), C(reason), C(message) and the resolved C(source) of the managed DataSource; empty before it exists.
  returned: when O(state=present)
  type: dict
  sample:
    ready: true
    reason: Ready
    message: DataSource is ready to be consumed
    source:
      pvc: {name: fedora-3f1c2a9b8e7d, namespace: images}
last_imported_pvc:
  description: The newest import (C(status.lastImportedPVC)), C(name) and C(namespace); null before the first one finished.
  returned: when O(state=present)
  type: dict
  sample: {name: fedora-3f1c2a9b8e7d, namespace: images}
current_imports:
  description: Imports in progress (C(status.currentImports)), each with C(DataVolumeName) and C(Digest) (CDI spells them so).
  returned: when O(state=present)
  type: list
  elements: dict
  sample: []
recreated_for:
  description: The spec fields that differed, as C(spec.path, live value -> wanted value), when the cron was re-created.
  returned: when O(recreate=true) re-created the cron
  type: list
  elements: str
  sample: ["spec.schedule: '0 */12 * * *' -> '@daily'"]
method:
  description: What the module did, V(create), V(update) (labels or annotations), V(recreate), V(delete) or V(none).
  returned: always
  type: str
  sample: create
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._cron_lifecycle import absent, present
from ansible_collections.virt.kubevirt.plugins.module_utils._cron_spec import CRON_ARGUMENT_SPEC, validate_cron_params
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_cron_params(module.params)  # every option checked before any request
    return present(module) if module.params["state"] == "present" else absent(module)


def main() -> None:
    KubevirtModule(CRON_ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
