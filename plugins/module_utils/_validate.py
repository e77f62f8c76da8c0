# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reusable checks of module input, run before any request.

Each check raises ``invalid(option, message)``: one line naming the option (or sub-option path
such as ``disks[1].bus``) and what it expects, so a typo never becomes a 404, a server-side
traceback or a half-applied change. Connection options are checked in _auth.py instead.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._quantity import is_quantity, quantity_error

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

UINT32_MAX = 2 ** 32 - 1
INT32_MAX = 2 ** 31 - 1
DISK_BUSES = ("virtio", "sata", "scsi", "usb")
# KubeVirt's accepted interface models (pkg/network/... validInterfaceModels).
NIC_MODELS = ("e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", "virtio")
SSH_KEY_TYPES = ("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
                 "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, LF and CR are text
_MAC = re.compile(r"^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$")
_MAC_DOTTED = re.compile(r"^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def invalid(option: str, message: str) -> KubeApiError:
    """Bad module input: same exception as API failures, so it maps to fail_json the same way."""
    return KubeApiError("%s: %s" % (option, message), reason="InvalidArgument")


def _shown(value: Any) -> str:
    return "%r" % (value,) if isinstance(value, str) else "%r (%s)" % (value, type(value).__name__)


# -- text ----------------------------------------------------------------------------------
def check_text(option: str, value: Any, multiline: bool = False) -> str:
    """A non-empty string without control characters (and one line unless ``multiline``)."""
    if not isinstance(value, str):
        raise invalid(option, "must be a string, got %s" % _shown(value))
    if not value.strip():
        raise invalid(option, "must not be empty or only whitespace")
    bad = _CONTROL.search(value) or (None if multiline else re.search(r"[\r\n]", value))
    if bad:
        raise invalid(option, "must not contain control characters or line breaks, found %r at position %d"
                      % (bad.group(), bad.start() + 1))
    return value


def check_no_spaces(option: str, value: Any) -> str:
    check_text(option, value)
    if re.search(r"\s", value):
        raise invalid(option, "must not contain whitespace, got %r" % value)
    return value


# -- Kubernetes names ----------------------------------------------------------------------
def check_dns_label(option: str, value: Any, max_length: int = 63) -> str:
    """An RFC 1123 label: namespaces, pod volume names."""
    check_text(option, value)
    if len(value) > max_length:
        raise invalid(option, "must be at most %d characters, got %d" % (max_length, len(value)))
    if not _DNS_LABEL.match(value):
        raise invalid(option, "must be lowercase letters, digits and '-', starting and ending with a letter or "
                      "digit (RFC 1123 label, for example my-name), got %r" % value)
    return value


def check_resource_name(option: str, value: Any, max_length: int = 253) -> str:
    """An object name (RFC 1123 subdomain): '..' or 'a/b' would change the request path."""
    check_text(option, value)
    if value in (".", "..") or "/" in value or "%" in value:
        raise invalid(option, "must be an object name, not a path: %r cannot be used ('/', '%%', '.' and '..' "
                      "are not allowed)" % value)
    if len(value) > max_length:
        raise invalid(option, "must be at most %d characters, got %d" % (max_length, len(value)))
    if not _DNS_SUBDOMAIN.match(value):
        raise invalid(option, "must be lowercase letters, digits, '-' and '.', starting and ending with a letter "
                      "or digit (RFC 1123 subdomain, for example my-vm), got %r" % value)
    return value


def check_read_scope(params: Mapping[str, Any]) -> None:
    """``name``, ``namespace`` and ``namespaces`` of an _info module (no namespace: all of them)."""
    if params.get("name") is not None:
        check_resource_name("name", params["name"])
    if params.get("namespace") is not None:
        if isinstance(params["namespace"], str) and not params["namespace"].strip():
            raise invalid("namespace", "must not be empty; omit it to read every namespace")
        check_dns_label("namespace", params["namespace"])
    for index, namespace in enumerate(params.get("namespaces") or []):
        check_dns_label("namespaces[%d]" % index, namespace)


def check_namespaced_name(option: str, value: Any) -> str:
    """``name`` or ``namespace/name`` (Multus network references)."""
    check_text(option, value)
    parts = value.split("/")
    if len(parts) > 2:
        raise invalid(option, "must be name or namespace/name, got %r" % value)
    if len(parts) == 2:
        check_dns_label(option + " (namespace part)", parts[0])
    check_resource_name(option + (" (name part)" if len(parts) == 2 else ""), parts[-1])
    return value


# -- labels and annotations ----------------------------------------------------------------
def check_qualified_key(option: str, key: Any) -> str:
    """A label or annotation key: optional DNS-subdomain prefix and '/', then a name of at most 63."""
    where = "%s key %r" % (option, key)
    if not isinstance(key, str) or not key:
        raise invalid(option, "keys must be non-empty strings, got %s" % _shown(key))
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix):
            raise invalid(where, "the prefix before '/' must be a DNS subdomain such as example.com")
    if len(name) > 63:
        raise invalid(where, "the name part must be at most 63 characters, got %d" % len(name))
    if not _LABEL_NAME.match(name):
        raise invalid(where, "must be letters, digits, '-', '_' and '.', starting and ending with a letter or "
                      "digit, optionally after a prefix such as example.com/")
    return key


def check_label_value(option: str, value: Any) -> str:
    if not isinstance(value, str):
        raise invalid(option, "must be a string, got %s; quote it in YAML" % _shown(value))
    if len(value) > 63:
        raise invalid(option, "must be at most 63 characters, got %d" % len(value))
    if value and not _LABEL_NAME.match(value):
        raise invalid(option, "must be empty or letters, digits, '-', '_' and '.', starting and ending with a "
                      "letter or digit, got %r" % value)
    return value


def check_labels(option: str, labels: Optional[Mapping[str, Any]]) -> None:
    for key, value in (labels or {}).items():
        check_qualified_key(option, key)
        check_label_value("%s.%s" % (option, key), value)


def check_annotations(option: str, annotations: Optional[Mapping[str, Any]]) -> None:
    for key, value in (annotations or {}).items():
        check_qualified_key(option, key)
        if not isinstance(value, str):
            raise invalid("%s.%s" % (option, key), "must be a string, got %s; quote it in YAML" % _shown(value))


# -- numbers and quantities ----------------------------------------------------------------
def check_int_range(option: str, value: Any, low: int, high: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(option, "must be an integer, got %s" % _shown(value))
    if value < low or (high is not None and value > high):
        expected = "from %d to %d" % (low, high) if high is not None else "%d or more" % low
        raise invalid(option, "must be %s, got %d" % (expected, value))
    return value


def check_quantity(option: str, value: Any, positive: bool = True) -> str:
    """A Kubernetes quantity such as 2Gi, exactly as sent (a trailing newline is not a quantity)."""
    if not is_quantity(value):
        raise KubeApiError(quantity_error(option, value), reason="InvalidArgument")
    number = re.match(r"[+]?(\d+(\.\d*)?|\.\d+)", str(value))
    if positive and number and float(number.group()) == 0:
        raise invalid(option, "must be more than zero, got %r" % (value,))
    return str(value)


# -- choices and lists ---------------------------------------------------------------------
def check_choice(option: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise invalid(option, "must be one of %s, got %s" % (", ".join(choices), _shown(value)))
    return value


def check_unique(option: str, values: Iterable[Tuple[str, Any]]) -> None:
    """``values`` as (where, value) pairs; the second occurrence of a value fails."""
    seen = {}
    for where, value in values:
        if value is None:
            continue
        if value in seen:
            raise invalid(where, "%r is already used by %s; %s must be unique" % (value, seen[value], option))
        seen[value] = where


# -- network addresses ---------------------------------------------------------------------
def check_mac(option: str, value: Any) -> str:
    check_text(option, value)
    if not _MAC.match(value) and not _MAC_DOTTED.match(value):
        raise invalid(option, "must be a MAC address of six hex pairs such as 02:00:00:00:00:01 "
                      "(or 02-00-00-00-00-01, 0200.0000.0001), got %r" % value)
    if int(value[:2], 16) & 1:
        raise invalid(option, "must be a unicast MAC address: %r is multicast (the lowest bit of the first "
                      "octet is set); use for example 02:... " % value)
    return value


def check_url(option: str, value: Any, schemes: Sequence[str] = ("http", "https")) -> str:
    check_no_spaces(option, value)
    parts = urlsplit(value)
    if "://" not in value or parts.scheme.lower() not in schemes:
        raise invalid(option, "must be a URL starting with %s, got %r"
                      % (" or ".join("%s://" % s for s in schemes), value))
    if not parts.hostname:
        raise invalid(option, "must be a URL with a host name after %s://, got %r" % (parts.scheme, value))
    try:
        parts.port  # noqa: B018  pylint: disable=pointless-statement
    except ValueError:
        raise invalid(option, "has a port that is not a number from 1 to 65535: %r" % value) from None
    return value


def check_registry_url(option: str, value: Any) -> str:
    """A CDI registry source: docker://image or oci-archive://path."""
    check_no_spaces(option, value)
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in ("docker", "oci-archive") or not rest.strip("/"):
        raise invalid(option, "must be docker://<image> (or oci-archive://<path>), for example "
                      "docker://quay.io/containerdisks/fedora:41, got %r" % value)
    return value


def check_image(option: str, value: Any) -> str:
    """A container image reference as the kubelet pulls it: no URL scheme."""
    check_no_spaces(option, value)
    if "://" in value:
        raise invalid(option, "must be an image reference such as quay.io/containerdisks/fedora:41 without "
                      "a scheme (docker:// is only for data_volume.registry), got %r" % value)
    return value


# -- documents and keys --------------------------------------------------------------------
def check_yaml(option: str, text: Any, what: str) -> Any:
    """``text`` parsed as YAML; it must be a mapping (``what`` names the document in the message)."""
    check_text(option, text, multiline=True)
    if yaml is None:  # pragma: no cover
        return None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " at line %d column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or "parse error"
        raise invalid(option, "is not valid YAML%s (%s); %s must be a YAML mapping" % (where, problem, what)) from None
    if document is None:
        return {}  # only comments, such as a bare "#cloud-config": an empty document is valid
    if not isinstance(document, dict):
        raise invalid(option, "must be a YAML mapping (%s), got a %s" % (what, type(document).__name__))
    return document


def check_ssh_public_key(option: str, value: Any) -> str:
    """One OpenSSH public key line (``[options] type base64 [comment]``); private keys are refused."""
    if isinstance(value, str) and "PRIVATE KEY" in value:
        # Never echo it: the value is a secret that must not reach the VM object.
        raise invalid(option, "is a private key; give the public key (the .pub file) instead")
    # A key from a YAML block scalar or a file ends in a newline: that one is fine.
    check_text(option, value.strip() if isinstance(value, str) else value)
    fields: List[str] = value.split()
    for index, field in enumerate(fields[:-1]):
        if field in SSH_KEY_TYPES and _BASE64.match(fields[index + 1]):
            return value.strip()
    raise invalid(option, "must be an SSH public key line such as 'ssh-ed25519 AAAA... user@host' (type one of "
                  "%s), got %r" % (", ".join(SSH_KEY_TYPES), value[:40] + ("..." if len(value) > 40 else "")))
