"""Photo files on disk: names derived from content, written so a crash never leaves half a file."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .photos import Processed

_SHA256 = re.compile(r"[0-9a-f]{64}")


def photo_paths(photo_dir: str, sha256: str) -> tuple[str, str]:
    """The photo and thumbnail paths for a hash; refuses anything that is not a SHA-256."""
    # The hash may come from a URL: only 64 hex digits can never climb out of photo_dir.
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a lowercase SHA-256 hex digest: {sha256!r}")
    folder = os.path.join(photo_dir, sha256[:2])
    return os.path.join(folder, f"{sha256}.jpg"), os.path.join(folder, f"{sha256}.thumb.jpg")


def store(photo_dir: str, processed: Processed) -> str:
    """Write a processed photo and its thumbnail; return the hash that names them."""
    sha = hashlib.sha256(processed.jpeg).hexdigest()
    photo, thumb = photo_paths(photo_dir, sha)
    for path, data in ((thumb, processed.thumb), (photo, processed.jpeg)):
        # Same name, same content: a photo uploaded twice (an offline retry) is already there.
        # Touched, so that a deletion of another row with this photo leaves it (app/sweep.py).
        try:
            os.utime(path)
        except FileNotFoundError:
            write_atomic(path, data)
    return sha


def write_atomic(path: str, data: bytes) -> None:
    """Replace path with data so readers see the old file or the new one, never a mix."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        os.makedirs(folder, exist_ok=True)
        _fsync_dir(os.path.dirname(folder))
    # A random name in the same folder: os.replace is only atomic within one file system,
    # and open() (unlike mkstemp) keeps the usual umask so the web server can read the file.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    # The rename itself lives in the directory: without this a power cut can undo it.
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
