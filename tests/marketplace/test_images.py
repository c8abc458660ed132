"""marketplace.images: a picture above the pixel limit is refused from its header, before any
pixel is decoded; a large JPEG is decoded reduced; the refusal is in the caller's class."""

import io
from unittest import mock

import pytest
from django.conf import settings
from django.utils import translation
from PIL import Image

from marketplace.errors import DomainError
from marketplace.images import image_decode, image_size
from tests.factories import no_decoding, png_bomb


class AppError(DomainError):
    pass


def _encoded(size, fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_the_limit_is_40_megapixels_and_pillow_uses_the_same():
    assert settings.MAX_IMAGE_PIXELS == 40_000_000
    assert Image.MAX_IMAGE_PIXELS == 40_000_000


@pytest.mark.parametrize("read", [image_size, image_decode])
def test_a_12000_by_12000_png_is_refused_from_its_header(read):
    data = png_bomb()
    assert len(data) < 600_000
    with no_decoding() as load, pytest.raises(AppError) as info:
        read(data, error=AppError)
    assert (info.value.code, info.value.extra) == ("image_too_large", {"max_pixels": 40_000_000})
    assert str(info.value.message) == "图片超过 40 百万像素。请缩小后重新上传。"  # the site's default language
    assert load.call_count == 0
    with translation.override("en"), pytest.raises(AppError) as info:
        read(data, error=AppError)
    assert str(info.value.message) == "The image is larger than 40 megapixels. Scale it down and upload it again."


@pytest.mark.parametrize(("size", "refused"), [((10, 10), False), ((11, 10), True), ((100, 1), False)])
def test_the_limit_counts_pixels_and_follows_the_setting(settings, size, refused):
    settings.MAX_IMAGE_PIXELS = 100
    data = png_bomb(*size)
    if refused:
        with pytest.raises(AppError) as info:
            image_size(data, error=AppError)
        assert (info.value.code, info.value.extra) == ("image_too_large", {"max_pixels": 100})
    else:
        assert image_size(data, error=AppError) == size
        assert image_decode(data, error=AppError).size == size


@pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
def test_pillows_own_bomb_warning_made_an_error_is_a_refusal(settings):
    settings.MAX_IMAGE_PIXELS = 1000
    with mock.patch.object(Image, "MAX_IMAGE_PIXELS", 50), pytest.raises(AppError) as info:
        image_decode(png_bomb(10, 6), error=AppError)
    assert info.value.code == "image_too_large"


def test_pillows_own_bomb_error_is_a_refusal(settings):
    # Above twice its limit Pillow refuses to open the file at all.
    settings.MAX_IMAGE_PIXELS = 1000
    with mock.patch.object(Image, "MAX_IMAGE_PIXELS", 50), pytest.raises(AppError) as info:
        image_size(png_bomb(10, 11), error=AppError)
    assert info.value.code == "image_too_large"


def test_a_large_jpeg_is_decoded_reduced_when_less_is_needed():
    data = _encoded((1600, 1200), "JPEG")
    assert image_decode(data, error=AppError).size == (1600, 1200)
    # libjpeg scales by 1/8, 1/4 or 1/2 while decoding, keeping both sides ≥ the fit.
    assert image_decode(data, fit=300, error=AppError).size == (400, 300)
    assert image_decode(data, fit=400, error=AppError).size == (800, 600)
    assert image_decode(data, fit=100, error=AppError).size == (200, 150)
    # A PNG cannot be decoded reduced: it is decoded whole and resized by the caller.
    assert image_decode(_encoded((1600, 1200)), fit=400, error=AppError).size == (1600, 1200)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 10,
        b"\xff\xd8\xff" + b"\x00" * 40,
        _encoded((20, 20), "GIF"),
        _encoded((20, 20), "BMP"),
        _encoded((40, 30))[:-30],
    ],
)
def test_anything_else_is_unreadable(data):
    with pytest.raises(AppError) as info:
        image_decode(data, error=AppError)
    assert info.value.code == "file_corrupt"
