"""The per-install secret: made on first run under VAR_DIR, read by every later process.

It stands in for SECRET_KEY when the environment sets none, so no install shares a key
with another (a key in the source would let anyone sign what the platform signs).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FILE_NAME = "secret_key"
_MIN_LENGTH = 50


def install_secret(var_dir: Path) -> str:
    """The secret in var_dir/secret_key, made (mode 0600) if there is none yet."""
    path = var_dir / FILE_NAME
    if not path.exists():
        _create(path)
    value = path.read_text().strip()
    if len(value) < _MIN_LENGTH:
        raise ImproperlyConfigured(
            f"{path} holds no usable secret: delete it to have a new one made, or set SECRET_KEY.")
    return value


def _create(path: Path) -> None:
    # The web server and the workers often start together on a fresh install: each
    # writes a whole file under a name of its own, then links it into place. A link
    # never replaces an existing name, so the first one in wins and every process
    # reads that one; nobody ever reads a half-written file.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")  # mode 0600
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Cannot make the per-install secret in {path.parent} ({exc}): "
            "set SECRET_KEY, or let this user write VAR_DIR.") from exc
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(_MIN_LENGTH) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(draft)


def derived_secret(secret: str, label: str) -> str:
    """A secret of its own for one purpose, so leaking it does not leak `secret`."""
    return hashlib.sha256(f"{label}:{secret}".encode()).hexdigest()[:32]
