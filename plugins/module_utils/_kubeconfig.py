# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a kubeconfig before the kubernetes client loads it, so mistakes get one clear line.

The client's own loader reports a missing file, YAML that is not a kubeconfig or an unknown
context with messages (or exceptions) that name neither the option nor the choices; here each
case names ``kubeconfig`` or ``context`` and what would work.
"""

from __future__ import annotations

import os
from typing import Any, List, Mapping, Optional, Tuple

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None


class KubeconfigError(ValueError):
    """A kubeconfig (or context) that cannot work; the message names the option."""


def _label(name: str, value: Any, environ: Mapping[str, str]) -> str:
    env = {"kubeconfig": "K8S_AUTH_KUBECONFIG", "context": "K8S_AUTH_CONTEXT"}[name]
    if value is not None and environ.get(env) == value:
        return "%s (from %s)" % (name, env)
    return name


def default_kubeconfig_paths(environ: Mapping[str, str]) -> Tuple[str, str]:
    """(paths, how to name them): E(KUBECONFIG) if set, else ~/.kube/config (as the client does)."""
    if environ.get("KUBECONFIG"):
        return environ["KUBECONFIG"], "the kubeconfig of KUBECONFIG (%s)" % environ["KUBECONFIG"]
    return "~/.kube/config", "the default kubeconfig ~/.kube/config"


def _read(path: str, label: str) -> Any:
    if os.path.isdir(path):
        raise KubeconfigError("%s must be a kubeconfig file; %s is a directory" % (label, path))
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except PermissionError:
        raise KubeconfigError("%s must be a readable file; %s cannot be read (permission denied)" % (label, path)) from None
    except OSError as exc:
        raise KubeconfigError("%s: cannot read %s: %s" % (label, path, exc.strerror or exc)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line %d, column %d)" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise KubeconfigError("%s %s is not a YAML kubeconfig%s: %s" % (label, path, where, problem)) from None


def _documents(kubeconfig: Any, label: str, what: str) -> List[Tuple[str, Any]]:
    """(name, content) of every file a kubeconfig value stands for (a path list like KUBECONFIG)."""
    if isinstance(kubeconfig, dict):
        return [("the kubeconfig dictionary", kubeconfig)]
    if not isinstance(kubeconfig, str) or not kubeconfig.strip():
        raise KubeconfigError(
            "%s must be the path of a kubeconfig file or the kubeconfig content as a dictionary, got %s"
            % (label, type(kubeconfig).__name__ if not isinstance(kubeconfig, str) else "an empty string")
        )
    paths = [os.path.expanduser(p) for p in kubeconfig.split(os.pathsep) if p]
    existing = [p for p in paths if os.path.exists(p)]
    if not existing:
        raise KubeconfigError("%s must be an existing kubeconfig file; %s does not exist" % (label, what or ", ".join(paths)))
    return [(path, _read(path, label)) for path in existing]


def _context_names(documents: List[Tuple[str, Any]], label: str) -> Tuple[List[str], Optional[str]]:
    names: List[str] = []
    current = None
    for source, content in documents:
        if content is None:
            raise KubeconfigError("%s %s is empty" % (label, source))
        if not isinstance(content, dict):
            raise KubeconfigError("%s %s must be a YAML mapping with clusters, users and contexts, got a %s"
                                  % (label, source, "list" if isinstance(content, list) else type(content).__name__))
        contexts = content.get("contexts") or []
        if not isinstance(contexts, list):
            raise KubeconfigError("%s %s: contexts must be a list" % (label, source))
        names.extend(c["name"] for c in contexts if isinstance(c, dict) and isinstance(c.get("name"), str))
        if current is None and content.get("current-context"):
            current = str(content["current-context"])
    return names, current


def inspect_kubeconfig(kubeconfig: Any, context: Optional[str], environ: Optional[Mapping[str, str]] = None) -> None:
    """Raise KubeconfigError unless the kubeconfig (default: KUBECONFIG or ~/.kube/config) can be
    loaded with ``context`` (default: its current-context)."""
    environ = os.environ if environ is None else environ
    what = ""
    if kubeconfig is None:
        kubeconfig, what = default_kubeconfig_paths(environ)
        label = "kubeconfig"
    else:
        label = _label("kubeconfig", kubeconfig, environ)
    documents = _documents(kubeconfig, label, what)
    source = what or ", ".join(document[0] for document in documents)
    names, current = _context_names(documents, label)
    if not names:
        raise KubeconfigError("%s %s has no contexts; a kubeconfig needs contexts that pair a cluster with a user" % (label, source))
    available = "available: %s" % ", ".join(sorted(set(names)))
    if context is not None:
        if context not in names:
            raise KubeconfigError("%s %r is not a context of %s; %s" % (_label("context", context, environ), context, source, available))
    elif current is None:
        raise KubeconfigError("%s %s has no current-context; set context (%s)" % (label, source, available))
    elif current not in names:
        raise KubeconfigError("current-context %r of %s %s is not one of its contexts; set context (%s)"
                              % (current, label, source, available))
