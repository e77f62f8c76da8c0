#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: datavolume_upload
short_description: Upload a local disk image into a CDI upload DataVolume
version_added: 0.1.0
description:
  - Uploads a local image file (qcow2, raw or iso, optionally gz or xz compressed; CDI's upload
    server converts it) into a C(DataVolume) with an upload source (C(spec.source.upload)), as
    C(virtctl image-upload) does.
  - Creates the DataVolume when it is missing (O(create)), waits for phase C(UploadReady), asks
    cdi-apiserver for an upload token (an C(UploadTokenRequest) of C(upload.cdi.kubevirt.io/v1beta1)),
    and streams the file in a POST to C(<upload proxy>/v1beta1/upload) with that token. Memory stays
    constant whatever the file size; the file's sha256 is computed while it is sent.
  - The request to the upload proxy uses the same TLS settings (CA, O(validate_certs), client
    certificate) and HTTP proxy as the requests to the API server.
  - After a successful upload the module stores the sha256 in the DataVolume's annotation
    C(virt.kubevirt.io/upload-sha256). CDI takes a single upload per DataVolume, so a re-run on a
    C(Succeeded) DataVolume with the same file is unchanged (no write), and with another file (or
    on a DataVolume populated by other means) fails and says to delete it or to use another name.
  - The token is never returned nor logged.
author:
  - virt.kubevirt maintainers (@virt-kubevirt)
extends_documentation_fragment:
  - virt.kubevirt.auth
  - virt.kubevirt.wait
  - virt.kubevirt.attributes
  - virt.kubevirt.attributes.action_group
attributes:
  check_mode:
    support: full
    details: A missing DataVolume is created as a server dry run; no token is requested and nothing is uploaded.
  diff_mode:
    support: full
options:
  name:
    description: Name of the upload DataVolume (and of its claim).
    type: str
    required: true
  namespace:
    description: Namespace of the DataVolume.
    type: str
    required: true
  src:
    description:
      - Path of the image file on the host that runs the module (the controller for a task with a local connection).
      - A missing, unreadable or empty file fails before any request.
    type: path
    required: true
  create:
    description:
      - Create the upload DataVolume when it does not exist (O(storage.size) is then required).
      - With V(false), a missing DataVolume is an error.
    type: bool
    default: true
  storage:
    description:
      - The claim of a DataVolume to create, as in M(virt.kubevirt.datavolume) (C(spec.storage)); omitted fields
        are chosen by CDI from the StorageProfile.
      - On an existing DataVolume the given fields must match it (its spec cannot change).
    type: dict
    suboptions:
      size:
        description: Size of the volume, at least V(1Mi); it must hold the unpacked image (the virtual size of a qcow2).
        type: str
      class:
        description: StorageClass name; it must exist.
        type: str
      access_modes:
        description: Access modes, each one of V(ReadWriteOnce), V(ReadOnlyMany), V(ReadWriteMany), V(ReadWriteOncePod).
        type: list
        elements: str
      volume_mode:
        description: V(Filesystem) or V(Block).
        type: str
  upload_proxy_url:
    description:
      - Address of cdi-uploadproxy, a URL such as V(https://cdi-uploadproxy-openshift-cnv.apps.example.com) or a
        host name (C(https://) is added).
      - Defaults to C(status.uploadProxyURL) of the CDIConfig C(config).
    type: str
  wait:
    description:
      - After the upload, wait until the DataVolume is C(Succeeded).
      - The wait for C(UploadReady) before the upload always happens; O(wait_timeout) bounds both waits.
    type: bool
    default: true
notes:
  - A StorageClass with C(volumeBindingMode=WaitForFirstConsumer) keeps a new DataVolume in phase
    C(WaitForFirstConsumer); create it with the annotation C(cdi.kubevirt.io/storage.bind.immediate.requested=true)
    (see M(virt.kubevirt.datavolume)) before uploading.
seealso:
  - module: virt.kubevirt.datavolume
  - module: virt.kubevirt.datavolume_info
"""

EXAMPLES = r"""
- name: Upload a qcow2 image into a new 10Gi DataVolume
  virt.kubevirt.datavolume_upload:
    name: fedora-uploaded
    namespace: images
    src: /var/lib/images/Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2
    storage:
      size: 10Gi
    wait_timeout: 1800

- name: Upload a compressed raw image into an existing upload DataVolume through a given proxy address
  virt.kubevirt.datavolume_upload:
    name: appliance
    namespace: images
    src: /tmp/appliance.raw.xz
    create: false
    upload_proxy_url: https://cdi-uploadproxy-openshift-cnv.apps.example.com
"""

RETURN = r"""
progress:
  description:
    - The states of the DataVolume observed while the task waited, oldest first (for example
      C(UploadScheduled), C(UploadReady), C(Succeeded)); the first and the newest 99 are kept.
      When the task runs in the controller's worker they are also shown in the play output.
  returned: when the task waited
  type: list
  elements: dict
  contains:
    time:
      description: When the state was observed (UTC, ISO 8601).
      type: str
    elapsed:
      description: Seconds since the task started.
      type: float
    subject:
      description: The object, as C(Kind namespace/name).
      type: str
    state:
      description: What was observed, C(status.phase) and C(status.progress).
      type: str
  sample:
    - {time: "2026-12-03T10:02:11Z", elapsed: 0.4, subject: DataVolume images/fedora-41, state: UploadReady}
    - {time: "2026-12-03T10:02:40Z", elapsed: 29.1, subject: DataVolume images/fedora-41, state: Succeeded}
result:
  description: The DataVolume after the upload (in check mode, as it would be created or as it is).
  returned: always
  type: dict
  sample:
    apiVersion: cdi.kubevirt.io/v1beta1
    kind: DataVolume
    metadata:
      name: fedora-uploaded
      namespace: images
      annotations:
        virt.kubevirt.io/upload-sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    status:
      phase: Succeeded
sha256:
  description: sha256 of the file (of the bytes sent, when uploaded).
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
size:
  description: Size of the file in bytes.
  returned: success
  type: int
  sample: 4194304
sent:
  description: Bytes sent to the upload proxy (0 when nothing was uploaded).
  returned: success
  type: int
  sample: 4194304
duration:
  description: Seconds the upload took (0 when nothing was uploaded).
  returned: success
  type: float
  sample: 1.25
upload_proxy_url:
  description: The upload proxy address used.
  returned: when an upload was (or in check mode, would be) sent
  type: str
  sample: https://cdi-uploadproxy-openshift-cnv.apps.example.com
method:
  description: V(upload) when the file was (or would be) uploaded, V(none) when the DataVolume already holds it.
  returned: always
  type: str
  sample: upload
created:
  description: Whether the DataVolume was (or would be) created.
  returned: always
  type: bool
  sample: true
"""

from typing import Any, Dict

from ansible_collections.virt.kubevirt.plugins.module_utils._module import KubevirtModule
from ansible_collections.virt.kubevirt.plugins.module_utils._upload_flow import UPLOAD_ARGUMENT_SPEC, upload


def run(module: KubevirtModule) -> Dict[str, Any]:
    return upload(module)


def main() -> None:
    KubevirtModule(UPLOAD_ARGUMENT_SPEC).execute(run)


if __name__ == "__main__":
    main()
