"""Image files in and out: any common photo to float RGB in [0, 1] and back, nothing lost on the way.

- ``codec``: :func:`read_image`, :func:`write_image`, :func:`write_like` (atomic writes, EXIF, ICC,
  alpha and 16 bits kept), :func:`probe_image` (the size from the header)
- ``formats``: the byte-level helpers behind it (EXIF orientation, PNG chunks, 16-bit encoders)

No torch import.
"""

from .codec import (
    SOFTWARE_TAG, UIR_SOFTWARE, Image, WriteResult, is_image_path, made_by_uir, probe_image, read_image, to_uint,
    write_image, write_like,
)
from ..vocab import IMAGE_EXTENSIONS

__all__ = [
    "IMAGE_EXTENSIONS", "SOFTWARE_TAG", "UIR_SOFTWARE", "Image", "WriteResult", "is_image_path", "made_by_uir",
    "probe_image", "read_image", "to_uint", "write_image", "write_like",
]
