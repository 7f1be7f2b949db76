"""Files a phone or a mischievous user might upload, made in memory for the tests."""
import io
import os
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image

GPS_LATITUDE = (35.0, 6.0, 30.0)


def photo_bytes(size=(400, 300), color=(200, 30, 30), gps=True, orientation=None):
    """A JPEG as a phone writes it: with the camera's GPS position in its EXIF."""
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCam"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: GPS_LATITUDE,
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (118.0, 3.0, 0.0),
        })
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif)
    return output.getvalue()


def photo(name="家访.jpg", **kwargs):
    return SimpleUploadedFile(name, photo_bytes(**kwargs), content_type="image/jpeg")


def not_a_photo(name="照片.jpg"):
    """Text with a photo's name and type: only decoding tells."""
    return SimpleUploadedFile(name, b"%PDF-1.4 not a picture at all\n" * 100, content_type="image/jpeg")


def twenty_megabyte_photo():
    """A real, decodable PNG of noise that weighs more than 20 MB."""
    side = 2700
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    output = io.BytesIO()
    image.save(output, format="PNG", compress_level=0)
    content = output.getvalue()
    assert len(content) > 20 * 1024 * 1024
    return SimpleUploadedFile("大照片.png", content, content_type="image/png")


def decompression_bomb(width=100_000, height=100_000):
    """A tiny PNG whose header claims 10 gigapixels (a decompression bomb)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    content = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    return SimpleUploadedFile("bomb.png", content, content_type="image/png")


def exif_of(content):
    """The EXIF tags and the GPS block of a stored JPEG."""
    image = Image.open(io.BytesIO(content))
    exif = image.getexif()
    return dict(exif), dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
