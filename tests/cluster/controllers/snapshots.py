"""VolumeSnapshots (snapshot.storage.k8s.io/v1): the snapshot controller and the CSI snapshotter."""
from __future__ import annotations

from typing import Optional

from ..api.store import Store
from .disks import snapshot_key

VOLUMESNAPSHOT = ("snapshot.storage.k8s.io", "volumesnapshots")


def snapshot_volume_key(store: Store, namespace: str, name: str) -> Optional[str]:
    """The bytes key of a ready snapshot's content, None when there is none."""
    snap = store.get(VOLUMESNAPSHOT, namespace, name)
    content = ((snap or {}).get("status") or {}).get("boundVolumeSnapshotContentName")
    return snapshot_key(content) if content else None
