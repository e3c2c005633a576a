"""Reading and writing images.

``read_image`` returns RGB as float32 (H, W, 3) in [0, 1] whatever the file
holds (8 or 16 bits; gray, palette, CMYK or RGB; with or without alpha), upright
(EXIF orientation applied), with its alpha, ICC profile and EXIF kept aside to
be written back.  ``write_image`` writes atomically: the encoded bytes go to a
hidden temporary file in the target folder (:mod:`uir_cli.atomic`), then a rename, so a killed
run never leaves a partial file where a finished one would be.

Pillow decodes everything except 16-bit colour PNG and TIFF, which it would
truncate to 8 bits: those go through OpenCV (BGR order).  Pillow cannot write
16-bit colour either; :mod:`.formats` encodes those (and holds the other
byte-level helpers: PNG chunks, EXIF clean-up, orientation).
"""

from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

import numpy as np
from PIL import Image as _pil
from PIL import UnidentifiedImageError

from ..atomic import describe, write_atomic
from ..errors import ImageError, UsageError
from ..regular import NotRegular, open_regular
from ..vocab import IMAGE_EXTENSIONS
from . import formats

# Our ``max_pixels`` (the user's ``--max-pixels``) is the only size limit, checked
# from the header before decoding; Pillow's own decompression-bomb check is off.
_pil.MAX_IMAGE_PIXELS = None

SOFTWARE_TAG = 0x0131  # EXIF Software
UIR_SOFTWARE = "uir restore"  # how uir marks what it restored: "uir restore VERSION (DiffUIR)"


_READ_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")  # no exotic decoders (JPEG includes MPO)
_FORMAT_OF_EXT = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
                  ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
_FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF"}
_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF"})
_DEEP_FORMATS = frozenset({"PNG", "TIFF"})  # formats written with 16 bits per channel
_DEFAULT_QUALITY = {"JPEG": 95, "WEBP": 90}
_MAX_SIDE = {"JPEG": 65_535, "WEBP": 16_383}
_8BIT_MODES = frozenset({"P", "L", "LA", "RGB", "RGBA"})
_GRAY16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_TO_8BIT_MODE = {"1": "L", "La": "LA", "PA": "RGBA", "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB"}
# What corrupt data makes Pillow, libtiff, zlib or struct raise while decoding.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError, formats.Error)


@dataclass
class Image:
    """A decoded image.

    - ``rgb``: (H, W, 3) float32 in [0, 1], C-contiguous, EXIF orientation applied.
    - ``alpha``: (H, W) in the file's own integer dtype (uint8 or uint16), or None;
      passed through untouched.
    - ``bit_depth``: 8 or 16, bits per channel in the file; the depth to write the output with.
    - ``format``: the file's format, "PNG", "JPEG", "WEBP", "TIFF" or "BMP".
    - ``icc_profile``: the file's ICC profile when it describes RGB, else None.
    - ``exif``: EXIF to carry to the output ("Exif\\0\\0" + TIFF bytes), orientation
      already reset to 1, layout tags dropped; or None.
    - ``warnings``: one line each about what could not be kept (e.g. a CMYK ICC profile).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    format: str = "PNG"
    icc_profile: bytes | None = None
    exif: bytes | None = None
    path: Path | None = None
    info: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


@dataclass(frozen=True)
class WriteResult:
    """What :func:`write_image` wrote; ``str()`` and ``os.fspath()`` give the path.

    ``bit_depth`` is the depth actually written (8 where the format holds no more);
    ``warnings`` say what was lost, one line each (alpha into a JPEG, 16 bits into a WebP).
    """

    path: Path
    format: str
    bit_depth: int
    warnings: tuple[str, ...] = ()

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class _Header:
    """What the file's header says; width and height as stored (before orientation)."""

    format: str
    mode: str
    width: int
    height: int
    orientation: int
    deep: bool  # 16 bits per sample
    exif: _pil.Exif | None


@dataclass(frozen=True)
class _Pixels:
    """Decoded samples: ``color`` (H, W) gray or (H, W, 3) RGB and ``alpha`` (H, W) or None,
    uint8 or uint16 views as decoded; ``by_pillow``: Pillow decoded them (it may have turned them)."""

    color: np.ndarray
    alpha: np.ndarray | None
    depth: int
    by_pillow: bool


def is_image_path(path: str | os.PathLike) -> bool:
    """True for a name with an image extension (any case), except macOS "._" resource files."""
    path = Path(path)
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith("._")


def probe_image(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of the upright image, from the header only (no pixel decoding).

    Honours EXIF orientation: 90-degree orientations swap the stored width and height.
    Raises :class:`ImageError` naming the file when it cannot be read, is not an image, or holds
    a pixel format :func:`read_image` refuses (a truncated body is only found by decoding).
    """
    path = Path(path)
    with _recorded_warnings([]), _read_errors(path), _open(path) as f, _pil.open(f, formats=_READ_FORMATS) as im:
        head = _header(im, f)
        _check_mode(head, path)
    return _upright_size(head)


def made_by_uir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an output of ``uir restore``: its EXIF Software tag says so (read from the
    header; False for a file that cannot be read, and for BMP, which holds no EXIF)."""
    path = Path(path)
    try:
        with _recorded_warnings([]), _read_errors(path), _open(path) as f, _pil.open(f, formats=_READ_FORMATS) as im:
            exif = _source_exif(im, f, "JPEG" if im.format == "MPO" else str(im.format))
    except ImageError:
        return False
    value = exif.get(SOFTWARE_TAG) if exif is not None else None
    return isinstance(value, str) and value.startswith(UIR_SOFTWARE)


def read_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> Image:
    """Decode ``path`` (PNG, JPEG, WebP, TIFF, BMP) into an upright :class:`Image`.

    ``rgb`` is (H, W, 3) float32 in [0, 1] at the file's full precision (8 or 16 bits).
    ``max_pixels``: refuse, before decoding, an image with more pixels than this; None: no limit.
    Raises :class:`ImageError` with one line naming the file on any problem (missing, empty,
    truncated, not an image, unreadable, unsupported pixel format, too large).
    """
    path = Path(path)
    notes: list[str] = []
    with _recorded_warnings(notes), _read_errors(path), _open(path) as f, _pil.open(f, formats=_READ_FORMATS) as im:
        head = _header(im, f)
        _check_mode(head, path)
        pixels = head.width * head.height
        if max_pixels is not None and pixels > max_pixels:
            raise ImageError(f"{head.width}x{head.height} is {pixels:,} pixels, more than the limit of "
                             f"{max_pixels:,} (--max-pixels)", path=path)
        px = _decode(im, f, head, path, notes)
        turn = 1 if px.by_pillow and _pillow_turned(im, head) else head.orientation
        icc = _rgb_icc(im.info.get("icc_profile"), notes)
        exif = _carry_exif(head.exif, notes)
    alpha = None if px.alpha is None else np.ascontiguousarray(formats.upright(px.alpha, turn))
    rgb = _to_float_rgb(formats.upright(px.color, turn), px.depth)
    return Image(rgb=rgb, alpha=alpha, bit_depth=px.depth, format=head.format,
                 icc_profile=icc, exif=exif, path=path, warnings=notes)


def to_uint(rgb: np.ndarray, bit_depth: int) -> np.ndarray:
    """Float in [0, 1] (any shape) -> uint8 (bit_depth 8) or uint16 (16), as floor(v * max + 0.5).

    Values outside [0, 1] are clipped.  Computes in float32 (float64 for float64 input): no needless copies.
    """
    top = 255 if bit_depth == 8 else 65535
    v = np.clip(rgb, 0.0, 1.0, dtype=np.result_type(rgb.dtype, np.float32))
    v *= top
    v += 0.5
    np.floor(v, out=v)
    return v.astype(np.uint8 if bit_depth == 8 else np.uint16)


def write_image(path: str | os.PathLike, rgb: np.ndarray, *, alpha: np.ndarray | None = None, bit_depth: int = 8,
                quality: int | None = None, icc_profile: bytes | None = None, exif: bytes | None = None,
                format: str | None = None, within: str | os.PathLike | None = None,
                software: str | None = None) -> WriteResult:
    """Write ``rgb`` to ``path`` atomically; the format follows the extension unless ``format`` is given.

    - ``rgb``: (H, W, 3) float in [0, 1] (clipped); rounded as floor(v * max + 0.5).
    - ``alpha``: (H, W) uint8 or uint16 (or float in [0, 1]), written untouched in PNG, WebP and TIFF
      at the output's depth; JPEG and BMP drop it, with a warning in the result.
    - ``bit_depth``: 16 is kept in PNG and TIFF; other formats get 8 (with a warning).
    - ``quality``: 1-100 for JPEG (default 95) and WebP (default 90).
    - ``icc_profile``, ``exif``: carried where the format can hold them (not BMP); the EXIF
      orientation is set to 1, since the pixels are upright.
    - ``within``: a folder the file must stay in; no link inside it is followed
      (:func:`uir_cli.atomic.write_atomic`).
    - ``software``: written as the EXIF Software tag (not in BMP, which holds no EXIF);
      ``uir restore`` marks its outputs so (:func:`made_by_uir`).
    Raises :class:`ImageError` with one line naming the file when it cannot be encoded or written;
    the destination is then untouched and no temporary file is left.
    """
    path = Path(path)
    fmt = _output_format(path, format)
    quality = _check_options(path, fmt, rgb, alpha, bit_depth, quality)
    notes: list[str] = []
    depth = bit_depth
    if depth == 16 and fmt not in _DEEP_FORMATS:
        notes.append(f"{fmt} holds 8 bits per channel: written with 8, not 16")
        depth = 8
    if alpha is not None and fmt not in _ALPHA_FORMATS:
        notes.append(f"{fmt} has no alpha channel: transparency dropped")
        alpha = None
    elif alpha is not None and alpha.dtype == np.uint16 and depth == 8:
        notes.append("16-bit alpha written with 8 bits")
    icc = _rgb_icc(icc_profile, notes)
    exif_in = _parse_exif(exif, notes) if exif else None
    if software and fmt != "BMP":
        exif_in = exif_in if exif_in is not None else _pil.Exif()
        exif_in[SOFTWARE_TAG] = software
    exif_bytes = _carry_exif(exif_in, notes)
    if fmt == "BMP" and (icc or exif_bytes):
        notes.append("BMP holds no ICC profile or EXIF: dropped")
        icc = exif_bytes = None
    color = to_uint(rgb, depth)
    alpha_out = None if alpha is None else formats.alpha_at_depth(alpha, depth)
    try:
        data = _encode(fmt, color, alpha_out, quality, icc, exif_bytes)
    except (OSError, ValueError, TypeError, formats.Error) as exc:
        raise ImageError(f"cannot encode as {fmt}: {_one_line(exc)}", path=path) from None
    _write_atomic(path, data, within)
    return WriteResult(path=path, format=fmt, bit_depth=depth, warnings=tuple(notes))


def write_like(path: str | os.PathLike, rgb: np.ndarray, source: Image, *, quality: int | None = None,
               format: str | None = None, within: str | os.PathLike | None = None,
               software: str | None = None) -> WriteResult:
    """:func:`write_image` with ``source``'s alpha, bit depth, ICC profile and EXIF.

    ``rgb``: (H, W, 3) float in [0, 1], the same H and W as ``source``.
    """
    return write_image(path, rgb, alpha=source.alpha, bit_depth=source.bit_depth, quality=quality,
                       icc_profile=source.icc_profile, exif=source.exif, format=format, within=within,
                       software=software)


# --- reading ---------------------------------------------------------------------------------


@contextmanager
def _recorded_warnings(notes: list[str]) -> Iterator[None]:
    """Keep decoders' Python warnings (Pillow's "Corrupt EXIF data"...) off stderr: add them to ``notes``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for line in dict.fromkeys(_one_line(w.message) for w in caught):
                notes.append(line)


@contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """Turn whatever opening and decoding raise into one-line :class:`ImageError`s."""
    try:
        yield
    except ImageError:
        raise
    except NotRegular as exc:
        raise ImageError(exc.strerror, path=path) from None
    except FileNotFoundError:
        raise ImageError("no such file", path=path) from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image file", path=path) from None
    except PermissionError:
        raise ImageError("cannot read: permission denied", path=path) from None
    except UnidentifiedImageError:
        kind = formats.sniff(path)
        if kind:
            raise ImageError(f"truncated or corrupt: starts as a {kind} but cannot be parsed", path=path) from None
        raise ImageError("not an image, or not a format uir reads (PNG, JPEG, WebP, TIFF, BMP)", path=path) from None
    except MemoryError:
        raise ImageError("not enough memory to decode it (see --max-pixels)", path=path) from None
    except OSError as exc:
        if exc.errno is not None:  # an I/O error from the system, not a decoder's complaint
            raise ImageError(f"cannot read: {exc.strerror or exc}", path=path) from None
        raise ImageError(f"truncated or corrupt: {_one_line(exc)}", path=path) from None
    except _DECODE_ERRORS as exc:
        raise ImageError(f"truncated or corrupt: {_one_line(exc)}", path=path) from None


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    with open_regular(path) as f:  # a FIFO or device is refused, never waited on
        if os.fstat(f.fileno()).st_size == 0:
            raise ImageError("empty file (0 bytes)", path=path)
        yield f


def _header(im: _pil.Image, f: IO[bytes]) -> _Header:
    fmt = "JPEG" if im.format == "MPO" else str(im.format)
    exif = _source_exif(im, f, fmt)
    width, height = im.size
    if fmt == "TIFF":  # Pillow reports a TIFF's size already turned by its orientation
        width, height = im.tag_v2.get(256, width), im.tag_v2.get(257, height)
    return _Header(format=fmt, mode=im.mode, width=width, height=height,
                   orientation=formats.orientation_of(exif), deep=_is_deep(im, f, fmt), exif=exif)


def _upright_size(head: _Header) -> tuple[int, int]:
    if head.orientation in (5, 6, 7, 8):
        return head.height, head.width
    return head.width, head.height


def _source_exif(im: _pil.Image, f: IO[bytes], fmt: str) -> _pil.Exif | None:
    """The file's EXIF, read without decoding pixels (Pillow would decode a PNG to look).

    Unreadable EXIF is ignored with a warning (recorded by :func:`_recorded_warnings`).
    """
    try:
        if fmt == "PNG":
            raw = im.info.get("exif") or formats.png_scan(f).exif
            if not raw:
                return None
            exif = _pil.Exif()
            exif.load(raw)
        else:
            exif = im.getexif()
        return exif if len(exif) else None
    except Exception as exc:  # noqa: BLE001 - broken metadata must not cost the pixels
        warnings.warn(f"EXIF unreadable, ignored: {_one_line(exc)}", stacklevel=1)
        return None


def _pillow_turned(im: _pil.Image, head: _Header) -> bool:
    """Whether Pillow's load() already applied the orientation (recent Pillow does, for TIFF only)."""
    return head.format == "TIFF" and head.orientation != 1 and formats.ORIENTATION_TAG not in im.tag_v2


def _is_deep(im: _pil.Image, f: IO[bytes], fmt: str) -> bool:
    if fmt == "PNG":
        return formats.png_bit_depth(f) == 16
    if fmt == "TIFF":
        bits = im.tag_v2.get(258, 8)
        return max(bits) == 16 if isinstance(bits, tuple) else bits == 16
    return False


def _decode(im: _pil.Image, f: IO[bytes], head: _Header, path: Path, notes: list[str]) -> _Pixels:
    """The pixels, 16-bit colour through OpenCV, everything else through Pillow."""
    if head.deep and head.mode in ("RGB", "RGBA", "LA"):
        return _Pixels(*_decode_16bit_colour(f, head, path), depth=16, by_pillow=False)
    im.load()
    if head.deep and head.mode in _GRAY16_MODES | {"I"}:
        return _Pixels(np.asarray(im).clip(0, 65535).astype(np.uint16, copy=False), None, 16, True)
    target = _mode_8bit(im)
    if head.deep:
        notes.append(f"16-bit {head.mode} read as 8 bits per channel")
    arr = np.asarray(im if target == im.mode else im.convert(target))
    if arr.ndim == 2:
        return _Pixels(arr, None, 8, True)
    channels = arr.shape[2]
    if channels == 2:
        return _Pixels(arr[..., 0], arr[..., 1], 8, True)
    return _Pixels(arr[..., :3], (arr[..., 3] if channels == 4 else None), 8, True)


def _check_mode(head: _Header, path: Path) -> None:
    """Refuse, from the header, pixel formats that :func:`_decode` cannot turn into RGB."""
    if head.mode in _8BIT_MODES or head.mode in _TO_8BIT_MODE or (head.deep and head.mode in _GRAY16_MODES | {"I"}):
        return
    raise ImageError(f"unsupported pixel format {head.mode!r} (uir reads 8- and 16-bit gray, palette, RGB, "
                     "RGBA and CMYK)", path=path)


def _mode_8bit(im: _pil.Image) -> str:
    """The Pillow mode to convert an 8-bit image to: "L", "LA", "RGB" or "RGBA"."""
    mode = im.mode
    if "transparency" in im.info and mode in ("1", "L", "P", "RGB"):
        return "RGBA"
    if mode == "P":
        return "RGB"
    return _TO_8BIT_MODE.get(mode, mode)


def _decode_16bit_colour(f: IO[bytes], head: _Header, path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """16-bit RGB(A) / gray+alpha through OpenCV: (H, W, 3) uint16 RGB view and (H, W) alpha or None."""
    if head.format == "PNG" and not formats.png_scan(f).complete:
        raise ImageError("truncated: the PNG ends before its last chunk", path=path)
    f.seek(0)
    data = f.read()
    if head.format == "TIFF" and head.orientation != 1:
        data = formats.tiff_orientation_cleared(data)  # we turn the pixels ourselves, as for PNG
    arr = formats.cv2_decode(data)
    if arr is None or arr.dtype != np.uint16 or arr.shape[:2] != (head.height, head.width):
        raise ImageError(f"truncated or corrupt: OpenCV cannot decode this 16-bit {head.format}", path=path)
    if arr.ndim == 2:
        return arr, None
    if arr.shape[2] == 2:
        return arr[..., 0], arr[..., 1]
    return arr[..., 2::-1], (arr[..., 3] if arr.shape[2] == 4 else None)  # BGR(A) -> RGB


def _to_float_rgb(color: np.ndarray, depth: int) -> np.ndarray:
    """(H, W) or (H, W, 3) uint view -> fresh C-contiguous (H, W, 3) float32 in [0, 1], in one pass."""
    h, w = color.shape[:2]
    out = np.empty((h, w, 3), np.float32)
    src = color[..., None] if color.ndim == 2 else color
    np.divide(src, np.float32(65535 if depth == 16 else 255), out=out, dtype=np.float32)
    return out


# --- metadata ----------------------------------------------------------------------------------


def _rgb_icc(icc: bytes | None, notes: list[str]) -> bytes | None:
    """``icc`` when it is a profile for RGB data (the output is RGB), else None with a note."""
    if not icc:
        return None
    space = formats.icc_colour_space(icc)
    if space == "RGB":
        return bytes(icc)
    notes.append(f"ICC profile for {space or 'unknown'} data dropped: the output is RGB")
    return None


def _parse_exif(raw: bytes, notes: list[str]) -> _pil.Exif | None:
    try:
        exif = _pil.Exif()
        exif.load(raw)
        return exif
    except Exception as exc:  # noqa: BLE001 - foreign metadata must never stop a write
        notes.append(f"EXIF unreadable, dropped: {_one_line(exc)}")
        return None


def _carry_exif(exif: _pil.Exif | None, notes: list[str]) -> bytes | None:
    if exif is None:
        return None
    try:
        return formats.exif_for_output(exif)
    except Exception as exc:  # noqa: BLE001 - foreign metadata must never stop a read or write
        notes.append(f"EXIF unreadable, dropped: {_one_line(exc)}")
        return None


# --- writing -----------------------------------------------------------------------------------


def _output_format(path: Path, format: str | None) -> str:
    if format is not None:
        fmt = _FORMAT_ALIASES.get(format.upper(), format.upper())
        if fmt not in _FORMAT_OF_EXT.values():
            raise UsageError(f"cannot write {format!r}: use PNG, JPEG, WEBP, TIFF or BMP", path=path)
        return fmt
    fmt = _FORMAT_OF_EXT.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"cannot write {path.suffix or 'a name without an extension'}: "
                         "use .png, .jpg, .webp, .tif or .bmp", path=path)
    return fmt


def _check_options(path: Path, fmt: str, rgb: np.ndarray, alpha: np.ndarray | None, bit_depth: int,
                   quality: int | None) -> int | None:
    """Validate the arguments of :func:`write_image`; return the quality to use."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or not np.issubdtype(rgb.dtype, np.floating):
        raise ValueError(f"rgb must be (H, W, 3) float, got {rgb.shape} {rgb.dtype}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise ValueError(f"alpha must be {rgb.shape[:2]}, got {alpha.shape}")
    if bit_depth not in (8, 16):
        raise UsageError(f"bit depth {bit_depth}: use 8 or 16", path=path)
    if quality is not None and not 1 <= quality <= 100:
        raise UsageError(f"quality {quality}: use 1 to 100", path=path)
    side = _MAX_SIDE.get(fmt)
    if side is not None and max(rgb.shape[:2]) > side:
        raise ImageError(f"{rgb.shape[1]}x{rgb.shape[0]} is too large for {fmt} (at most {side} pixels a side)",
                         path=path)
    if not np.isfinite(rgb).all():
        raise ImageError("the image holds NaN or infinite values (try --precision fp32); not written", path=path)
    return quality or _DEFAULT_QUALITY.get(fmt)


def _encode(fmt: str, color: np.ndarray, alpha: np.ndarray | None, quality: int | None,
            icc: bytes | None, exif: bytes | None) -> bytes:
    """Encoded file bytes; ``color`` (H, W, 3) and ``alpha`` (H, W) share a dtype, uint8 or uint16."""
    if color.dtype == np.uint16:
        encode16 = formats.encode_png16 if fmt == "PNG" else formats.encode_tiff16
        return encode16(color, alpha, icc_profile=icc, exif=exif)
    pixels = color if alpha is None else np.concatenate([color, alpha[..., None]], axis=2)
    params: dict = {}
    if icc:
        params["icc_profile"] = icc
    if exif:
        params["exif"] = exif
    if quality is not None:
        params["quality"] = quality
    if fmt == "WEBP" and alpha is not None:
        params["exact"] = True  # keep the colour under transparent pixels
    if fmt == "TIFF":
        params["compression"] = "tiff_adobe_deflate"
    buf = io.BytesIO()
    _pil.fromarray(pixels).save(buf, format=fmt, **params)
    return buf.getvalue()


def _write_atomic(path: Path, data: bytes, within: str | os.PathLike | None) -> None:
    """Write ``data`` to a hidden temporary file beside ``path``, then rename it over ``path``."""
    try:
        write_atomic(path, data, within=within)
    except OSError as exc:
        raise ImageError(f"cannot write: {describe(exc)}", path=path) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
