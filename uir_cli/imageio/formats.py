"""Byte-level helpers behind :mod:`.codec`.

EXIF orientation on arrays, EXIF and ICC clean-up, a PNG chunk walk that reads
headers only, OpenCV decoding of 16-bit colour, and the two 16-bit colour
encoders Pillow lacks (PNG through OpenCV plus our own iCCP/eXIf chunks; TIFF
written here, deflate with the horizontal predictor).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from os import PathLike
from typing import IO

import numpy as np
from PIL import Image as _pil
from PIL import TiffImagePlugin, TiffTags


class Error(Exception):
    """An encoding problem; :mod:`.codec` turns it into an ImageError naming the file."""


ORIENTATION_TAG = 0x0112
_EXIF_HEADER = b"Exif\x00\x00"
_PNG_IHDR_END = 33  # 8-byte signature + IHDR (4 length + 4 type + 13 data + 4 CRC)
# TIFF tags that describe how the source file stored its pixels (size, strips, samples,
# compression, colour map...) or repeat what is carried apart (ICC) or may contradict the
# upright pixels (XMP, Photoshop resources): wrong in any other file, so never carried.
_LAYOUT_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 290, 291, 292, 293,
    317, 320, 322, 323, 324, 325, 330, 338, 339, 340, 341, 347, 513, 514, 529, 530, 532,
    700, 34377, 34675, 37724,
})
_TIFF_ROWS_BYTES = 256 * 1024  # uncompressed bytes per strip


def orientation_of(exif: _pil.Exif | None) -> int:
    """The EXIF orientation 1-8 (1: upright); 1 when absent or invalid."""
    value = exif.get(ORIENTATION_TAG, 1) if exif is not None else 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# EXIF orientation -> (swap height and width, flip top-bottom, flip left-right), applied in that order.
_TURNS = {1: (False, False, False), 2: (False, False, True), 3: (False, True, True), 4: (False, True, False),
          5: (True, False, False), 6: (True, False, True), 7: (True, True, True), 8: (True, True, False)}


def upright(a: np.ndarray, orientation: int) -> np.ndarray:
    """A view of (H, W, ...) ``a`` as displayed for EXIF ``orientation`` (1-8); any dtype.

    5-8 swap height and width.  Same result as Pillow's ``ImageOps.exif_transpose``.
    """
    swap, flip_rows, flip_columns = _TURNS.get(orientation, _TURNS[1])
    if swap:
        a = a.swapaxes(0, 1)
    return a[::-1 if flip_rows else 1, ::-1 if flip_columns else 1]


def exif_for_output(exif: _pil.Exif) -> bytes | None:
    """EXIF bytes ("Exif\\0\\0" + TIFF) to write beside upright pixels, or None if nothing is left.

    Drops the source's layout tags and says orientation 1 (also where Pillow already removed the
    tag).  Mutates ``exif``.  For a TIFF source, call it while the file is open (nested IFDs are
    read from it).
    """
    for tag in _LAYOUT_TAGS.intersection(exif):
        del exif[tag]
    if not len(exif):
        return None
    exif[ORIENTATION_TAG] = 1
    return exif.tobytes()


_MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
          (b"II+\x00", "TIFF"), (b"MM\x00+", "TIFF"), (b"BM", "BMP"))


def sniff(path: str | PathLike) -> str | None:
    """The format a file's first bytes announce ("PNG", "JPEG", "WEBP", "TIFF", "BMP"), or None."""
    from ..regular import open_regular

    try:
        with open_regular(path) as f:
            head = f.read(12)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def icc_colour_space(icc: bytes) -> str | None:
    """The data colour space an ICC profile is for ("RGB", "GRAY", "CMYK"...), None if malformed."""
    if len(icc) < 128:
        return None
    return icc[16:20].decode("latin-1").strip() or None


def alpha_at_depth(alpha: np.ndarray, depth: int) -> np.ndarray:
    """(H, W) alpha as uint8 (depth 8) or uint16 (16); unchanged when already that dtype.

    8 -> 16 is exact (x 257); 16 -> 8 rounds as floor(a * 255 / 65535 + 0.5); float is taken in [0, 1].
    """
    want = np.uint8 if depth == 8 else np.uint16
    if alpha.dtype == want:
        return alpha
    if alpha.dtype == np.uint8:
        return alpha.astype(np.uint16) * np.uint16(257)
    if alpha.dtype == np.uint16:
        return ((alpha.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(alpha.dtype, np.floating):
        top = 255 if depth == 8 else 65535
        return np.floor(np.clip(alpha, 0, 1, dtype=np.float32) * top + 0.5).astype(want)
    raise TypeError(f"alpha must be uint8, uint16 or float, got {alpha.dtype}")


# --- PNG ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PngScan:
    exif: bytes | None  # the eXIf chunk's payload
    complete: bool  # every chunk is whole, up to IEND


def png_bit_depth(f: IO[bytes]) -> int:
    """Bits per sample from the IHDR of the PNG open in ``f``; the file position is kept."""
    pos = f.tell()
    try:
        f.seek(24)
        depth = f.read(1)
    finally:
        f.seek(pos)
    return depth[0] if depth else 0


def png_scan(f: IO[bytes]) -> PngScan:
    """Walk the chunk headers of the PNG open in ``f`` (seeking past data); the position is kept."""
    pos = f.tell()
    try:
        f.seek(0, 2)
        size = f.tell()
        at, exif = 8, None
        while at + 12 <= size:
            f.seek(at)
            length, kind = struct.unpack(">I4s", f.read(8))
            end = at + 12 + length
            if end > size:
                break
            if kind == b"eXIf":
                exif = f.read(length)
            elif kind == b"IEND":
                return PngScan(exif, True)
            at = end
        return PngScan(exif, False)
    finally:
        f.seek(pos)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png16(color: np.ndarray, alpha: np.ndarray | None, *, icc_profile: bytes | None = None,
                 exif: bytes | None = None) -> bytes:
    """16-bit RGB(A) PNG bytes from (H, W, 3) uint16 RGB and (H, W) uint16 alpha or None."""
    import cv2

    bgr = color[..., ::-1] if alpha is None else np.concatenate([color[..., ::-1], alpha[..., None]], axis=2)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr), [cv2.IMWRITE_PNG_COMPRESSION, 3])
    if not ok:
        raise Error("OpenCV could not encode the 16-bit PNG")
    data = encoded.tobytes()
    extra = b""
    if icc_profile:
        extra += _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc_profile))
    if exif:
        extra += _png_chunk(b"eXIf", exif.removeprefix(_EXIF_HEADER))
    return data[:_PNG_IHDR_END] + extra + data[_PNG_IHDR_END:]


# --- TIFF --------------------------------------------------------------------------------------


def encode_tiff16(color: np.ndarray, alpha: np.ndarray | None, *, icc_profile: bytes | None = None,
                  exif: bytes | None = None) -> bytes:
    """16-bit RGB(A) TIFF bytes (little-endian, deflate, horizontal predictor, ICC and EXIF tags).

    ``color``: (H, W, 3) uint16 RGB; ``alpha``: (H, W) uint16 (unassociated) or None.
    """
    pixels = color if alpha is None else np.concatenate([color, alpha[..., None]], axis=2)
    height, width, samples = pixels.shape
    diff = pixels.astype("<u2")  # TIFF predictor 2: each sample minus its left neighbour, mod 2**16
    diff[:, 1:] -= pixels[:, :-1]
    rows = max(1, _TIFF_ROWS_BYTES // (width * samples * 2))
    strips = [zlib.compress(diff[y:y + rows].tobytes(), 6) for y in range(0, height, rows)]
    offsets, at = [], 0
    for strip in strips:
        offsets.append(at)
        at += len(strip)
    ifd = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif:
        _merge_exif(ifd, exif)
    tags = {256: width, 257: height, 258: (16,) * samples, 259: 8, 262: 2, 273: tuple(offsets),
            277: samples, 278: rows, 279: tuple(len(s) for s in strips), 284: 1, 317: 2, 339: (1,) * samples}
    if alpha is not None:
        tags[338] = (2,)  # ExtraSamples: unassociated alpha
    if icc_profile:
        tags[34675] = icc_profile
    for tag, value in tags.items():
        ifd[tag] = value
    # Layout: header, IFD at 8 with its values, then the strips; Pillow's tobytes() adds the
    # end of the IFD to StripOffsets, so they are given relative to the first strip.
    return b"II*\x00" + struct.pack("<I", 8) + ifd.tobytes(8) + b"".join(strips)


def _merge_exif(ifd: TiffImagePlugin.ImageFileDirectory_v2, raw: bytes) -> None:
    """Copy the tags of EXIF ``raw`` into a TIFF's first IFD, EXIF and GPS sub-IFDs as nested dicts."""
    exif = _pil.Exif()
    exif.load(raw)
    for tag in exif:
        ifd[tag] = exif.get_ifd(tag) if tag in TiffTags.TAGS_V2_GROUPS else exif[tag]


def tiff_orientation_cleared(data: bytes) -> bytes:
    """TIFF file bytes with the first IFD's Orientation set to 1, for decoders that would turn
    (or, OpenCV with 5-8, fail on) the pixels themselves.  Other bytes come back as they are."""
    little = data[:2] == b"II"
    if not (little or data[:2] == b"MM"):
        return data
    end = "<" if little else ">"
    (version,) = struct.unpack_from(end + "H", data, 2)
    if version == 42:
        (ifd,) = struct.unpack_from(end + "I", data, 4)
        (count,) = struct.unpack_from(end + "H", data, ifd)
        first, size, value_at = ifd + 2, 12, 8
    elif version == 43:  # BigTIFF
        (ifd,) = struct.unpack_from(end + "Q", data, 8)
        (count,) = struct.unpack_from(end + "Q", data, ifd)
        first, size, value_at = ifd + 8, 20, 12
    else:
        return data
    for entry in range(first, first + count * size, size):
        if struct.unpack_from(end + "H", data, entry)[0] == ORIENTATION_TAG:
            patched = bytearray(data)
            struct.pack_into(end + "H", patched, entry + value_at, 1)
            return bytes(patched)
    return data


# --- OpenCV ------------------------------------------------------------------------------------


def cv2_decode(data: bytes) -> np.ndarray | None:
    """OpenCV's decode of file bytes as stored (IMREAD_UNCHANGED: BGR(A) order, no orientation).

    (H, W) or (H, W, C) uint8/uint16, or None when OpenCV cannot decode it; OpenCV's own error
    log is silenced meanwhile (the caller reports the failure).
    """
    import cv2

    logging = cv2.utils.logging
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    finally:
        logging.setLogLevel(level)
