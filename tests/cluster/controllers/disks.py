"""Volume bytes: every provisioned PersistentVolume (and every VolumeSnapshotContent) is a sparse file.

The files live in one temporary folder per cluster (removed on stop). A volume's file is created
sparse at the PV's capacity, so a 20Gi claim costs nothing until written. Writers (importer,
upload server, clone, snapshot restore) go through ``ImageSink``, which streams in constant memory,
decompresses gzip / xz by their magic bytes as CDI's importer format readers do, refuses an image
larger than the volume with the importer's message, and records the image size (bytes written
from offset 0) so that readers can hash exactly the image. qcow2 is not converted: its bytes are
stored as given (documented in the README).
"""
from __future__ import annotations

import lzma
import os
import shutil
import tempfile
import threading
import zlib
from typing import TYPE_CHECKING, BinaryIO, Iterator, Optional

if TYPE_CHECKING:  # pragma: no cover
    from ..api.store import Store

CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
XZ_MAGIC = b"\xfd7zXZ\x00"


class ImageTooLarge(Exception):
    """The image does not fit the volume (CDI: ValidateSpaceConstraint)."""


class ImageSink:
    """Writes one image into a volume file from offset 0, decompressing gz/xz on the fly."""

    def __init__(self, disks: "Disks", key: str, decompress: bool = True) -> None:
        self.disks, self.key = disks, key
        self.capacity = disks.size(key)
        self._file: BinaryIO = open(disks.path(key), "r+b")
        self._head = b""
        self._decompressor: Optional[object] = None
        self._sniffed = not decompress
        self.written = 0  # image bytes (after decompression)
        self.received = 0  # bytes as sent

    def write(self, data: bytes) -> None:
        self.received += len(data)
        if not self._sniffed:
            self._head += data
            if len(self._head) < len(XZ_MAGIC):
                return
            data, self._head = self._head, b""
            self._sniff(data)
        self._put(data)

    def _sniff(self, data: bytes) -> None:
        self._sniffed = True
        if data.startswith(GZIP_MAGIC):
            self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif data.startswith(XZ_MAGIC):
            self._decompressor = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)

    def _put(self, data: bytes) -> None:
        if self._decompressor is not None:
            # bounded output per call keeps memory constant even for highly compressed input
            dec = self._decompressor
            while data:
                out = dec.decompress(data, CHUNK)  # type: ignore[attr-defined]
                self._raw(out)
                data = getattr(dec, "unconsumed_tail", b"")
            if isinstance(dec, lzma.LZMADecompressor):
                while not dec.needs_input and not dec.eof:
                    self._raw(dec.decompress(b"", CHUNK))
            return
        self._raw(data)

    def _raw(self, data: bytes) -> None:
        if not data:
            return
        if self.written + len(data) > self.capacity:
            raise ImageTooLarge(f"virtual image size {self.written + len(data)} is larger than the reported "
                                f"available storage {self.capacity}. A larger PVC is required")
        self._file.write(data)
        self.written += len(data)

    def close(self, ok: bool = True) -> None:
        if not self._sniffed and self._head:
            head, self._head = self._head, b""
            self._sniff(head)
            self._put(head)
        self._file.close()
        if ok:
            self.disks.set_image_size(self.key, self.written)


class Disks:
    """Sparse files keyed by ``pv/<name>`` or ``snapshot/<content name>``."""

    def __init__(self, root: Optional[str] = None) -> None:
        self._root = root
        self._owned = root is None
        self._lock = threading.RLock()  # ensure() holds it while path() reads root
        self._image: dict[str, int] = {}

    @property
    def root(self) -> str:
        with self._lock:
            if self._root is None:
                self._root = tempfile.mkdtemp(prefix="virt-kubevirt-sim-volumes-")
            return self._root

    def path(self, key: str) -> str:
        return os.path.join(self.root, key.replace("/", "__"))

    def exists(self, key: str) -> bool:
        return os.path.exists(self.path(key))

    def ensure(self, key: str, size: int) -> None:
        """Create the sparse file (zeroes) if missing; never shrink an existing one."""
        path = self.path(key)
        with self._lock:
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.truncate(max(size, 0))
                self._image.setdefault(key, 0)
            elif os.path.getsize(path) < size:
                os.truncate(path, size)

    def size(self, key: str) -> int:
        return os.path.getsize(self.path(key))

    def image_size(self, key: str) -> int:
        with self._lock:
            return self._image.get(key, 0)

    def set_image_size(self, key: str, size: int) -> None:
        with self._lock:
            self._image[key] = size

    def delete(self, key: str) -> None:
        with self._lock:
            self._image.pop(key, None)
            try:
                os.unlink(self.path(key))
            except FileNotFoundError:
                pass

    def sink(self, key: str, decompress: bool = True) -> ImageSink:
        return ImageSink(self, key, decompress)

    def copy(self, src: str, dst: str) -> None:
        """Copy the source's bytes over the target (holes stay holes), then its image size. The
        target grows to the source's size if smaller (a restore or clone never truncates data)."""
        self.ensure(dst, self.size(src))
        with open(self.path(src), "rb") as fin, open(self.path(dst), "r+b") as fout:
            for offset, length in _data_regions(fin):
                fin.seek(offset)
                fout.seek(offset)
                while length > 0:
                    block = fin.read(min(CHUNK, length))
                    if not block:
                        break
                    fout.write(block)
                    length -= len(block)
            # bytes beyond the source's data in the target must read as the source: zeroes
            end = self.size(src)
            target_end = os.fstat(fout.fileno()).st_size
            if target_end > end:
                fout.truncate(end)
                fout.truncate(target_end)
        self.set_image_size(dst, self.image_size(src))

    def read(self, key: str, whole: bool = False) -> Iterator[bytes]:
        """The image bytes (or the whole volume), in chunks."""
        remaining = self.size(key) if whole else self.image_size(key)
        with open(self.path(key), "rb") as f:
            while remaining > 0:
                block = f.read(min(CHUNK, remaining))
                if not block:
                    break
                remaining -= len(block)
                yield block

    def close(self) -> None:
        with self._lock:
            root, self._root = self._root, None
        if root and self._owned:
            shutil.rmtree(root, ignore_errors=True)


def _data_regions(f: BinaryIO) -> Iterator[tuple[int, int]]:
    """(offset, length) of the file's data, skipping holes where the OS can tell them."""
    fd = f.fileno()
    end = os.fstat(fd).st_size
    if not hasattr(os, "SEEK_DATA"):
        yield 0, end
        return
    offset = 0
    while offset < end:
        try:
            start = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError:  # ENXIO: no data after offset
            return
        stop = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, stop - start
        offset = stop


def pv_key(pv_name: str) -> str:
    return f"pv/{pv_name}"


def snapshot_key(content_name: str) -> str:
    return f"snapshot/{content_name}"


def claim_key(store: "Store", namespace: str, name: str) -> Optional[str]:
    """The volume key of a bound claim, None while it has no volume."""
    from .keys import PVC
    pvc = store.get(PVC, namespace, name)
    volume = ((pvc or {}).get("spec") or {}).get("volumeName")
    if not volume or ((pvc or {}).get("status") or {}).get("phase") != "Bound":
        return None
    return pv_key(volume)
