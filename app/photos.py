"""Uploaded photos in, small upright JPEGs out: the one place that decodes what users send."""
import warnings
from dataclasses import dataclass
from io import BytesIO

import imagehash
import pillow_heif
from PIL import Image, ImageCms, ImageOps, ImageStat, UnidentifiedImageError

pillow_heif.register_heif_opener()

MAX_PIXELS = 50_000_000
LONGEST_SIDE = 1600
THUMB_SIDE = 320
# What phones produce; anything else (GIF, BMP, TIFF, PSD...) never reaches a decoder.
FORMATS = ("JPEG", "PNG", "WEBP", "HEIF")
QUALITY = 80
HASH_SIZE = 16  # a 16 x 16 perceptual hash: 256 bits
MIN_SPREAD = 8  # grey levels of standard deviation below which a photo shows nothing much
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class PhotoError(ValueError):
    """An upload we will not keep; the web layer translates by `code`, so keep codes stable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Processed:
    jpeg: bytes
    thumb: bytes
    width: int
    height: int
    phash: str  # 64 hex digits


def hash_distance(a: str, b: str) -> int:
    """How many of the 256 bits of two perceptual hashes differ."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def process(data: bytes) -> Processed:
    """Decode an uploaded photo; return it upright, downscaled, sRGB, without any metadata."""
    im = _decode(data)
    icc = im.info.get("icc_profile")
    try:
        ImageOps.exif_transpose(im, in_place=True)
        im = _flatten(im)
        # Bilinear: a JPEG comes out of libjpeg at most twice too large (a 12-megapixel
        # photo at 2000 px for 1600), and for such a small step it looks as sharp as
        # Lanczos in well under half the time (this is the costliest step after decoding).
        # Pillow widens every filter as it shrinks, so there is no aliasing.
        im.thumbnail((LONGEST_SIDE, LONGEST_SIDE), Image.Resampling.BILINEAR)
        im = _to_srgb(im, icc)
        # Pillow re-emits some of im.info (the JPEG comment) on save: start clean so
        # nothing from the phone (EXIF, GPS, maker notes, XMP, comments) is kept.
        im.info.clear()
        thumb = im.copy()
        # Mostly by whole-pixel averaging (reduce), the fastest way to a picture shown
        # 80 px wide; the same photo sent again still hashes alike (tests/test_evidence.py).
        thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS, reducing_gap=1.0)
        # The thumbnail hashes as the photo does (the hash shrinks it to 64 px anyway). A
        # nearly uniform picture (a black frame, a white wall) gets none: all such photos
        # would match each other.
        spread = ImageStat.Stat(thumb.convert("L")).stddev[0]
        phash = str(imagehash.phash(thumb, hash_size=HASH_SIZE)) if spread >= MIN_SPREAD else ""
        return Processed(_jpeg(im), _jpeg(thumb), im.width, im.height, phash)
    except (OSError, ValueError, SyntaxError) as e:
        raise PhotoError("unsupported", "This photo uses a feature we cannot read.") from e


def _decode(data: bytes) -> Image.Image:
    # Pillow only warns between its limit and twice that; a bomb must be refused, not logged.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise _too_many_pixels() from e
        except UnidentifiedImageError:
            raise PhotoError("not_image", "The file is not a JPEG, PNG, WebP or HEIC photo.") from None
        except (OSError, ValueError, EOFError, SyntaxError) as e:
            # The header was recognised; WebP and HEIF decode (and fail) this early.
            raise _damaged() from e

    w, h = im.size
    if w * h > MAX_PIXELS:
        raise _too_many_pixels()
    scale = min(LONGEST_SIDE / w, LONGEST_SIDE / h)
    if im.format in ("JPEG", "MPO") and scale < 1:
        # Let libjpeg decode at 1/2, 1/4 or 1/8 size; the box must keep the photo's
        # aspect ratio or the DCT scale comes out as 1 and nothing is saved.
        im.draft("RGB", (int(w * scale), int(h * scale)))
    try:
        # A full decode, not verify(): verify() accepts a JPEG cut in half.
        im.load()
    except (OSError, ValueError, EOFError, SyntaxError) as e:
        raise _damaged() from e
    return im


def _too_many_pixels() -> PhotoError:
    return PhotoError("too_many_pixels", f"The photo is larger than {MAX_PIXELS // 1_000_000} megapixels.")


def _damaged() -> PhotoError:
    return PhotoError("truncated", "The photo is incomplete or damaged; try sending it again.")


def _flatten(im: Image.Image) -> Image.Image:
    """RGB on white: JPEG has no alpha, and black behind a transparent screenshot is unreadable."""
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", im.size, "white"), rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    # The profile is dropped on save, so bake it in: iPhone photos are Display P3 and
    # would look washed out if their pixels were shown as sRGB.
    if not icc:
        return im
    try:
        return ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(BytesIO(icc)), _SRGB, outputMode="RGB")
    except (OSError, ImageCms.PyCMSError):
        return im  # a broken or non-RGB (grey, CMYK) profile: the pixels are close enough


def _jpeg(im: Image.Image) -> bytes:
    out = BytesIO()
    im.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()
