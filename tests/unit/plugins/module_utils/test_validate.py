# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The reusable input checks of _validate.py, _validate_selector.py and _validate_shape.py."""

from __future__ import annotations

import re

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils import _validate as v
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_selector import check_field_selector, check_label_selector
from ansible_collections.virt.kubevirt.plugins.module_utils._validate_shape import relaxed, shape_problem


def _fails(check, *args, match):
    with pytest.raises(KubeApiError, match=match) as info:
        check(*args)
    assert info.value.reason == "InvalidArgument"
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("value, match", [
    ("", "opt: must not be empty"), ("  ", "opt: must not be empty or only whitespace"), (3, r"opt: must be a string, got 3 \(int\)"),
    ("a\nb", "opt: must not contain control characters or line breaks"), ("a\x00b", "found '\\\\x00' at position 2"),
])
def test_check_text_rejects(value, match):
    _fails(v.check_text, "opt", value, match=match)


def test_check_text_multiline_allows_line_breaks_only():
    assert v.check_text("opt", "a\nb\tc\r\n", multiline=True)
    _fails(v.check_text, "opt", "a\x1b[0m", match="control characters")


@pytest.mark.parametrize("value", ["a", "my-vm", "a" * 63, "0abc"])
def test_dns_label_accepts(value):
    assert v.check_dns_label("ns", value) == value


@pytest.mark.parametrize("value, match", [
    ("a" * 64, "at most 63 characters, got 64"), ("a.b", "RFC 1123 label"), ("-a", "RFC 1123 label"),
    ("A", "RFC 1123 label"), ("a_b", "RFC 1123 label"), ("", "must not be empty"),
])
def test_dns_label_rejects(value, match):
    _fails(v.check_dns_label, "ns", value, match=match)


@pytest.mark.parametrize("value", ["vm", "vm.example", "a" * 253, "fedora-41.x"])
def test_resource_name_accepts(value):
    assert v.check_resource_name("name", value) == value


@pytest.mark.parametrize("value, match", [
    ("..", "not a path"), (".", "not a path"), ("a/b", "not a path"), ("a%2Fb", "not a path"),
    ("a" * 254, "at most 253"), ("a..b", "RFC 1123 subdomain"), ("Vm", "RFC 1123 subdomain"), ("vm-", "RFC 1123 subdomain"),
])
def test_resource_name_rejects(value, match):
    _fails(v.check_resource_name, "name", value, match=match)


def test_namespaced_name():
    assert v.check_namespaced_name("n", "prod/vlan20") == "prod/vlan20"
    assert v.check_namespaced_name("n", "vlan20") == "vlan20"
    _fails(v.check_namespaced_name, "n", "a/b/c", match="name or namespace/name")
    _fails(v.check_namespaced_name, "n", "Prod/x", match=r"n \(namespace part\)")
    _fails(v.check_namespaced_name, "n", "prod/X", match=r"n \(name part\)")


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "a_b.c-d", "example.com/" + "k" * 63, "A1"])
def test_qualified_key_accepts(key):
    assert v.check_qualified_key("labels", key) == key


@pytest.mark.parametrize("key, match", [
    ("my app", "must be letters"), ("/app", "prefix before '/'"), ("Example.com/app", "prefix before '/'"),
    ("a/b/c", "prefix before '/'"), ("k" * 64, "at most 63 characters, got 64"), ("-app", "must be letters"), ("", "non-empty"),
    (5, "non-empty strings, got 5"),
])
def test_qualified_key_rejects(key, match):
    _fails(v.check_qualified_key, "labels", key, match=match)


def test_label_values():
    assert v.check_label_value("l", "") == ""
    assert v.check_label_value("l", "v1.2_x-y") == "v1.2_x-y"
    _fails(v.check_label_value, "l", "x" * 64, match="at most 63")
    _fails(v.check_label_value, "l", "a b", match="must be empty or letters")
    _fails(v.check_label_value, "l", True, match=r"must be a string, got True \(bool\); quote it")


def test_labels_and_annotations_name_the_key():
    v.check_labels("template_labels", {"app": "web", "example.com/x": ""})
    _fails(v.check_labels, "template_labels", {"app": 1}, match=r"^template_labels\.app: must be a string")
    v.check_annotations("annotations", {"note": "any: text\nwith lines"})
    _fails(v.check_annotations, "annotations", {"n": 1}, match=r"^annotations\.n: must be a string")
    _fails(v.check_annotations, "annotations", {"bad key": "x"}, match="^annotations key 'bad key'")


@pytest.mark.parametrize("value, low, high, match", [
    (2 ** 32, 1, v.UINT32_MAX, "must be from 1 to 4294967295, got 4294967296"), (0, 1, v.UINT32_MAX, "got 0"),
    (-1, 0, None, "must be 0 or more, got -1"), (True, 0, None, "must be an integer, got True"), ("5", 0, None, "must be an integer"),
    (70000, 1, 65535, "must be from 1 to 65535, got 70000"),
])
def test_int_range_rejects(value, low, high, match):
    _fails(v.check_int_range, "opt", value, low, high, match=match)


def test_int_range_accepts_bounds():
    assert v.check_int_range("p", 1, 1, 65535) == 1 and v.check_int_range("p", 65535, 1, 65535) == 65535
    assert v.check_int_range("t", 0, 0) == 0


@pytest.mark.parametrize("value", ["1Gi", "512Mi", "1.5G", "100m", "1e3", 1024])
def test_quantity_accepts(value):
    assert v.check_quantity("memory", value) == str(value)


@pytest.mark.parametrize("value, match", [
    ("1Gi\n", "not a valid Kubernetes quantity"), (" 1Gi", "not a valid"), ("abc", "not a valid"), ("-1Gi", "not a valid"),
    (-1, "not a valid"), ("0", "must be more than zero"), ("0Gi", "must be more than zero"), (0, "must be more than zero"),
    ("0.0", "must be more than zero"),
])
def test_quantity_rejects(value, match):
    _fails(v.check_quantity, "memory", value, match=match)


def test_quantity_zero_allowed_when_not_positive():
    assert v.check_quantity("size", "0", positive=False) == "0"


def test_choice_and_unique():
    assert v.check_choice("bus", "sata", v.DISK_BUSES) == "sata"
    _fails(v.check_choice, "bus", "ide", v.DISK_BUSES, match="bus: must be one of virtio, sata, scsi, usb, got 'ide'")
    assert "igb" in v.NIC_MODELS and "ne2k_pci" in v.NIC_MODELS
    v.check_unique("names", [("a[0]", "x"), ("a[1]", "y"), ("a[2]", None), ("a[3]", None)])
    _fails(v.check_unique, "names", [("a[0]", "x"), ("a[1]", "y"), ("a[2]", "x")],
           match=r"^a\[2\]: 'x' is already used by a\[0\]; names must be unique")


@pytest.mark.parametrize("value", ["02:00:00:00:00:01", "DE-AD-00-00-BE-AF", "de:ad:00:00:be:af", "0200.0000.0001"])
def test_mac_accepts(value):
    assert v.check_mac("mac", value) == value


@pytest.mark.parametrize("value, match", [
    ("02:00:00:00:00", "six hex pairs"), ("02:00:00:00:00:0g", "six hex pairs"), ("02:00-00:00:00:01", "six hex pairs"),
    ("01:00:5e:00:00:01", "unicast"), ("ff:ff:ff:ff:ff:ff", "unicast"),
])
def test_mac_rejects(value, match):
    _fails(v.check_mac, "mac", value, match=match)


def test_urls():
    assert v.check_url("url", "https://example.com:8443/disk.img")
    _fails(v.check_url, "url", "example.com/disk.img", match="must be a URL starting with http:// or https://")
    _fails(v.check_url, "url", "ftp://example.com/x", match="starting with http://")
    _fails(v.check_url, "url", "https:///x", match="host name")
    _fails(v.check_url, "url", "https://h:99999/x", match="port")
    _fails(v.check_url, "url", "https://h/a b", match="whitespace")


def test_registry_and_image():
    assert v.check_registry_url("r", "docker://quay.io/containerdisks/fedora:41")
    assert v.check_registry_url("r", "oci-archive:///data/img.tar")
    for bad in ("quay.io/containerdisks/fedora:41", "http://quay.io/x", "docker://", "docker:quay.io/x"):
        _fails(v.check_registry_url, "r", bad, match="must be docker://<image>")
    assert v.check_image("c", "quay.io/containerdisks/fedora:41")
    _fails(v.check_image, "c", "docker://quay.io/x", match="without a scheme")
    _fails(v.check_image, "c", "quay.io/x y", match="whitespace")


def test_yaml_documents():
    assert v.check_yaml("ud", "#cloud-config\nuser: fedora\n", "a doc") == {"user": "fedora"}
    _fails(v.check_yaml, "ud", "#cloud-config\nusers: [a\n", "a doc", match=r"^ud: is not valid YAML at line \d+ column \d+")
    _fails(v.check_yaml, "ud", "#cloud-config\n- a\n", "a doc", match=r"must be a YAML mapping \(a doc\), got a list")
    _fails(v.check_yaml, "nd", "plain words", "network-config", match="got a str")
    assert v.check_yaml("ud", "#cloud-config\n", "a doc") == {}


@pytest.mark.parametrize("key", [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG user@host", "ssh-rsa AAAAB3NzaC1yc2E=", "ecdsa-sha2-nistp256 AAAAE2VjZHNh x",
    "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t k", 'from="10.0.0.0/8" ssh-ed25519 AAAAC3Nza c',
    "ssh-ed25519 AAAAC3Nza from-a-file\n",
])
def test_ssh_public_keys_accepted(key):
    assert v.check_ssh_public_key("k", key) == key.strip()


def test_ssh_private_key_is_refused_without_echoing_it():
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----"
    message = _fails(v.check_ssh_public_key, "k", secret, match="is a private key")
    assert "b3BlbnNzaC1rZXktdjE" not in message
    _fails(v.check_ssh_public_key, "k", "-----BEGIN RSA PRIVATE KEY-----", match="is a private key")


@pytest.mark.parametrize("key, match", [
    ("hunter2", "must be an SSH public key line"), ("ssh-ed25519", "must be an SSH public key line"),
    ("ssh-foo AAAA x", "must be an SSH public key line"), ("ssh-rsa not!base64", "must be an SSH public key line"),
    ("ssh-rsa AAAA a\nssh-rsa AAAA b", "line breaks"), ("", "must not be empty"),
])
def test_ssh_non_keys_rejected(key, match):
    _fails(v.check_ssh_public_key, "k", key, match=match)


# -- selectors -----------------------------------------------------------------------------
@pytest.mark.parametrize("selector", [
    "app", "!app", "app=web", "app==web", "app!=web", "app=", "tier in (db, cache)", "tier notin (a)", "gen>1", "gen<10",
    "app=web,tier in (a,b),!legacy", "example.com/app=x",
])
def test_label_selectors_accepted(selector):
    assert check_label_selector("ls", selector) == selector


@pytest.mark.parametrize("selector, match", [
    ("tier in (a", "in the values of tier, found the end"), ("tier in a)", "needs a list of values in parentheses"),
    ("a in ((b))", "found '\\(' at position 7"), ("a,,b", "expected a label key, found ','"),
    ("a = = b", "expected a value after a="), ("tier in ()", "has no values"), ("g>x", "needs an integer"),
    ("bad key=x", "expected an operator"), ("-a=b", "label key '-a' is not valid"), ("a=b c", "found 'c' at position 5"),
    ("a=" + "x" * 64, "at most 63"), ("a in (ok, not ok)", "found 'ok' at position 15"),
    ("in=x", "expected a label key, found 'in'"), ("a>-1", "not a valid label value"),
])
def test_label_selectors_rejected(selector, match):
    message = _fails(check_label_selector, "ls", selector, match=match)
    assert message.startswith("ls")


def test_field_selectors():
    assert check_field_selector("fs", "metadata.name=vm1,metadata.namespace!=x")
    _fails(check_field_selector, "fs", "metadata.name", match="not a field selector requirement")
    _fails(check_field_selector, "fs", "a=b,,c=d", match="not a field selector requirement")


# -- shapes --------------------------------------------------------------------------------
SPEC = {
    "name": {"type": "str"},
    "cpu": {"type": "dict", "options": {"cores": {"type": "int"}}},
    "disks": {"type": "list", "elements": "dict", "options": {
        "name": {"type": "str", "required": True},
        "data_volume": {"type": "dict", "options": {"url": {"type": "str"}}},
    }},
}


@pytest.mark.parametrize("params, message", [
    ({"cpu": 2}, "cpu must be a dictionary with cores, for example cpu: {cores: ...}; got 2 (int)"),
    ({"cpu": "oops"}, "cpu must be a dictionary with cores, for example cpu: {cores: ...}; got 'oops' (str)"),
    ({"disks": "root"}, "disks must be a list of dictionaries (each a dictionary with data_volume, name), for example disks: [{name: ...}]"),
    ({"disks": [{"name": "a"}, 3]}, "disks[1] must be a dictionary with data_volume, name, got 3 (int)"),
    ({"disks": [{"name": "a", "data_volume": ["x"]}]}, "disks[0].data_volume must be a dictionary with url"),
])
def test_shape_problems_name_the_path(params, message):
    option, text = shape_problem(SPEC, params)
    assert option == re.split(r"[.\[]", message)[0].split(" ")[0]
    assert text.startswith(message), text


@pytest.mark.parametrize("params", [
    {}, {"name": "x"}, {"cpu": {"cores": 2}}, {"cpu": "cores=2"}, {"cpu": '{"cores": 2}'}, {"cpu": None},
    {"disks": [{"name": "a", "data_volume": {"url": "u"}}]}, {"disks": []},
])
def test_good_shapes_pass(params):
    assert shape_problem(SPEC, params) is None


def test_relaxed_spec_accepts_anything_for_options_with_sub_options_only():
    spec = relaxed(SPEC)
    assert spec["cpu"] == {"type": "raw"} and spec["disks"] == {"type": "raw"}
    assert spec["name"] == SPEC["name"] and SPEC["cpu"]["type"] == "dict"


def test_shape_of_an_option_with_secret_sub_options_is_not_echoed():
    spec = {"proxy_headers": {"type": "dict", "options": {"basic_auth": {"type": "str", "no_log": True}}}}
    option, text = shape_problem(spec, {"proxy_headers": "user:hunter2"})
    assert option == "proxy_headers" and "hunter2" not in text and text.endswith("got a str")
    assert relaxed(spec)["proxy_headers"] == {"type": "raw", "no_log": True}
