"""vislib.imaging: photo intake (decode, refuse, orient, convert) and CMU-style face framing.

Every file is built in memory by the test itself; the face tests use scikit-image's
public-domain astronaut portrait (Eileen Collins, NASA) and the shipped sample images.
"""

from __future__ import annotations

import builtins
import io
import os
import re
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image, ImageFile, features

from vislib import imaging
from vislib.imaging import Face, Framing, PhotoError, load_photo
from vislib.settings import INPUT_SHAPE, SAMPLES_DIR

H, W = 40, 48  # the test pictures: 48 wide, 40 tall
RAMP = np.tile(np.linspace(0.0, 1.0, W, dtype=np.float32), (H, 1))  # dark left, bright right


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def gray8(pixels=RAMP) -> Image.Image:
    return Image.fromarray(np.round(np.asarray(pixels) * 255).astype(np.uint8))


def halves(width: int = 64, height: int = 32) -> Image.Image:
    """Left half black, right half white."""
    pixels = np.zeros((height, width), np.uint8)
    pixels[:, width // 2:] = 255
    return Image.fromarray(pixels)


def assert_plain(message: str) -> None:
    """A message for people: no exception names, library names or tracebacks."""
    for jargon in ("Error", "Traceback", "PIL", "Pillow", "errno", "decoder", "None"):
        assert jargon not in message, message


def refusal(data, **options) -> str:
    with pytest.raises(PhotoError) as caught:
        load_photo(data, **options)
    message = str(caught.value)
    assert_plain(message)
    return message


def assert_photo(gray: np.ndarray, shape=(H, W)) -> None:
    assert gray.dtype == np.float32 and gray.flags.writeable
    assert gray.shape == shape
    assert np.isfinite(gray).all()
    assert gray.min() >= 0.0 and gray.max() <= 1.0


# ---------------------------------------------------------------- formats


def ascii_pgm(pixels: np.ndarray) -> bytes:
    """P2 (ASCII) PGM, the format of the original CMU files; Pillow only writes P5."""
    h, w = pixels.shape
    body = "\n".join(" ".join(str(v) for v in row) for row in np.round(pixels * 255).astype(int))
    return f"P2\n# made by the test\n{w} {h}\n255\n{body}\n".encode()


FORMATS = {
    "jpeg": (lambda: encode(gray8().convert("RGB"), "JPEG", quality=95), "JPEG", 0.03),
    "jpeg progressive": (lambda: encode(gray8().convert("RGB"), "JPEG", quality=95, progressive=True),
                         "JPEG", 0.03),
    "jpeg with extra pictures (MPO)": (lambda: encode(gray8().convert("RGB"), "MPO", save_all=True,
                                                      append_images=[halves(W, H).convert("RGB")]),
                                       "MPO", 0.03),
    "png": (lambda: encode(gray8().convert("RGB"), "PNG"), "PNG", 0.003),
    "webp lossy": (lambda: encode(gray8().convert("RGB"), "WEBP", quality=95), "WEBP", 0.05),
    "webp lossless": (lambda: encode(gray8().convert("RGB"), "WEBP", lossless=True), "WEBP", 0.003),
    "avif (as phones save it)": (lambda: encode(gray8().convert("RGB"), "AVIF", quality=95), "AVIF", 0.05),
    "bmp": (lambda: encode(gray8().convert("RGB"), "BMP"), "BMP", 0.003),
    "gif": (lambda: encode(gray8().convert("RGB"), "GIF"), "GIF", 0.03),
    "tiff": (lambda: encode(gray8().convert("RGB"), "TIFF"), "TIFF", 0.003),
    "tiff lzw": (lambda: encode(gray8().convert("RGB"), "TIFF", compression="tiff_lzw"), "TIFF", 0.003),
    "pgm binary (P5)": (lambda: encode(gray8(), "PPM"), "PPM", 0.003),
    "pgm ascii (P2)": (lambda: ascii_pgm(RAMP), "PPM", 0.003),
    "ppm colour (P6)": (lambda: encode(gray8().convert("RGB"), "PPM"), "PPM", 0.003),
}


@pytest.mark.parametrize("name", FORMATS)
def test_every_accepted_format_decodes_to_the_same_picture(name):
    make, pillow_format, tolerance = FORMATS[name]
    data = make()
    assert Image.open(io.BytesIO(data)).format == pillow_format  # the test built what it meant to
    gray = load_photo(data)
    assert_photo(gray)
    assert np.abs(gray - RAMP).mean() < tolerance


def test_bytearray_and_memoryview_are_accepted():
    data = encode(gray8(), "PNG")
    np.testing.assert_array_equal(load_photo(bytearray(data)), load_photo(data))
    np.testing.assert_array_equal(load_photo(memoryview(data)), load_photo(data))


def first_and_second(fmt: str, **options) -> bytes:
    first, second = halves(), halves().transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if fmt != "TIFF":
        first, second = first.convert("RGB"), second.convert("RGB")
    return encode(first, fmt, save_all=True, append_images=[second], **options)


@pytest.mark.parametrize("fmt, options", [
    ("GIF", {"duration": 100, "loop": 0}),
    ("PNG", {"duration": 100}),  # APNG
    pytest.param("WEBP", {"duration": 100, "lossless": True}),
    ("TIFF", {}),  # multi-page
])
def test_animations_and_multi_page_files_give_their_first_frame(fmt, options):
    data = first_and_second(fmt, **options)
    with Image.open(io.BytesIO(data)) as image:
        assert getattr(image, "n_frames", 1) == 2  # really two different frames
    gray = load_photo(data)
    assert gray.shape == (32, 64)
    assert gray[:, :32].mean() < 0.05 and gray[:, 32:].mean() > 0.95  # dark left: the first frame


# ---------------------------------------------------------------- modes


def ramp_in(mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(np.round(RAMP * 65535).astype(np.uint16))
    if mode == "I":
        return Image.fromarray(np.round(RAMP * 65535).astype(np.int32))
    if mode == "F":
        return Image.fromarray(RAMP)
    if mode == "LAB":
        lightness = gray8()
        return Image.merge("LAB", (lightness, Image.new("L", lightness.size, 128), Image.new("L", lightness.size, 128)))
    return gray8().convert(mode)


MODES = [  # (mode, file format, mean tolerance against the ramp)
    ("L", "PNG", 0.003), ("RGB", "PNG", 0.003), ("RGBA", "PNG", 0.003), ("LA", "PNG", 0.003),
    ("P", "PNG", 0.02), ("P", "GIF", 0.02), ("P", "BMP", 0.02), ("CMYK", "JPEG", 0.03),
    ("CMYK", "TIFF", 0.003), ("YCbCr", "JPEG", 0.03), ("I;16", "PNG", 0.001), ("I;16", "TIFF", 0.001),
    ("I;16", "PPM", 0.001), ("I", "TIFF", 0.001), ("I", "PPM", 0.001), ("F", "TIFF", 1e-6),
    ("1", "PNG", 0.06), ("1", "BMP", 0.06), ("1", "TIFF", 0.06), ("1", "PPM", 0.06),
    ("LAB", "TIFF", 0.003), ("RGBA", "TIFF", 0.003),
    pytest.param("RGBA", "WEBP", 0.01),
]


@pytest.mark.parametrize("mode, fmt, tolerance", MODES)
def test_every_mode_becomes_grayscale_in_0_1(mode, fmt, tolerance):
    gray = load_photo(encode(ramp_in(mode), fmt))
    assert_photo(gray)
    if mode == "1":  # dithered: compare column averages
        assert np.abs(gray.mean(axis=0) - RAMP[0]).mean() < tolerance
    else:
        assert np.abs(gray - RAMP).mean() < tolerance


def test_sixteen_bit_values_keep_their_scale():
    dark = np.full((H, W), 0.1, np.float32)  # a dark 16-bit picture is not stretched
    for fmt in ("PNG", "TIFF", "PPM"):
        gray = load_photo(encode(Image.fromarray(np.round(dark * 65535).astype(np.uint16)), fmt))
        assert np.allclose(gray, 0.1, atol=1e-4), fmt


def test_float_pictures_outside_0_1_are_stretched():
    pixels = RAMP * 1000 - 3
    gray = load_photo(encode(Image.fromarray(pixels), "TIFF"))
    assert np.allclose(gray, RAMP, atol=1e-5)


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_pixels_count_as_white(mode):
    image = Image.new(mode, (W, H), (0, 0) if mode == "LA" else (0, 0, 0, 0))  # black, invisible
    image.paste((0, 255) if mode == "LA" else (0, 0, 0, 255), (0, 0, W // 2, H))  # opaque black left
    gray = load_photo(encode(image, "PNG"))
    assert np.allclose(gray[:, : W // 2], 0) and np.allclose(gray[:, W // 2:], 1)


def test_palette_transparency_counts_as_white():
    image = Image.new("P", (W, H), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(1, (0, 0, W // 2, H))  # red left; colour 0 (black) is made transparent
    gray = load_photo(encode(image, "PNG", transparency=0))
    assert np.allclose(gray[:, W // 2:], 1)
    assert np.allclose(gray[:, : W // 2], 0.299, atol=0.01)  # red's luma


# ---------------------------------------------------------------- EXIF orientation


def with_orientation(image: Image.Image, fmt: str, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, fmt, exif=exif.tobytes())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation, dark_side", [(1, "left"), (3, "right"), (6, "top"), (8, "bottom")])
def test_exif_orientation_is_honoured(fmt, orientation, dark_side):
    # Stored 64 wide, 32 tall, dark on the left. Orientation 6 means "turn 90 degrees clockwise
    # to view": the left edge goes to the top. 8 is the other way, 3 is upside down.
    gray = load_photo(with_orientation(halves().convert("RGB"), fmt, orientation))
    assert gray.shape == ((32, 64) if orientation in (1, 3) else (64, 32))
    h, w = gray.shape
    dark = {"left": gray[:, : w // 2], "right": gray[:, w // 2:],
            "top": gray[: h // 2], "bottom": gray[h // 2:]}[dark_side]
    assert dark.mean() < 0.05
    assert gray.mean() == pytest.approx(0.5, abs=0.03)


def test_exif_orientation_survives_reduced_jpeg_decoding():
    big = halves(2200, 1100).convert("RGB")
    gray = load_photo(with_orientation(big, "JPEG", 6))
    assert gray.shape == (1100, 550)  # decoded at half size, then turned upright
    assert gray[:500].mean() < 0.05 and gray[600:].mean() > 0.95


# ---------------------------------------------------------------- large JPEGs are decoded small


def smooth(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return (0.5 + 0.25 * np.sin(x / 97.0) + 0.2 * np.cos(y / 61.0)).astype(np.float32)


def test_large_jpegs_are_decoded_at_reduced_size():
    pixels = smooth(2100, 1600)
    data = encode(gray8(pixels), "JPEG", quality=92)
    reduced = load_photo(data)
    assert reduced.shape == (800, 1050)  # libjpeg's 1/2 scale: long side stays >= 1024
    full = load_photo(data, reduce_to=None)
    assert full.shape == (1600, 2100)
    halved = full.reshape(800, 2, 1050, 2).mean(axis=(1, 3))
    assert np.abs(reduced - halved).mean() < 0.01
    assert load_photo(data, reduce_to=200).shape == (200, 263)  # 1/8, the smallest libjpeg offers


def test_photos_below_twice_the_target_are_decoded_in_full():
    data = encode(gray8(smooth(2000, 1500)), "JPEG")
    assert load_photo(data).shape == (1500, 2000)
    assert load_photo(encode(gray8(smooth(2000, 1500)), "PNG")).shape == (1500, 2000)


def test_large_pngs_are_shrunk_after_decoding():
    pixels = smooth(2100, 1600)
    png = encode(gray8(pixels), "PNG")  # only JPEG can be decoded small; the rest shrink after
    reduced = load_photo(png)
    assert reduced.shape == (800, 1050)
    assert load_photo(png, reduce_to=None).shape == (1600, 2100)
    halved = load_photo(png, reduce_to=None).reshape(800, 2, 1050, 2).mean(axis=(1, 3))
    assert np.abs(reduced - halved).max() < 1e-5


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
@pytest.mark.parametrize("size", [(4000, 8), (8, 4000), (5000, 30)])
def test_a_long_thin_strip_is_never_shrunk_below_the_smallest_side_and_its_face_is_looked_for(fmt, size):
    """A 4000x8 strip passed the size check, was shrunk to 3 pixels high, and the face detector
    raised a traceback that took the other uploads with it (a client's pass in Chromium)."""
    strip = load_photo(encode(gray8(smooth(*size)), fmt))
    assert min(strip.shape) >= imaging.MIN_SIDE and max(strip.shape) >= imaging.REDUCED_LONG_SIDE
    assert imaging.detect_face(strip) is None  # no face, and no error


# ---------------------------------------------------------------- refusals


def test_empty_file_is_refused():
    assert refusal(b"") == "The file is empty."


@pytest.mark.parametrize("data", [
    b"hello, this is a text file and not a picture at all\n" * 20,
    bytes(range(256)) * 4,
    b"\x00" * 1000,
    b"\xff\xd8\xff",  # a JPEG's first three bytes and nothing else
    b"\x89PNG\r\n\x1a\n",  # a PNG signature and nothing else
])
def test_files_that_are_not_pictures_are_refused(data):
    message = refusal(data)
    assert "not a picture" in message or "damaged or cut short" in message
    assert "JPEG, PNG, WebP, AVIF, BMP, GIF, TIFF, PGM or PPM" in message or "cut short" in message


@pytest.mark.parametrize("data, words", [
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100, "HEIC"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + b"\x00" * 100, "AVIF picture is damaged"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF document"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>', "SVG"),
])
def test_common_non_picture_uploads_are_named(data, words):
    message = refusal(data)
    assert words in message
    assert "JPEG, PNG, WebP, AVIF, BMP, GIF, TIFF, PGM or PPM" in message


@pytest.mark.parametrize("fmt", ["ICO", "PCX", "TGA", "JPEG2000", "DDS"])
def test_picture_formats_outside_the_list_are_refused(fmt):
    message = refusal(encode(gray8(), fmt))
    assert message == ("This file is not a picture that can be read here. "
                       "Please use JPEG, PNG, WebP, AVIF, BMP, GIF, TIFF, PGM or PPM.")


def test_non_bytes_are_refused():
    with pytest.raises(PhotoError, match="Expected the file's bytes, got str"):
        load_photo("photo.jpg")


def test_too_small_pictures_are_refused():
    message = refusal(encode(Image.new("L", (4, 30)), "PNG"))
    assert message == "The picture is only 4x30 pixels; at least 8x8 is needed."


def test_too_large_files_are_refused_before_anything_else():
    message = refusal(b"\xff\xd8\xff" + b"\x00" * imaging.MAX_BYTES)
    assert message == "The file is 50 MB; the limit is 50 MB. Please send a smaller copy."


def test_invalid_float_pixels_are_refused():
    pixels = RAMP.copy()
    pixels[3, 4] = np.nan
    message = refusal(encode(Image.fromarray(pixels), "TIFF"))
    assert message == "The picture has invalid pixel values, so it cannot be used."


def big_jpeg() -> bytes:
    return encode(gray8(smooth(2100, 1600)).convert("RGB"), "JPEG", quality=90)


TRUNCATED = {
    "jpeg at half": lambda: encode(gray8().convert("RGB"), "JPEG")[:-700],
    "jpeg without its end": lambda: encode(gray8().convert("RGB"), "JPEG")[:-2],
    "progressive jpeg": lambda: encode(gray8().convert("RGB"), "JPEG", progressive=True)[:-300],
    "large jpeg (reduced decoding)": lambda: big_jpeg()[: len(big_jpeg()) // 2],
    "png at half": lambda: (lambda d: d[: len(d) // 2])(encode(gray8(smooth(W, H)), "PNG")),
    "png inside its pixel data": lambda: (lambda d: d[:-40])(encode(gray8(smooth(W, H)), "PNG")),
    "gif": lambda: (lambda d: d[: len(d) // 2])(encode(gray8(), "GIF")),
    "bmp": lambda: encode(gray8(), "BMP")[:-100],
    "tiff": lambda: encode(gray8(), "TIFF")[:-300],
    "pgm": lambda: encode(gray8(), "PPM")[:-100],
    "webp": lambda: (lambda d: d[: len(d) // 2])(encode(gray8().convert("RGB"), "WEBP")),
}


@pytest.mark.parametrize("name", TRUNCATED)
def test_files_cut_short_are_refused_not_half_decoded(name):
    assert refusal(TRUNCATED[name]()) == "The file looks damaged or cut short, so it cannot be read as a picture."


def test_truncated_images_stay_refused_by_pillow_setting():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_intake_refuses_to_run_if_truncated_images_were_switched_on(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        load_photo(encode(gray8(), "PNG"))


# ---------------------------------------------------------------- decompression bombs


def forged_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (IHDR rewritten, its CRC fixed)."""
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    assert data[12:16] == b"IHDR"
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def forged_jpeg(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("L", (8, 8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def forged_gif(width: int, height: int) -> bytes:
    data = bytearray(encode(Image.new("L", (8, 8)), "GIF"))
    struct.pack_into("<HH", data, 6, width, height)  # the logical screen
    return bytes(data)


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail loudly if any pixel data is decoded."""
    def load(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


@pytest.mark.parametrize("forge, width, height", [
    (forged_png, 100_000, 100_000),  # far past Pillow's own limit: Pillow refuses while opening
    (forged_png, 10_000, 10_000),  # past Pillow's warning limit
    (forged_jpeg, 60_000, 60_000),
    (forged_gif, 65_535, 65_535),
])
def test_decompression_bombs_are_refused_from_the_header(forge, width, height, no_decoding):
    data = forge(width, height)
    assert len(data) < 2000
    message = refusal(data)  # the no_decoding fixture proves no pixel was decoded
    assert "too many pixels" in message or "megapixels" in message
    assert re.search(r"the limit is (40|80) megapixels( \(80 for a JPEG\))?\. Please send a smaller copy\.", message)


@pytest.mark.parametrize("forge, width, height, limit", [
    (forged_png, 8000, 6000, 40),  # 48 megapixels: under Pillow's limit, over ours
    (forged_gif, 8000, 6000, 40),
    (forged_jpeg, 10_000, 8_500, 80),  # 85: a JPEG is decoded small, so its limit is higher, and still there
])
def test_pictures_over_the_intake_limit_are_refused_from_the_header(forge, width, height, limit, no_decoding):
    message = refusal(forge(width, height))
    assert message == (f"The picture is {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); the limit is "
                       f"{limit} megapixels. Please send a smaller copy.")


def test_a_phones_48_megapixel_jpeg_is_read_at_reduced_size():
    """A client's pass found 8000x6000 phone photos refused, though a JPEG is decoded at 1/8 size."""
    photo = encode(gray8(smooth(8000, 6000)), "JPEG", quality=80)
    assert load_photo(photo).shape == (1500, 2000)
    assert "megapixels" in refusal(photo, reduce_to=None)  # every pixel asked for: the lower limit holds


def test_forged_header_under_the_limit_is_refused_as_damaged():
    assert "damaged or cut short" in refusal(forged_png(3000, 3000))


# ---------------------------------------------------------------- nothing is written to disk


def test_nothing_is_written_to_disk(monkeypatch):
    samples = [make() for name, (make, _, _) in FORMATS.items()]
    samples += [with_orientation(halves().convert("RGB"), "JPEG", 6), big_jpeg(), first_and_second("GIF")]
    load_photo(samples[0])  # let Pillow import its plugins first
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            raise AssertionError(f"opened {file!r} for writing")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise AssertionError(f"opened {path!r} for writing")
        return real_os_open(path, flags, *args, **kwargs)

    def no_temp(*args, **kwargs):
        raise AssertionError("made a temporary file")

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile"):
        monkeypatch.setattr(tempfile, name, no_temp)
    for data in samples:
        assert load_photo(data).ndim == 2


# ---------------------------------------------------------------- any bytes: a photo or PhotoError


def load_or_refuse(data: bytes) -> None:
    try:
        gray = load_photo(data)
    except PhotoError as error:
        assert str(error)
        return
    assert gray.ndim == 2 and gray.dtype == np.float32
    assert np.isfinite(gray).all() and gray.min() >= 0 and gray.max() <= 1


TINY = gray8(smooth(24, 16))  # small seeds: fuzzing stays fast
SEEDS = [encode(TINY.convert("RGB"), "JPEG"), encode(TINY.convert("RGB"), "JPEG", progressive=True),
         encode(TINY, "PNG"), encode(TINY.convert("RGBA"), "PNG"), encode(TINY, "GIF"), encode(TINY, "BMP"),
         encode(TINY, "TIFF"), encode(TINY.convert("RGB"), "TIFF", compression="tiff_lzw"),
         encode(TINY, "PPM"), ascii_pgm(smooth(24, 16)), with_orientation(TINY.convert("RGB"), "JPEG", 6),
         encode(TINY.convert("CMYK"), "JPEG"), encode(Image.fromarray(smooth(24, 16)), "TIFF")]
SEEDS.append(encode(TINY.convert("RGB"), "WEBP"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ignore_pillow_warnings = pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow: "Corrupt EXIF data"


@ignore_pillow_warnings
@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_give_a_photo_or_a_photo_error(data):
    load_or_refuse(data)


@ignore_pillow_warnings
@FUZZ
@given(st.sampled_from(SEEDS), st.binary(max_size=512))
def test_a_real_header_then_random_bytes_give_a_photo_or_a_photo_error(seed, tail):
    load_or_refuse(seed[:40] + tail)


@ignore_pillow_warnings
@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_damaged_pictures_give_a_photo_or_a_photo_error(seed, draw):
    data = bytearray(seed)
    for _ in range(draw.draw(st.integers(0, 6), label="edits")):
        data[draw.draw(st.integers(0, len(data) - 1), label="at")] = draw.draw(st.integers(0, 255), label="byte")
    load_or_refuse(bytes(data[: draw.draw(st.integers(1, len(data)), label="length")]))


# ---------------------------------------------------------------- framing geometry

ASPECT = INPUT_SHAPE[1] / INPUT_SHAPE[0]  # 64:60


@pytest.mark.parametrize("zoom", [0.5, 1.0, 1.7, 3.0])
def test_cmu_frame_geometry(zoom):
    cx, cy, fw, fh = 200.0, 150.0, 50.0, 66.0
    x0, y0, x1, y1 = imaging.cmu_frame((cx, cy, fw, fh), (300, 400), zoom)
    width, height = x1 - x0, y1 - y0
    assert width / height == pytest.approx(ASPECT)
    assert height == pytest.approx(fh / imaging.FACE_HEIGHT_FRACTION / zoom)
    assert (x0 + x1) / 2 == pytest.approx(cx)  # horizontally centred on the face
    assert (cy - y0) / height == pytest.approx(imaging.FACE_CENTRE_FROM_TOP)
    assert fh / height == pytest.approx(imaging.FACE_HEIGHT_FRACTION * zoom)


def test_cmu_frame_zoom_tightens_around_the_same_point():
    loose = imaging.cmu_frame((100, 80, 30, 40), (200, 200), 1.0)
    tight = imaging.cmu_frame((100, 80, 30, 40), (200, 200), 2.0)
    assert (tight[2] - tight[0]) == pytest.approx((loose[2] - loose[0]) / 2)
    assert (tight[0] + tight[2]) / 2 == pytest.approx((loose[0] + loose[2]) / 2)


@pytest.mark.parametrize("box, zoom", [((10, 10, 10, 0), 1.0), ((10, 10, 10, -5), 1.0),
                                       ((10, 10, 10, 10), 0.0), ((10, 10, 10, 10), float("nan")),
                                       ((float("inf"), 10, 10, 10), 1.0)])
def test_cmu_frame_refuses_nonsense(box, zoom):
    with pytest.raises(ValueError):
        imaging.cmu_frame(box, (100, 100), zoom)


@pytest.mark.parametrize("shape", [(300, 400), (400, 300), (60, 64), (120, 128), (1000, 50), (50, 1000)])
def test_whole_frame_is_the_largest_centred_64_60_crop(shape):
    h, w = shape
    x0, y0, x1, y1 = imaging.whole_frame(shape)
    assert (x1 - x0) / (y1 - y0) == pytest.approx(ASPECT)
    assert (x0 + x1) / 2 == pytest.approx(w / 2) and (y0 + y1) / 2 == pytest.approx(h / 2)
    assert x0 >= -1e-9 and y0 >= -1e-9 and x1 <= w + 1e-9 and y1 <= h + 1e-9
    assert x1 - x0 == pytest.approx(w) or y1 - y0 == pytest.approx(h)  # touches two sides


def test_crop_inside_the_photo_is_a_plain_cut():
    gray = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    np.testing.assert_array_equal(imaging.crop(gray, (3, 4, 13, 9)), gray[4:9, 3:13])
    np.testing.assert_array_equal(imaging.crop(gray, (2.6, 4.4, 12.6, 8.6)), gray[4:9, 3:13])  # rounded


@pytest.mark.parametrize("box", [(-5, -3, 10, 8), (20, 15, 40, 30), (-10, -10, 40, 30), (-7, 5, -2, 9),
                                 (35, 25, 45, 33)])
def test_crop_outside_the_photo_takes_each_edges_median(box):
    gray = np.random.default_rng(1).random((20, 30)).astype(np.float32)
    side = {"top": np.median(gray[0]), "bottom": np.median(gray[-1]),
            "left": np.median(gray[:, 0]), "right": np.median(gray[:, -1])}
    x0, y0, x1, y1 = box
    got = imaging.crop(gray, box)
    assert got.shape == (y1 - y0, x1 - x0)
    for r, y in enumerate(range(y0, y1)):
        for c, x in enumerate(range(x0, x1)):
            vertical = "top" if y < 0 else "bottom" if y >= 20 else None
            horizontal = "left" if x < 0 else "right" if x >= 30 else None
            if vertical and horizontal:
                expected = (side[vertical] + side[horizontal]) / 2
            elif vertical or horizontal:
                expected = side[vertical or horizontal]
            else:
                expected = gray[y, x]
            assert got[r, c] == pytest.approx(expected), (y, x)


def test_a_black_photo_border_becomes_no_black_band():
    """Pointing'04 photos have a few black lines at their edges; a crop reaching past that
    edge must show the wall's grey there, not the black line repeated (issue 10)."""
    gray = np.full((288, 384), 0.7, np.float32)
    gray[100:200, 150:250] = 0.3  # a "face"
    gray[:, :5] = 0.05  # the black border: 5 columns on the left, 1 row at the bottom
    gray[-1] = 0.1
    m = imaging.FRAME_MARGIN  # the lines just inside a frame are dimmed by it: skipped too
    assert imaging.content_bounds(gray) == (0, 287 - m, 5 + m, 384)
    out = imaging.crop(gray, (-100, 50, 200, 330))
    assert out.shape == (280, 300)
    assert out.min() == pytest.approx(0.3)  # no black anywhere: outside is the wall's grey
    assert out[:, :105].max() == pytest.approx(0.7) and out[:, :105].min() == pytest.approx(0.7)
    np.testing.assert_array_equal(out[50:150, 250:300], gray[100:200, 150:200])
    # a photo without a frame keeps its dark edges: only thin, very dark lines count as frame
    dark_scene = np.full((100, 100), 0.1, np.float32)
    assert imaging.content_bounds(dark_scene) == (0, 100, 0, 100)
    np.testing.assert_array_equal(imaging.crop(dark_scene, (0, 0, 100, 100)), dark_scene)


def test_crop_refuses_empty_boxes():
    with pytest.raises(ValueError):
        imaging.crop(np.zeros((10, 10), np.float32), (5, 5, 5, 8))


def test_network_input_shape_and_range():
    gray = np.random.default_rng(0).random((300, 400)).astype(np.float32)
    x = imaging.to_network_input(gray)
    assert x.shape == INPUT_SHAPE and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(x, imaging.to_network_input(gray, imaging.whole_frame(gray.shape)))


def test_network_input_keeps_left_and_right():
    gray = np.asarray(halves(128, 120), np.float32) / 255
    x = imaging.to_network_input(gray)[..., 0]
    assert x[:, :31].max() < 0.01 and x[:, 33:].min() > 0.99


@pytest.mark.parametrize("box", [(100, 50, 740, 650), (-300, -200, 1300, 1300), (10, 10, 74, 70),
                                 (123.4, 56.7, 301.2, 223.5)])
def test_network_input_matches_a_plain_crop_and_resize(box):
    gray = smooth(800, 600)
    patch = imaging.crop(gray, box)
    expected = np.asarray(Image.fromarray(patch).resize((64, 60), Image.Resampling.BOX), np.float32)
    got = imaging.to_network_input(gray, box)[..., 0]
    assert np.abs(got - np.clip(expected, 0, 1)).max() < 0.03


def test_huge_boxes_are_averaged_down_first_with_the_same_result():
    gray = smooth(2300, 2000)
    box = (-100.0, 150.0, 2140.0, 2250.0)  # 4.7 megapixels, reaching past the left edge
    assert (box[2] - box[0]) * (box[3] - box[1]) > imaging.MAX_CROP_PIXELS
    patch = imaging.crop(gray, box)
    expected = np.asarray(Image.fromarray(patch).resize((64, 60), Image.Resampling.BOX), np.float32)
    difference = np.abs(imaging.to_network_input(gray, box)[..., 0] - expected)
    assert difference.max() < 0.02 and difference.mean() < 0.005  # a few grey levels at most


def test_a_far_zoomed_out_box_stays_cheap(monkeypatch):
    gray = smooth(400, 300)
    face = (200, 150, 40, 50)
    box = imaging.cmu_frame(face, gray.shape, zoom=0.002)  # about 83,000 pixels tall
    sizes, real_crop = [], imaging.crop
    monkeypatch.setattr(imaging, "crop", lambda g, b: sizes.append(real_crop(g, b).size) or real_crop(g, b))
    x = imaging.to_network_input(gray, box)
    assert x.shape == INPUT_SHAPE and np.isfinite(x).all()
    assert max(sizes) <= imaging.MAX_CROP_PIXELS, "the box must be shrunk before it is cut out"


# ---------------------------------------------------------------- face detection and framing


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import color, data

    return color.rgb2gray(data.astronaut()).astype(np.float32)  # 512x512, face near (225, 125)


def assert_on_astronaut_face(face: Face, scale: float = 1.0, mirrored: bool = False):
    cx = 512 * scale - face.cx if mirrored else face.cx
    assert 195 * scale < cx < 255 * scale
    assert 95 * scale < face.cy < 155 * scale
    assert 45 * scale < face.height < 110 * scale


def test_detect_face_finds_the_astronaut(astronaut):
    face = imaging.detect_face(astronaut)
    assert face is not None and face.detector == "frontal"
    assert_on_astronaut_face(face)


def test_detect_face_on_the_mirrored_and_the_enlarged_photo(astronaut):
    assert_on_astronaut_face(imaging.detect_face(astronaut[:, ::-1]), mirrored=True)
    big = np.asarray(Image.fromarray(astronaut).resize((1536, 1536), Image.Resampling.BILINEAR))
    assert_on_astronaut_face(imaging.detect_face(big), scale=3.0)  # found on a reduced copy


def test_detect_face_finds_nothing_on_a_plain_wall():
    assert imaging.detect_face(smooth(400, 300)) is None


def test_detect_face_refuses_colour_arrays():
    with pytest.raises(ValueError):
        imaging.detect_face(np.zeros((100, 100, 3), np.float32))


def test_detect_face_is_thread_safe(astronaut):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        faces = list(pool.map(imaging.detect_face, [astronaut] * 8))
    assert len({f.box for f in faces}) == 1


def test_profile_faces_are_found_both_ways():
    """Pointing'04 profiles (person03, tilt 0, pan +-75/90)."""
    from vislib import data

    photos = [p for p in data.load_three_amigos() if p.person == "person03" and p.tilt == 0 and abs(p.pan) >= 75]
    assert len(photos) == 4
    for photo in photos:
        face = imaging.detect_face(load_photo(photo.path.read_bytes()))
        # pan < 0 faces the image's right edge: the profile cascade finds it on the mirror image.
        assert face is not None and face.detector == ("profile (mirrored)" if photo.pan < 0 else "profile")
        cx, cy, w, h = photo.face_box
        assert abs(face.cx - cx) < 0.5 * w and abs(face.cy - cy) < 0.5 * h, photo.file


def test_the_last_pass_finds_turned_heads_the_sure_passes_miss():
    """Pointing'04 person02 turned far to one side: only the last pass (fewer votes) finds them,
    and on the face (within half a face of the database's box)."""
    from vislib import data

    files = ("person02/left/person02127-15-90.jpg", "person02/left/person02241+0-75.jpg",
             "person02/right/person02152+0+90.jpg")
    photos = {p.file: p for p in data.load_pointing04_train()}
    for file in files:
        photo = photos[file]
        face = imaging.detect_face(load_photo(photo.path.read_bytes()))
        assert face is not None and face.detector.endswith(imaging.LESS_SURE), file
        cx, cy, w, h = photo.face_box
        assert abs(face.cx - cx) < 0.5 * h and abs(face.cy - cy) < 0.5 * h, file
        assert imaging.frame(load_photo(photo.path.read_bytes())).source == f"detected face ({face.detector})"


def test_frame_uses_the_detected_face(astronaut):
    framing = imaging.frame(astronaut)
    assert isinstance(framing, Framing)
    assert framing.source == "detected face (frontal)"
    face = imaging.detect_face(astronaut)
    assert framing.box == pytest.approx(imaging.cmu_frame(face.box, astronaut.shape))
    assert framing.input.shape == INPUT_SHAPE
    np.testing.assert_array_equal(framing.input, imaging.to_network_input(astronaut, framing.box))


def test_frame_with_zoom_and_a_given_face_box(astronaut):
    framing = imaging.frame(astronaut, face=(225, 125, 60, 72), zoom=1.5)
    assert framing.source == "face box"
    assert framing.box == pytest.approx(imaging.cmu_frame((225, 125, 60, 72), astronaut.shape, 1.5))
    given_face = Face(225, 125, 60, 72, "profile (mirrored)")
    assert imaging.frame(astronaut, face=given_face).source == "detected face (profile (mirrored))"


def test_frame_whole_photo_when_asked_or_when_no_face(astronaut):
    asked = imaging.frame(astronaut, use_whole_photo=True)
    assert asked.source == "whole photo"
    assert asked.box == pytest.approx(imaging.whole_frame(astronaut.shape))
    np.testing.assert_array_equal(asked.input, imaging.to_network_input(astronaut))
    wall = imaging.frame(smooth(400, 300))
    assert wall.source == "whole photo" and wall.input.shape == INPUT_SHAPE


# ---------------------------------------------------------------- the shipped sample photos

SAMPLES = sorted(p for p in Path(SAMPLES_DIR).glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def test_sample_photos_are_shipped_with_their_source():
    assert 4 <= len(SAMPLES) <= 8
    readme = (Path(SAMPLES_DIR) / "README.md").read_text()
    assert "public domain" in readme.lower() and "NASA" in readme and "scikit-image" in readme
    assert "CC0 by the photographer (Lav Varshney)" in readme  # the cameraman's licence, as scikit-image gives it
    for path in SAMPLES:
        assert path.name in readme
        assert path.stat().st_size <= 60_000, path.name


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_photos_load_and_show_a_face(path):
    gray = load_photo(path.read_bytes())
    framing = imaging.frame(gray)
    assert framing.source.startswith("detected face"), path.name


def test_this_pillow_reads_webp():
    assert features.check("webp"), "WebP uploads need a Pillow built with WebP (the PyPI wheels are)"


def test_moving_a_crop_shifts_it_by_fractions_of_its_own_size():
    box = (10.0, 20.0, 74.0, 80.0)  # 64 wide, 60 tall
    assert imaging.moved(box, right=0.25, down=-0.5) == (26.0, -10.0, 90.0, 50.0)
    assert imaging.moved(box) == box


def test_frame_moves_a_face_crop_by_hand_but_never_the_whole_photo():
    gray = np.full((300, 400), 0.5, np.float32)
    face = (200.0, 150.0, 40.0, 50.0)
    framed = imaging.frame(gray, face, right=0.25, down=-0.1)
    assert framed.box == imaging.moved(imaging.cmu_frame(face, gray.shape), 0.25, -0.1)
    assert framed.source == "face box, moved by hand"
    whole = imaging.frame(gray, face, use_whole_photo=True, right=0.25)
    assert whole.box == imaging.whole_frame(gray.shape) and whole.source == "whole photo"


def test_share_on_photo_is_the_part_of_the_crop_that_is_not_padding():
    assert imaging.share_on_photo((0, 0, 64, 60), (60, 64)) == 1.0
    assert imaging.share_on_photo((32, 0, 96, 60), (60, 64)) == pytest.approx(0.5)
    assert imaging.share_on_photo((-100, -100, -10, -10), (60, 64)) == 0.0


def test_a_long_thin_strip_is_drawn_on_a_margin_not_a_pixel_high():
    """Your photo drew a 4000x8 strip 0 px tall beside its caption (a client's pass in Chromium)."""
    from vislib import plots

    strip = np.full((8, 4000), 0.2, np.float32)
    shown = plots.with_box(strip, (0.0, 0.0, 8.5, 8.0))
    assert shown.shape[0] >= 48 and shown.shape[1] == 480
    dark = np.flatnonzero((shown[:, 100] < 100).all(axis=1))  # the strip, dark, across the middle
    assert len(dark) >= 1 and abs(dark.mean() - shown.shape[0] / 2) <= 2
    assert (shown[0, 100] > 200).all()  # the margin above it, light
    photo = np.full((300, 400), 0.5, np.float32)  # an ordinary photo: as before, no margin
    assert plots.with_box(photo, (10.0, 10.0, 100.0, 100.0)).shape == (300, 400, 3)


def test_how_a_photo_was_framed_is_said_in_words_a_client_reads():
    assert (imaging.framing_in_words("detected face (profile (mirrored), less sure)")
            == "the face the detector found (from the side; it was less sure)")
    assert imaging.framing_in_words("detected face (frontal), moved by hand") == \
        "the face the detector found (from the front), moved by hand"
    assert imaging.framing_in_words("whole photo") == "whole photo"
    assert imaging.framing_in_words("face box") == "face box"
