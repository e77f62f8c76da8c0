# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The wait options of the module base (virt.kubevirt.plugins.module_utils._module)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the object reaches the state the module describes for O(wait).
      - Waiting watches the object (falling back to polling when watches are refused) until
        O(wait_timeout); a timeout fails with the last observed status, conditions and the
        object's recent Events.
    type: bool
    default: false
  wait_timeout:
    description:
      - How many seconds O(wait) may take, measured on a monotonic clock.
    type: int
    default: 120
"""
