import hashlib
import os
import random
from io import BytesIO
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from .photo_samples import RED, encode, noisy_jpeg, phone_exif, photo, png_claiming, srgb_profile

from app.photos import THUMB_SIDE, PhotoError, process
from app.storage import photo_paths, store, write_atomic


def opened(data: bytes) -> Image.Image:
    im = Image.open(BytesIO(data))
    im.load()
    return im


def is_red(pixel) -> bool:
    r, g, b = pixel
    return r > 180 and g < 80 and b < 80


def test_camera_photo_is_downscaled_with_a_small_thumbnail():
    out = process(photo((4000, 3000)))

    big, thumb = opened(out.jpeg), opened(out.thumb)
    assert (big.format, big.size) == ("JPEG", (1600, 1200))
    assert (out.width, out.height) == (1600, 1200)
    assert thumb.format == "JPEG"
    assert max(thumb.size) == THUMB_SIDE
    assert is_red(big.getpixel((100, 100)))


def test_small_photo_is_not_enlarged():
    out = process(photo((640, 480)))

    assert opened(out.jpeg).size == (640, 480)


def test_sideways_phone_photo_comes_out_upright():
    # Stored landscape with the red block top-left; orientation 6 means "turn it 90° clockwise".
    out = process(photo((400, 300), exif=phone_exif(orientation=6)))

    im = opened(out.jpeg)
    assert im.size == (300, 400)
    assert is_red(im.getpixel((270, 30)))  # upright, the red block is now top-right
    assert not is_red(im.getpixel((30, 30)))


def test_no_location_or_other_metadata_is_kept():
    source = photo(
        (400, 300), exif=phone_exif(orientation=6), icc_profile=srgb_profile(), comment=b"Flat 4B, Elm St"
    )
    assert opened(source).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the sample really has a location

    out = process(source)

    for data in (out.jpeg, out.thumb):
        im = opened(data)
        assert not im.getexif()
        assert not im.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "icc_profile", "comment", "xmp"} & im.info.keys()
        assert b"PhoneMaker" not in data and b"Elm St" not in data


def test_screenshot_with_transparency_is_flattened_on_white():
    im = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    im.paste((*RED, 255), (0, 0, 200, 200))

    out = opened(process(encode(im, "PNG")).jpeg)

    assert out.size == (800, 600)
    assert is_red(out.getpixel((100, 100)))
    assert min(out.getpixel((700, 500))) > 245


def test_palette_png_with_transparent_colour_is_flattened_on_white():
    im = Image.new("P", (200, 100), 0)
    im.putpalette([0, 0, 0, *RED])
    im.paste(1, (0, 0, 100, 100))

    out = opened(process(encode(im, "PNG", transparency=0)).jpeg)

    assert is_red(out.getpixel((50, 50)))
    assert min(out.getpixel((150, 50))) > 245


def test_webp_is_accepted():
    out = process(photo((2000, 1000), "WEBP"))

    assert opened(out.jpeg).size == (1600, 800)


def test_iphone_heic_is_accepted_and_downscaled():
    out = process(photo((2400, 1200), "HEIF"))

    im = opened(out.jpeg)
    assert (im.format, im.size) == ("JPEG", (1600, 800))
    assert is_red(im.getpixel((100, 100)))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_upload_cut_short_is_reported_as_truncated(fmt):
    data = noisy_jpeg() if fmt == "JPEG" else encode(opened(noisy_jpeg((320, 240))), fmt)

    with pytest.raises(PhotoError) as e:
        process(data[: len(data) // 2])

    assert e.value.code == "truncated"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(random.Random(0).randbytes(5000), id="random"),
        pytest.param(b"", id="empty"),
        pytest.param(b"Boiler room checked, all fine.\n", id="text"),
        pytest.param(b"%PDF-1.7\n", id="pdf"),
        pytest.param(photo((64, 48), "GIF"), id="gif"),
        pytest.param(photo((64, 48), "BMP"), id="bmp"),
        pytest.param(photo((64, 48), "TIFF"), id="tiff"),
    ],
)
def test_anything_but_a_photo_is_refused(data):
    with pytest.raises(PhotoError) as e:
        process(data)

    assert e.value.code == "not_image"
    assert "JPEG" in str(e.value)


def test_photo_over_50_megapixels_is_refused():
    with pytest.raises(PhotoError) as e:
        process(encode(Image.new("1", (8000, 7000)), "PNG"))

    assert e.value.code == "too_many_pixels"


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((8000, 7000), id="over-ours"),
        pytest.param((10_000, 10_000), id="pillow-warns"),
        pytest.param((20_000, 20_000), id="pillow-refuses"),
    ],
)
def test_decompression_bomb_is_refused_before_decoding(size):
    # A few hundred bytes claiming up to 400 MP: decoding it would be "truncated" or an OOM.
    with pytest.raises(PhotoError) as e:
        process(png_claiming(*size))

    assert e.value.code == "too_many_pixels"


def test_stored_photo_is_named_by_its_content(tmp_path):
    processed = process(photo((800, 600)))

    sha = store(str(tmp_path), processed)

    big, thumb = photo_paths(str(tmp_path), sha)
    assert big == str(tmp_path / sha[:2] / f"{sha}.jpg")
    assert thumb == str(tmp_path / sha[:2] / f"{sha}.thumb.jpg")
    assert Path(big).read_bytes() == processed.jpeg
    assert Path(thumb).read_bytes() == processed.thumb
    assert hashlib.sha256(Path(big).read_bytes()).hexdigest() == sha
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [f"{sha}.jpg", f"{sha}.thumb.jpg"]


def test_storing_the_same_photo_twice_keeps_one_copy(tmp_path):
    processed = process(photo((800, 600)))

    assert store(str(tmp_path), processed) == store(str(tmp_path), processed)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 2


def test_write_atomic_replaces_the_file_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "new" / "dir" / "file.jpg"

    write_atomic(str(path), b"old")
    write_atomic(str(path), b"new")

    assert path.read_bytes() == b"new"
    assert os.listdir(path.parent) == ["file.jpg"]


def test_failed_write_leaves_the_old_file_and_no_temp_files(tmp_path):
    path = tmp_path / "file.jpg"
    write_atomic(str(path), b"old")

    with pytest.raises(TypeError):
        write_atomic(str(path), "not bytes")

    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.jpg"]


@pytest.mark.parametrize(
    "sha",
    [
        "../../etc/passwd",
        "../" + "a" * 61,
        "A" * 64,
        "a" * 63,
        "a" * 65,
        "a" * 63 + "\n",
        "",
    ],
)
def test_a_bad_hash_can_never_name_a_file(tmp_path, sha):
    with pytest.raises(ValueError):
        photo_paths(str(tmp_path), sha)



def test_a_4_3_camera_photo_is_decoded_at_reduced_size(monkeypatch):
    """JPEG draft mode must actually shrink the decode (a square box would not, on 4:3)."""
    from PIL import JpegImagePlugin

    loaded = []
    original = JpegImagePlugin.JpegImageFile.load

    def spy(self):
        result = original(self)
        loaded.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy)
    process(photo((4000, 3000)))
    assert loaded and loaded[0][0] <= 2000 and loaded[0][1] <= 1500
