"""A record with a 5 MB camera photo over slow 3G, from tap to confirmation.

    .venv/bin/python bench/upload.py            (make bench-upload; needs chromium)

Serves the demo on a throwaway SQLite database, adds a spot whose SOP has three steps (one
asking for a photo), and drives Debian's Chromium on a phone-sized screen. The link is
slowed with Chromium's own network emulation (DevTools protocol): 400 ms latency,
400 kbit/s up and down. The page is loaded first; the clock runs from the tap on Submit to
the record's confirmation page being shown, as the worker waits for it.

Printed: the median of a few runs with the page's script (the photo shrunk on the phone to
1600 px), then one run without script, where the browser uploads the original file as an
ordinary form: what every upload took before issue 5.
Target from issue 5: under 10 s with the script.
"""
import shutil
import statistics
import sys
import tempfile
import threading
import time
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import request  # noqa: E402
from PIL import Image, ImageChops  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app, demo  # noqa: E402
from bench.machine import describe  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Site, Sop, SopVersion, Spot, Step  # noqa: E402

RUNS = 3
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 50_000,
           "uploadThroughput": 50_000}  # bytes per second: 400 kbit/s
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}


def camera_photo(target=5_000_000) -> bytes:
    """A 12-megapixel JPEG of about 5 MB, as a phone stores it: a scene with sensor noise."""
    size = (4000, 3000)
    base = Image.new("RGB", size)
    for cells, weight in ((6, 1.0), (40, 0.5), (200, 0.4)):
        grid = Image.effect_noise((cells, cells * 3 // 4), 90).convert("RGB")
        layer = grid.resize(size, Image.Resampling.BICUBIC)
        base = layer if weight == 1.0 else ImageChops.blend(base, layer, weight)
    grain = Image.merge("RGB", [Image.effect_noise(size, 24) for _ in range(3)])
    image = ImageChops.blend(base, grain, 0.25)
    for quality in range(80, 99):
        out = BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() >= target:
            break
    return out.getvalue()


def bench_spot() -> Spot:
    site = db.session.query(Site).filter_by(name_en="Green Lake Gardens").one()
    sop = Sop(site_id=site.id, name_zh="三步检查", name_en="Three-step check")
    sop.versions = [SopVersion(number=1, steps=[
        Step(position=1, kind="tick", label_zh="门已锁", label_en="Door locked"),
        Step(position=2, kind="reading", label_zh="温度", label_en="Temperature", unit="°C",
             min_value=0, max_value=40),
        Step(position=3, kind="tick", label_zh="拍摄现场", label_en="Photo of the spot",
             photo_required=True)])]
    db.session.add(sop)
    db.session.flush()
    spot = Spot(site_id=site.id, kind="checkpoint", code="BENCH-1", name_zh="压测点",
                name_en="Bench spot", sop_id=sop.id)
    db.session.add(spot)
    db.session.commit()
    return spot


def submit_once(context, base, spot, steps, photo, script: bool) -> tuple[float, int]:
    page = context.new_page()
    page.goto(f"{base}/t/{spot.token}")
    if script:
        page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
        page.reload()
    page.locator(f'input[name="step-{steps[0]}"][value="ok"]').check()
    page.fill(f'input[name="step-{steps[1]}"]', "21")
    page.locator(f'input[name="step-{steps[2]}"][value="ok"]').check()
    page.set_input_files(f'input[name="photo-{steps[2]}"]',
                         files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}])
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    start = time.perf_counter()
    # Without script the tap starts a navigation that lasts as long as the upload.
    page.click("form.sop button.primary", no_wait_after=True)
    page.locator(".notice.ok").wait_for(timeout=600_000)
    seconds = time.perf_counter() - start
    page.close()
    return seconds


def main() -> None:
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("No chromium on PATH: apt-get install chromium (or run `make chromium`).")
    folder = tempfile.mkdtemp(prefix="rounds-upload-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
                      "PHOTO_DIR": f"{folder}/photos", "SECRET_KEY": "bench",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"check_same_thread": False}}})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        demo.load()
        spot = bench_spot()
        steps = [step.id for step in spot.sop.current.steps]
        token = spot.token
    uploaded = []  # the size of each record form as the server receives it
    app.before_request(lambda: uploaded.append(request.content_length)
                       if request.method == "POST" and request.path.endswith("/records") else None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    photo = camera_photo()

    print(describe())
    print(f"Link: {SLOW_3G['latency']} ms latency, {SLOW_3G['uploadThroughput'] * 8 // 1000} kbit/s "
          f"up and down. Photo: 4000 x 3000 JPEG, {len(photo) / 1e6:.1f} MB. Three steps.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        spot = type("Spot", (), {"token": token})
        for script, runs in ((True, RUNS), (False, 1)):
            context = browser.new_context(**PHONE, java_script_enabled=script)
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "guard")
            page.fill("input[name=password]", demo.PASSWORD)
            page.click("form button.primary")
            page.wait_for_url(f"{base}/")
            page.close()
            uploaded.clear()
            times = [submit_once(context, base, spot, steps, photo, script) for _ in range(runs)]
            label = "shrunk on the phone (script)" if script else "original file (no script)"
            print(f"  {label:30} tap to confirmation: median {statistics.median(times):5.1f} s "
                  f"(runs: {', '.join(f'{t:.1f}' for t in times)}), "
                  f"upload {statistics.median(uploaded) / 1e3:,.0f} KB")
            context.close()
        browser.close()
    server.shutdown()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
