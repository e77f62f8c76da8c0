# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.virt.kubevirt.plugins.module_utils._dv_spec import build_dv, check_unchanged
from ansible_collections.virt.kubevirt.plugins.module_utils._errors import KubeApiError


def _params(**extra):
    params = {"name": "d", "namespace": "ns", "labels": None, "annotations": None, "http": None, "s3": None, "gcs": None,
              "registry": None, "blank": False, "upload": False, "clone_pvc": None, "snapshot": None, "source_ref": None,
              "storage": {"size": "1Gi", "class": None, "access_modes": None, "volume_mode": None},
              "preallocation": None, "content_type": None}
    params.update(extra)
    return params


def test_build_leaves_storage_defaults_to_cdi():
    body = build_dv(_params(http={"url": "https://x/a", "secret_ref": "auth", "cert_config_map": None,
                                  "extra_headers": [], "secret_extra_headers": None, "insecure_skip_verify": None}))
    assert body["spec"] == {"source": {"http": {"url": "https://x/a", "secretRef": "auth"}},
                            "storage": {"resources": {"requests": {"storage": "1Gi"}}}}


def test_clone_source_gets_the_namespace_cdi_requires():
    body = build_dv(_params(clone_pvc={"name": "golden", "namespace": None}, storage=None))
    assert body["spec"] == {"source": {"pvc": {"name": "golden", "namespace": "ns"}}, "storage": {}}


def test_unchanged_by_value_and_growth():
    live = build_dv(_params(blank=True))
    assert check_unchanged(_params(blank=True, storage={"size": "1073741824"}), live) is None
    assert check_unchanged(_params(blank=True, storage={"size": "2Gi"}), live) == "2Gi"
    assert check_unchanged(_params(blank=True, preallocation=False), live) is None


@pytest.mark.parametrize("params, message", [
    (_params(blank=True, storage={"size": "1Gi", "class": "fast"}),
     "storage.class: DataVolume ns/d has spec.storage.storageClassName = (unset), the task asks for 'fast'"),
    (_params(upload=True), "upload: DataVolume ns/d was created from blank, not from upload"),
    (_params(blank=True, storage={"size": "1Mi"}), "storage.size: DataVolume ns/d has 1Gi, the task asks for 1Mi; a volume cannot shrink"),
])
def test_changes_cdi_would_refuse(params, message):
    with pytest.raises(KubeApiError) as err:
        check_unchanged(params, build_dv(_params(blank=True)))
    assert str(err.value).startswith(message)
