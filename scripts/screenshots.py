"""Screenshots for the README, taken in Chromium from a freshly seeded demo.

Run with `make screenshots`. Writes docs/screenshots/{scan,review}-{zh,en}.png.
"""
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app, demo, demo_records  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Spot  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    tmp = tempfile.mkdtemp()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/demo.sqlite",
                      "PHOTO_DIR": f"{tmp}/photos", "SECRET_KEY": "screenshots"})
    with app.app_context():
        db.create_all()
        demo.load()
        demo_records.add_sample_records()
        token = db.session.scalar(select(Spot.token).where(Spot.code == "EQ-FP-01"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        for lang, locale in (("zh", "zh-CN"), ("en", "en-US")):
            for username, path, name in (("tech", f"/t/{token}", "scan"),
                                         ("supervisor", "/review/", "review")):
                context = browser.new_context(viewport={"width": 360, "height": 780},
                                              device_scale_factor=2, is_mobile=True,
                                              has_touch=True, locale=locale)
                page = context.new_page()
                page.goto(base + path)
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", demo.PASSWORD)
                page.click("form button.primary")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / f"{name}-{lang}.png"))
                context.close()
                print("wrote", OUT / f"{name}-{lang}.png")
        browser.close()
    server.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("FLASK_DEBUG", "0")
    main()
