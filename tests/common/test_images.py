"""Uploaded pictures: decoded to be believed, bounded before decoding, kept without EXIF."""
import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from common.images import DISPLAY_SIDE, THUMBNAIL_SIDE, prepare_image
from tests.aid.evidence.pictures import (
    GPS_LATITUDE,
    decompression_bomb,
    exif_of,
    not_a_photo,
    photo,
    photo_bytes,
    twenty_megabyte_photo,
)


def test_the_phone_photo_used_in_these_tests_carries_gps():
    """Otherwise the stripping tests below could not fail."""
    tags, gps = exif_of(photo_bytes())
    assert gps and gps[2] == GPS_LATITUDE
    assert tags


def test_the_kept_picture_has_no_exif_and_no_gps():
    prepared = prepare_image(photo())
    for content in (prepared.display, prepared.thumbnail):
        tags, gps = exif_of(content)
        assert tags == {} and gps == {}
        assert b"Exif" not in content and b"PhoneCam" not in content


def test_a_large_photo_is_resized_for_display_and_thumbnail():
    prepared = prepare_image(photo(size=(4000, 3000)))
    display = Image.open(io.BytesIO(prepared.display))
    thumbnail = Image.open(io.BytesIO(prepared.thumbnail))
    assert display.format == "JPEG" and display.size == (DISPLAY_SIDE, 1500)
    assert (prepared.width, prepared.height) == (DISPLAY_SIDE, 1500)
    assert thumbnail.size == (THUMBNAIL_SIDE, 240)


def test_a_small_photo_is_not_enlarged():
    prepared = prepare_image(photo(size=(400, 300)))
    assert Image.open(io.BytesIO(prepared.display)).size == (400, 300)


def test_a_photo_taken_sideways_is_kept_upright():
    """EXIF orientation 6 (turned 90°): applied to the pixels before EXIF is dropped."""
    prepared = prepare_image(photo(size=(400, 300), orientation=6))
    assert Image.open(io.BytesIO(prepared.display)).size == (300, 400)


def test_a_transparent_png_is_laid_on_white():
    output = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(output, format="PNG")
    upload = photo()
    upload.file = io.BytesIO(output.getvalue())
    upload.size = len(output.getvalue())
    pixel = Image.open(io.BytesIO(prepare_image(upload).display)).getpixel((5, 5))
    assert min(pixel) > 240


@pytest.mark.parametrize(
    ("make_upload", "code"),
    [
        (not_a_photo, "not_an_image"),
        (twenty_megabyte_photo, "too_large"),
        (decompression_bomb, "too_many_pixels"),
    ],
)
def test_what_is_refused(make_upload, code):
    with pytest.raises(ValidationError) as raised:
        prepare_image(make_upload())
    assert raised.value.code == code


def test_a_gif_is_not_accepted_even_though_pillow_reads_it():
    output = io.BytesIO()
    Image.new("RGB", (10, 10)).save(output, format="GIF")
    upload = photo(name="动图.gif")
    upload.file = io.BytesIO(output.getvalue())
    upload.size = len(output.getvalue())
    with pytest.raises(ValidationError):
        prepare_image(upload)
