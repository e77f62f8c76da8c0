# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: kubevirt
short_description: KubeVirt / OpenShift Virtualization virtual machines as inventory hosts
version_added: 0.1.0
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
description:
  - Lists the VirtualMachines (joined with their VirtualMachineInstances) of one or more clusters as hosts,
    grouped by cluster, namespace, node, status, operating system, instancetype and optionally labels.
  - Compatible with the P(kubevirt.core.kubevirt#inventory) plugin; option names, host variable names
    (C(vm_*), C(vmi_*)) and group names (C(namespace_<ns>), C(label_<key>_<value>)) are the same, so a
    source switches by changing its O(plugin) value. Differences are that only running VMs are listed
    unless O(include_stopped=true), and that one source can read several clusters (O(connections)).
  - Reads each cluster with one cluster-wide paginated list per resource type (VirtualMachines,
    VirtualMachineInstances and, with O(use_service), Services), so the number of requests does not
    grow with the number of namespaces. When the user may not list cluster-wide, it falls back to the
    namespaces the user can see (OpenShift Projects, else Namespaces), read concurrently.
  - Every value that comes from the cluster is marked unsafe, so labels and annotations can never be
    evaluated as templates.
  - The source file name must end with V(kubevirt.yml) or V(kubevirt.yaml).
  - "Templated options: the connection options (O(kubeconfig), O(context), O(host), O(api_key), O(username),
    O(password), O(client_cert), O(client_key), O(ca_cert), O(validate_certs), O(proxy), O(no_proxy),
    O(proxy_headers), O(impersonate_user), O(impersonate_groups)) and O(name), O(namespaces) and
    O(label_selector), at the top level and in each O(connections) entry, may be templates such as
    C({{ lookup('ansible.builtin.env', 'OCP_TOKEN') }}). Lookups and filters are available, extra vars
    with O(use_extra_vars). Other options, C(K8S_AUTH_*) values and everything read from a cluster are
    never templated."
  - "Options are checked before any request is sent, and a mistake is one line naming the option (and
    the O(connections) entry): unknown options (with the closest known name), booleans that are not
    V(true) or V(false) (V(validate_certs=maybe) is an error, it never turns verification off), empty
    strings, namespace names, the O(label_selector) syntax and O(host_format)."
  - "Host variables (stable names): C(ansible_host), C(ansible_port), C(ansible_connection) (see below);
    C(kubevirt_cluster) (the cluster name); C(vm_name), C(vm_namespace); C(vm_labels), C(vm_annotations),
    C(vm_uid), C(vm_resource_version), C(vm_instancetype), C(vm_preference) and one C(vm_<key>) per key of the
    VirtualMachine status in snake_case (for example C(vm_printable_status), C(vm_ready), C(vm_run_strategy),
    C(vm_conditions)); C(vmi_labels), C(vmi_annotations), C(vmi_uid), C(vmi_resource_version) and one
    C(vmi_<key>) per key of the VirtualMachineInstance status (for example C(vmi_phase), C(vmi_node_name),
    C(vmi_interfaces), C(vmi_guest_os_info), C(vmi_conditions), C(vmi_migration_state))."
  - "C(ansible_host) of a running VM, first match wins: 1. with O(kube_secondary_dns) and O(network_name),
    C(<network_name>.<vm>.<namespace>.vm[.<base_domain>]); 2. with O(use_service) and no O(network_name), a
    LoadBalancer Service (ingress host name or IP, C(ansible_port) the Service port) or NodePort Service
    (the VM's node name, plus the base domain with O(append_base_domain); C(ansible_port) the node port)
    that selects the VM by its C(kubevirt.io/domain) label with a single port targeting 22 (SSH) or, for
    WinRM/PSRP connections, 5986 then 5985; 3. the IP address of the interface named O(network_name), else
    of the first interface that reports one. Stopped VMs never get C(ansible_host)."
  - "Windows guests (guest agent OS id C(mswindows), else the annotations C(kubevirt.io/cluster-preference-name),
    C(kubevirt.io/preference-name) or C(vm.kubevirt.io/os) starting with C(windows), else a VM preference
    whose name starts with C(windows)) get C(ansible_connection) set to O(default_win_ansible_connection)."
  - "Groups: one per cluster (O(name) or the API server address, for example C(api_example_com_6443)),
    C(namespace_<namespace>), C(node_<node>), C(status_<printable status>) (for example C(status_running),
    C(status_stopped)), C(os_<guest OS id or vm.kubevirt.io/os>) and C(os_windows), C(instancetype_<name>),
    and with O(create_groups) C(label_<key>_<value>). Ansible replaces characters that are not valid in
    group names with C(_) (C(namespace_my-app) becomes C(namespace_my_app)), as for every inventory plugin.
    With a single cluster the namespace groups are children of the cluster group; with several clusters
    hosts are direct members of their cluster group."
extends_documentation_fragment:
  - virt.kubevirt.auth
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks this file as a source for this plugin.
    type: str
    required: true
    choices: [virt.kubevirt.kubevirt]
  name:
    description:
      - Name of the cluster, used for its group, the C(kubevirt_cluster) host variable and C({cluster}) in
        O(host_format). Defaults to the API server address with C(.) replaced by C(-) and C(:) by C(_).
      - Applies when the source reads one cluster; each O(connections) entry has its own C(name).
    type: str
  connections:
    description:
      - Read several clusters from this one source. Each entry takes the connection options of this plugin
        (O(kubeconfig), O(context), O(host), O(api_key), O(username), O(password), O(client_cert),
        O(client_key), O(ca_cert), O(validate_certs), O(proxy), O(no_proxy), O(proxy_headers),
        O(impersonate_user), O(impersonate_groups)) plus C(name) and C(namespaces).
      - Connection options set at the top level are defaults for every entry; the C(K8S_AUTH_*) variables
        come last.
      - Two entries must not have the same cluster name; set C(name) to tell them apart.
    type: list
    elements: dict
  namespaces:
    description:
      - Read only these namespaces (one list per namespace and resource type, sent concurrently).
      - By default all namespaces are read with cluster-wide lists.
    type: list
    elements: str
  label_selector:
    description: Only VirtualMachines and VirtualMachineInstances matching this label selector.
    type: str
  host_format:
    description:
      - Host name template. Fields V({cluster}), V({namespace}), V({name}) and V({uid}).
      - Include V({cluster}) when several clusters may have a VM with the same namespace and name.
    type: str
    default: "{namespace}-{name}"
  include_stopped:
    description:
      - Also list VMs that are not running (stopped, starting, failed), without C(ansible_host).
      - By default only VMs whose VirtualMachineInstance is in phase C(Running) are hosts.
    type: bool
    default: false
  network_name:
    description:
      - Name of the VM network whose interface address becomes C(ansible_host) (for a VM with several
        networks). When set, Services are not used.
    type: str
    aliases: [interface_name]
  kube_secondary_dns:
    description:
      - Use the KubeSecondaryDNS name of the O(network_name) interface as C(ansible_host).
    type: bool
    default: false
  use_service:
    description:
      - Use a LoadBalancer or NodePort Service exposing SSH (or WinRM for Windows) as C(ansible_host) and
        C(ansible_port). Ignored when O(network_name) is set.
    type: bool
    default: true
  unset_ansible_port:
    description:
      - Set C(ansible_port) to null for running hosts reached without a Service, so a port set elsewhere
        does not apply.
    type: bool
    default: true
  create_groups:
    description: Create C(label_<key>_<value>) groups from the labels of VMs and VMIs.
    type: bool
    default: false
  group_by:
    description: Which built-in groups to create.
    type: list
    elements: str
    choices: [cluster, namespace, node, status, os, instancetype]
    default: [cluster, namespace, node, status, os, instancetype]
  base_domain:
    description:
      - Base domain for host names built with O(kube_secondary_dns) or O(append_base_domain).
      - By default read from OpenShift's C(DNS/cluster) object (only when one of those options needs it).
    type: str
  append_base_domain:
    description: Append the base domain to the node name used as C(ansible_host) for NodePort Services.
    type: bool
    default: false
  default_win_ansible_connection:
    description:
      - C(ansible_connection) of Windows guests. With V(ssh) the SSH Service (port 22) is looked up
        instead of WinRM (5986, then 5985).
    type: str
    default: winrm
    choices: [winrm, ansible.builtin.winrm, psrp, ansible.builtin.psrp, ssh, ansible.builtin.ssh]
  exclude_host_vars:
    description:
      - Host variables not to set, as names or shell-style patterns (V(vmi_conditions), V(*_annotations),
        V(vmi_phase_transition_timestamps)).
      - The status variables make up most of an inventory's size; leaving out those no play reads keeps
        C(ansible-inventory --list) and inventory syncs of large fleets fast (see the benchmark in the
        collection's C(docs/)).
      - Left-out variables are still visible to O(compose), O(groups) and O(keyed_groups), so expressions
        written for them keep working; only the host does not keep them. A composed variable is always kept.
    type: list
    elements: str
    default: []
  api_version:
    description: KubeVirt API group and version to read.
    type: str
    default: kubevirt.io/v1
requirements:
  - kubernetes >= 30.1.0
notes:
  - Enable the inventory cache (O(cache), O(cache_plugin), O(cache_connection)) to answer repeated runs
    within O(cache_timeout) without any request to the clusters. An entry belongs to the options that
    decide what is read and to a digest of the credentials (another token is read afresh); no secret
    is written to the cache.
"""

EXAMPLES = r"""
# inventory.kubevirt.yml: running VMs of the current kubeconfig context, all namespaces.
plugin: virt.kubevirt.kubevirt

# Token and CA, two namespaces, only VMs labelled app=web, reached on a secondary network.
# plugin: virt.kubevirt.kubevirt
# host: https://api.ocp.example.com:6443
# api_key: "{{ lookup('ansible.builtin.env', 'OCP_TOKEN') }}"
# ca_cert: /etc/pki/ocp-ca.pem
# namespaces: [web-prod, web-stage]
# label_selector: app=web
# network_name: storage-net

# Two clusters from two kubeconfig contexts, cluster in host names, groups from labels,
# kubevirt.core-style compose and keyed groups, cached for ten minutes.
# plugin: virt.kubevirt.kubevirt
# kubeconfig: ~/.kube/config
# connections:
#   - context: east
#     name: east
#   - context: west
#     name: west
#     namespaces: [prod]
# host_format: "{cluster}-{namespace}-{name}"
# create_groups: true
# compose:
#   ansible_user: "'cloud-user'"
#   os_name: vmi_guest_os_info.name | default('unknown')
# keyed_groups:
#   - key: vm_labels['app'] | default('none')
#     prefix: app
#   - key: kubevirt_cluster ~ '_' ~ vm_namespace
#     prefix: ns
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: ~/.cache/virt-kubevirt-inventory
# cache_timeout: 600

# A large fleet synced by AAP: hosts keep only their connection variables (a small, fast
# ansible-inventory --list), while compose and keyed_groups still read the VM and VMI variables.
# plugin: virt.kubevirt.kubevirt
# exclude_host_vars: ["vm_*", "vmi_*"]
# compose:
#   guest_os: vmi_guest_os_info.prettyName | default('unknown')
# keyed_groups:
#   - key: vm_labels['app'] | default('none')
#     prefix: app
"""

import gc
import hashlib
import importlib.util
import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import yaml
from ansible import constants as C
from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.virt.kubevirt.plugins.module_utils._auth import AUTH_OPTION_NAMES, auth_arg_spec
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_groups import (
    cluster_parent,
    default_cluster_name,
    host_groups,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_hosts import (
    HostOptions,
    build_host,
    index_services,
    pair_objects,
    validate_host_format,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_options import (
    ENTRY_EXTRA_OPTIONS,
    TEMPLATED_OPTIONS,
    OptionError,
    canonical,
    check_env_booleans,
    check_values,
    option_names,
    render_values,
)
from ansible_collections.virt.kubevirt.plugins.module_utils._inventory_sources import (
    ClusterData,
    FetchSpec,
    cache_entry,
    clusters_from_cache,
    fetch_cluster,
    kubevirt_refs,
)

try:
    from ansible.template import trust_as_template  # noqa: F401  pylint: disable=unused-import
except ImportError:
    # ansible-core < 2.19 templates any plain string: mark every cluster value unsafe.
    _unsafe = wrap_var
else:
    # ansible-core >= 2.19 never templates a string unless it is tagged TrustedAsTemplate, and values
    # decoded from API (or cache) JSON carry no tags: wrap_var would only rebuild every structure
    # (2.8 s of 4 s for 10,000 hosts) to the same untrusted result.
    def _unsafe(value: Any) -> Any:
        return value

# Only looked up here: importing the kubernetes client takes about 0.3 s, which a cache hit never
# needs, so the engine modules that import it are loaded on the first fetch.
HAS_KUBERNETES = importlib.util.find_spec("kubernetes") is not None


def create_api_client(auth: Dict[str, Any]) -> Any:
    from ansible_collections.virt.kubevirt.plugins.module_utils._client import create_api_client as create

    return create(auth)


def resource_client(api_client: Any) -> Any:
    from ansible_collections.virt.kubevirt.plugins.module_utils._api import ResourceClient

    return ResourceClient(api_client)


_CONNECTION_SPEC_EXTRA = {
    "name": {"type": "str"},
    "namespaces": {"type": "list", "elements": "str"},
}
_MAX_PARALLEL_CLUSTERS = 4
_CREDENTIAL_OPTIONS = ("api_key", "username", "password", "client_cert", "client_key")


def _first_duplicate(names: Any) -> Optional[str]:
    seen = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def _yaml_problem(path: str, exc: Exception) -> str:
    """One line: the parser's problem and where (ansible-core's message spans several lines)."""
    try:
        with open(path, encoding="utf-8") as stream:
            yaml.safe_load(stream)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = " (line %d, column %d)" % (mark.line + 1, mark.column + 1) if mark is not None else ""
        return "%s%s" % (err.problem or err.context or "parse error", where)
    except (OSError, ValueError, yaml.YAMLError):
        pass
    return " ".join(str(getattr(exc, "message", None) or exc).split())


@contextmanager
def _bulk_allocation() -> Iterator[None]:
    """No cyclic garbage collection while the inventory is read and built; then freeze it.

    Decoding and indexing 10,000 VMs allocates millions of long-lived objects, and each full
    collection walks all of them again: about 1.2 s of a 10,000-VM parse, and another second in
    ansible-core's output step afterwards. Nothing built here is garbage, so collection is paused
    and, at the end, the inventory is moved out of the collector's reach (gc.freeze: the objects
    are still freed by reference counting, and forked workers do not copy them to update GC
    headers). A later parse (meta: refresh_inventory) first unfreezes, so a replaced inventory can
    still be collected. A caller that disabled the collector itself is left alone.
    """
    if not gc.isenabled():
        yield
        return
    gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
    gc.freeze()


class _Connection:
    """One cluster to read: resolved auth options, its name (if set) and namespaces."""

    def __init__(self, index: int, auth: Dict[str, Any], name: Optional[str], namespaces: Optional[List[str]]):
        self.index = index
        self.auth = auth
        # A plain str: the file's value is trusted as a template (2.19+), and kubevirt_cluster must
        # be as untrusted as after a cache hit (where the name comes back from JSON).
        self.name = None if name is None else str(name)
        self.namespaces = namespaces

    @property
    def label(self) -> str:
        """How messages name this cluster before its server address is known."""
        if self.name:
            return self.name
        for key in ("context", "host"):
            if self.auth.get(key):
                return "%s %s" % (key, self.auth[key])
        return "connection %d (default kubeconfig context)" % (self.index + 1)

    def cache_identity(self) -> Dict[str, Any]:
        """What decides which objects are read. Credentials count only as a digest: another token
        may see other namespaces, so it must not be answered from this one's cache entry."""
        kubeconfig = self.auth.get("kubeconfig")
        credentials = [self.auth.get(key) for key in _CREDENTIAL_OPTIONS]
        return {
            "name": self.name,
            "namespaces": self.namespaces,
            "kubeconfig": kubeconfig if not isinstance(kubeconfig, dict) else hashlib.sha256(
                json.dumps(kubeconfig, sort_keys=True, default=str).encode()
            ).hexdigest(),
            "context": self.auth.get("context"),
            "host": self.auth.get("host"),
            "impersonate_user": self.auth.get("impersonate_user"),
            "impersonate_groups": self.auth.get("impersonate_groups"),
            "credentials": hashlib.sha256(json.dumps(credentials, default=str).encode()).hexdigest()
            if any(credentials) else None,
        }


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Running KubeVirt VMs of one or more clusters as hosts."""

    NAME = "virt.kubevirt.kubevirt"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("kubevirt.yml", "kubevirt.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path)
        with _bulk_allocation():
            self._parse(path, cache)

    def _parse(self, path: str, cache: bool) -> None:
        raw = self._load_source(path)
        self._read_config_data(path)
        self._check_options(raw)
        host_options = self._host_options()
        fetch_spec = self._fetch_spec()
        connections = self._connections()

        cache_key = self.get_cache_key(path)
        fetch_key = self._fetch_key(connections, fetch_spec)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        clusters = None
        if use_cache:
            clusters = self._from_cache(cache_key, fetch_key)
            update_cache = clusters is None
        if clusters is None:
            clusters = self._fetch(connections, fetch_spec)
        if update_cache:
            self._cache[cache_key] = cache_entry(fetch_key, clusters)
        self._populate(clusters, host_options)

    # -- options ------------------------------------------------------------------------------
    def _load_source(self, path: str) -> Dict[str, Any]:
        """The file's options as written; ansible-core's reader fails with a traceback on a list."""
        try:
            data = self.loader.load_from_file(path, cache="none", trusted_as_template=True)
        except AnsibleError as exc:
            raise AnsibleParserError("%s is not a valid YAML file: %s" % (path, _yaml_problem(path, exc))) from None
        if data is None:
            raise AnsibleParserError("%s is empty" % path)
        if not isinstance(data, dict):
            # The builtin type: 2.19+ hands out tagged subclasses (_AnsibleTaggedList).
            kind = next(t.__name__ for t in type(data).__mro__ if t.__module__ == "builtins")
            raise AnsibleParserError("%s must be a YAML mapping of options such as 'plugin: %s', got a %s" % (path, self.NAME, kind))
        return data

    def _definitions(self) -> Dict[str, Dict[str, Any]]:
        return C.config.get_configuration_definitions(self.plugin_type, self._load_name)

    def _render(self, label: str, value: Any) -> Any:
        """A templated option rendered (only file values are trusted as templates on 2.19+)."""
        if isinstance(value, str):
            is_template = getattr(self.templar, "is_possibly_template", None) or self.templar.is_template
            if not is_template(value):
                return value
        elif not isinstance(value, (list, dict)):
            return value
        self.templar.available_variables = dict(self._vars or {}) if self.get_option("use_extra_vars") else {}
        try:
            return self.templar.template(value)
        except AnsibleError as exc:
            text = " ".join(str(getattr(exc, "message", None) or exc).split())
            raise OptionError("%s cannot be templated: %s" % (label, text)) from None

    def _check_options(self, raw: Dict[str, Any]) -> None:
        """Strict checks of the file's values (after templating), which then replace the options."""
        definitions = self._definitions()
        try:
            values = render_values(canonical(raw, option_names(definitions)), self._render)
            check_values(values, definitions)
        except OptionError as exc:
            raise AnsibleParserError(str(exc)) from None
        for name in TEMPLATED_OPTIONS:
            if name in values:
                self.set_option(name, values[name])

    def _host_options(self) -> HostOptions:
        host_format = self.get_option("host_format")
        try:
            validate_host_format(host_format)
        except ValueError as exc:
            raise AnsibleParserError(str(exc))
        return HostOptions(
            host_format=host_format,
            network_name=self.get_option("network_name"),
            kube_secondary_dns=self.get_option("kube_secondary_dns"),
            use_service=self.get_option("use_service"),
            unset_ansible_port=self.get_option("unset_ansible_port"),
            base_domain=self.get_option("base_domain"),
            append_base_domain=self.get_option("append_base_domain"),
            default_win_ansible_connection=self.get_option("default_win_ansible_connection"),
            include_stopped=self.get_option("include_stopped"),
            exclude_vars=tuple(self.get_option("exclude_host_vars") or ()),
        )

    def _fetch_spec(self) -> FetchSpec:
        api_version = self.get_option("api_version")
        try:
            kubevirt_refs(api_version)
        except ValueError as exc:
            raise AnsibleParserError(str(exc))
        network_name = self.get_option("network_name")
        use_service = bool(self.get_option("use_service") and not network_name)
        needs_domain = not self.get_option("base_domain") and (
            bool(self.get_option("kube_secondary_dns") and network_name)
            or bool(use_service and self.get_option("append_base_domain"))
        )
        return FetchSpec(
            label_selector=self.get_option("label_selector"),
            api_version=api_version,
            services=use_service,
            base_domain=needs_domain,
        )

    def _connections(self) -> List[_Connection]:
        """Each cluster's options: entry, then top-level option, then K8S_AUTH_* (the engine's spec)."""
        top_level = {name: self.get_option(name) for name in AUTH_OPTION_NAMES}
        entries = self.get_option("connections")
        where = "connections[%d]: "
        if entries == []:
            raise AnsibleParserError("connections is empty: list the clusters to read, or leave it out to read one")
        if not entries:
            entries = [{"name": self.get_option("name")}]
            where = ""
        elif self.get_option("name"):
            raise AnsibleParserError("name applies to a single cluster: set name in each connections entry instead")
        spec = auth_arg_spec()
        spec.update(_CONNECTION_SPEC_EXTRA)
        validator = ArgumentSpecValidator(spec)
        connections = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise AnsibleParserError("connections[%d] must be a dictionary of connection options" % index)
            if where:
                entry = self._checked_entry(index, entry, spec)
            params = {key: value for key, value in top_level.items() if value is not None}
            params.update({key: value for key, value in entry.items() if value is not None})
            try:
                check_env_booleans(params, spec, os.environ)
            except OptionError as exc:
                raise AnsibleParserError(str(exc)) from None
            result = validator.validate(params)
            if result.error_messages:
                raise AnsibleParserError((where % index if where else "") + result.error_messages[0])
            values = result.validated_parameters
            namespaces = values.get("namespaces")
            if namespaces is None:
                namespaces = self.get_option("namespaces")
            auth = {name: values.get(name) for name in AUTH_OPTION_NAMES}
            connections.append(_Connection(index, auth, values.get("name"), namespaces or None))
        duplicate = _first_duplicate(conn.name for conn in connections if conn.name)
        if duplicate:
            raise AnsibleParserError("connections: cluster name %s is used twice" % duplicate)
        return connections

    def _checked_entry(self, index: int, entry: Dict[str, Any], spec: Dict[str, Any]) -> Dict[str, Any]:
        """One connections entry by option name, templated and strictly checked."""
        definitions = self._definitions()
        names = option_names({name: spec[name] for name in spec})
        top_only = [name for name in definitions if name not in spec and name not in ENTRY_EXTRA_OPTIONS]
        try:
            values = canonical(entry, names, "connections[%d]: " % index, top_only)
            values = render_values(values, self._render, "connections[%d]." % index)
            check_values(values, definitions, "connections[%d]." % index)
        except OptionError as exc:
            raise AnsibleParserError(str(exc)) from None
        return values

    def _fetch_key(self, connections: List[_Connection], spec: FetchSpec) -> str:
        identity = {
            "connections": [conn.cache_identity() for conn in connections],
            "label_selector": spec.label_selector,
            "api_version": spec.api_version,
            "services": spec.services,
            "base_domain": spec.base_domain,
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()

    # -- reading ------------------------------------------------------------------------------
    def _from_cache(self, cache_key: str, fetch_key: str) -> Optional[List[ClusterData]]:
        try:
            cached = self._cache[cache_key]
        except KeyError:
            return None
        return clusters_from_cache(cached, fetch_key)

    def _fetch(self, connections: List[_Connection], spec: FetchSpec) -> List[ClusterData]:
        if not HAS_KUBERNETES:
            raise AnsibleParserError("virt.kubevirt.kubevirt needs the kubernetes Python client: pip install kubernetes")
        # Every client first (nothing is sent): a bad option of any cluster fails before a request.
        clients = [self._client(conn) for conn in connections]
        workers = min(len(connections), _MAX_PARALLEL_CLUSTERS)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._fetch_one, conn, client, spec) for conn, client in zip(connections, clients)]
            results = [future.result() for future in futures]
        duplicate = _first_duplicate(cluster.name for cluster in results)
        if duplicate:
            raise AnsibleParserError(
                "connections: two clusters are both named %s; set name in each connections entry" % duplicate
            )
        for cluster in results:
            for warning in cluster.warnings:
                self.display.warning("cluster %s: %s" % (cluster.name, warning))
            self.display.vvv("cluster %s: %d API requests" % (cluster.name, cluster.requests))
        return results

    def _client(self, connection: _Connection) -> Any:
        try:
            return create_api_client(connection.auth)
        except KubeApiError as err:
            raise AnsibleParserError("virt.kubevirt.kubevirt: cluster %s: %s" % (connection.label, err)) from None

    def _fetch_one(self, connection: _Connection, api_client: Any, spec: FetchSpec) -> ClusterData:
        label = connection.label
        try:
            server = str(api_client.configuration.host)
            name = connection.name or default_cluster_name(server)
            label = "%s (%s)" % (name, server)
            namespaces = tuple(connection.namespaces) if connection.namespaces else None
            return fetch_cluster(resource_client(api_client), replace(spec, namespaces=namespaces), name, server)
        except KubeApiError as err:
            raise AnsibleParserError("virt.kubevirt.kubevirt: cluster %s: %s" % (label, err)) from None

    # -- populating ---------------------------------------------------------------------------
    def _populate(self, clusters: List[ClusterData], options: HostOptions) -> None:
        group_by = self.get_option("group_by")
        create_groups = self.get_option("create_groups")
        single_cluster = len(clusters) == 1
        construct = self._constructor()
        group_names: Dict[str, str] = {}
        seen: Dict[str, str] = {}
        edges: Set[Tuple[str, str]] = set()

        def group(raw: str) -> str:
            name = group_names.get(raw)
            if name is None:
                name = group_names[raw] = self.inventory.add_group(self._sanitize_group_name(raw))
            return name

        for cluster in clusters:
            services = index_services(cluster.services) if cluster.services else {}
            cluster_options = options
            if not options.base_domain and cluster.base_domain:
                cluster_options = replace(options, base_domain=cluster.base_domain)
            for vm, vmi in pair_objects(cluster.vms, cluster.vmis):
                record = build_host(vm, vmi, cluster.name, cluster_options, services, _unsafe)
                if record is None:
                    continue
                if record.name in seen:
                    self.display.warning(
                        "host %s of cluster %s is also in cluster %s; skipped (put {cluster} in host_format)"
                        % (record.name, cluster.name, seen[record.name])
                    )
                    continue
                seen[record.name] = cluster.name
                self._add_host(record)
                hostname = record.name
                for raw in host_groups(record, group_by, create_groups):
                    self.inventory.add_child(group(raw), hostname)
                parent, child = cluster_parent(record, group_by, single_cluster)
                if parent and child:
                    # The cluster -> namespace edge is the same for every host of the namespace;
                    # ansible-core walks both groups' ancestors on each add_child.
                    if (parent, child) not in edges:
                        edges.add((parent, child))
                        self.inventory.add_child(group(parent), group(child))
                elif parent:
                    self.inventory.add_child(group(parent), hostname)
                if construct is not None:
                    construct(hostname, record.hidden)

    def _add_host(self, record: Any) -> None:
        known = record.name in self.inventory.hosts
        self.inventory.add_host(record.name)
        host = self.inventory.get_host(record.name)
        if known:
            # Another source defined this host: merge with Ansible's rules, variable by variable.
            for key, value in record.variables.items():
                host.set_variable(key, value)
        else:
            # A new host: build_host only makes valid identifier names, so skip set_variable's
            # per-call trust stripping and name validation (a third of the populate time).
            host.vars.update(record.variables)

    def _constructor(self) -> Optional[Any]:
        """compose / groups / keyed_groups for one host, or None when none are configured."""
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        if not (compose or groups or keyed_groups):
            return None
        strict = self.get_option("strict")

        def construct(hostname: str, hidden: Dict[str, Any]) -> None:
            variables = self.inventory.get_host(hostname).get_vars()
            if hidden:
                # exclude_host_vars only keeps values off the host: expressions still see them.
                variables = dict(hidden, **variables)
            # Composed variables are visible to groups and keyed_groups, as in ansible's constructed.
            for varname, expression in (compose or {}).items():
                try:
                    value = self._compose(expression, variables)
                except Exception as exc:  # pylint: disable=broad-except
                    if strict:
                        raise AnsibleParserError("Could not set %s for host %s: %s" % (varname, hostname, exc))
                    continue
                self.inventory.set_variable(hostname, varname, value)
                variables[varname] = value
            self._add_host_to_composed_groups(groups, variables, hostname, strict=strict, fetch_hostvars=False)
            self._add_host_to_keyed_groups(keyed_groups, variables, hostname, strict=strict, fetch_hostvars=False)

        return construct
