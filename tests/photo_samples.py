"""Sample uploads made in code, so the photo tests need no binary fixtures."""
import struct
import zlib
from io import BytesIO

import pillow_heif
from PIL import ExifTags, Image, ImageCms

RED = (220, 30, 30)


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    out = BytesIO()
    if fmt == "HEIF":
        pillow_heif.from_pillow(im).save(out, quality=50)
    else:
        im.save(out, fmt, **params)
    return out.getvalue()


def photo(size=(800, 600), fmt="JPEG", **params) -> bytes:
    """A grey photo with a red block in its top-left corner, as the camera stored it."""
    im = Image.new("RGB", size, (128, 128, 128))
    im.paste(RED, (0, 0, size[0] // 4, size[1] // 3))
    return encode(im, fmt, **params)


def noisy_jpeg(size=(800, 600)) -> bytes:
    """A JPEG whose bytes are mostly scan data, so cutting it in half cuts the picture."""
    bands = [Image.effect_noise(size, 64) for _ in range(3)]
    return encode(Image.merge("RGB", bands), "JPEG", quality=90)


def phone_exif(orientation: int) -> Image.Exif:
    """EXIF as a phone writes it: make, orientation and where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    return exif


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims width x height: what a decompression bomb looks like."""
    data = bytearray(encode(Image.new("1", (1, 1)), "PNG"))
    ihdr = 8 + 8  # signature, then IHDR's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(data[ihdr - 4 : ihdr + 13])
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def scene(seed: int, size=(2400, 1800)) -> Image.Image:
    """A made-up view of a place: textured light at three scales, then objects in it."""
    import random

    from PIL import ImageChops, ImageDraw

    r = random.Random(seed)
    w, h = size
    im = None
    for cells in (4, 16, 64):
        grid = (cells, cells * 3 // 4)
        noise = Image.frombytes("RGB", grid, r.randbytes(grid[0] * grid[1] * 3))
        layer = noise.resize(size, Image.Resampling.BICUBIC)
        im = layer if im is None else ImageChops.blend(im, layer, 0.5)
    draw = ImageDraw.Draw(im)
    for _ in range(30):
        x, y, s = r.randrange(w), r.randrange(h), r.randrange(60, 500)
        shape = draw.rectangle if r.random() < 0.5 else draw.ellipse
        shape([x, y, x + s, y + s // 2], fill=tuple(r.randrange(256) for _ in range(3)))
    return im


def taken_again(im: Image.Image) -> Image.Image:
    """Another photo of the same place: a step to the side, the phone a little tilted."""
    w, h = im.size
    return im.rotate(1.5).crop((int(w * 0.04), int(h * 0.02), w, h)).resize((w, h))


def passed_on(data: bytes) -> bytes:
    """A photo as it comes back from a chat app: smaller and compressed again, harder."""
    im = Image.open(BytesIO(data))
    return encode(im.resize((im.width * 2 // 5, im.height * 2 // 5)), "JPEG", quality=40)
