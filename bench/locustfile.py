"""Simulated field users for bench/load.py (Locust): guards, cleaners and technicians scan a
label and submit its checklist with a photo; supervisors work the review queue.

bench/load.py writes the accounts and their labels to the JSON file named by
ROUNDS_BENCH_PEOPLE. Each simulated user takes an account of its own and logs in once.
A field user opens a label's page, fills it in for 10-30 s, and submits the answers with
a photo of about 200 KB, as the phone's script sends it after shrinking; then it walks
5-15 s to the next label. A supervisor opens the queue and approves a card every 5-15 s.
A real guard takes a minute or more to fill a checklist and several to walk to the next
checkpoint, so each simulated user does the work of five to ten real ones.
The photos (100 different ones, each sent several times) are made before the run.
"""
import itertools
import json
import os
import random
import re
import uuid
from html import unescape
from io import BytesIO

import gevent
from locust import HttpUser, between, task
from PIL import Image, ImageDraw

with open(os.environ["ROUNDS_BENCH_PEOPLE"], encoding="utf-8") as f:
    PEOPLE = json.load(f)
FIELD = itertools.cycle(PEOPLE["field"])
SUPERVISORS = itertools.cycle(PEOPLE["supervisors"])
PASSWORD = PEOPLE["password"]
with open(PEOPLE["photo"], "rb") as f:
    BASE_PHOTO = Image.open(BytesIO(f.read()))
    BASE_PHOTO.load()

HIDDEN = re.compile(r'<input type="hidden" name="([\w-]+)" value="([^"]*)">')
CHOICE = re.compile(r'name="step-(\d+)" value="ok"')
READING = re.compile(r'name="step-(\d+)" value="[^"]*" required\s+aria-describedby="range-\d+"')
TEXT = re.compile(r'<input type="text" name="step-(\d+)" value="[^"]*" maxlength')
RANGE = re.compile(r'<small id="range-(\d+)">([^<]*)</small>')
FILE = re.compile(r'<input type="file" name="(photo-\d+)"')
CSRF = re.compile(r'name="csrf_token"[^>]* value="([^"]+)"')
ACTION = re.compile(r'<form method="post" action="(/spots/\d+/records)"')
APPROVE = re.compile(r'<form method="post" action="(/review/\d+/approve)"')


def photo() -> bytes:
    """The bench photo with a few shapes of its own, so that photos differ (most are not
    flagged as re-used). Made before the run, so the server does not share the cores with
    the making."""
    image = BASE_PHOTO.copy()
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = random.randrange(image.width - 300), random.randrange(image.height - 300)
        draw.rectangle((x, y, x + random.randrange(80, 300), y + random.randrange(80, 300)),
                       fill=tuple(random.randrange(256) for _ in range(3)))
    out = BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


PHOTOS = [photo() for _ in range(100)]


def log_in(user, username: str) -> None:
    page = user.client.get("/login", name="/login").text
    token = CSRF.search(page).group(1)
    user.client.post("/login", name="/login", data={
        "username": username, "password": PASSWORD, "csrf_token": token})


def answers(page: str) -> dict:
    """What a worker would enter: every tick OK, readings in range, a word in text steps."""
    form = {name: unescape(value) for name, value in HIDDEN.findall(page)}
    ranges = {step: [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]
              for step, text in RANGE.findall(page)}
    for step in CHOICE.findall(page):
        form[f"step-{step}"] = "ok"
    for step in READING.findall(page):
        bounds = ranges.get(step) or [1.0]
        form[f"step-{step}"] = f"{sum(bounds[:2]) / len(bounds[:2]):g}"
    for step in TEXT.findall(page):
        form[f"step-{step}"] = "正常"
    form["submission_key"] = form.get("submission_key") or uuid.uuid4().hex
    return form


class FieldWorker(HttpUser):
    weight = 9
    wait_time = between(5, 15)  # walking to the next label

    def on_start(self):
        self.person = next(FIELD)
        log_in(self, self.person["username"])

    @task
    def do_a_label(self):
        token = random.choice(self.person["tokens"])
        with self.client.get(f"/t/{token}", name="/t/<label>", catch_response=True) as page:
            action = ACTION.search(page.text)
            if action is None:
                page.failure("no checklist form on the label's page")
                return
        gevent.sleep(random.uniform(10, 30))  # ticking the steps, taking the photo
        form = answers(page.text)
        photos = FILE.findall(page.text)
        files = {photos[0]: ("photo.jpg", random.choice(PHOTOS), "image/jpeg")} if photos else None
        self.client.post(action.group(1), name="/spots/<id>/records (submit)", data=form,
                         files=files)


class Supervisor(HttpUser):
    weight = 1
    wait_time = between(5, 15)

    def on_start(self):
        log_in(self, next(SUPERVISORS))

    @task
    def review(self):
        page = self.client.get("/review/", name="/review/")
        cards = APPROVE.findall(page.text)
        if not cards:
            return  # nothing waiting: not a failure
        token = CSRF.search(page.text).group(1)
        # Two supervisors of a site see the same queue; each picks a card of the page, and
        # when both pick the same one, the second gets 409 "Already reviewed" (a failure).
        self.client.post(random.choice(cards), name="/review/<id>/approve",
                         data={"csrf_token": token}, headers={"HX-Request": "true"})
