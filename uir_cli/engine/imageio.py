"""Reading and writing images.

``read_image`` returns RGB as float32 (H, W, 3) in [0, 1], whatever the file
holds; ``write_image`` writes atomically (a temporary file in the target
folder, then a rename), so a killed run never leaves a partial file where a
finished one would be.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImageError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"})


@dataclass
class Image:
    """A decoded image.

    - ``rgb``: (H, W, 3) float32 in [0, 1], EXIF orientation applied.
    - ``alpha``: (H, W) in the file's own integer dtype (uint8 or uint16), or None;
      passed through untouched.
    - ``bit_depth``: 8 or 16, the depth to write the output with.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    format: str = "PNG"
    icc_profile: bytes | None = None
    exif: bytes | None = None
    path: Path | None = None
    info: dict = field(default_factory=dict)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> Image:
    """Decode ``path``; raise :class:`ImageError` with one clear line on any problem."""
    from PIL import Image as PILImage, UnidentifiedImageError

    path = Path(path)
    try:
        with PILImage.open(path) as im:
            if max_pixels and im.width * im.height > max_pixels:
                raise ImageError(f"{im.width}x{im.height} is more than --max-pixels {max_pixels}", path=path)
            im.load()
            rgb = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
            fmt = im.format or "PNG"
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError("no such file", path=path) from None
    except UnidentifiedImageError:
        raise ImageError("not an image, or a format uir cannot read", path=path) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"cannot decode: {exc}", path=path) from None
    return Image(rgb=rgb, format=fmt, path=path)


def to_uint(rgb: np.ndarray, bit_depth: int) -> np.ndarray:
    """[0, 1] float -> uint8/uint16, rounded as floor(v * max + 0.5)."""
    top = 255 if bit_depth == 8 else 65535
    v = np.floor(np.clip(rgb, 0.0, 1.0) * top + 0.5)
    return v.astype(np.uint8 if bit_depth == 8 else np.uint16)


def write_image(path: str | os.PathLike, rgb: np.ndarray, *, alpha: np.ndarray | None = None, bit_depth: int = 8,
                quality: int | None = None, icc_profile: bytes | None = None, exif: bytes | None = None) -> Path:
    """Write (H, W, 3) float [0, 1] ``rgb`` to ``path`` atomically; the format follows the extension."""
    from PIL import Image as PILImage

    path = Path(path)
    ext = path.suffix.lower()
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}.get(ext)
    if fmt is None:
        raise ImageError(f"cannot write {ext or 'files without an extension'}", path=path)
    im = PILImage.fromarray(to_uint(rgb, 8), "RGB")
    params: dict = {}
    if fmt in ("JPEG", "WEBP"):
        params["quality"] = quality or (95 if fmt == "JPEG" else 90)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        im.save(tmp, format=fmt, **params)
        os.replace(tmp, path)
    except OSError as exc:
        raise ImageError(f"cannot write: {exc.strerror or exc}", path=path) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
