# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""datavolume / datavolume_info input mistakes: one line naming the option, before any request.

All cases of a module run as the tasks of one playbook (one ansible-playbook start instead of
one per case); each case is still its own test, and the playbooks must send no request.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from .test_vm_disk_helpers import run_batch

NAMESPACE = "dv-validation"
URL = "https://images.example.com/fedora.qcow2"


def _dv(**extra: Any) -> Dict[str, Any]:
    args = {"name": "disk", "namespace": NAMESPACE, "http": {"url": URL}, "storage": {"size": "1Gi"}}
    args.update(extra)
    return {key: value for key, value in args.items() if value is not None}


# (id, module, arguments, fragment of the message); the message must start with the option's path.
CASES = [
    ("no-source", "datavolume", _dv(http=None), "source: set exactly one of http, s3, gcs, registry, blank, upload, clone_pvc, "
     "snapshot, source_ref; got none"),
    ("two-sources", "datavolume", _dv(blank=True), "source: set exactly one of http, s3, gcs, registry, blank, upload, "
     "clone_pvc, snapshot, source_ref; got http, blank"),
    ("name-uppercase", "datavolume", _dv(name="Disk"), "name: must be lowercase letters"),
    ("name-path", "datavolume", _dv(name="../x", state="absent"), "name: must be an object name, not a path"),
    ("namespace-dotted", "datavolume", _dv(namespace="a.b"), "namespace: must be lowercase letters"),
    ("http-ftp", "datavolume", _dv(http={"url": "ftp://example.com/a.img"}), "http.url: must be a URL starting with http:// or "
     "https://, got 'ftp://example.com/a.img'"),
    ("http-no-host", "datavolume", _dv(http={"url": "https:///a.img"}), "http.url: must be a URL with a host name"),
    ("http-header", "datavolume", _dv(http={"url": URL, "extra_headers": ["Bearer abc"]}),
     "http.extra_headers[0]: must be an HTTP header line 'Name: value'"),
    ("http-header-secret", "datavolume", _dv(http={"url": URL, "secret_extra_headers": ["My_Secret"]}),
     "http.secret_extra_headers[0]: must be lowercase letters"),
    ("http-cert-config-map", "datavolume", _dv(http={"url": URL, "cert_config_map": "a/b"}),
     "http.cert_config_map: must be an object name, not a path"),
    ("s3-scheme", "datavolume", _dv(http=None, s3={"url": "s3://bucket/disk.img"}), "s3.url: must be a URL starting with "
     "http:// or https://"),
    ("gcs-scheme", "datavolume", _dv(http=None, gcs={"url": "gcs://bucket/disk.img"}), "gcs.url: must be a URL starting with "
     "gs:// or http:// or https://"),
    ("registry-scheme", "datavolume", _dv(http=None, registry={"url": "quay.io/containerdisks/fedora:41"}),
     "registry.url: must be docker://<image> (or oci-archive://<path>)"),
    ("registry-both", "datavolume", _dv(http=None, registry={"url": "docker://quay.io/x", "image_stream": "fedora"}),
     "registry: set exactly one of url"),
    ("registry-pull-method", "datavolume", _dv(http=None, registry={"url": "docker://quay.io/x", "pull_method": "kubelet"}),
     "value of pull_method must be one of: pod, node, got: kubelet found in registry"),
    ("clone-name", "datavolume", _dv(http=None, clone_pvc={"name": "Golden"}), "clone_pvc.name: must be lowercase letters"),
    ("clone-namespace", "datavolume", _dv(http=None, clone_pvc={"name": "golden", "namespace": "a_b"}),
     "clone_pvc.namespace: must be lowercase letters"),
    ("source-ref-kind", "datavolume", _dv(http=None, source_ref={"name": "fedora", "kind": "PVC"}),
     "value of kind must be one of: DataSource, got: PVC found in source_ref"),
    ("size-missing", "datavolume", _dv(storage={"class": "local-wffc"}), "storage.size: is required for a http DataVolume"),
    ("size-word", "datavolume", _dv(storage={"size": "big"}), "storage.size: 'big' is not a valid Kubernetes quantity"),
    ("size-zero", "datavolume", _dv(storage={"size": "0"}), "storage.size: must be more than zero"),
    ("size-tiny", "datavolume", _dv(storage={"size": "512Ki"}), "storage.size: must be at least 1Mi"),
    ("access-mode", "datavolume", _dv(storage={"size": "1Gi", "access_modes": ["RWX"]}),
     "storage.access_modes[0]: must be one of ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod, got 'RWX'"),
    ("access-modes-twice", "datavolume", _dv(storage={"size": "1Gi", "access_modes": ["ReadWriteOnce", "ReadWriteOnce"]}),
     "storage.access_modes[1]: 'ReadWriteOnce' is already used by storage.access_modes[0]"),
    ("access-modes-empty", "datavolume", _dv(storage={"size": "1Gi", "access_modes": []}), "storage.access_modes: must not be empty"),
    ("volume-mode", "datavolume", _dv(storage={"size": "1Gi", "volume_mode": "block"}),
     "storage.volume_mode: must be one of Filesystem, Block, got 'block'"),
    ("storage-class", "datavolume", _dv(storage={"size": "1Gi", "class": "Fast SSD"}), "storage.class: must be lowercase letters"),
    ("archive-block", "datavolume", _dv(content_type="archive", storage={"size": "1Gi", "volume_mode": "Block"}),
     "content_type: archive needs volume_mode Filesystem"),
    ("archive-blank", "datavolume", _dv(http=None, blank=True, content_type="archive"), "content_type: archive cannot be used "
     "with a blank source"),
    ("label-value", "datavolume", _dv(labels={"os": "fedora 41"}), "labels.os: must be empty or letters"),
    ("annotation-bool", "datavolume", _dv(annotations={"cdi.kubevirt.io/storage.bind.immediate.requested": True}),
     "annotations.cdi.kubevirt.io/storage.bind.immediate.requested: must be a string, got True (bool)"),
    ("wait-timeout", "datavolume", _dv(wait_timeout=-1), "wait_timeout must be zero or more seconds, got -1"),
    ("info-namespace-empty", "datavolume_info", {"namespace": ""}, "namespace: must not be empty"),
    ("info-namespaces", "datavolume_info", {"namespaces": ["ok", "Not_OK"]}, "namespaces[1]: must be lowercase letters"),
    ("info-selector", "datavolume_info", {"label_selectors": ["os in fedora"]}, "label_selectors[0]: "),
    ("info-name", "datavolume_info", {"name": "a/b"}, "name: must be an object name, not a path"),
]


@pytest.fixture(scope="module")
def outcomes(runner) -> Dict[str, Any]:
    """Every case as one task of one playbook per module; the results by case id, and the requests sent."""
    results: Dict[str, Any] = {}
    requests: List[Dict[str, Any]] = []
    for module in ("datavolume", "datavolume_info"):
        cases = [case for case in CASES if case[1] == module]
        found, sent = run_batch(runner, [case[2] for case in cases], module=module)
        results.update({case[0]: result for case, result in zip(cases, found)})
        requests.extend(sent)
    return {"results": results, "requests": requests}


@pytest.mark.parametrize("case_id, fragment", [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_with_one_line_naming_the_option(outcomes, case_id, fragment):
    result = outcomes["results"][case_id]
    assert result.get("failed"), result
    msg = result["msg"]
    assert fragment in msg, msg
    option = fragment.split(":")[0].split(" must")[0]
    assert option in msg and "\n" not in msg and "Traceback" not in msg and "MODULE FAILURE" not in msg, msg


def test_no_case_sent_a_request(outcomes):
    assert outcomes["requests"] == [], outcomes["requests"]


def test_cases_are_unique():
    assert len({case[0] for case in CASES}) == len(CASES)
