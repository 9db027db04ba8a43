"""Secret files the server makes for itself on first start (a SECRET_KEY, the
key that encrypts secrets at rest), kept in DATA_DIR.

Several worker processes may start at once: each writes its candidate to a
private temporary file and links it into place, which fails if the name
exists, so the first one wins and every process reads the same key. The
file is mode 0600 in a directory of mode 0700.
"""

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


class KeyFileError(RuntimeError):
    """A key file that cannot be read or made (empty, unreadable, not ours)."""


def key_file(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of `path`, made with `make()` if the file does not exist."""
    path = Path(path)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(make())
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: use its key
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    content = path.read_bytes().strip()
    if not content:
        raise KeyFileError(f"{path} is empty: remove it to have a new key made, or restore it from a backup")
    return content
