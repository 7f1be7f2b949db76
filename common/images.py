"""Photos and scans people upload as evidence: checked by decoding them, re-encoded without
their metadata, and made small enough to show.

An upload is trusted for nothing: not its name, not its declared type. Pillow must decode
it as one of a few photo formats, its dimensions are bounded before any pixel is decoded
(so a small file that would unpack into gigabytes is refused), and what is kept is a new
JPEG drawn from the pixels only, so EXIF (with the GPS position of the camera), comments
and any other embedded data are gone.
"""
import io
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A 50-megapixel phone photo passes; a decompression bomb does not.
MAX_PIXELS = 60_000_000
MAX_SIDE = 12_000
# What is kept: long side of the picture shown on a page, and of its thumbnail.
DISPLAY_SIDE = 2000
THUMBNAIL_SIDE = 320
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")  # a multi-picture JPEG (MPO) opens as JPEG
JPEG_QUALITY = 85


@dataclass(frozen=True)
class PreparedImage:
    """The cleaned picture and its thumbnail as JPEG bytes."""

    display: bytes
    thumbnail: bytes
    width: int
    height: int


def prepare_image(upload):
    """A PreparedImage from an uploaded file, or a ValidationError saying in Chinese what
    is wrong with it (too large, not a photo, too many pixels)."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("“%(name)s” is larger than 10 MB."), code="too_large", params={"name": upload.name}
        )
    picture = _decoded(upload)
    picture = ImageOps.exif_transpose(picture)  # keep the photo upright once EXIF is gone
    picture = _on_white(picture)
    width, height = _scaled(picture, DISPLAY_SIDE)
    return PreparedImage(
        display=_jpeg(picture, (width, height)),
        thumbnail=_jpeg(picture, _scaled(picture, THUMBNAIL_SIDE)),
        width=width,
        height=height,
    )


def _decoded(upload):
    not_a_photo = ValidationError(
        _("“%(name)s” is not a photo (JPEG, PNG or WebP)."), code="not_an_image", params={"name": upload.name}
    )
    too_big = ValidationError(
        _("“%(name)s” has too many pixels; take the photo at a lower resolution."),
        code="too_many_pixels",
        params={"name": upload.name},
    )
    upload.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            picture = Image.open(upload, formats=ACCEPTED_FORMATS)
            width, height = picture.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise too_big
            if picture.format == "JPEG":  # decode at the size kept: a fraction of the memory
                picture.draft("RGB", (DISPLAY_SIDE, DISPLAY_SIDE))
            picture.load()  # decoding the pixels is the check of the type
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise too_big from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
            raise not_a_photo from error
    return picture


def _on_white(picture):
    """RGB pixels only; a transparent PNG is laid on white rather than on black."""
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return picture.convert("RGB")


def _scaled(picture, side):
    """The picture's size brought down (never up) to at most `side` on its long side."""
    ratio = min(1, side / max(picture.width, picture.height))
    return max(1, round(picture.width * ratio)), max(1, round(picture.height * ratio))


def _jpeg(picture, size):
    """A new JPEG of the pixels at `size`; nothing of the original file's metadata is
    passed to the encoder."""
    output = io.BytesIO()
    picture.resize(size, Image.Resampling.LANCZOS).save(output, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return output.getvalue()
