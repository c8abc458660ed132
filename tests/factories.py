"""factory_boy factories shared by the suite."""

import contextlib
import functools
import struct
import zlib
from unittest import mock

import factory
from django.contrib.auth import get_user_model
from PIL import ImageFile

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    phone = ""
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


@contextlib.contextmanager
def no_decoding():
    """Fails the test if a picture is decoded inside the block (Pillow's load of pixels)."""
    with mock.patch.object(ImageFile.ImageFile, "load", side_effect=AssertionError("a pixel was decoded")) as load:
        yield load


@functools.cache
def png_bomb(width: int = 12000, height: int = 12000) -> bytes:
    """A valid RGB PNG of width × height black pixels: about 420 KB for the default size,
    which decodes to 432 MB of pixels (and Pillow's working copies on top): the file of
    issue #10, finding 5. Built in milliseconds, never holding the pixels: a band of rows
    is compressed once, ending with a full flush (which resets the compressor, so the same
    band compresses to the same bytes) and repeated; zlib's checksum of n zero bytes is
    (n mod 65521) << 16 | 1."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\x00" * (1 + 3 * width)  # filter byte "none", then the row's pixels
    band_rows = next(n for n in (100, 50, 25, 10, 5, 1) if height % n == 0)
    band = row * band_rows
    packer = zlib.compressobj(9)
    first = packer.compress(band) + packer.flush(zlib.Z_FULL_FLUSH)  # with the 2-byte header
    again = packer.compress(band) + packer.flush(zlib.Z_FULL_FLUSH)
    last_block = packer.flush(zlib.Z_FINISH)[:-4]
    total = len(row) * height
    checksum = struct.pack(">I", ((total % 65521) << 16) | 1)
    idat = first + again * (height // band_rows - 1) + last_block + checksum
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
