#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: data_source_info
short_description: List CDI DataSources (golden images) with their readiness and size
version_added: 0.1.0
description:
  - Read C(DataSource) objects (C(cdi.kubevirt.io/v1beta1)) by name, in one or more namespaces, or
    across the cluster, for example the boot sources in C(openshift-virtualization-os-images), each
    with a summary of its C(Ready) condition, the claim it resolves to, the DataImportCron that
    manages it and its default instancetype and preference.
  - One paginated list per namespace (or cluster-wide without one) for the DataSources, and one
    list of claims per namespace they resolve to, whatever the number of DataSources.
  - Optionally waits until every matched DataSource is ready.
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
      - Name of the DataSource. Without O(namespace) or O(namespaces), DataSources of that name in every namespace are returned.
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
      - Label selectors the DataSources must match, for example V(instancetype.kubevirt.io/default-preference=rhel.9).
    type: list
    elements: str
    default: []
  ready:
    description:
      - Only DataSources that are ready (V(true)) or not ready (V(false)).
    type: bool
  wait:
    description:
      - Wait until every matched DataSource is ready (condition C(Ready=True)). With O(name) and a
        namespace, also waits for it to appear.
seealso:
  - module: virt.kubevirt.data_source
  - module: virt.kubevirt.data_import_cron
"""

EXAMPLES = r"""
- name: The boot sources OpenShift Virtualization publishes
  virt.kubevirt.data_source_info:
    namespace: openshift-virtualization-os-images
    ready: true
  register: sources

- name: Their names and sizes
  ansible.builtin.debug:
    msg: "{{ sources.resources | map(attribute='metadata.name') | zip(sources.resources | map(attribute='pvc.capacity')) }}"

- name: Wait for a golden image a DataImportCron is importing
  virt.kubevirt.data_source_info:
    name: fedora
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
      description: What was observed (the conditions' reasons).
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.2, subject: DataSource images/fedora, state: "Ready=False ImportInProgress"}
resources:
  description:
    - The matching DataSource objects, each with four extra keys, C(summary), C(pvc), C(managed_by) and C(defaults).
  returned: always
  type: list
  elements: dict
  contains:
    summary:
      description: C(ready), C(reason), C(message) of the Ready condition and the resolved C(source).
      type: dict
    pvc:
      description:
        - Summary of the claim it resolves to (C(name), C(phase), C(storage_class), C(access_modes),
          C(volume_mode), C(requested), C(capacity), C(volume_name)); null for a snapshot source or while not ready.
      type: dict
    managed_by:
      description: The DataImportCron that keeps it up to date (label C(cdi.kubevirt.io/dataImportCron)), or null.
      type: str
    defaults:
      description:
        - The default instancetype and preference labels, keyed by option name of M(virt.kubevirt.data_source)
          (C(default_instancetype), C(default_preference), and their C(_kind)).
      type: dict
  sample:
    - apiVersion: cdi.kubevirt.io/v1beta1
      kind: DataSource
      metadata:
        name: rhel9
        namespace: openshift-virtualization-os-images
      summary:
        ready: true
        reason: Ready
        message: DataSource is ready to be consumed
        source:
          pvc: {name: rhel9-7a1b2c3d4e5f, namespace: openshift-virtualization-os-images}
      pvc:
        name: rhel9-7a1b2c3d4e5f
        phase: Bound
        capacity: 30Gi
      managed_by: rhel9-image-cron
      defaults:
        default_instancetype: u1.medium
        default_preference: rhel.9
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._ds_info import read_data_sources
from ansible_collections.virt.kubevirt.plugins.module_utils._dv_validate import validate_dv_info_params
from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule

ARGUMENT_SPEC: Dict[str, Any] = {
    "name": {"type": "str"},
    "namespace": {"type": "str"},
    "namespaces": {"type": "list", "elements": "str"},
    "label_selectors": {"type": "list", "elements": "str", "default": []},
    "ready": {"type": "bool"},
}


def run(module: KubevirtModule) -> Dict[str, Any]:
    validate_dv_info_params(module.params)  # the same read scope and selector checks as datavolume_info
    return {"changed": False, "resources": read_data_sources(module)}


def main() -> None:
    KubevirtModule(ARGUMENT_SPEC, mutually_exclusive=[["namespace", "namespaces"]]).execute(run)


if __name__ == "__main__":
    main()
