"""Checks on a NIfTI file's voxel payload that ITK does not make.

ITK's NIfTI reader accepts a file whose voxel data stop short (it reads what is there) and
replaces NaN voxels with 0 on reading; both would give a silently wrong volume. This module
streams the (decompressed) file once: it parses the NIfTI-1 or NIfTI-2 header (NIfTI-1: Cox et
al., "A (sort of) new image data format standard: NIfTI-1", 2004; NIfTI-2: nifti.nimh.nih.gov,
2011), checks that the payload is complete, and counts non-finite voxels of float data.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kambin.errors import UnreadableFileError

_FLOAT_DTYPES = {16: "f4", 64: "f8"}  # NIfTI datatype codes DT_FLOAT32, DT_FLOAT64
_CHUNK = 1 << 22


@dataclass(frozen=True)
class NiftiPayload:
    expected_bytes: int
    nonfinite_voxels: int


def check_nifti_payload(path: Path) -> NiftiPayload:
    """Stream the file once; raise UnreadableFileError if truncated, else count NaN/inf voxels."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    nonfinite = 0
    try:
        with opener(path, "rb") as handle:
            header = handle.read(540)
            dims, datatype, bitpix, vox_offset = _parse_header(header, path)
            expected = vox_offset + int(np.prod(dims, dtype=np.int64)) * bitpix // 8
            dtype = _FLOAT_DTYPES.get(datatype)
            item = np.dtype(("<" if _little_endian(header) else ">") + dtype) if dtype else None
            total = len(header)
            pending = header[vox_offset:]
            if vox_offset > total:
                total += len(handle.read(vox_offset - total))
            while True:
                chunk = handle.read(_CHUNK)
                total += len(chunk)
                pending += chunk
                if item is not None:
                    usable = len(pending) - len(pending) % item.itemsize
                    values = np.frombuffer(pending[:usable], item)
                    nonfinite += int(np.count_nonzero(~np.isfinite(values)))
                    pending = pending[usable:]
                else:
                    pending = b""
                if not chunk:
                    break
    except UnreadableFileError:
        raise
    except (OSError, EOFError, zlib.error):
        raise UnreadableFileError(
            f"{path}: not a complete gzip file (truncated or not compressed); re-export or re-copy it"
        ) from None
    if total < expected:
        raise UnreadableFileError(
            f"{path}: the voxel data are truncated ({total} of {expected} bytes); re-export or re-copy the file"
        )
    return NiftiPayload(expected, nonfinite)


def _little_endian(header: bytes) -> bool:
    return struct.unpack("<i", header[:4])[0] in (348, 540)


def _parse_header(header: bytes, path: Path) -> tuple[list[int], int, int, int]:
    if len(header) < 348:
        raise UnreadableFileError(f"{path}: too short for a NIfTI header; the file is damaged or not NIfTI")
    for endian in "<>":
        size = struct.unpack(endian + "i", header[:4])[0]
        if size == 348:
            ndim = struct.unpack(endian + "h", header[40:42])[0]
            dims = list(struct.unpack(endian + "8h", header[40:56]))[1 : 1 + max(ndim, 0)]
            datatype, bitpix = struct.unpack(endian + "hh", header[70:74])
            vox_offset = int(struct.unpack(endian + "f", header[108:112])[0])
            return dims, datatype, bitpix, max(vox_offset, 352)
        if size == 540 and len(header) >= 540:
            datatype, bitpix = struct.unpack(endian + "hh", header[12:16])
            dim = struct.unpack(endian + "8q", header[16:80])
            vox_offset = struct.unpack(endian + "q", header[168:176])[0]
            return list(dim[1 : 1 + max(dim[0], 0)]), datatype, bitpix, max(int(vox_offset), 544)
    raise UnreadableFileError(f"{path}: not a NIfTI file (bad header size field)")
