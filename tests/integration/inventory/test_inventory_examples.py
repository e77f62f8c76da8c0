# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every EXAMPLES source of the inventory plugin, as installed, runs against the local cluster.

Each example is taken from the built collection's plugin, uncommented and written unchanged
except for the connection: ``host`` and ``ca_cert`` point at the local cluster, the token comes
from the variable the example looks up, and ``~/.kube/config`` is a kubeconfig in a temporary
HOME whose contexts (``local``, ``east``, ``west``) reach the local cluster as admin.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import yaml

from .conftest import plain

PLUGIN = Path("ansible_collections/virt/kubevirt/plugins/inventory/kubevirt.py")
# Namespaces the examples name (fixed names, created once per session).
EXAMPLE_NAMESPACES = ("web-prod", "web-stage", "prod")


def plugin_examples(collections: Path) -> List[Tuple[str, Dict[str, Any]]]:
    """(description, source) for each example: blocks separated by blank lines, YAML from the
    ``plugin:`` line on, with the comment marker of commented-out examples removed."""
    tree = ast.parse((collections / PLUGIN).read_text())
    text = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", None) == "EXAMPLES")
    examples = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        start = next(index for index, line in enumerate(lines) if re.match(r"^(# )?plugin:", line))
        body = "\n".join(re.sub(r"^# ?", "", line) if line.startswith("#") else line for line in lines[start:])
        title = " ".join(line.lstrip("# ") for line in lines[:start] + ([lines[0]] if start == 0 else []))
        examples.append((title, yaml.safe_load(body)))
    return examples


@pytest.fixture(scope="module")
def example_fleet(objects):
    """VMs for the examples: app=web VMs with a storage-net network in web-prod and web-stage, an
    unlabelled VM next to them, and one in prod."""
    networks = [{"name": "default", "pod": {}}, {"name": "storage-net", "multus": {"networkName": "storage-net"}}]
    interfaces = [{"name": "default", "masquerade": {}}, {"name": "storage-net", "bridge": {}}]
    for ns in EXAMPLE_NAMESPACES:
        objects.core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for ns in ("web-prod", "web-stage"):
        objects.network(ns, "storage-net")
        objects.vm(ns, "web", labels={"app": "web"}, template_labels={"app": "web"}, networks=networks, interfaces=interfaces)
    objects.vm("web-prod", "api")
    objects.vm("prod", "db", labels={"app": "db"})
    vmis = {}
    for ns in ("web-prod", "web-stage"):
        vmis[ns] = objects.wait_running(ns, "web", interface="storage-net")["web"]
    objects.wait_running("web-prod", "api")
    objects.wait_running("prod", "db")
    return vmis


@pytest.fixture
def home(cluster, tmp_path) -> Path:
    """A HOME whose ~/.kube/config has contexts local (current), east and west, all admin."""
    config = yaml.safe_load(Path(cluster.kubeconfig).read_text())
    local = next(entry for entry in config["contexts"] if entry["name"] == "local")
    config["contexts"] = [local] + [{"name": name, "context": dict(local["context"])} for name in ("east", "west")]
    config["current-context"] = "local"
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text(yaml.safe_dump(config))
    return tmp_path


def connect(cluster, source: Dict[str, Any]) -> Dict[str, Any]:
    """The example with only its connection pointed at the local cluster."""
    source = dict(source)
    if "host" in source:
        source["host"] = cluster.url
    if "ca_cert" in source:
        source["ca_cert"] = cluster.ca_file
    return source


def test_every_example_is_covered(collections_path):
    assert len(plugin_examples(collections_path)) == len(CHECKS), [title for title, dummy in plugin_examples(collections_path)]


def check_default(run, vmis):
    hosts = set(run.hostvars)
    assert {"web-prod-web", "web-stage-web", "web-prod-api", "prod-db"} <= hosts
    for name in ("web-prod-web", "prod-db"):
        host = plain(run.hostvars[name])
        assert host["ansible_host"] and host["vm_name"] == name.rsplit("-", 1)[1]


def check_token_namespaces_selector_network(run, vmis):
    assert sorted(run.hostvars) == ["web-prod-web", "web-stage-web"]
    for ns, vmi in vmis.items():
        storage = next(i for i in vmi["status"]["interfaces"] if i.get("name") == "storage-net")
        assert plain(run.hostvars["%s-web" % ns])["ansible_host"] == storage["ipAddress"]
    assert {r["user"] for r in run.requests} == {"admin"}


def check_two_contexts_cached(run, vmis):
    hosts = set(run.hostvars)
    assert {"east-web-prod-web", "east-prod-db", "west-prod-db"} <= hosts
    assert not [h for h in hosts if h.startswith("west-") and not h.startswith("west-prod-")]
    assert plain(run.hostvars["west-prod-db"])["ansible_user"] == "cloud-user"
    assert plain(run.hostvars["east-web-prod-web"])["os_name"] == vmis["web-prod"]["status"]["guestOSInfo"]["name"]
    assert "east-web-prod-web" in run.hosts("label_app_web") and "east-web-prod-web" in run.hosts("app_web")
    assert "west-prod-db" in run.hosts("app_db") and "west-prod-db" in run.hosts("ns_west_prod")


def check_connection_vars_only(run, vmis):
    web = plain(run.hostvars["web-prod-web"])
    assert not [name for name in web if name.startswith(("vm_", "vmi_"))], web
    assert web["ansible_host"] and web["guest_os"] == vmis["web-prod"]["status"]["guestOSInfo"]["prettyName"]
    assert "web-prod-web" in run.hosts("app_web") and "prod-db" in run.hosts("app_db")


CHECKS = [check_default, check_token_namespaces_selector_network, check_two_contexts_cached, check_connection_vars_only]


@pytest.mark.parametrize("index", range(len(CHECKS)))
def test_example_source(cluster, inventory, collections_path, example_fleet, home, index):
    title, example = plugin_examples(collections_path)[index]
    source = inventory.source(connect(cluster, example), name="example%d.kubevirt.yml" % index)
    env = {"HOME": str(home), "KUBECONFIG": str(home / ".kube" / "config"), "OCP_TOKEN": cluster.admin_token}
    run = inventory.run(cluster, source, env=env)
    assert run.returncode == 0, (title, run)
    assert run.writes == [] and "[WARNING]" not in run.stderr, (title, run.stderr)
    CHECKS[index](run, example_fleet)
    if example.get("cache"):
        # The example's cache answers the next run without a request.
        assert list((home / ".cache" / "virt-kubevirt-inventory").iterdir())
        again = inventory.run(cluster, source, env=env)
        assert again.requests == [] and again.data == run.data
