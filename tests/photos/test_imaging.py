"""photos.imaging as plain Python: content detection, limits before decoding,
metadata stripped, orientation applied, three versions."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile

from photos import imaging
from tests.photos import images

LIMITS = imaging.Limits(max_pixels=50_000_000, max_side=16_000, screen_side=1600, thumb_side=320)


def _reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_jpeg_with_gps_exif_comes_back_with_no_exif_at_all():
    source = images.jpeg(gps=True)
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(images.GPS_IFD)  # the fixture has GPS
    cleaned = imaging.clean(io.BytesIO(source), LIMITS)
    for version in (cleaned.full, cleaned.screen, cleaned.thumb):
        image = _reopen(version.data)
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert not set(image.info) & {"exif", "xmp", "icc_profile", "comment", "photoshop"}
        for secret in (b"Exif", images.SERIAL.encode(), images.MODEL.encode(), b"2024:05:06"):
            assert secret not in version.data


def test_orientation_is_applied_before_the_exif_goes():
    # 64 x 48 with "rotate 90 clockwise" (orientation 6): upright it is 48 x 64,
    # and the left (blue) half becomes the top.
    cleaned = imaging.clean(io.BytesIO(images.jpeg(orientation=6)), LIMITS)
    image = _reopen(cleaned.full.data)
    assert image.size == (48, 64)
    r, g, b = image.getpixel((24, 5))
    assert b > r  # blue on top
    r, g, b = image.getpixel((24, 58))
    assert r > b


def test_png_is_recognised_by_content_and_flattened():
    cleaned = imaging.clean(io.BytesIO(images.png()), LIMITS)
    assert cleaned.source_format == "PNG"
    assert _reopen(cleaned.full.data).mode == "RGB"


def test_heic_is_accepted_and_its_exif_stripped():
    cleaned = imaging.clean(io.BytesIO(images.heic(gps=True)), LIMITS)
    assert cleaned.source_format == "HEIC"
    image = _reopen(cleaned.full.data)
    assert image.format == "JPEG" and len(image.getexif()) == 0
    assert images.SERIAL.encode() not in cleaned.full.data


def test_text_is_refused_whatever_its_name():
    with pytest.raises(imaging.ImageRejected, match="not a JPEG, PNG or HEIC"):
        imaging.clean(io.BytesIO(b"Patient notes, not a picture\n" * 20), LIMITS)


def test_other_image_formats_are_refused():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "GIF")
    with pytest.raises(imaging.ImageRejected, match="GIF"):
        imaging.clean(io.BytesIO(buffer.getvalue()), LIMITS)


def test_a_truncated_jpeg_is_refused_as_damaged():
    data = images.jpeg(size=(400, 300), quality=95)
    with pytest.raises(imaging.ImageRejected, match="damaged"):
        imaging.clean(io.BytesIO(data[: len(data) // 2]), LIMITS)


@pytest.fixture
def decoder_forbidden(monkeypatch):
    """Decoding anything is a test failure: limits must act on the header alone."""
    def fail(self, *args, **kwargs):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", fail)
    monkeypatch.setattr(Image.Image, "load", fail)


def test_20000_by_20000_pixels_is_refused_before_decoding(decoder_forbidden):
    bomb = images.png_header_only(20_000, 20_000)
    with pytest.raises(imaging.ImageRejected, match="20000 x 20000 pixels|more pixels than the limit"):
        imaging.clean(io.BytesIO(bomb), LIMITS)


def test_the_pixel_limit_is_ours_not_only_pillows(decoder_forbidden, monkeypatch):
    # Below Pillow's own bomb threshold but above our limit: still refused from the header.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with pytest.raises(imaging.ImageRejected, match="9000 x 9000 pixels"):
        imaging.clean(io.BytesIO(images.png_header_only(9_000, 9_000)), LIMITS)


def test_three_versions_of_the_right_sizes():
    cleaned = imaging.clean(io.BytesIO(images.jpeg(size=(4000, 3000))), LIMITS)
    assert (cleaned.full.width, cleaned.full.height) == (4000, 3000)
    assert (cleaned.screen.width, cleaned.screen.height) == (1600, 1200)
    assert (cleaned.thumb.width, cleaned.thumb.height) == (320, 240)
    assert len(cleaned.thumb.data) < len(cleaned.screen.data) < len(cleaned.full.data)
