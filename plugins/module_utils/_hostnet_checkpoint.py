# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux_bridge's checkpoints, in the spirit of ``nmstatectl apply --no-commit --timeout``.

Before a change, the inverse commands and copies of the files about to change go into a directory
with a ``rollback.sh``, and a detached timer (its own session, so the end of the SSH connection that
started it does not stop it) runs that script when the timeout passes. A later ``commit`` stops the
timer and drops the directory; ``rollback`` runs the script at once. If the change cut the host off,
nobody can commit, and the host rolls itself back.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_state import HostNetError

ROLLED_BACK = "rolled-back"
Runner = Callable[[Sequence[str]], Tuple[int, str, str]]


def directory(state_dir: str, bridge: str) -> str:
    return os.path.join(state_dir, bridge)


def pending(path: str) -> Optional[Dict[str, Any]]:
    """The armed checkpoint in ``path`` (pid, timeout, armed_at, expires_at), or None."""
    try:
        with open(os.path.join(path, "checkpoint.json")) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    data["rolled_back"] = os.path.exists(os.path.join(path, ROLLED_BACK))
    return data


def _script(path: str, files: Dict[str, Optional[str]], reload_commands: List[List[str]]) -> str:
    lines = ["#!/bin/sh", "# Written by virt.kubevirt.linux_bridge: puts the host back as it was before the change.",
             "ip -force -batch %s" % shlex.quote(os.path.join(path, "rollback.batch"))]
    for index, (target, content) in enumerate(sorted(files.items())):
        if content is None:
            lines.append("rm -f %s" % shlex.quote(target))
        else:
            lines.append("cp -p %s %s" % (shlex.quote(os.path.join(path, "files", str(index))), shlex.quote(target)))
    lines += ["%s || true" % " ".join(shlex.quote(a) for a in command) for command in reload_commands]
    lines.append("date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ > %s" % shlex.quote(os.path.join(path, ROLLED_BACK)))
    return "\n".join(lines) + "\n"


def arm(run: Runner, path: str, rollback_lines: List[str], files: Dict[str, Optional[str]],
        reload_commands: List[List[str]], timeout: int) -> Dict[str, Any]:
    """Write the rollback and start its timer. ``files``: target path -> its content before (None: absent)."""
    earlier = pending(path)
    if earlier is not None and not earlier["rolled_back"]:
        raise HostNetError("checkpoint: a checkpoint of this bridge is pending in %s; commit or roll it back first"
                           % path)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(os.path.join(path, "files"), mode=0o700)
    with open(os.path.join(path, "rollback.batch"), "w") as handle:
        handle.write("\n".join(rollback_lines) + "\n")
    for index, (target, content) in enumerate(sorted(files.items())):
        if content is not None:
            shutil.copy2(target, os.path.join(path, "files", str(index)))
    with open(os.path.join(path, "rollback.sh"), "w") as handle:
        handle.write(_script(path, files, reload_commands))
    script, log = shlex.quote(os.path.join(path, "rollback.sh")), shlex.quote(os.path.join(path, "rollback.log"))
    timer = "sleep %d; exec sh %s > %s 2>&1" % (timeout, script, log)
    # setsid: the timer leads its own session, so neither the end of this task's SSH connection nor
    # Ansible's cleanup of the module's process stops it; its pid is its process group.
    rc, out, err = run(["sh", "-c", "setsid sh -c %s </dev/null >/dev/null 2>&1 & echo $!" % shlex.quote(timer)])
    if rc != 0 or not out.strip().isdigit():
        shutil.rmtree(path, ignore_errors=True)
        raise HostNetError("checkpoint: could not start the rollback timer (rc %d): %s" % (rc, (err or out).strip()))
    now = time.time()
    data = {"path": path, "pid": int(out.strip()), "timeout": timeout, "armed_at": now, "expires_at": now + timeout}
    with open(os.path.join(path, "checkpoint.json"), "w") as handle:
        json.dump(data, handle)
    return data


def _stop_timer(data: Dict[str, Any]) -> None:
    try:
        os.killpg(int(data["pid"]), signal.SIGTERM)  # the sleep and its shell: the timer's own session
    except (OSError, ValueError, KeyError):
        pass  # already fired or gone


def commit(path: str) -> bool:
    """Keep the change: stop the timer, drop the checkpoint. False when none was pending."""
    data = pending(path)
    if data is None:
        return False
    if data["rolled_back"]:
        with open(os.path.join(path, ROLLED_BACK)) as handle:
            when = handle.read().strip()
        shutil.rmtree(path + ".expired", ignore_errors=True)
        os.rename(path, path + ".expired")  # kept for its rollback.log; a new change may arm again
        raise HostNetError("checkpoint: too late to commit, the checkpoint's timeout (%ss) passed and the host was "
                           "rolled back at %s (see %s)" % (data.get("timeout"), when, os.path.join(path + ".expired", "rollback.log")))
    _stop_timer(data)
    shutil.rmtree(path, ignore_errors=True)
    return True


def roll_back(run: Runner, path: str) -> Optional[str]:
    """Undo the change now; returns the script's output, or None when no checkpoint was pending."""
    data = pending(path)
    if data is None:
        return None
    _stop_timer(data)
    if data["rolled_back"]:
        shutil.rmtree(path, ignore_errors=True)
        return "already rolled back by the checkpoint's timer"
    _rc, out, err = run(["sh", os.path.join(path, "rollback.sh")])
    shutil.rmtree(path, ignore_errors=True)
    return out + err
