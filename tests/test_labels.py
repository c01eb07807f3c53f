import os
import re
import xml.etree.ElementTree as ET
from io import BytesIO

import pytest
import qrcode
import zxingcpp
from PIL import Image

from app import labels

URL = "https://rounds.example.com/t/Ab3dEf-gH1jK2lMn"
URL_48 = "https://rounds.example.com/t/Ab3dEf-gH1jK2lMnOpQ"
HOSTILE = 'https://rounds.example.com/t/"><script>alert(1)</script>&amp;'
SVG = "{http://www.w3.org/2000/svg}"


def decode(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


def rasterize(svg: str, scale: int = 8) -> Image.Image:
    """Paint the SVG's path data (rows of `M x,y h w v1 h-w z` rectangles) onto a bitmap."""
    root = ET.fromstring(svg)
    _, _, n, _ = map(int, root.get("viewBox").split())
    image = Image.new("L", (n * scale, n * scale), 255)
    d = root.find(f"{SVG}path").get("d")
    rects = re.findall(r"M(\d+),(\d+)h(\d+)v1h-\3z", d)
    assert "".join(f"M{x},{y}h{w}v1h-{w}z" for x, y, w in rects) == d
    for x, y, w in ([int(v) for v in rect] for rect in rects):
        image.paste(0, (x * scale, y * scale, (x + w) * scale, (y + 1) * scale))
    return image


def test_label_png_opens_the_spot():
    image = open_png(labels.label_png(URL, "B2-PUMP-03", "Boiler room"))
    assert decode(image) == [URL]
    assert image.width >= 600
    assert image.height > image.width  # the text band under the code


def test_label_png_code_is_sharp():
    image = open_png(labels.label_png(URL, "B2-PUMP-03"))
    code_area = image.convert("L").crop((0, 0, image.width, image.width))
    assert {value for _, value in code_area.getcolors()} == {0, 255}


def test_label_png_prints_text_below_the_code():
    image = open_png(labels.label_png(URL, "B2-PUMP-03")).convert("L")
    band = image.crop((0, image.width, image.width, image.height))
    assert band.getextrema()[0] == 0  # something dark was drawn


def test_label_png_caption_adds_a_line():
    bare = open_png(labels.label_png(URL, "B2-PUMP-03"))
    captioned = open_png(labels.label_png(URL, "B2-PUMP-03", "Boiler room, pump 2"))
    assert captioned.height > bare.height
    assert captioned.width == bare.width


def test_label_png_long_caption_still_decodes():
    image = open_png(labels.label_png(URL, "B2-PUMP-03", "Boiler room " * 20))
    assert decode(image) == [URL]


def test_label_png_chinese_caption_with_cjk_font():
    if not any(os.path.exists(path) for path in labels.CJK_FONTS):
        pytest.skip("no CJK font installed")
    bare = open_png(labels.label_png(URL, "B2-PUMP-03"))
    image = open_png(labels.label_png(URL, "B2-PUMP-03", "锅炉房 2号泵"))
    assert image.height > bare.height
    assert decode(image) == [URL]


def test_label_png_chinese_caption_without_cjk_font(monkeypatch):
    monkeypatch.setattr(labels, "CJK_FONTS", ("/nonexistent/font.ttc",))
    bare = open_png(labels.label_png(URL, "B2-PUMP-03"))
    image = open_png(labels.label_png(URL, "B2-PUMP-03", "锅炉房 2号泵"))
    assert image.size == bare.size  # caption left out rather than drawn as boxes
    assert decode(image) == [URL]


@pytest.mark.parametrize("url", [URL, HOSTILE])
def test_qr_svg_is_a_safe_inline_element(url):
    svg = labels.qr_svg(url, '二维码 "<x>"')
    assert svg.startswith("<svg ")
    root = ET.fromstring(svg)  # well-formed
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label") == '二维码 "<x>"'
    assert re.fullmatch(r"0 0 (\d+) \1", root.get("viewBox"))
    assert root.get("width") in (None, "100%")
    assert root.get("height") in (None, "100%")
    assert len(root.findall(f".//{SVG}path")) == 1
    assert [el.tag for el in root.iter()] == [f"{SVG}svg", f"{SVG}rect", f"{SVG}path"]
    assert "rounds.example.com" not in svg
    assert "<script" not in svg


@pytest.mark.parametrize("url", [URL, HOSTILE])
def test_qr_svg_path_decodes(url):
    assert decode(rasterize(labels.qr_svg(url, "QR code"))) == [url]


def test_48_character_url_fits_version_5_at_q():
    assert len(URL_48) == 48
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=4)
    qr.add_data(URL_48)
    qr.make(fit=True)
    assert qr.version <= 5

    barcode, = zxingcpp.read_barcodes(open_png(labels.label_png(URL_48, "B2-PUMP-03")))
    assert barcode.text == URL_48
    assert barcode.ec_level == "Q"
    assert int(barcode.extra["Version"]) <= 5
