# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""virt.kubevirt.network_attachment runs in the controller's worker when the task runs on the controller (see _in_process)."""

from __future__ import annotations

from ansible_collections.virt.kubevirt.plugins.plugin_utils._in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    """virt.kubevirt.network_attachment: in-process on the controller, else the module as usual."""
