#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: datavolume_info
short_description: List CDI DataVolumes with their claims and the VMs using them
version_added: 0.1.0
description:
  - Read C(DataVolume) objects (C(cdi.kubevirt.io/v1beta1)) by name, in one or more namespaces, or
    across the cluster, each with its phase, progress and conditions in C(status), a summary of the
    claim CDI made for it and the VirtualMachines that use it.
  - Three paginated lists per namespace (or cluster-wide without one) whatever the number of
    DataVolumes (DataVolumes, claims and VMs); a named DataVolume in a namespace costs one GET and one claim GET.
  - Optionally waits until every matched DataVolume is populated.
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
    details: The module only reads.
  diff_mode:
    support: N/A
    details: The module only reads.
options:
  name:
    description:
      - Name of the DataVolume. Without O(namespace) or O(namespaces), DataVolumes of that name in every namespace are returned.
    type: str
  namespace:
    description:
      - Namespace to read. Omit it (and O(namespaces)) to read all namespaces; an empty string fails.
    type: str
  namespaces:
    description: Several namespaces to read.
    type: list
    elements: str
  label_selectors:
    description:
      - Label selectors the DataVolumes must match, for example V(app=web) or V(os in (fedora,rhel)).
    type: list
    elements: str
    default: []
  wait:
    description:
      - Wait until every matched DataVolume is populated (phase C(Succeeded); C(UploadReady) for an
        upload DataVolume, C(WaitForFirstConsumer) for a claim that waits for its VM). With O(name)
        and a namespace, also waits for it to appear.
      - Fails early with CDI's message when a DataVolume cannot succeed (phase C(Failed), an importer
        that ended in error, an invalid claim).
seealso:
  - module: virt.kubevirt.datavolume
"""

EXAMPLES = r"""
- name: One DataVolume with its claim
  virt.kubevirt.datavolume_info:
    name: fedora-41
    namespace: images
  register: info

- name: Show its progress and where CDI put it
  ansible.builtin.debug:
    msg: "{{ info.resources[0].status.progress }} on {{ info.resources[0].pvc.storage_class }}"

- name: DataVolumes labelled os=fedora in two namespaces
  virt.kubevirt.datavolume_info:
    namespaces: [images, vms]
    label_selectors:
      - os=fedora

- name: Wait for an import started earlier
  virt.kubevirt.datavolume_info:
    name: fedora-41
    namespace: images
    wait: true
    wait_timeout: 1800
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
resources:
  description:
    - The matching DataVolume objects, each with two extra keys, C(pvc) and C(used_by).
  returned: always
  type: list
  elements: dict
  contains:
    pvc:
      description:
        - Summary of the claim (C(name), C(phase), C(storage_class), C(access_modes), C(volume_mode),
          C(requested), C(capacity), C(volume_name)); null before CDI created it.
      type: dict
    used_by:
      description: Names of the VirtualMachines in the same namespace that use the DataVolume or its claim.
      type: list
      elements: str
  sample:
    - apiVersion: cdi.kubevirt.io/v1beta1
      kind: DataVolume
      metadata:
        name: fedora-41
        namespace: images
      status:
        phase: ImportInProgress
        progress: 42.00%
      pvc:
        name: fedora-41
        phase: Bound
        storage_class: ocs-storagecluster-ceph-rbd-virtualization
        volume_mode: Block
        capacity: 10Gi
      used_by: [web-1]
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_info import read_datavolumes
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_options import DV_INFO_ARGUMENT_SPEC
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_validate import validate_dv_info_params
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_dv_info_params(module.params)  # before any request: a bad selector or name is not a 400 or 404
    return {"changed": False, "resources": read_datavolumes(module)}


def main() -> None:
    KubevirtModule(DV_INFO_ARGUMENT_SPEC, mutually_exclusive=[["namespace", "namespaces"]]).execute(run)


if __name__ == "__main__":
    main()
