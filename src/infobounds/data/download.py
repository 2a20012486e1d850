"""Verified downloads: a file enters the cache only once it is complete and matches its published
checksum.

A download is streamed into a temporary file beside its destination while its length and digests
are computed; it is renamed into place (``os.replace``, atomic within a folder) only if

* the server sent as many bytes as its ``Content-Length`` promised (a connection that closes early
  otherwise looks like a complete, short file),
* the byte count equals the published size, where one is published, and
* every published digest (SHA-256, MD5) matches.

Anything else (an HTML page from a captive portal answered with status 200, a truncated body, a
network error, an interrupt) removes the temporary file, so a bad download is never cached and the
next run tries again. Only ``https://`` mirrors are accepted: the checksum protects the content, TLS
keeps the request itself private.

``INFOBOUNDS_OFFLINE=1`` (any value but empty or ``0``) disables downloads; the loaders check
:func:`downloads_allowed` before they call :func:`download_verified`, so an offline run opens no
connection.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

__all__ = ["Published", "DownloadError", "downloads_allowed", "download_verified"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Published:
    """What the data set's publisher says a file is: its size in bytes and its digests (hex)."""

    size: int | None = None
    sha256: str | None = None
    md5: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is None and self.md5 is None:
            raise ValueError("a published file needs a SHA-256 or an MD5 to be verified against")


class DownloadError(OSError):
    """No mirror delivered a file that passed verification; the message lists what each one sent."""


def downloads_allowed() -> bool:
    """False when ``INFOBOUNDS_OFFLINE`` is set to anything but empty or ``0``."""
    return os.environ.get("INFOBOUNDS_OFFLINE", "").strip() in ("", "0")


def _fetch_one(url: str, dest: Path, expected: Published, timeout: float) -> None:
    """Stream ``url`` into a temporary file in ``dest``'s folder, verify it, rename it to ``dest``."""
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        received = 0
        # urllib.request.urlopen is looked up at call time, so a test can stand in for the network.
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            while chunk := response.read(_CHUNK):
                received += len(chunk)
                if expected.size is not None and received > expected.size:
                    raise DownloadError(f"{url} sent more than the published {expected.size} bytes")
                out.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
        if declared is not None and declared.strip().isdigit() and received != int(declared):
            raise DownloadError(f"{url}: the connection closed after {received} of the {int(declared)} "
                                "bytes it announced")
        if expected.size is not None and received != expected.size:
            raise DownloadError(f"{url} sent {received} bytes, the published file has {expected.size}")
        for algorithm, label in (("sha256", "SHA-256"), ("md5", "MD5")):
            want = getattr(expected, algorithm)
            got = digests[algorithm].hexdigest()
            if want is not None and got != want.lower():
                raise DownloadError(f"{url}: {label} {got} is not the published {want} (a proxy's or "
                                    "captive portal's page, or a damaged copy)")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after a successful os.replace


def download_verified(urls: Sequence[str], dest: str | Path, expected: Published, *, timeout: float = 30.0) -> Path:
    """Download the file published as ``expected`` from the first of ``urls`` that delivers it intact,
    into ``dest``; return ``dest``.

    Raises
    ------
    ValueError
        for a mirror that is not ``https://``.
    DownloadError
        when no mirror delivered a verified copy (the message says what each one did); nothing is
        left at ``dest`` or beside it.
    """
    plain = [u for u in urls if not u.startswith("https://")]
    if plain:
        raise ValueError(f"refusing to download over an unencrypted connection: {', '.join(plain)}")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _fetch_one(url, dest, expected, timeout)
            return dest
        except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, DownloadError, IncompleteRead
            failures.append(str(err) if isinstance(err, DownloadError) else f"{url}: {err}")
    raise DownloadError("; ".join(failures) if failures else "no mirror to download from")
