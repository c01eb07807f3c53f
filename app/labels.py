"""QR labels for spots: an inline SVG for pages and a PNG for printing."""
from functools import lru_cache
from io import BytesIO
from itertools import groupby

import qrcode
from markupsafe import escape
from PIL import Image, ImageDraw, ImageFont

# Tried in order when the default font (ASCII only) cannot draw a caption.
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
LABEL_WIDTH = 600  # minimum pixels across the code, quiet zone included


def _matrix(url: str) -> list[list[bool]]:
    """Modules of the code, True for dark, including the 4-module quiet zone."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def _runs(row: list[bool]):
    """(start, length) of each run of dark modules in a row."""
    x = 0
    for dark, group in groupby(row):
        length = len(list(group))
        if dark:
            yield x, length
        x += length


def qr_svg(url: str, label: str) -> str:
    """An inline <svg> that CSS can size freely; only the encoded modules reach the markup.
    `label`: what a screen reader says for it, in the page's language."""
    matrix = _matrix(url)
    n = len(matrix)
    d = "".join(
        f"M{x},{y}h{w}v1h-{w}z" for y, row in enumerate(matrix) for x, w in _runs(row)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        f'role="img" aria-label="{escape(label)}" shape-rendering="crispEdges">'
        f'<rect width="{n}" height="{n}" fill="#fff"/>'
        f'<path d="{d}" fill="#000"/></svg>'
    )


@lru_cache(maxsize=32)
def _font(path: str | None, size: int) -> ImageFont.FreeTypeFont:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


def _draws(font: ImageFont.FreeTypeFont, text: str) -> bool:
    """Whether the font has a glyph for every character, rather than a box."""
    tofu = bytes(font.getmask("\ue000"))  # private use: every font here lacks it
    return all(ch.isspace() or bytes(font.getmask(ch)) != tofu for ch in set(text))


def _fitting_font(text: str, size: int, width: int) -> ImageFont.FreeTypeFont | None:
    """A font that can draw the text, shrunk to fit the width; None if no font can."""
    for path in (None, *CJK_FONTS):
        try:
            font = _font(path, size)
        except OSError:
            continue
        if _draws(font, text):
            length = font.getlength(text)
            if length > width:
                font = _font(path, max(12, int(size * width / length)))
            return font
    return None


def label_png(url: str, code: str, caption: str = "") -> bytes:
    """A printable label: the code large and sharp, the spot code and caption below it."""
    matrix = _matrix(url)
    n = len(matrix)
    scale = -(-LABEL_WIDTH // n)  # whole pixels per module keep the edges sharp
    width = n * scale
    modules = Image.frombytes(
        "L", (n, n), bytes(0 if dark else 255 for row in matrix for dark in row)
    )
    margin = 4 * scale  # keep text within the width of the code itself
    lines = [(code, width // 9), (caption, width // 16)]
    fonts = [(text, _fitting_font(text, size, width - 2 * margin)) for text, size in lines if text]
    fonts = [(text, font) for text, font in fonts if font is not None]

    gap = scale
    band = sum(sum(font.getmetrics()) + gap for _, font in fonts) + margin // 2
    label = Image.new("L", (width, width + band), 255)
    label.paste(modules.resize((width, width), Image.Resampling.NEAREST))
    draw = ImageDraw.Draw(label)
    y = width
    for text, font in fonts:
        draw.text((width // 2, y), text, font=font, fill=0, anchor="ma")
        y += sum(font.getmetrics()) + gap

    out = BytesIO()
    label.save(out, "PNG", optimize=True)
    return out.getvalue()
