"""Photo files and rows stay in step: deleted after the commit, swept after a day, and a
server killed in the middle of submissions leaves every row with its files."""
import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from io import BytesIO
from pathlib import Path

from sqlalchemy import select

from app import storage, sweep
from app.extensions import db
from app.models import Photo, Record

from .conftest import spot_by_code
from .helpers import answers
from .photo_samples import encode, scene

ROOT = Path(__file__).resolve().parents[1]


def files_of(app, sha):
    return storage.photo_paths(app.config["PHOTO_DIR"], sha)


def age(paths, days):
    for path in paths:
        then = time.time() - days * 86400
        os.utime(path, (then, then))


def test_an_unticked_waiting_photo_s_file_goes_after_the_commit(app, as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    data = answers(spot, key="a" * 32, note="x" * 3000)  # refused: the photo waits
    data.update({k: (BytesIO(encode(scene(5, (400, 300)), "JPEG")), "p.jpg")
                 for k in list(data) if k.startswith("photo-")})
    assert client.post(f"/spots/{spot.id}/records", data=data,
                       content_type="multipart/form-data").status_code == 422
    [photo] = db.session.scalars(select(Photo)).all()
    paths = files_of(app, photo.sha256)
    assert all(os.path.exists(p) for p in paths)
    age(paths, 0.01)  # older than the two minutes a fresh file is spared
    data = answers(spot, key="a" * 32, drop_photo=str(photo.id))
    assert client.post(f"/spots/{spot.id}/records", data=data,
                       content_type="multipart/form-data").status_code == 303
    assert not any(os.path.exists(p) for p in paths)


def test_a_deleted_row_s_file_stays_while_another_row_names_it(app, as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    for key in ("a" * 32, "b" * 32):
        client.post(f"/spots/{spot.id}/records", data=answers(spot, key=key),
                    content_type="multipart/form-data")
    first, second = db.session.scalars(select(Photo).order_by(Photo.id)).all()
    assert first.sha256 == second.sha256  # the same picture sent twice: one file
    age(files_of(app, first.sha256), 0.01)
    first.record.photos.remove(first)
    db.session.delete(first)
    db.session.commit()
    assert all(os.path.exists(p) for p in files_of(app, second.sha256))


def test_the_sweeper_removes_old_files_no_row_names_and_nothing_else(app, as_user):
    spot = spot_by_code("CP-04")
    as_user("guard").post(f"/spots/{spot.id}/records", data=answers(spot, key="a" * 32),
                          content_type="multipart/form-data")
    [kept] = db.session.scalars(select(Photo)).all()
    photo_dir = app.config["PHOTO_DIR"]
    orphans = {}
    for name in ("old", "new"):
        data = encode(scene(len(name) + (name == "new") * 10, (300, 200)), "JPEG")
        from app.photos import process

        orphans[name] = storage.store(photo_dir, process(data))
    tmp = os.path.join(os.path.dirname(files_of(app, kept.sha256)[0]), ".x.jpg.1234.tmp")
    Path(tmp).write_bytes(b"half a photo")
    age([*files_of(app, kept.sha256), *files_of(app, orphans["old"]), tmp], 2)

    result = app.test_cli_runner().invoke(args=["sweep-photos"])
    assert "removed: 3" in result.output, result.output  # the old orphan, its thumb, the tmp
    assert not any(os.path.exists(p) for p in files_of(app, orphans["old"]))
    assert not os.path.exists(tmp)
    assert all(os.path.exists(p) for p in files_of(app, orphans["new"]))  # may get its row yet
    assert all(os.path.exists(p) for p in files_of(app, kept.sha256))
    assert sweep.sweep(photo_dir) == (0, 4)  # nothing more to remove of the four files left


# A server killed in the middle of submissions -----------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = BytesIO()
    for name, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n".encode())
    for name, data in files.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                   f'filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode())
        body.write(data + b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    return body.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_a_server_killed_mid_submissions_leaves_every_row_with_its_files(app, schema):
    spot = spot_by_code("CP-04")
    fields = {k: v for k, v in answers(spot).items() if not k.startswith("photo-")}
    photo_fields = [k for k in answers(spot) if k.startswith("photo-")]
    action = f"/spots/{spot.id}/records"
    db.session.commit()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": schema, "FLASK_PHOTO_DIR": app.config["PHOTO_DIR"],
           "FLASK_WTF_CSRF_ENABLED": "false", "FLASK_SECRET_KEY": "k" * 40}
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port),
         "--no-debug", "--no-reload", "--with-threads"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        login = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        login.request("POST", "/login", body="username=guard&password=demo1234",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        cookie = "; ".join(value.split(";")[0] for name, value in login.getresponse().getheaders()
                           if name.lower() == "set-cookie")
        sent = []

        def submit(seed):
            while True:
                key = uuid.uuid4().hex
                body, kind = multipart({**fields, "submission_key": key},
                                       {name: encode(scene(seed, (1600, 1200)), "JPEG", quality=90)
                                        for name in photo_fields})
                seed += 100
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    connection.request("POST", action, body=body,
                                       headers={"Content-Type": kind, "Cookie": cookie})
                    if connection.getresponse().status == 303:
                        sent.append(key)
                except OSError:
                    return

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        while len(sent) < 3 and time.monotonic() < deadline + 30:
            time.sleep(0.05)
        time.sleep(0.3)  # well inside the next submissions
        server.send_signal(signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=30)
    finally:
        server.kill()
        server.wait()

    db.session.rollback()
    records = db.session.scalars(select(Record).where(Record.submission_key.in_(sent))).all()
    assert len(records) == len(sent) >= 3  # every record the server confirmed is there
    photos = db.session.scalars(select(Photo)).all()
    assert photos
    for photo in photos:  # and every photo row, of any record or still waiting, has its files
        full, thumb = files_of(app, photo.sha256)
        assert os.path.exists(thumb), photo.id
        with open(full, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == photo.sha256, photo.id
    for record in records:
        assert len(record.photos) == len(photo_fields)
