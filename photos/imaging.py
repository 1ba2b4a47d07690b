"""Photographs in, clean JPEGs out (Pillow; pillow-heif for HEIC).

Every check that can be made from the file's header is made before a single
pixel is decoded: the format comes from the content (Pillow's own detection,
never the file's name), the pixel count from the header. Only then is the
image decoded, turned upright (the EXIF orientation applied), converted to
sRGB and written anew with no metadata at all: no EXIF (GPS, device serials,
timestamps), no XMP, no ICC profile, no comment. Three versions are made
once, at upload: the full image, a screen-size one and a thumbnail.

No Django import: tested as plain Python.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF (iPhones): pillow-heif registers a Pillow opener.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:  # pragma: no cover - pinned in requirements; kept optional for tooling
    HEIF_SUPPORTED = False

# Pillow's own names for the formats a clinic's phones and cameras produce.
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "HEIF": "HEIC", "MPO": "JPEG"}
# Truncated files are errors, not half-grey images.
ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageRejected(ValueError):
    """The file is not a photograph this application accepts; the message says why."""


@dataclass(frozen=True)
class Limits:
    max_pixels: int  # width x height, checked from the header
    max_side: int  # the longest side, checked from the header
    screen_side: int  # the screen version's longest side
    thumb_side: int  # the thumbnail's longest side
    full_quality: int = 90
    screen_quality: int = 82
    thumb_quality: int = 70


@dataclass(frozen=True)
class Version:
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class CleanImage:
    source_format: str  # JPEG, PNG or HEIC: what the content was
    full: Version
    screen: Version
    thumb: Version
    sha256: str  # of the full version as stored


def inspect(stream: BinaryIO, limits: Limits) -> Image.Image:
    """Open the image lazily (header only) and refuse what must not be decoded."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that;
            # here both are refusals.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(
            f"has more pixels than the limit of {limits.max_pixels // 1_000_000} MP "
            "(refused before decoding)."
        ) from None
    except UnidentifiedImageError:
        raise ImageRejected("is not a JPEG, PNG or HEIC photograph (or is damaged).") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected("could not be read as an image (damaged file).") from None
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(
            f"is a {image.format} image; only JPEG, PNG and HEIC photographs are accepted."
        )
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageRejected("has no pixels.")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        megapixels = width * height / 1_000_000
        raise ImageRejected(
            f"is {width} x {height} pixels ({megapixels:.0f} MP); the limit is "
            f"{limits.max_pixels // 1_000_000} MP and {limits.max_side} pixels a side."
        )
    return image


def _decoded(image: Image.Image) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning,
            Image.DecompressionBombError):
        raise ImageRejected("is damaged or incomplete and could not be decoded.") from None
    return image


_SRGB = ImageCms.createProfile("sRGB")


def _upright_srgb(image: Image.Image) -> Image.Image:
    """Orientation applied (before the EXIF goes), colours in sRGB, RGB mode."""
    icc = image.info.get("icc_profile")
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        # Transparency means nothing on a photograph: flatten on white.
        rgba = upright.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        upright = flat
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            upright = ImageCms.profileToProfile(upright, source, _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: keep the pixels as they are
    return upright


def _encode(image: Image.Image, quality: int, *, detail: bool = False) -> Version:
    # Empty info: Pillow writes back `comment`, `exif`, `icc_profile` or `xmp`
    # it finds there; nothing of the source survives.
    image.info = {}
    buffer = io.BytesIO()
    if detail:
        # The full version keeps full colour resolution (the edge of an erythema);
        # no optimize/progressive pass: on 12 MP they triple the encode time for
        # 6% fewer bytes (bench/bench_photos.py).
        image.save(buffer, format="JPEG", quality=quality, subsampling="4:4:4")
    else:
        image.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
    return Version(buffer.getvalue(), image.width, image.height)


def fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The size of an image of `size` once its longest side is at most `side`."""
    width, height = size
    scale = min(1.0, side / max(width, height))
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def thumb_size(full: tuple[int, int], limits_screen: int, limits_thumb: int) -> tuple[int, int]:
    """The thumbnail's pixels, from the full version's (the thumbnail is made
    from the screen version): what a page writes in <img width height>."""
    return fitted(fitted(full, limits_screen), limits_thumb)


def _resized(image: Image.Image, side: int) -> Image.Image:
    size = fitted(image.size, side)
    if size == image.size:
        return image.copy()
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def clean(stream: BinaryIO, limits: Limits) -> CleanImage:
    """The three clean versions of one uploaded photograph, or ImageRejected."""
    image = inspect(stream, limits)
    source_format = ACCEPTED_FORMATS[image.format]
    upright = _upright_srgb(_decoded(image))
    screen_image = _resized(upright, limits.screen_side)
    # The thumbnail from the screen version: the same picture for a fraction of the work.
    thumb = _encode(_resized(screen_image, limits.thumb_side), limits.thumb_quality)
    screen = _encode(screen_image, limits.screen_quality)
    full = _encode(upright, limits.full_quality, detail=True)
    return CleanImage(source_format, full, screen, thumb, hashlib.sha256(full.data).hexdigest())


# APP0 is the JFIF header every JPEG written by _encode carries; anything else
# (APP1 EXIF/XMP, APP2 ICC, APP13 Photoshop, ...) is metadata.
_CLEAN_SEGMENTS = {"APP0"}


def _metadata_left(image: Image.Image) -> list[str]:
    found = {marker for marker, _ in getattr(image, "applist", [])} - _CLEAN_SEGMENTS
    if "comment" in image.info:
        found.add("COM")
    return sorted(found)


def check_restorable(stream: BinaryIO, limits: Limits) -> Image.Image:
    """An exported full version, checked as an upload is (content, pixel limits,
    decoded whole so a truncated file is refused) and found clean: a JPEG with
    no metadata segment, as `_encode` writes it. Returns the decoded image."""
    image = inspect(stream, limits)
    if image.format not in ("JPEG", "MPO"):
        raise ImageRejected(
            f"is a {ACCEPTED_FORMATS[image.format]} image; exported photographs are JPEG files."
        )
    left = _metadata_left(image)
    if left:
        raise ImageRejected(
            f"carries metadata ({', '.join(left)}), which an exported photograph never has: "
            "it is not the file the export wrote."
        )
    return _decoded(image)


def restore(data: bytes, limits: Limits) -> CleanImage:
    """An exported full version back into the three versions: the full one kept
    byte for byte (it is already clean, and its hash is the document's), the
    screen and thumbnail versions made anew from it as an upload makes them."""
    image = check_restorable(io.BytesIO(data), limits)
    upright = _upright_srgb(image)
    screen_image = _resized(upright, limits.screen_side)
    thumb = _encode(_resized(screen_image, limits.thumb_side), limits.thumb_quality)
    screen = _encode(screen_image, limits.screen_quality)
    full = Version(data, upright.width, upright.height)
    return CleanImage("JPEG", full, screen, thumb, hashlib.sha256(data).hexdigest())
