"""The files in deploy/: gunicorn's settings, the app served by gunicorn as the systemd unit
starts it, nginx in front of it, the systemd units and the environment example."""
import contextlib
import gzip
import http.client
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest

from app import create_app, config

from .helpers import require

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent  # the venv the tests run in, standing in for the server's
# Where the units expect the checkout; the tests map it onto this one.
SERVER_ROOT = "/srv/rounds"
SERVER_NAME = "rounds.example.com"
START_TIMEOUT = 60


def need_gunicorn() -> None:
    require((BIN / "gunicorn").exists(),
            "gunicorn is not installed in the venv (pyproject: gunicorn>=23,<24)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def on_server(text: str) -> str:
    """A path or command line of the units, on this checkout and this venv."""
    return text.replace(f"{SERVER_ROOT}/.venv/bin", str(BIN)).replace(SERVER_ROOT, str(ROOT))


def env_file(path: Path) -> dict[str, str]:
    """NAME=value lines as systemd's EnvironmentFile= reads them (the form the example keeps to)."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def named_in(path: Path) -> set[str]:
    """Every variable the file sets, or shows commented out."""
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", path.read_text(), re.M))


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit file: section -> key -> values (a key may repeat)."""
    sections, section = {}, None
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
        else:
            key, _, value = line.partition("=")
            section.setdefault(key.strip(), []).append(value.strip())
    return sections


def service(name: str) -> dict[str, list[str]]:
    return unit(name)["Service"]


def run(command: list[str], env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def fetch(port: int, method: str, path: str, headers=None, body=None, tls: ssl.SSLContext = None,
          timeout: float = 30):
    """(status, headers with lowercase names, body) of one request on loopback."""
    if tls:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# gunicorn.conf.py ------------------------------------------------------------------

def gunicorn_settings(monkeypatch, **env) -> dict:
    """The settings deploy/gunicorn.conf.py gives in this environment, as gunicorn reads them."""
    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf", DEPLOY / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: value for name, value in vars(module).items()
            if not name.startswith("_") and not callable(value) and not isinstance(value, type(os))}


def test_gunicorn_settings(monkeypatch):
    settings = gunicorn_settings(monkeypatch)
    assert settings["bind"] == "127.0.0.1:8000"
    assert settings["worker_class"] == "sync"
    assert settings["timeout"] == 60
    assert 0 < settings["graceful_timeout"] <= settings["timeout"]
    assert 0 < settings["max_requests_jitter"] < settings["max_requests"]
    assert settings["accesslog"] == "-" and settings["errorlog"] == "-"
    assert "%({x-forwarded-for}i)s" in settings["access_log_format"]
    assert "%(M)sms" in settings["access_log_format"]
    assert gunicorn_settings(monkeypatch, GUNICORN_BIND="10.0.0.5:8000")["bind"] == "10.0.0.5:8000"


def test_gunicorn_reads_every_setting(monkeypatch):
    """Gunicorn silently ignores a misspelt name in its config file: every name must be one
    of its settings, with a value it accepts."""
    need_gunicorn()
    from gunicorn.config import Config

    gunicorn_config = Config()
    for name, value in gunicorn_settings(monkeypatch).items():
        assert name in gunicorn_config.settings, f"{name} is not a gunicorn setting"
        gunicorn_config.set(name, value)


CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@pytest.mark.parametrize("env, workers", [
    ({"WEB_CONCURRENCY": "3"}, 3),
    ({"WEB_CONCURRENCY": "9", "DATABASE_URL": "sqlite:////var/lib/rounds/rounds.sqlite"}, 9),
    ({"DATABASE_URL": "postgresql+psycopg://rounds@db/rounds"}, 2 * CORES + 1),
    ({"DATABASE_URL": "sqlite:////var/lib/rounds/rounds.sqlite"}, min(2 * CORES + 1, 4)),
    ({}, min(2 * CORES + 1, 4)),  # no DATABASE_URL: the app's SQLite file
])
def test_gunicorn_workers(monkeypatch, env, workers):
    assert gunicorn_settings(monkeypatch, **env)["workers"] == workers


# The app under gunicorn, as rounds.service starts it --------------------------------

@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """The environment of rounds.env.example with this machine's paths, and a database
    migrated and seeded with the commands an operator runs."""
    need_gunicorn()
    root = tmp_path_factory.mktemp("deploy")
    (root / "photos").mkdir()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FLASK_", "GUNICORN_")) and
           name not in ("DATABASE_URL", "WEB_CONCURRENCY")}
    env.update(env_file(DEPLOY / "rounds.env.example"))
    env.update(DATABASE_URL=f"sqlite:///{root / 'rounds.sqlite'}",
               FLASK_SECRET_KEY="s3cret-" + "x" * 33, FLASK_PHOTO_DIR=str(root / "photos"),
               GUNICORN_BIND=f"127.0.0.1:{free_port()}", WEB_CONCURRENCY="2")
    for command in (["db", "upgrade"], ["seed-demo"]):
        done = run([str(BIN / "flask"), "--app", "wsgi", *command], env)
        assert done.returncode == 0, done.stderr
    return root, env


def server_command(name: str, key: str) -> list[str]:
    (line,) = service(name)[key]
    return shlex.split(on_server(line))


@contextlib.contextmanager
def serving(root: Path, env: dict):
    """Gunicorn started by rounds.service's ExecStart line, until the block ends; yields
    (port, access log, error log)."""
    port = int(env["GUNICORN_BIND"].rpartition(":")[2])
    access_log, error_log = root / "gunicorn.out", root / "gunicorn.err"
    with open(access_log, "w") as out, open(error_log, "w") as err:
        server = subprocess.Popen(server_command("rounds.service", "ExecStart"),
                                  cwd=on_server(service("rounds.service")["WorkingDirectory"][0]),
                                  env=env, stdout=out, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"gunicorn exited with {server.returncode}:\n{error_log.read_text()}")
            try:
                if fetch(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer in {START_TIMEOUT} s:\n"
                            f"{error_log.read_text()}")
            time.sleep(0.2)
        yield port, access_log, error_log
    finally:
        server.terminate()  # SIGTERM: gunicorn's graceful stop, as systemd sends it
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


@pytest.fixture(scope="module")
def gunicorn(deployment):
    with serving(*deployment) as server:
        yield server


def logged(access_log: Path, text: str, timeout: float = 10) -> str:
    """The access log line with the text (gunicorn writes it just after the response)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in access_log.read_text().splitlines():
            if text in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in gunicorn's access log:\n{access_log.read_text()}")


def test_gunicorn_serves_the_health_check(gunicorn):
    port, access_log, error_log = gunicorn
    status, headers, body = fetch(port, "GET", "/healthz?probe=direct",
                                  {"X-Forwarded-For": "203.0.113.7"})
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    assert headers["cache-control"] == "no-store"
    line = logged(access_log, "/healthz?probe=direct")
    assert line.startswith("203.0.113.7 ")
    assert re.search(r'" 200 \d+ \d+ms "', line)
    assert "Using worker: sync" in error_log.read_text()
    assert error_log.read_text().count("Booting worker") == 2  # WEB_CONCURRENCY


def test_check_deploy_finds_no_problem(deployment, gunicorn):
    """With the example's settings (production, one proxy) and a key of its own, the
    service's ExecStartPre passes: cookies are Secure and __Host-, the photo folder is
    writable, the database migrated and in WAL mode."""
    done = run(server_command("rounds.service", "ExecStartPre"), deployment[1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No problems found." in done.stdout


@pytest.mark.parametrize("name, output", [
    ("rounds-alerts.service", "Alerts sent: 0, failed and queued again: 0."),
    ("rounds-sweep-photos.service", "removed: 0."),
])
def test_timer_services_run(deployment, name, output):
    done = run(server_command(name, "ExecStart"), deployment[1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert output in done.stdout


class Visitor:
    """A browser's cookies over plain HTTP, straight to gunicorn."""

    def __init__(self, port):
        self.port, self.cookies = port, {}

    def open(self, method, path, form=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for cookie in response.headers.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";")[0].partition("=")
                self.cookies[name] = value
            return response.status, response.read()
        finally:
            connection.close()


def test_a_backup_taken_while_serving_is_restored_and_served(deployment, gunicorn, tmp_path):
    """The README's backup and restore as an operator runs them: `flask backup` while the
    service runs, `flask restore` into a new server's empty folders, then the service on it."""
    env = deployment[1]
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    done = run([*flask, "backup", str(tmp_path / "backup")], env)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["rows"]["record"] > 100 and manifest["photo_files"] > 0

    restored = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'rounds.sqlite'}",
                "FLASK_PHOTO_DIR": str(tmp_path / "photos"),
                "GUNICORN_BIND": f"127.0.0.1:{free_port()}"}
    (tmp_path / "photos").mkdir()
    done = run([*flask, "restore", str(tmp_path / "backup")], restored)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run([*flask, "check-deploy"], restored)
    assert done.returncode == 0 and "No problems found." in done.stdout, done.stdout
    with sqlite3.connect(tmp_path / "rounds.sqlite") as copy:
        rows = {table: copy.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
                for table in manifest["rows"]}
    copy.close()
    assert rows == manifest["rows"]

    with serving(tmp_path, restored) as (port, _, _):
        guard = Visitor(port)
        status, page = guard.open("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
        status, _ = guard.open("POST", "/login", {"csrf_token": token, "username": "guard",
                                                  "password": "demo1234"})
        assert status == 303
        status, home = guard.open("GET", "/")
        assert status == 200
        # The guard's records, each with its photos.
        for record in re.findall(rb'href="(/records/\d+)"', home):
            status, page = guard.open("GET", record.decode())
            assert status == 200
            if photo := re.search(rb'href="(/photos/\d+)"', page):
                status, image = guard.open("GET", photo.group(1).decode())
                assert status == 200 and image.startswith(b"\xff\xd8\xff")  # a JPEG
                break
        else:
            raise AssertionError("no record of the guard's with a photo")


# nginx in front of it ---------------------------------------------------------------

def replace(text: str, pattern: str, new: str) -> str:
    text, count = re.subn(pattern, new, text, flags=re.M)
    assert count, f"deploy/nginx/rounds.conf no longer matches {pattern!r}: update this test"
    return text


@pytest.fixture(scope="module")
def nginx(request, tmp_path_factory):
    """deploy/nginx/rounds.conf in a throwaway nginx on free ports, with a self-signed
    certificate, in front of the gunicorn above; (https port, http port, TLS context)."""
    require(shutil.which("nginx") is not None, "no `nginx` on PATH (apt-get install nginx)")
    require(shutil.which("openssl") is not None, "no `openssl` on PATH (apt-get install openssl)")
    gunicorn = request.getfixturevalue("gunicorn")
    root = tmp_path_factory.mktemp("nginx")
    cert, key = root / "cert.pem", root / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={SERVER_NAME}", "-keyout", key, "-out", cert,
         "-addext", f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1"],
        capture_output=True, text=True, timeout=30)
    assert made.returncode == 0, made.stderr
    https, http_port = free_port(), free_port()
    conf = (DEPLOY / "nginx" / "rounds.conf").read_text()
    conf = replace(conf, r"^\s*listen \[::\]:\d+.*\n", "")
    conf = replace(conf, r"listen 443\b", f"listen 127.0.0.1:{https}")
    conf = replace(conf, r"listen 80\b", f"listen 127.0.0.1:{http_port}")
    conf = replace(conf, r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{gunicorn[0]};")
    conf = replace(conf, r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};")
    conf = replace(conf, r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};")
    conf = replace(conf, re.escape(f"{SERVER_ROOT}/app/static/"), f"{ROOT}/app/static/")
    conf = replace(conf, r"/var/www/letsencrypt", str(root))
    (root / "rounds.conf").write_text(conf)
    mime_types = "include /etc/nginx/mime.types;" if os.path.exists("/etc/nginx/mime.types") else \
        "types { text/css css; text/javascript js; image/png png; image/svg+xml svg; }"
    temp_paths = "\n".join(f"    {kind}_temp_path {root / kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (root / "nginx.conf").write_text(f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {root / "nginx.pid"};
error_log {root / "error.log"};
events {{ worker_connections 64; }}
http {{
    {mime_types}
    default_type application/octet-stream;
    access_log {root / "access.log"};
{temp_paths}
    include {root / "rounds.conf"};
}}
""")
    nginx_command = ["nginx", "-p", str(root), "-c", str(root / "nginx.conf"),
                     "-e", str(root / "error.log")]
    checked = subprocess.run([*nginx_command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr + (root / "error.log").read_text(), checked.stderr
    with open(root / "nginx.err", "w") as err:
        server = subprocess.Popen(nginx_command, stdout=subprocess.DEVNULL, stderr=err,
                                  start_new_session=True)
    tls = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail(f"nginx exited with {server.returncode}:\n"
                            f"{(root / 'nginx.err').read_text()}{(root / 'error.log').read_text()}")
            try:
                fetch(https, "GET", "/healthz?probe=nginx-up", tls=tls)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"nginx did not answer in {START_TIMEOUT} s")
                time.sleep(0.1)
        yield https, http_port, tls
    finally:
        server.terminate()  # SIGTERM: nginx's fast shutdown
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_nginx_serves_static_files_itself(nginx, gunicorn):
    https, _, tls = nginx
    access_log = gunicorn[1]
    marker = uuid.uuid4().hex
    status, headers, body = fetch(https, "GET", f"/static/css/app.css?v={marker}",
                                  {"Accept-Encoding": "gzip"}, tls=tls)
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == (ROOT / "app" / "static" / "css" / "app.css").read_bytes()
    assert "max-age=31536000" in headers["cache-control"]
    assert "immutable" in headers["cache-control"]
    # A request after it that does reach gunicorn: once it is logged, the first would be too.
    fetch(https, "GET", f"/healthz?after={marker}", tls=tls)
    logged(access_log, f"after={marker}")
    assert marker not in access_log.read_text().replace(f"after={marker}", "")


def test_nginx_passes_the_health_check_with_the_client_address(nginx, gunicorn):
    https, _, tls = nginx
    status, headers, body = fetch(https, "GET", "/healthz?probe=via-nginx",
                                  {"X-Forwarded-For": "198.51.100.66"}, tls=tls)
    assert status == 200 and json.loads(body)["status"] == "ok"
    # nginx replaces what the client claimed with the address it saw.
    assert logged(gunicorn[1], "/healthz?probe=via-nginx").startswith("127.0.0.1 127.0.0.1 ")


def test_service_worker_comes_from_the_app_uncached(nginx, gunicorn):
    https, _, tls = nginx
    status, headers, body = fetch(https, "GET", "/sw.js", tls=tls)
    assert status == 200
    assert headers["cache-control"] == "no-cache"
    assert "javascript" in headers["content-type"]
    assert "strict-transport-security" in headers  # the app's production headers
    logged(gunicorn[1], '"GET /sw.js HTTP/1.0" 200')


def test_pages_are_compressed(nginx):
    https, _, tls = nginx
    status, headers, body = fetch(https, "GET", "/login", {"Accept-Encoding": "gzip"}, tls=tls)
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert b"<form" in gzip.decompress(body)


def test_a_large_photo_upload_reaches_the_app(nginx, gunicorn):
    """5 MB, a camera photo: nginx takes it whole and passes it on (the app then refuses it
    for want of a form token, which shows it read the request)."""
    https, _, tls = nginx
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; "
            f"filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + \
        os.urandom(5 * 2**20) + f"\r\n--{boundary}--\r\n".encode()
    status, _, _ = fetch(https, "POST", "/login?upload=5mb", {
        "Content-Type": f"multipart/form-data; boundary={boundary}"}, body, tls=tls)
    assert status == 400
    logged(gunicorn[1], '"POST /login?upload=5mb HTTP/1.0" 400')


def test_a_body_over_the_app_limit_stops_at_nginx(nginx, gunicorn):
    https, _, tls = nginx
    connection = http.client.HTTPSConnection("127.0.0.1", https, timeout=30, context=tls)
    try:
        connection.putrequest("POST", "/login?upload=too-big")
        connection.putheader("Content-Length", str(config.Defaults.MAX_CONTENT_LENGTH + 1))
        connection.endheaders()
        assert connection.getresponse().status == 413
    finally:
        connection.close()
    fetch(https, "GET", "/healthz?after=too-big", tls=tls)
    logged(gunicorn[1], "after=too-big")
    assert "upload=too-big" not in gunicorn[1].read_text()


def test_slow_uploads_hold_no_gunicorn_worker(nginx, gunicorn, deployment):
    """More phones uploading over a weak signal than gunicorn has workers: nginx reads their
    bodies itself, so the app goes on answering everyone else at once."""
    https, _, tls = nginx
    size, first = 256 * 1024, 1024
    uploads = []
    try:
        for n in range(int(deployment[1]["WEB_CONCURRENCY"]) + 1):
            connection = http.client.HTTPSConnection("127.0.0.1", https, timeout=30, context=tls)
            uploads.append(connection)
            connection.putrequest("POST", f"/login?upload=slow-{n}")
            connection.putheader("Content-Type", "application/x-www-form-urlencoded")
            connection.putheader("Content-Length", str(size))
            connection.endheaders()
            connection.send(b"x" * first)  # and then the signal drops for a while
        time.sleep(0.5)
        started = time.monotonic()
        status, _, _ = fetch(https, "GET", "/healthz?during=slow-uploads", tls=tls, timeout=10)
        assert status == 200 and time.monotonic() - started < 5
        assert "upload=slow" not in gunicorn[1].read_text()  # none has reached the app yet
        for connection in uploads:  # the rest of each photo arrives: each gets its answer
            connection.send(b"x" * (size - first))
        assert [c.getresponse().status for c in uploads] == [400] * len(uploads)  # no token
    finally:
        for connection in uploads:
            connection.close()


def test_plain_http_redirects_to_https(nginx):
    _, http_port, _ = nginx
    status, headers, _ = fetch(http_port, "GET", "/t/abc?x=1", {"Host": "evil.example"})
    assert status == 301
    assert headers["location"] == f"https://{SERVER_NAME}/t/abc?x=1"


# systemd units and the environment example --------------------------------------------

def test_service_runs_gunicorn_from_the_venv_with_the_config():
    rounds = service("rounds.service")
    workdir = rounds["WorkingDirectory"][0]
    (start,) = rounds["ExecStart"]
    argv = shlex.split(start)
    assert argv[0] == f"{workdir}/.venv/bin/gunicorn"
    assert argv[argv.index("-c") + 1] == f"{workdir}/deploy/gunicorn.conf.py"
    assert argv[-1] == "wsgi:app"
    assert rounds["EnvironmentFile"] == ["/etc/rounds/rounds.env"]
    assert rounds["User"] == ["rounds"]
    assert rounds["Restart"] == ["on-failure"]
    assert not any("db upgrade" in line for line in rounds.get("ExecStartPre", []))
    for option in ("NoNewPrivileges", "PrivateTmp"):
        assert rounds[option] == ["yes"]
    assert rounds["ProtectSystem"] == ["strict"]


@pytest.mark.parametrize("name, command, when", [
    ("rounds-alerts", "send-alerts", "minutely"),
    ("rounds-sweep-photos", "sweep-photos", "*-*-* 03:30"),
])
def test_timers_run_their_command(name, command, when):
    task = service(f"{name}.service")
    argv = shlex.split(task["ExecStart"][0])
    assert argv == [f"{task['WorkingDirectory'][0]}/.venv/bin/flask", "--app", "wsgi", command]
    assert task["Type"] == ["oneshot"]
    assert unit(f"{name}.timer")["Timer"]["OnCalendar"] == [when]


SERVICES = sorted(path.name for path in (DEPLOY / "systemd").glob("*.service"))
# What every service of the app shares: who runs it, with what, and the sandbox.
SHARED = re.compile(r"User|Group|WorkingDirectory|EnvironmentFile|StateDirectory.*|UMask|"
                    r"NoNewPrivileges|Protect.*|Private.*|Restrict.*|ReadWritePaths|"
                    r"CapabilityBoundingSet|LockPersonality|SystemCall.*")


@pytest.mark.parametrize("name", SERVICES)
def test_services_may_write_where_the_example_keeps_data(name):
    """ProtectSystem=strict makes everything else read-only: the SQLite folder and the photo
    folder of the example must be writable."""
    settings = env_file(DEPLOY / "rounds.env.example")
    writable = " ".join(service(name)["ReadWritePaths"]).split()
    sqlite_folder = os.path.dirname(settings["DATABASE_URL"].removeprefix("sqlite:///"))
    for folder in (sqlite_folder, settings["FLASK_PHOTO_DIR"]):
        assert any(folder == path or folder.startswith(path.rstrip("/") + "/")
                   for path in writable), f"{folder} is not in {name}'s ReadWritePaths"


@pytest.mark.parametrize("name", [name for name in SERVICES if name != "rounds.service"])
def test_services_share_user_settings_and_sandbox(name):
    def shared(settings):
        return {key: value for key, value in settings.items() if SHARED.fullmatch(key)}

    assert shared(service(name)) == shared(service("rounds.service"))


def test_units_verify(tmp_path):
    """systemd's own check: no unknown key, no missing program (paths mapped to this checkout)."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze on PATH: unit files only parsed")
    need_gunicorn()
    names = sorted(path.name for path in (DEPLOY / "systemd").iterdir())
    for name in names:
        (tmp_path / name).write_text(on_server((DEPLOY / "systemd" / name).read_text()))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_timeouts_nest(monkeypatch):
    """nginx waits longer than gunicorn, and systemd longer than gunicorn's graceful stop."""
    settings = gunicorn_settings(monkeypatch)
    nginx_conf = (DEPLOY / "nginx" / "rounds.conf").read_text()
    assert int(re.search(r"proxy_read_timeout (\d+)s;", nginx_conf)[1]) > settings["timeout"]
    stop = service("rounds.service")["TimeoutStopSec"][0]
    assert int(stop) > settings["graceful_timeout"]


def test_nginx_takes_the_app_largest_request():
    nginx_conf = (DEPLOY / "nginx" / "rounds.conf").read_text()
    assert int(re.search(r"client_max_body_size (\d+)m;", nginx_conf)[1]) * 2**20 == \
        config.Defaults.MAX_CONTENT_LENGTH


def readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)`", table, re.M))


def test_env_example_names_every_setting():
    example = DEPLOY / "rounds.env.example"
    names = named_in(example)
    documented = readme_variables()
    assert documented, "the README's Configuration table lists no variable"
    assert documented <= names, f"missing from the example: {sorted(documented - names)}"
    gunicorn_reads = set(re.findall(r"os\.environ(?:\.get\(|\[)\"([A-Z_]+)\"",
                                    (DEPLOY / "gunicorn.conf.py").read_text()))
    assert gunicorn_reads <= names, f"missing from the example: {sorted(gunicorn_reads - names)}"


def test_env_example_settings_exist(monkeypatch):
    """A misspelt FLASK_ variable is silently a new setting nobody reads."""
    for name in list(os.environ):
        if name.startswith("FLASK_"):
            monkeypatch.delenv(name)
    known = create_app({"TESTING": True}).config
    for name in named_in(DEPLOY / "rounds.env.example"):
        if name.startswith("FLASK_"):
            assert name.removeprefix("FLASK_") in known, f"{name} is no setting of the app"


def test_env_example_is_production():
    settings = env_file(DEPLOY / "rounds.env.example")
    # As Flask reads FLASK_ variables: JSON where it parses.
    assert json.loads(settings["FLASK_PRODUCTION"]) is True
    assert json.loads(settings["FLASK_PROXY_FIX_X_FOR"]) == 1
    assert settings["FLASK_SECRET_KEY"] == "", "the example must not ship a usable key"


def test_env_example_reads_the_same_in_a_shell():
    """Operators source it for flask commands (README); systemd reads it as EnvironmentFile."""
    example = DEPLOY / "rounds.env.example"
    done = subprocess.run(["sh", "-c", 'set -a; . "$1"; env -0', "sh", str(example)],
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    shell = dict(entry.split("=", 1) for entry in done.stdout.split("\0") if entry)
    for name, value in env_file(example).items():
        assert shell.get(name) == value, name
