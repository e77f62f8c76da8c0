# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Descriptions of the attributes every module documents; modules state their support level."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description:
      - Can run in check mode and return the changed status prediction without modifying the cluster.
      - Writes are sent as server-side dry runs (C(dryRun=All)), so the API server and its admission
        webhooks validate them while nothing is persisted.
  diff_mode:
    description:
      - Returns the object before and after the change when run with C(--diff), with server
        bookkeeping (managedFields, resourceVersion, generation, uid, creationTimestamp, status,
        kubemacpool annotations) left out.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: all
    details:
      - Talks to the Kubernetes API; runs wherever the C(kubernetes) Python library is installed,
        usually C(localhost).
"""

    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/virt.kubevirt.kubevirt) in C(module_defaults) to set options such as O(kubeconfig) once.
    support: full
    membership:
      - virt.kubevirt.kubevirt
"""
