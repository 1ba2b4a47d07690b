"""Synthetic test images, made here (no photograph of anyone)."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
SERIAL = "SN-4242-SECRET"
MODEL = "SecretCam X1"


def _exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0110] = MODEL  # Model
    exif[0x0132] = "2024:05:06 07:08:09"  # DateTime
    exif[0xA431] = SERIAL  # BodySerialNumber
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (41.0, 24.0, 17.5)
    gps[3] = "E"
    gps[4] = (2.0, 10.0, 33.3)
    return exif


def jpeg(size=(64, 48), color=(200, 90, 80), *, gps: bool = False, orientation: int | None = None,
         quality: int = 90) -> bytes:
    image = Image.new("RGB", size, color)
    # A left half of another colour, to see the orientation applied.
    image.paste((20, 40, 160), (0, 0, size[0] // 2, size[1]))
    buffer = io.BytesIO()
    kwargs = {"exif": _exif(orientation).tobytes()} if gps or orientation else {}
    image.save(buffer, "JPEG", quality=quality, comment=b"taken at home of " + MODEL.encode(), **kwargs)
    return buffer.getvalue()


def png(size=(50, 40), color=(10, 200, 30, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def heic(size=(64, 48), *, gps: bool = False) -> bytes:
    import photos.imaging  # noqa: F401  (registers the HEIF opener)

    image = Image.new("RGB", size, (180, 120, 100))
    buffer = io.BytesIO()
    kwargs = {"exif": _exif().tobytes()} if gps else {}
    image.save(buffer, "HEIF", quality=60, **kwargs)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height pixels: decoding it would allocate
    gigabytes; its header alone must be enough to refuse it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def textured_jpeg(size=(800, 600), seed_colour=(205, 150, 130)) -> bytes:
    """Skin-coloured photographic texture (blurred noise, as bench/bench_photos.py
    makes): its thumbnail weighs what a real one does (~11 KB), where a flat
    colour's would be a few hundred bytes."""
    from PIL import ImageFilter

    cells = (max(1, size[0] // 4), max(1, size[1] // 4))
    noise = Image.effect_noise(cells, 60).convert("RGB")
    texture = noise.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    image = Image.blend(Image.new("RGB", size, seed_colour), texture, 0.35)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()
