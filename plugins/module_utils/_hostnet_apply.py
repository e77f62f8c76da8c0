# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux_bridge's side effects: which network service persists the bridge, its files, and running
the plan (iproute2 batches, or the service's own reload when it manages the links)."""

from __future__ import annotations

import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_files import HEADER, candidates
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_plan import Plan, Wanted
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_state import HostNetError

Runner = Callable[..., Tuple[int, str, str]]


def service_running(run: Runner, backend: str) -> bool:
    """NetworkManager or systemd-networkd is up and would own the links (else iproute2 does it live)."""
    if backend == "networkmanager":
        rc, out, _err = run(["nmcli", "-t", "-f", "RUNNING", "general"])
        return rc == 0 and out.strip() == "running"
    if backend == "networkd":
        rc, out, _err = run(["systemctl", "is-active", "systemd-networkd"])
        return rc == 0 and out.strip() == "active"
    return False


def pick_backend(run: Runner, wanted: str, os_release: str) -> str:
    """``auto``: the service that runs, else the distribution's usual one (RHEL/Fedora: NetworkManager)."""
    if wanted != "auto":
        return wanted
    if service_running(run, "networkmanager"):
        return "networkmanager"
    if service_running(run, "networkd"):
        return "networkd"
    ids = " ".join(line.split("=", 1)[1].strip('"') for line in os_release.splitlines()
                   if line.startswith(("ID=", "ID_LIKE=")))
    return "networkmanager" if any(word in ids.split() for word in ("rhel", "fedora", "centos")) else "networkd"


def read_owned(config_dir: str, bridge: str) -> Dict[str, str]:
    """This bridge's files in ``config_dir`` (name -> content); a missing directory has none."""
    try:
        names = os.listdir(config_dir)
    except OSError:
        return {}
    mark = HEADER % bridge
    found = {}
    for name in candidates(names):
        try:
            with open(os.path.join(config_dir, name)) as handle:
                content = handle.read()
        except OSError:
            continue
        if content.startswith(mark):
            found[name] = content
    return found


def write_files(config_dir: str, write: Dict[str, str], remove: Sequence[str], mode: int) -> None:
    if write:
        os.makedirs(config_dir, exist_ok=True)
    for name, content in write.items():
        path = os.path.join(config_dir, name)
        temporary = path + ".tmp"
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as handle:
            handle.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, path)  # atomic: a service reading the directory never sees half a file
    for name in remove:
        try:
            os.remove(os.path.join(config_dir, name))
        except FileNotFoundError:
            pass


def reload_commands(backend: str, wanted: Wanted, state: str) -> List[List[str]]:
    """What makes a running service pick up the files (and, when present, bring the bridge up)."""
    if backend == "networkd":
        return [["networkctl", "reload"]] + ([["networkctl", "reconfigure"] + wanted.names] if state == "present" else [])
    if backend == "networkmanager":
        commands = [["nmcli", "connection", "reload"]]
        if state == "present":
            commands.append(["nmcli", "connection", "up", "id", "virt-kubevirt-" + wanted.name])
        return commands
    return []


def run_plan(run: Runner, plan: Plan) -> None:
    """The plan's ``ip`` lines, then its ``bridge`` lines, each as one batch process."""
    for tool, lines in (("ip", plan.ip), ("bridge", plan.bridge)):
        if not lines:
            continue
        rc, out, err = run([tool, "-batch", "-"], data="\n".join(lines) + "\n", binary_data=False)
        if rc != 0:
            raise HostNetError("%s -batch failed (rc %d): %s" % (tool, rc, (err or out).strip()))


def run_commands(run: Runner, commands: List[List[str]]) -> Optional[str]:
    """Run each command; the first failure's message, or None."""
    for command in commands:
        rc, out, err = run(command)
        if rc != 0:
            return "%s failed (rc %d): %s" % (" ".join(command), rc, (err or out).strip())
    return None
