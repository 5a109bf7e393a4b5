"""A reader for TensorFlow (V2 format) checkpoints, without TensorFlow.

A checkpoint ``PREFIX`` is ``PREFIX.index`` and ``PREFIX.data-00000-of-0000N``. The index is a
LevelDB-format sorted table: data blocks of prefix-compressed key/value entries, an index block
pointing at them and a 48-byte footer. Each key is a variable name; its value is a
``BundleEntryProto`` (dtype, shape, shard, offset, size) locating the raw little-endian tensor in a
data shard. The empty key holds the ``BundleHeaderProto``.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..errors import ModelError

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
# tensorflow/core/framework/types.proto -> numpy
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8, 9: np.int64,
           10: np.bool_, 19: np.float16}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: varints as int, length-delimited as bytes."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((field, value))
    return out


def _block(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    """The entries of one table block (its 5-byte trailer holds the compression type and a CRC)."""
    if data[offset + size] != 0:
        raise ValueError("compressed table blocks are not supported")
    block = data[offset:offset + size]
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    entries, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        n_value, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + n_value]))
        pos += n_value
    return entries


def read_index(index_path: str | Path) -> dict[str, dict]:
    """Variable name -> ``{"dtype", "shape", "shard", "offset", "size"}`` from a checkpoint's ``.index``."""
    data = Path(index_path).read_bytes()
    if len(data) < _FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != _TABLE_MAGIC:
        raise ValueError("not a LevelDB-format table (bad footer)")
    pos = len(data) - _FOOTER
    _, pos = _varint(data, pos)          # metaindex handle: unused
    _, pos = _varint(data, pos)
    idx_off, pos = _varint(data, pos)
    idx_size, pos = _varint(data, pos)
    entries = {}
    for _, handle in _block(data, idx_off, idx_size):
        off, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        for key, value in _block(data, off, size):
            if key:
                entries[key.decode()] = _bundle_entry(value)
    return entries


def _bundle_entry(value: bytes) -> dict:
    entry = {"dtype": 1, "shape": [], "shard": 0, "offset": 0, "size": 0}
    for field, v in _proto_fields(value):
        if field == 1:
            entry["dtype"] = v
        elif field == 2:                 # TensorShapeProto: repeated dim { size = 1 }
            entry["shape"] = [dict(_proto_fields(d)).get(1, 0) for f, d in _proto_fields(v) if f == 2]
        elif field == 3:
            entry["shard"] = v
        elif field == 4:
            entry["offset"] = v
        elif field == 5:
            entry["size"] = v
        elif field == 7:
            raise ValueError("sliced (partitioned) variables are not supported")
    return entry


def read_checkpoint(prefix: str | Path, *, skip_optimizer: bool = True) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint ``prefix`` (``prefix.index`` beside its data shards).

    ``skip_optimizer`` leaves out Adam's slot variables (names ending in ``/Adam`` or ``/Adam_1``)
    and its ``beta*_power`` accumulators. Tensors keep TensorFlow's layouts (conv kernels
    ``(kh, kw, in, out)``, dense kernels ``(in, out)``).
    """
    prefix = str(prefix)
    try:
        entries = read_index(prefix + ".index")
    except (OSError, ValueError, IndexError, struct.error) as exc:
        raise ModelError(f"{prefix}.index: not a readable TensorFlow checkpoint index ({exc})") from None
    shards: dict[int, np.memmap] = {}
    n_shards = 1 + max((e["shard"] for e in entries.values()), default=0)
    out = {}
    for name, e in sorted(entries.items()):
        if skip_optimizer and (name.endswith(("/Adam", "/Adam_1")) or name.startswith("beta")):
            continue
        if e["dtype"] not in _DTYPES:
            continue                     # strings and other non-numeric entries
        if e["shard"] not in shards:
            path = f"{prefix}.data-{e['shard']:05d}-of-{n_shards:05d}"
            try:
                shards[e["shard"]] = np.memmap(path, dtype=np.uint8, mode="r")
            except OSError as exc:
                raise ModelError(f"{path}: cannot read the checkpoint's data ({exc.strerror})") from None
        dtype = np.dtype(_DTYPES[e["dtype"]]).newbyteorder("<")
        raw = shards[e["shard"]][e["offset"]:e["offset"] + e["size"]]
        if raw.size != e["size"] or e["size"] != dtype.itemsize * int(np.prod(e["shape"], dtype=np.int64)):
            raise ModelError(f"{prefix}: tensor {name} does not fit its recorded size")
        out[name] = np.frombuffer(raw.tobytes(), dtype=dtype).reshape(e["shape"]).astype(dtype.newbyteorder("="))
    return out
