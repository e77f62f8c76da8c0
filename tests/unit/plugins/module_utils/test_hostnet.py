# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""linux_bridge's host-side helpers: reading iproute2 JSON, planning, rendering files, checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils import _hostnet_checkpoint as checkpoints
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_apply import pick_backend, read_owned, write_files
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_files import Addressing, networkd_files, networkmanager_files
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_plan import Wanted, plan_absent, plan_present, rollback
from ansible_collections.virt.kubevirt.plugins.module_utils._hostnet_state import HostNetError, HostState, read_state


def _link(name, kind=None, master=None, up=True, info=None, mtu=1500):
    link = {"ifname": name, "flags": ["BROADCAST", "UP"] if up else ["BROADCAST"], "mtu": mtu}
    if master:
        link["master"] = master
    if kind:
        link["linkinfo"] = {"info_kind": kind, "info_data": info or {}}
    return link


def _run(args):
    """module.run_command's shape: (rc, stdout, stderr)."""
    done = subprocess.run(list(args), capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def _state(links, addresses=None, routes=None, vlans=None):
    return HostState({link["ifname"]: link for link in links}, addresses or {}, routes or [], vlans or {})


ETH0_ADDR = {"eth0": [{"family": "inet", "local": "10.0.0.2", "prefixlen": 24, "scope": "global"},
                      {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]}
ETH0_ROUTE = [{"dst": "default", "gateway": "10.0.0.1", "dev": "eth0", "family": "inet"}]


def test_read_state_parses_ip_json_and_tolerates_missing_vlan_support():
    outputs = {
        ("ip", "-j", "-d", "link", "show"): json.dumps([_link("eth0", "veth"), _link("br0", "bridge", info={"stp_state": 0})]),
        ("ip", "-j", "addr", "show"): json.dumps([{"ifname": "eth0", "addr_info": ETH0_ADDR["eth0"]}]),
        ("ip", "-j", "route", "show", "default"): json.dumps([{"dst": "default", "gateway": "10.0.0.1", "dev": "eth0"}]),
        ("ip", "-j", "-6", "route", "show", "default"): "[]",
    }

    def run(args):
        if args[0] == "bridge":
            return 255, "", "Operation not supported"
        return 0, outputs[tuple(args)], ""

    state = read_state(run)
    assert state.kind("br0") == "bridge" and state.global_addresses("eth0") == ["10.0.0.2/24"]
    assert state.default_routes("eth0")[0]["gateway"] == "10.0.0.1" and state.vlans == {}


def test_read_state_names_the_failed_command():
    with pytest.raises(HostNetError, match="ip -j -d link show failed .rc 1.: no ip here"):
        read_state(lambda args: (1, "", "no ip here"))


def test_plan_present_bridge_over_a_spare_nic():
    plan = plan_present(Wanted("br-vms", ["eth1"]), _state([_link("eth1", "veth")]))
    assert plan.commands == ["ip link add br-vms type bridge stp_state 0", "ip link set br-vms up",
                             "ip link set eth1 master br-vms"]
    assert plan.disruptive == []


def test_plan_present_moves_address_and_route_and_is_disruptive():
    plan = plan_present(Wanted("br0", ["eth0"]), _state([_link("eth0")], ETH0_ADDR, ETH0_ROUTE))
    assert plan.ip[-3:] == ["addr add 10.0.0.2/24 dev br0", "addr del 10.0.0.2/24 dev eth0",
                            "route replace default via 10.0.0.1 dev br0"]
    assert plan.ip.index("link set br0 up") < plan.ip.index("route replace default via 10.0.0.1 dev br0")
    assert "moving 10.0.0.2/24, the default route via 10.0.0.1 from eth0 to br0" in plan.disruptive[0]


def test_plan_present_is_empty_when_converged():
    state = _state([_link("br0", "bridge", info={"stp_state": 0}), _link("eth0", master="br0")],
                   {"br0": ETH0_ADDR["eth0"]}, [dict(ETH0_ROUTE[0], dev="br0")])
    assert plan_present(Wanted("br0", ["eth0"]), state).empty


def test_plan_present_bond_and_vlans():
    wanted = Wanted("br-t", ["eth2", "eth3"], {"name": "bond0", "mode": "802.3ad", "miimon": 100}, [30, 20])
    plan = plan_present(wanted, _state([_link("eth2"), _link("eth3")], vlans={"bond0": [1, 40]}))
    assert plan.ip[0] == "link add br-t type bridge stp_state 0 vlan_filtering 1"
    assert "link add bond0 type bond mode 802.3ad miimon 100" in plan.ip
    assert plan.ip.index("link set eth2 down") < plan.ip.index("link set eth2 master bond0")
    assert "link set bond0 master br-t" in plan.ip
    assert plan.bridge == ["vlan add dev bond0 vid 20", "vlan add dev bond0 vid 30", "vlan del dev bond0 vid 40"]


def test_plan_present_bond_mode_change_releases_ports_and_is_disruptive():
    state = _state([_link("bond0", "bond", master="br-t", info={"mode": "active-backup"}), _link("eth2", master="bond0"),
                    _link("eth3", master="bond0"), _link("br-t", "bridge", info={"stp_state": 0})])
    plan = plan_present(Wanted("br-t", ["eth2", "eth3"], {"name": "bond0", "mode": "802.3ad"}), state)
    assert plan.ip[:4] == ["link set eth2 nomaster", "link set eth3 nomaster", "link set bond0 down",
                           "link set bond0 type bond mode 802.3ad"]
    assert "changing bond0's mode from active-backup to 802.3ad" in plan.disruptive[0]


def test_plan_present_refuses_a_name_taken_by_another_kind():
    with pytest.raises(HostNetError, match="name: eth0 exists and is a veth link, not a bridge"):
        plan_present(Wanted("eth0", ["eth1"]), _state([_link("eth0", "veth"), _link("eth1")]))


def test_plan_absent_moves_the_address_home_then_deletes():
    state = _state([_link("br0", "bridge"), _link("eth0", master="br0")], {"br0": ETH0_ADDR["eth0"]},
                   [dict(ETH0_ROUTE[0], dev="br0")])
    plan = plan_absent(Wanted("br0", ["eth0"]), state)
    assert plan.ip == ["link set eth0 nomaster", "addr add 10.0.0.2/24 dev eth0", "addr del 10.0.0.2/24 dev br0",
                       "route replace default via 10.0.0.1 dev eth0", "link set eth0 up", "link del br0"]
    assert plan.disruptive and plan_absent(Wanted("br0", ["eth0"]), _state([_link("eth0")])).empty


def test_rollback_restores_what_was_there():
    before = _state([_link("eth0")], ETH0_ADDR, ETH0_ROUTE)
    lines = rollback(before, Wanted("br0", ["eth0"]))
    assert lines[0] == "link set eth0 nomaster" and "link del br0" in lines
    assert lines.index("addr flush dev eth0 scope global") < lines.index("addr add 10.0.0.2/24 dev eth0")
    assert lines[-1] == "route replace default via 10.0.0.1 dev eth0"


def test_rollback_makes_a_deleted_bridge_again():
    before = _state([_link("br0", "bridge", info={"stp_state": 1}), _link("eth0", master="br0")])
    lines = rollback(before, Wanted("br0", ["eth0"]))
    assert lines[:2] == ["link add br0 type bridge", "link set br0 nomaster"]
    assert "link set eth0 master br0" in lines and "link set br0 type bridge stp_state 1" in lines


def test_networkd_files_carry_addresses_vlans_and_bond():
    wanted = Wanted("br-t", ["eth2", "eth3"], {"name": "bond0", "mode": "802.3ad", "miimon": 100}, [20], mtu=9000)
    files = networkd_files(wanted, Addressing(["10.0.0.2/24"], ["10.0.0.1"]))
    assert files["05-virt-kubevirt-br-t.netdev"].splitlines()[1:] == [
        "[NetDev]", "Name=br-t", "Kind=bridge", "MTUBytes=9000", "", "[Bridge]", "STP=no", "VLANFiltering=yes"]
    assert "Address=10.0.0.2/24\nGateway=10.0.0.1\n" in files["05-virt-kubevirt-br-t.network"]
    assert "[BridgeVLAN]\nVLAN=20\n" in files["05-virt-kubevirt-br-t-bond0.network"]
    assert "MIIMonitorSec=100ms" in files["05-virt-kubevirt-bond0.netdev"]
    assert "Bond=bond0" in files["05-virt-kubevirt-bond0-eth3.network"]


def test_networkd_bridge_without_addresses_has_none():
    files = networkd_files(Wanted("br-vms", ["eth1"]), Addressing())
    assert "LinkLocalAddressing=no" in files["05-virt-kubevirt-br-vms.network"]


def test_networkmanager_keyfiles():
    wanted = Wanted("br0", ["eth0"], vlans=[20, 30])
    files = networkmanager_files(wanted, Addressing(["10.0.0.2/24"], ["10.0.0.1"]))
    bridge = files["virt-kubevirt-br0.nmconnection"]
    assert "type=bridge\ninterface-name=br0\n" in bridge and "vlan-filtering=true" in bridge
    assert "[ipv4]\nmethod=manual\naddress1=10.0.0.2/24\ngateway=10.0.0.1\n" in bridge
    port = files["virt-kubevirt-br0-port-eth0.nmconnection"]
    assert "master=br0\nslave-type=bridge\n" in port and "vlans=20,30" in port
    dhcp = networkmanager_files(Wanted("br0", ["eth0"]), Addressing(dhcp=True))["virt-kubevirt-br0.nmconnection"]
    assert "[ipv4]\nmethod=auto\n" in dhcp


def test_pick_backend():
    def stopped(args):
        return 127, "", "not found"

    assert pick_backend(stopped, "auto", 'ID="rhel"\nID_LIKE="fedora"\n') == "networkmanager"
    assert pick_backend(stopped, "auto", "ID=debian\n") == "networkd"

    def nm(args):
        return (0, "running\n", "") if args[0] == "nmcli" else (3, "inactive\n", "")

    assert pick_backend(nm, "auto", "ID=debian\n") == "networkmanager"
    assert pick_backend(nm, "networkd", "") == "networkd"


def test_files_only_ours_are_read_and_written_atomically(tmp_path):
    files = networkd_files(Wanted("br0", ["eth0"]), Addressing())
    write_files(str(tmp_path), files, [], 0o644)
    (tmp_path / "05-virt-kubevirt-br0-x.network").write_text("# hand-written\n")
    other = networkd_files(Wanted("br0-x", ["eth1"]), Addressing())
    write_files(str(tmp_path), other, [], 0o644)
    assert set(read_owned(str(tmp_path), "br0")) == set(files)
    write_files(str(tmp_path), {}, list(files), 0o644)
    assert read_owned(str(tmp_path), "br0") == {} and set(read_owned(str(tmp_path), "br0-x")) == set(other)
    assert not [p for p in os.listdir(str(tmp_path)) if p.endswith(".tmp")]


def test_checkpoint_commit_stops_the_timer(tmp_path):
    target = tmp_path / "unit.network"
    target.write_text("old\n")
    path = str(tmp_path / "cp" / "br0")
    data = checkpoints.arm(_run, path, ["link show lo"], {str(target): "old\n"}, [], 30)
    assert checkpoints.pending(path)["pid"] == data["pid"] and not checkpoints.pending(path)["rolled_back"]
    with pytest.raises(HostNetError, match="pending"):
        checkpoints.arm(_run, path, [], {}, [], 30)
    assert checkpoints.commit(path) is True and checkpoints.pending(path) is None
    assert checkpoints.commit(path) is False


def test_checkpoint_timer_restores_files_and_a_late_commit_says_so(tmp_path):
    target = tmp_path / "unit.network"
    target.write_text("old\n")
    created = tmp_path / "new.netdev"
    path = str(tmp_path / "cp" / "br0")
    checkpoints.arm(_run, path, [], {str(target): "old\n", str(created): None}, [], 1)
    target.write_text("new\n")
    created.write_text("made by the change\n")
    deadline = time.monotonic() + 10
    while not (checkpoints.pending(path) or {}).get("rolled_back") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.read_text() == "old\n" and not created.exists()
    with pytest.raises(HostNetError, match="too late to commit, the checkpoint's timeout .1s. passed"):
        checkpoints.commit(path)
    assert checkpoints.pending(path) is None


def test_checkpoint_rollback_now(tmp_path):
    target = tmp_path / "unit.network"
    target.write_text("old\n")
    path = str(tmp_path / "cp" / "br0")
    checkpoints.arm(_run, path, [], {str(target): "old\n"}, [], 60)
    target.write_text("new\n")
    assert checkpoints.roll_back(_run, path) is not None
    assert target.read_text() == "old\n" and checkpoints.pending(path) is None
