"""Image I/O: formats, bit depths, modes, alpha, orientation, metadata, errors, atomic writes."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageCms, ImageOps

from uir_cli.imageio import codec as imageio
from uir_cli.imageio import (
    IMAGE_EXTENSIONS, WriteResult, is_image_path, probe_image, read_image, to_uint, write_image, write_like,
)
from uir_cli.errors import ImageError

RNG = np.random.default_rng(0)
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
VALUE16 = 12345  # a 16-bit value that 8 bits cannot hold (12345 / 257 is not an integer)


def _rgb8(h: int = 24, w: int = 32) -> np.ndarray:
    return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


def _rgb16(h: int = 24, w: int = 32) -> np.ndarray:
    a = RNG.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    a[0, 0] = VALUE16
    return a


def _exif(orientation: int) -> bytes:
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"  # Make: must survive
    return exif.tobytes()


def _written_exif(path) -> PILImage.Exif:
    with PILImage.open(path) as im:
        return im.getexif()


def _pil_pixels(path) -> np.ndarray:
    with PILImage.open(path) as im:
        return np.asarray(im)


def _pil_info(path, what: str):
    with PILImage.open(path) as im:
        return {"format": im.format, "mode": im.mode, "size": im.size, "icc_profile": im.info.get("icc_profile")}[what]


def _files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- formats and bit depths ---------------------------------------------------------------------


def test_8bit_png_round_trip_is_exact(tmp_path):
    src = _rgb8()
    PILImage.fromarray(src).save(tmp_path / "in.png")
    img = read_image(tmp_path / "in.png")
    assert img.rgb.dtype == np.float32 and img.rgb.shape == (24, 32, 3) and img.rgb.flags.c_contiguous
    assert img.bit_depth == 8 and img.alpha is None and img.format == "PNG"
    assert np.array_equal(to_uint(img.rgb, 8), src)
    result = write_image(tmp_path / "out.png", img.rgb)
    assert np.array_equal(_pil_pixels(tmp_path / "out.png"), src)
    assert result.path == tmp_path / "out.png" and result.bit_depth == 8 and result.warnings == ()
    assert str(result) == str(tmp_path / "out.png") and os.fspath(result) == str(tmp_path / "out.png")


@pytest.mark.parametrize("ext", [".bmp", ".webp", ".tif"])
def test_lossless_formats_round_trip(tmp_path, ext):
    src = _rgb8()
    params = {"lossless": True} if ext == ".webp" else {}
    PILImage.fromarray(src).save(tmp_path / f"in{ext}", **params)
    img = read_image(tmp_path / f"in{ext}")
    assert np.array_equal(to_uint(img.rgb, 8), src)
    if ext != ".webp":  # our WebP output is lossy
        write_image(tmp_path / f"out{ext}", img.rgb)
        assert np.array_equal(_pil_pixels(tmp_path / f"out{ext}"), src)


def test_jpeg_reads_and_writes_with_quality(tmp_path):
    src = _rgb8(64, 64)
    PILImage.fromarray(src).save(tmp_path / "in.jpg", quality=95)
    img = read_image(tmp_path / "in.jpg")
    assert img.format == "JPEG" and img.rgb.shape == (64, 64, 3)
    write_image(tmp_path / "hi.jpg", img.rgb)
    write_image(tmp_path / "lo.jpg", img.rgb, quality=10)
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpg").stat().st_size
    assert _pil_info(tmp_path / "hi.jpg", "format") == "JPEG"


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_input_keeps_16_bits(tmp_path, ext):
    src = _rgb16()
    cv2.imwrite(str(tmp_path / f"in{ext}"), src[..., ::-1])  # OpenCV: BGR
    img = read_image(tmp_path / f"in{ext}")
    assert img.bit_depth == 16
    assert img.rgb[0, 0, 0] == np.float32(VALUE16 / 65535)
    assert np.array_equal(to_uint(img.rgb, 16), src)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_output_keeps_16_bits(tmp_path, ext):
    src = _rgb16()
    result = write_image(tmp_path / f"out{ext}", src / np.float32(65535), bit_depth=16)
    assert result.bit_depth == 16 and result.warnings == ()
    back = cv2.imread(str(tmp_path / f"out{ext}"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and np.array_equal(back[..., ::-1], src)


def test_16bit_gray_png(tmp_path):
    gray = _rgb16()[..., 0]
    PILImage.fromarray(gray).save(tmp_path / "g16.png")
    img = read_image(tmp_path / "g16.png")
    assert img.bit_depth == 16
    assert np.array_equal(to_uint(img.rgb, 16), np.repeat(gray[..., None], 3, axis=2))


@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_16bit_falls_back_to_8_bits_elsewhere(tmp_path, ext):
    result = write_image(tmp_path / f"out{ext}", _rgb16() / np.float32(65535), bit_depth=16)
    assert result.bit_depth == 8 and any("8 bits" in w for w in result.warnings)
    assert _pil_pixels(tmp_path / f"out{ext}").dtype == np.uint8


def test_to_uint_rounds_and_clips():
    k = np.arange(256, dtype=np.float32) / 255
    assert np.array_equal(to_uint(k, 8), np.arange(256))
    assert np.array_equal(to_uint(np.array([-0.2, 0.0, 1.0, 1.7], np.float32), 16), [0, 0, 65535, 65535])
    # floor(v * 255 + 0.5): 0.3 * 255 = 76.5 rounds up (numpy's round() would give 76)
    assert to_uint(np.array([0.3]), 8)[0] == 77 and to_uint(np.array([0.3]), 8).dtype == np.uint8


# --- colour modes and alpha ---------------------------------------------------------------------


def test_grayscale_decodes_to_rgb(tmp_path):
    gray = _rgb8()[..., 0]
    PILImage.fromarray(gray, "L").save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.rgb.shape == (24, 32, 3)
    assert np.array_equal(to_uint(img.rgb, 8), np.repeat(gray[..., None], 3, axis=2))


def test_gray_with_alpha(tmp_path):
    la = _rgb8()[..., :2]
    PILImage.fromarray(la, "LA").save(tmp_path / "la.png")
    img = read_image(tmp_path / "la.png")
    assert np.array_equal(img.alpha, la[..., 1])
    assert np.array_equal(to_uint(img.rgb, 8)[..., 2], la[..., 0])


def test_palette_with_transparency(tmp_path):
    idx = RNG.integers(0, 3, (10, 12), dtype=np.uint8)
    pal = PILImage.fromarray(idx, "P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * 759)
    pal.save(tmp_path / "p.png", transparency=1)  # index 1 (green) is transparent
    img = read_image(tmp_path / "p.png")
    assert img.alpha is not None and img.alpha.dtype == np.uint8
    assert np.array_equal(img.alpha, np.where(idx == 1, 0, 255))
    colours = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    assert np.array_equal(img.rgb, colours[idx])


def test_palette_without_transparency(tmp_path):
    pal = PILImage.fromarray(_rgb8()).convert("P")
    pal.save(tmp_path / "p.png")
    img = read_image(tmp_path / "p.png")
    assert img.alpha is None
    assert np.array_equal(to_uint(img.rgb, 8), np.asarray(pal.convert("RGB")))


def test_cmyk_jpeg_decodes_to_rgb(tmp_path):
    cmyk = np.zeros((16, 16, 4), np.uint8)
    cmyk[:, :8, 0] = 255  # left half pure cyan, right half pure yellow
    cmyk[:, 8:, 2] = 255
    PILImage.fromarray(cmyk, "CMYK").save(tmp_path / "cmyk.jpg", quality=100)
    img = read_image(tmp_path / "cmyk.jpg")
    assert img.rgb.shape == (16, 16, 3)
    assert np.allclose(img.rgb[4, 2], [0, 1, 1], atol=0.05)
    assert np.allclose(img.rgb[4, 13], [1, 1, 0], atol=0.05)


def test_rgba_alpha_bit_exact_through_png(tmp_path):
    src = RNG.integers(0, 256, (20, 30, 4), dtype=np.uint8)
    PILImage.fromarray(src, "RGBA").save(tmp_path / "in.png")
    img = read_image(tmp_path / "in.png")
    assert img.alpha.dtype == np.uint8 and np.array_equal(img.alpha, src[..., 3])
    write_like(tmp_path / "out.png", img.rgb, img)
    assert np.array_equal(_pil_pixels(tmp_path / "out.png"), src)


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_16bit_rgba_alpha_bit_exact(tmp_path, ext):
    src = RNG.integers(0, 65536, (20, 30, 4), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / f"in{ext}"), src[..., [2, 1, 0, 3]])
    img = read_image(tmp_path / f"in{ext}")
    assert img.bit_depth == 16 and img.alpha.dtype == np.uint16 and np.array_equal(img.alpha, src[..., 3])
    write_like(tmp_path / f"out{ext}", img.rgb, img)
    back = cv2.imread(str(tmp_path / f"out{ext}"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(back[..., [2, 1, 0, 3]], src)


@pytest.mark.parametrize("ext", [".webp", ".tif"])
def test_webp_and_tiff_keep_alpha(tmp_path, ext):
    alpha = RNG.integers(0, 256, (20, 30), dtype=np.uint8)
    write_image(tmp_path / f"a{ext}", _rgb8(20, 30) / np.float32(255), alpha=alpha)
    assert np.array_equal(_pil_pixels(tmp_path / f"a{ext}")[..., 3], alpha)
    assert np.array_equal(read_image(tmp_path / f"a{ext}").alpha, alpha)


def test_jpeg_output_of_rgba_warns(tmp_path):
    img_alpha = np.full((8, 8), 128, np.uint8)
    result = write_image(tmp_path / "out.jpg", np.full((8, 8, 3), 0.5, np.float32), alpha=img_alpha)
    assert isinstance(result, WriteResult)
    assert any("alpha" in w for w in result.warnings)
    assert _pil_info(tmp_path / "out.jpg", "mode") == "RGB"


# --- orientation and metadata -------------------------------------------------------------------


def test_exif_orientation_6_comes_out_rotated_and_written_as_1(tmp_path):
    src = _rgb8(6, 10)
    PILImage.fromarray(src).save(tmp_path / "o6.png", exif=_exif(6))
    img = read_image(tmp_path / "o6.png")
    assert (img.width, img.height) == (6, 10) == probe_image(tmp_path / "o6.png")
    assert np.array_equal(to_uint(img.rgb, 8), np.rot90(src, -1))  # 6: turn 90 degrees clockwise
    for ext in (".jpg", ".png", ".webp", ".tif"):
        write_like(tmp_path / f"out{ext}", img.rgb, img)
        exif = _written_exif(tmp_path / f"out{ext}")
        assert exif.get(0x0112) == 1 and exif.get(0x010F) == "TestCam", ext
        assert _pil_info(tmp_path / f"out{ext}", "size") == (6, 10)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("kind", ["jpg", "png16", "tif16", "tif8"])
def test_every_orientation_matches_pillow(tmp_path, orientation, kind):
    src8 = _rgb8(6, 10)
    path = tmp_path / f"in.{kind[:3]}"
    if kind == "jpg":  # big flat gray blocks, so JPEG loss cannot hide a wrong turn
        src8 = np.kron(RNG.integers(0, 2, (3, 5, 1)) * 255, np.ones((16, 16, 3))).astype(np.uint8)
        PILImage.fromarray(src8).save(path, exif=_exif(orientation), quality=100)
    elif kind == "tif8":
        PILImage.fromarray(src8).save(path, exif=_exif(orientation))
    else:  # 16-bit colour: written by our encoder (Pillow cannot), decoded through OpenCV
        from uir_cli.imageio import formats
        encode = formats.encode_png16 if kind == "png16" else formats.encode_tiff16
        path.write_bytes(encode(src8.astype(np.uint16) * 257, None, exif=_exif(orientation)))
    reference = PILImage.fromarray(src8)
    reference.getexif()[0x0112] = orientation
    want = np.asarray(ImageOps.exif_transpose(reference))
    img = read_image(path)
    got = to_uint(img.rgb, 8)
    if kind == "jpg":
        assert got.shape == want.shape and np.abs(got.astype(int) - want).mean() < 8  # a wrong turn: ~127
    else:
        assert np.array_equal(got, want)
    assert probe_image(path) == (img.width, img.height)
    exif = PILImage.Exif()
    exif.load(img.exif)
    assert exif.get(0x0112) == 1 and exif.get(0x010F) == "TestCam"


def _move_png_exif_to_end(path) -> None:
    """Rewrite a PNG with its eXIf chunk after the pixel data (legal, and what some tools write)."""
    data = path.read_bytes()
    chunks, at = [], 8
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        chunks.append(data[at:at + 12 + length])
        at += 12 + length
    exif = [c for c in chunks if c[4:8] == b"eXIf"]
    rest = [c for c in chunks if c[4:8] != b"eXIf"]
    assert len(exif) == 1 and rest[-1][4:8] == b"IEND"
    path.write_bytes(data[:8] + b"".join(rest[:-1] + exif + rest[-1:]))


def test_png_exif_after_the_pixels_is_found(tmp_path):
    src = _rgb8(6, 10)
    PILImage.fromarray(src).save(tmp_path / "late.png", exif=_exif(8))
    _move_png_exif_to_end(tmp_path / "late.png")
    assert probe_image(tmp_path / "late.png") == (6, 10)
    assert np.array_equal(to_uint(read_image(tmp_path / "late.png").rgb, 8), np.rot90(src))  # 8: 90 anticlockwise


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_icc_profile_survives(tmp_path, ext):
    PILImage.fromarray(_rgb8()).save(tmp_path / f"in{ext}", icc_profile=SRGB_ICC)
    img = read_image(tmp_path / f"in{ext}")
    assert img.icc_profile == SRGB_ICC
    write_like(tmp_path / f"out{ext}", img.rgb, img)
    assert _pil_info(tmp_path / f"out{ext}", "icc_profile") == SRGB_ICC


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_icc_and_exif_survive_16bit_output(tmp_path, ext):
    result = write_image(tmp_path / f"out{ext}", _rgb16() / np.float32(65535), bit_depth=16,
                         icc_profile=SRGB_ICC, exif=_exif(8))
    assert result.bit_depth == 16
    assert _pil_info(tmp_path / f"out{ext}", "icc_profile") == SRGB_ICC
    exif = _written_exif(tmp_path / f"out{ext}")
    assert exif.get(0x0112) == 1 and exif.get(0x010F) == "TestCam"


def test_broken_exif_costs_the_exif_not_the_image(tmp_path, capfd):
    PILImage.fromarray(_rgb8()).save(tmp_path / "in.jpg", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f junk")
    img = read_image(tmp_path / "in.jpg")
    assert img.rgb.shape == (24, 32, 3) and img.exif is None
    assert probe_image(tmp_path / "in.jpg") == (32, 24)
    assert capfd.readouterr().err == ""


def test_cmyk_icc_profile_is_not_put_on_rgb(tmp_path):
    cmyk_icc = bytearray(SRGB_ICC)
    cmyk_icc[16:20] = b"CMYK"
    PILImage.new("CMYK", (8, 8)).save(tmp_path / "c.jpg", icc_profile=bytes(cmyk_icc))
    img = read_image(tmp_path / "c.jpg")
    assert img.icc_profile is None and any("CMYK" in w for w in img.warnings)


# --- probe and size limit -----------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif", ".bmp"])
def test_probe_agrees_with_decoded_size(tmp_path, ext):
    PILImage.fromarray(_rgb8(17, 29)).save(tmp_path / f"in{ext}")
    img = read_image(tmp_path / f"in{ext}")
    assert probe_image(tmp_path / f"in{ext}") == (img.width, img.height) == (29, 17)


def test_max_pixels_refuses_before_decoding(tmp_path):
    PILImage.fromarray(_rgb8(20, 30)).save(tmp_path / "big.png")
    with pytest.raises(ImageError, match=r"big\.png.*30x20.*600 pixels.*500"):
        read_image(tmp_path / "big.png", max_pixels=500)
    assert read_image(tmp_path / "big.png", max_pixels=600).width == 30
    assert read_image(tmp_path / "big.png", max_pixels=None).width == 30
    assert PILImage.MAX_IMAGE_PIXELS is None  # --max-pixels, not Pillow's bomb check, decides


# --- errors -------------------------------------------------------------------------------------


def _cut(path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _make_error_case(tmp_path, case: str):
    path = tmp_path / f"{case}.png"
    noisy = RNG.integers(0, 256, (200, 200, 3), dtype=np.uint8)
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello, I am not a picture\n")
    elif case == "truncated_png":
        PILImage.fromarray(noisy).save(path)
        _cut(path)
    elif case == "truncated_jpeg":
        path = tmp_path / "cut.jpg"
        PILImage.fromarray(noisy).save(path, quality=90)
        _cut(path)
    elif case == "truncated_png16":
        cv2.imwrite(str(path), noisy.astype(np.uint16) * 257)
        _cut(path)
    elif case == "truncated_tif16":
        path = tmp_path / "cut.tif"
        cv2.imwrite(str(path), noisy.astype(np.uint16) * 257)
        _cut(path)
    elif case == "float_tiff":
        path = tmp_path / "float.tif"
        PILImage.fromarray(np.zeros((4, 4), np.float32), "F").save(path)
    elif case == "folder":
        path.mkdir()
    elif case == "gif":
        path = tmp_path / "anim.png"
        PILImage.new("P", (4, 4)).save(path, format="GIF")
    return path


@pytest.mark.parametrize(("case", "words"), [
    ("missing", "no such file"),
    ("empty", "empty"),
    ("text", "not an image"),
    ("gif", "not an image"),
    ("truncated_png", "truncated"),
    ("truncated_jpeg", "truncated"),
    ("truncated_png16", "truncated"),
    ("truncated_tif16", "truncated"),
    ("float_tiff", "unsupported pixel format"),
    ("folder", "folder"),
])
def test_read_errors_name_the_file(tmp_path, capfd, case, words):
    path = _make_error_case(tmp_path, case)
    with pytest.raises(ImageError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message
    if not case.startswith("truncated"):  # a probe reads the header only
        with pytest.raises(ImageError, match=words):
            probe_image(path)
    assert capfd.readouterr().err == ""  # no decoder chatter on stderr


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    PILImage.fromarray(_rgb8()).save(path)
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make open() refuse as the system would
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(path))
        monkeypatch.setattr(imageio, "open_regular", refuse)
    with pytest.raises(ImageError, match=r"secret\.png: cannot read: permission denied"):
        read_image(path)


# --- writing: atomic, and failures leave nothing behind -----------------------------------------


def test_write_creates_folders_and_leaves_no_temporary(tmp_path):
    write_image(tmp_path / "a" / "b" / "out.png", np.zeros((4, 4, 3), np.float32))
    assert _files(tmp_path / "a" / "b") == ["out.png"]


def test_failed_write_leaves_destination_and_no_temporary(tmp_path, monkeypatch):
    dest = tmp_path / "out.png"
    dest.write_bytes(b"previous result")

    def crash(src, dst, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(imageio.os, "replace", crash)
    with pytest.raises(ImageError, match=r"out\.png: cannot write: No space left on device"):
        write_image(dest, np.zeros((4, 4, 3), np.float32))
    assert dest.read_bytes() == b"previous result"
    assert _files(tmp_path) == ["out.png"]


def test_write_into_read_only_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:  # root writes anywhere: make open() refuse as the system would
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(args[0]))
        from uir_cli import atomic

        monkeypatch.setattr(atomic, "create_new", refuse)
    try:
        with pytest.raises(ImageError, match=r"out\.png: cannot write: Permission denied"):
            write_image(folder / "out.png", np.zeros((4, 4, 3), np.float32))
        assert _files(folder) == []
    finally:
        folder.chmod(0o755)


def test_write_over_a_folder_fails_cleanly(tmp_path):
    (tmp_path / "out.png").mkdir()
    with pytest.raises(ImageError, match=r"out\.png: cannot write"):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 3), np.float32))
    assert _files(tmp_path) == ["out.png"] and (tmp_path / "out.png").is_dir()


def test_nan_is_refused(tmp_path):
    rgb = np.zeros((4, 4, 3), np.float32)
    rgb[1, 1, 1] = np.nan
    with pytest.raises(ImageError, match=r"out\.png: .*NaN"):
        write_image(tmp_path / "out.png", rgb)
    assert _files(tmp_path) == []


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(ImageError, match=r"out\.gif: cannot write \.gif"):
        write_image(tmp_path / "out.gif", np.zeros((4, 4, 3), np.float32))
    result = write_image(tmp_path / "out.img", np.zeros((4, 4, 3), np.float32), format="jpg")
    assert result.format == "JPEG" and _pil_info(tmp_path / "out.img", "format") == "JPEG"


def test_is_image_path():
    assert is_image_path("a/B.JPG") and is_image_path("x.tiff") and not is_image_path("notes.txt")
    assert not is_image_path("._IMG_0001.JPG")  # macOS resource fork, not a picture
    assert not is_image_path(".out.png.123.part")  # our own temporary files
    assert {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"} == IMAGE_EXTENSIONS
