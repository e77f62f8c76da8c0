# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn VirtualMachine / VirtualMachineInstance / Service objects into inventory host records.

Pure functions over plain dicts, shared by the ``virt.kubevirt.kubevirt`` inventory plugin and its
unit tests. Host variable names follow kubevirt.core (``vm_*`` / ``vmi_*``, the snake_case of the
status keys) so compose expressions keep working after switching plugins. Objects come from a live
cluster: nothing here assumes a field exists or has the right type.
"""

from __future__ import annotations

import fnmatch
import re
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

DOMAIN_LABEL = "kubevirt.io/domain"
WINDOWS_GUEST_OS_ID = "mswindows"
# Checked in this order when the guest agent does not report an OS id (as kubevirt.core does).
WINDOWS_ANNOTATIONS = (
    "kubevirt.io/cluster-preference-name",
    "kubevirt.io/preference-name",
    "vm.kubevirt.io/os",
)
OS_ANNOTATION = "vm.kubevirt.io/os"

SSH_PORT = 22
WINRM_HTTP_PORT = 5985
WINRM_HTTPS_PORT = 5986
SERVICE_PORTS = (SSH_PORT, WINRM_HTTP_PORT, WINRM_HTTPS_PORT)
SERVICE_TYPES = ("LoadBalancer", "NodePort")
WINRM_CONNECTIONS = ("winrm", "ansible.builtin.winrm", "psrp", "ansible.builtin.psrp")

RUNNING_PHASE = "Running"
HOST_FORMAT_FIELDS = ("cluster", "namespace", "name", "uid")

# CamelCase -> snake_case exactly as kubevirt.core names its variables:
# guestOSInfo -> guest_os_info, nodeName -> node_name, VSOCKCID -> vsockcid.
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_snake_cache: Dict[str, str] = {}

Unsafe = Callable[[Any], Any]
ServiceIndex = Mapping[Tuple[str, str], List[Dict[str, Any]]]


def _identity(value: Any) -> Any:
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _sequence(value: Any) -> List[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value else None


def snake_case(key: str) -> str:
    """A status key as a variable-name suffix (cached: the same few keys repeat on every host)."""
    name = _snake_cache.get(key)
    if name is None:
        name = _CAMEL_BOUNDARY.sub("_", key).lower()
        _snake_cache[key] = name
    return name


@dataclass(frozen=True)
class HostOptions:
    """The options that shape host names and connection variables."""

    host_format: str = "{namespace}-{name}"
    network_name: Optional[str] = None
    kube_secondary_dns: bool = False
    use_service: bool = True
    unset_ansible_port: bool = True
    base_domain: Optional[str] = None
    append_base_domain: bool = False
    default_win_ansible_connection: str = "winrm"
    include_stopped: bool = False
    exclude_vars: Tuple[str, ...] = ()


@dataclass
class HostRecord:
    """One inventory host: its name, variables and the facts the built-in groups are made from."""

    name: str
    cluster: str
    namespace: str
    variables: Dict[str, Any]
    running: bool = False
    node: Optional[str] = None
    status: Optional[str] = None
    os_id: Optional[str] = None
    windows: bool = False
    instancetype: Optional[str] = None
    # The VM's and VMI's metadata.labels; read only for label groups (create_groups).
    label_maps: Tuple[Any, ...] = ()
    # Variables left out by exclude_host_vars: not set on the host, but compose, groups and
    # keyed_groups still see them, so expressions written for kubevirt.core keep working.
    hidden: Dict[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> List[Tuple[str, str]]:
        """(key, value) of the VM and VMI labels, without repeats, in order."""
        pairs: List[Tuple[str, str]] = []
        for labels in self.label_maps:
            for key, value in _mapping(labels).items():
                pair = (str(key), "" if value is None else str(value))
                if pair not in pairs:
                    pairs.append(pair)
        return pairs


def validate_host_format(host_format: str) -> None:
    """Raise ValueError naming the offending field when host_format uses an unknown one."""
    if not isinstance(host_format, str) or not host_format.strip():
        raise ValueError("host_format must be a format string such as {namespace}-{name}, got %r" % (host_format,))
    try:
        fields = [parsed[1] for parsed in string.Formatter().parse(host_format) if parsed[1] is not None]
    except ValueError as exc:
        raise ValueError("host_format %r is not a valid format string: %s" % (host_format, exc))
    for name in fields:
        if name not in HOST_FORMAT_FIELDS:
            raise ValueError(
                "host_format %r uses unknown field {%s}; available: %s"
                % (host_format, name, ", ".join("{%s}" % f for f in HOST_FORMAT_FIELDS))
            )
    if not {"name", "uid"} & set(fields):
        raise ValueError("host_format %r must contain {name} or {uid} to tell hosts apart" % host_format)
    try:
        # Conversions and format specs ({name!x}, {name:d}) only fail when applied: try them once.
        format_host_name(host_format, "cluster", {"namespace": "namespace", "name": "name", "uid": "uid"})
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError("host_format %r is not a valid format string: %s" % (host_format, exc))


def format_host_name(host_format: str, cluster: str, metadata: Mapping[str, Any]) -> str:
    return host_format.format(
        cluster=cluster,
        namespace=metadata.get("namespace") or "",
        name=metadata.get("name") or "",
        uid=metadata.get("uid") or "",
    )


def is_windows(
    guest_os_info: Any, annotations: Any, fallback_annotations: Any = None, preference: Optional[str] = None
) -> bool:
    """Windows guest? The agent's OS id wins; else annotations, then the VM's preference name."""
    os_id = _mapping(guest_os_info).get("id")
    if os_id:
        return os_id == WINDOWS_GUEST_OS_ID
    for source in (_mapping(annotations), _mapping(fallback_annotations)):
        for key in WINDOWS_ANNOTATIONS:
            value = source.get(key)
            if isinstance(value, str):
                return value.startswith("windows")
    return bool(preference and preference.startswith("windows"))


def guest_os_id(guest_os_info: Any, annotations: Any, fallback_annotations: Any = None) -> Optional[str]:
    """The guest agent's OS id (fedora, rhel, mswindows, ...), else the ``vm.kubevirt.io/os`` annotation."""
    os_id = _text(_mapping(guest_os_info).get("id"))
    if os_id:
        return os_id
    return _text(_mapping(annotations).get(OS_ANNOTATION)) or _text(_mapping(fallback_annotations).get(OS_ANNOTATION))


def is_candidate_service(service: Any) -> bool:
    """A LoadBalancer/NodePort Service with one port to SSH or WinRM that selects a VM by domain."""
    spec = _mapping(_mapping(service).get("spec"))
    if spec.get("type") not in SERVICE_TYPES:
        return False
    ports = _sequence(spec.get("ports"))
    if len(ports) != 1 or _mapping(ports[0]).get("targetPort") not in SERVICE_PORTS:
        return False
    return bool(_text(_mapping(spec.get("selector")).get(DOMAIN_LABEL)))


def index_services(services: List[Dict[str, Any]]) -> Dict[Tuple[str, str], List[Dict[str, Any]]]:
    """Candidate Services by (namespace, selected domain), sorted by name for a stable choice."""
    index: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for service in services:
        if not is_candidate_service(service):
            continue
        namespace = _mapping(service.get("metadata")).get("namespace") or ""
        domain = service["spec"]["selector"][DOMAIN_LABEL]
        index.setdefault((namespace, domain), []).append(service)
    for matches in index.values():
        matches.sort(key=lambda svc: _mapping(svc.get("metadata")).get("name") or "")
    return index


def find_service(services: List[Dict[str, Any]], target_port: int) -> Optional[Dict[str, Any]]:
    """The first Service with exactly one port, targeting ``target_port``."""
    for service in services:
        ports = _sequence(_mapping(service.get("spec")).get("ports"))
        if len(ports) == 1 and _mapping(ports[0]).get("targetPort") == target_port:
            return service
    return None


def service_for_connection(services: List[Dict[str, Any]], connection: Optional[str]) -> Optional[Dict[str, Any]]:
    """SSH Service for ssh (or unset) connections; WinRM over HTTPS, then HTTP, for winrm/psrp."""
    if connection in WINRM_CONNECTIONS:
        return find_service(services, WINRM_HTTPS_PORT) or find_service(services, WINRM_HTTP_PORT)
    return find_service(services, SSH_PORT)


def service_endpoint(
    service: Mapping[str, Any], node_name: Optional[str], options: HostOptions
) -> Tuple[Optional[str], Optional[int]]:
    """(host, port): LoadBalancer ingress hostname or IP and port; NodePort node name and nodePort."""
    spec = _mapping(service.get("spec"))
    port = _mapping(_sequence(spec.get("ports"))[0]) if _sequence(spec.get("ports")) else {}
    if spec.get("type") == "LoadBalancer":
        ingress = _sequence(_mapping(_mapping(_mapping(service.get("status")).get("loadBalancer"))).get("ingress"))
        first = _mapping(ingress[0]) if ingress else {}
        return _text(first.get("hostname")) or _text(first.get("ip")), port.get("port")
    if spec.get("type") == "NodePort":
        host = _text(node_name)
        if host and options.append_base_domain and options.base_domain:
            host = "%s.%s" % (host, options.base_domain)
        return host, port.get("nodePort")
    return None, None


def select_interface(interfaces: Any, network_name: Optional[str]) -> Optional[Mapping[str, Any]]:
    """The interface named ``network_name``, or the first one reporting an IP address."""
    for interface in _sequence(interfaces):
        interface = _mapping(interface)
        if network_name is None:
            if _text(interface.get("ipAddress")):
                return interface
        elif interface.get("name") == network_name:
            return interface
    return None


def connection_address(
    vmi: Mapping[str, Any],
    services: List[Dict[str, Any]],
    connection: Optional[str],
    options: HostOptions,
) -> Tuple[Optional[str], Optional[int]]:
    """(ansible_host, ansible_port) for a running VMI, in the documented order:

    1. ``kube_secondary_dns`` with ``network_name``: ``<network>.<vm>.<namespace>.vm[.<base_domain>]``;
    2. ``use_service`` without ``network_name``: the matching LoadBalancer / NodePort Service;
    3. the IP of the interface named ``network_name``, else of the first interface with an IP.
    """
    metadata = _mapping(vmi.get("metadata"))
    status = _mapping(vmi.get("status"))
    interface = select_interface(status.get("interfaces"), options.network_name)
    address = _text(interface.get("ipAddress")) if interface else None
    if options.kube_secondary_dns and options.network_name and address:
        host = "%s.%s.%s.vm" % (options.network_name, metadata.get("name"), metadata.get("namespace"))
        if options.base_domain:
            host = "%s.%s" % (host, options.base_domain)
        return host, None
    if options.use_service and not options.network_name:
        service = service_for_connection(services, connection)
        if service is not None:
            host, port = service_endpoint(service, _text(status.get("nodeName")), options)
            if host and port:
                return host, port
    return address, None


_excluded_cache: Dict[Tuple[Tuple[str, ...], str], bool] = {}


def is_excluded(name: str, patterns: Tuple[str, ...]) -> bool:
    """Whether ``exclude_host_vars`` drops this variable (names or shell patterns; cached per name)."""
    if not patterns:
        return False
    key = (patterns, name)
    excluded = _excluded_cache.get(key)
    if excluded is None:
        excluded = _excluded_cache[key] = any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    return excluded


# (prefix, status key) -> variable name, or "" for a key that cannot be a variable name.
_status_var_names: Dict[Tuple[str, Any], str] = {}


def _status_var_name(prefix: str, key: Any) -> str:
    name = _status_var_names.get((prefix, key))
    if name is None:
        name = "%s_%s" % (prefix, snake_case(key)) if isinstance(key, str) else ""
        # A status key that cannot be a variable name (never seen in KubeVirt) is left out.
        name = _status_var_names[(prefix, key)] = name if name.isidentifier() else ""
    return name


def _add_object_vars(variables: Dict[str, Any], prefix: str, obj: Mapping[str, Any], unsafe: Unsafe) -> None:
    """``<prefix>_labels/annotations/uid/resource_version`` plus every status key, snake_cased.

    Runs for every VM and VMI of the fleet: names come from a cache and values are referenced,
    not copied.
    """
    metadata = _mapping(obj.get("metadata"))
    found = [
        (prefix + "_labels", _mapping(metadata.get("labels"))),
        (prefix + "_annotations", _mapping(metadata.get("annotations"))),
        (prefix + "_uid", metadata.get("uid")),
        (prefix + "_resource_version", metadata.get("resourceVersion")),
    ]
    found.extend((_status_var_name(prefix, key), value) for key, value in _mapping(obj.get("status")).items())
    for name, value in found:
        if name:
            variables[name] = unsafe(value)


def _ref_name(ref: Any) -> Optional[str]:
    return _text(_mapping(ref).get("name"))


def build_host(
    vm: Optional[Mapping[str, Any]],
    vmi: Optional[Mapping[str, Any]],
    cluster: str,
    options: HostOptions,
    services: Optional[ServiceIndex] = None,
    unsafe: Unsafe = _identity,
) -> Optional[HostRecord]:
    """The host for a VM and/or its VMI, or None when it is not to be listed.

    A host is running when its VMI is in phase Running; others are listed only with
    ``include_stopped`` and never get ``ansible_host``. ``unsafe`` is applied to every value that
    came from the cluster so that templating never evaluates it (the plugin passes ``wrap_var`` on
    ansible-core < 2.19; later versions never template untagged strings).
    """
    primary = vm if vm is not None else vmi
    if primary is None:
        return None
    metadata = _mapping(primary.get("metadata"))
    name, namespace = _text(metadata.get("name")), _text(metadata.get("namespace"))
    if not name or not namespace:
        return None
    vmi_status = _mapping(vmi.get("status")) if vmi is not None else {}
    running = vmi_status.get("phase") == RUNNING_PHASE
    if not running and not options.include_stopped:
        return None

    variables: Dict[str, Any] = {
        "vm_name": unsafe(name),
        "vm_namespace": unsafe(namespace),
        "kubevirt_cluster": unsafe(cluster),
    }
    vm_annotations = vm_spec = None
    if vm is not None:
        _add_object_vars(variables, "vm", vm, unsafe)
        vm_annotations = _mapping(vm.get("metadata")).get("annotations")
        vm_spec = _mapping(vm.get("spec"))
    instancetype = _ref_name(vm_spec.get("instancetype")) if vm_spec else None
    preference = _ref_name(vm_spec.get("preference")) if vm_spec else None
    if vm is not None:
        variables["vm_instancetype"] = unsafe(instancetype)
        variables["vm_preference"] = unsafe(preference)

    vmi_annotations = None
    if vmi is not None:
        _add_object_vars(variables, "vmi", vmi, unsafe)
        vmi_annotations = _mapping(vmi.get("metadata")).get("annotations")

    guest_os_info = vmi_status.get("guestOSInfo")
    windows = is_windows(guest_os_info, vmi_annotations, vm_annotations, preference)
    connection = options.default_win_ansible_connection if windows else None
    if connection:
        variables["ansible_connection"] = connection

    if running:
        domain = _mapping(_mapping(vmi.get("metadata")).get("labels")).get(DOMAIN_LABEL)
        matches = (services or {}).get((namespace, domain), []) if isinstance(domain, str) else []
        host, port = connection_address(vmi, matches, connection, options)
        if host:
            variables["ansible_host"] = unsafe(host)
        if port is not None or (host and options.unset_ansible_port):
            variables["ansible_port"] = unsafe(port)

    hidden: Dict[str, Any] = {}
    if options.exclude_vars:
        kept: Dict[str, Any] = {}
        for name, value in variables.items():
            (hidden if is_excluded(name, options.exclude_vars) else kept)[name] = value
        variables = kept
    vm_status = _mapping(vm.get("status")) if vm is not None else {}
    status = _text(vm_status.get("printableStatus")) or _text(vmi_status.get("phase"))
    if status is None and vm is not None and vmi is None:
        status = "Stopped"
    return HostRecord(
        name=format_host_name(options.host_format, cluster, metadata),
        cluster=cluster,
        namespace=namespace,
        variables=variables,
        running=running,
        node=_text(vmi_status.get("nodeName")) if running else None,
        status=status,
        os_id=guest_os_id(guest_os_info, vmi_annotations, vm_annotations),
        windows=windows,
        instancetype=instancetype,
        label_maps=tuple(_mapping(obj.get("metadata")).get("labels") for obj in (vm, vmi) if obj is not None),
        hidden=hidden,
    )


def object_key(obj: Mapping[str, Any]) -> Optional[Tuple[str, str]]:
    metadata = _mapping(obj.get("metadata"))
    name, namespace = _text(metadata.get("name")), _text(metadata.get("namespace"))
    return (namespace, name) if name and namespace else None


def pair_objects(
    vms: List[Dict[str, Any]], vmis: List[Dict[str, Any]]
) -> List[Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]]:
    """(vm, vmi) pairs joined by namespace/name; VMIs without a VM (standalone) come last."""
    vmi_by_key: Dict[Tuple[str, str], Dict[str, Any]] = {}
    for vmi in vmis:
        key = object_key(vmi) if isinstance(vmi, dict) else None
        if key is not None:
            vmi_by_key[key] = vmi
    pairs: List[Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]] = []
    for vm in vms:
        key = object_key(vm) if isinstance(vm, dict) else None
        if key is not None:
            pairs.append((vm, vmi_by_key.pop(key, None)))
    pairs.extend((None, vmi) for vmi in vmi_by_key.values())
    return pairs
