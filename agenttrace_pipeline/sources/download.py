"""Fetch remote trace files into a local cache with httpx.

Timeouts, retries with exponential backoff on 5xx / connection errors / truncated bodies, resume of a
partial download with a Range request (or restart when the server ignores it), optional sha256
verification, and an atomic rename into the cache. Offline mode only uses the cache.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

from agenttrace_pipeline import settings
from agenttrace_pipeline.redact import redact_url
from agenttrace_pipeline.store.atomic import sha256_file

log = logging.getLogger(__name__)


_UNRESOLVABLE = ("Name or service not known", "nodename nor servname provided")


class DownloadError(Exception):
    """A file could not be fetched; the message names the URL and why."""


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    timeout_s: float = 30.0
    retries: int = 4
    backoff_s: float = 0.5
    offline: bool = field(default_factory=settings.offline)  # AGENTTRACE_OFFLINE=1 turns it on everywhere


def is_url(location: str) -> bool:
    return urlparse(location).scheme in ("http", "https")


def cache_path(url: str, cache_dir: Path | None = None) -> Path:
    name = Path(urlparse(url).path).name or "download"
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    return (cache_dir or settings.download_cache()) / key / name


def _redact(url: str) -> str:
    """Drop credentials and query strings (which may carry tokens) from a URL before it is logged."""
    return redact_url(url)


def fetch(
    url: str,
    *,
    sha256: str | None = None,
    cache_dir: Path | None = None,
    policy: FetchPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Path:
    """Return a local path holding ``url``'s bytes, downloading it unless a verified copy is cached."""
    policy = policy or FetchPolicy()
    shown = _redact(url)
    dest = cache_path(url, cache_dir)
    if dest.exists() and (sha256 is None or sha256_file(dest) == sha256.lower()):
        return dest
    if policy.offline:
        raise DownloadError(f"{shown}: not in the download cache ({dest}) and offline mode is on")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    last_error = "no attempt made"
    with httpx.Client(timeout=policy.timeout_s, follow_redirects=True, transport=transport) as client:
        for attempt in range(policy.retries + 1):
            if attempt:
                delay = policy.backoff_s * 2 ** (attempt - 1)
                log.warning("retrying %s in %.1fs (attempt %d/%d): %s", shown, delay, attempt + 1,
                            policy.retries + 1, last_error)
                time.sleep(delay)
            try:
                if _download_once(client, url, part):
                    break
                last_error = "body ended before Content-Length bytes arrived (truncated)"
            except httpx.HTTPStatusError as exc:
                code = exc.response.status_code
                if code < 500 and code not in (408, 429):
                    part.unlink(missing_ok=True)
                    raise DownloadError(f"{shown}: HTTP {code} {exc.response.reason_phrase}") from None
                last_error = f"HTTP {code}"
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                if any(m in str(exc) for m in _UNRESOLVABLE):  # no such host: retrying will not help
                    raise DownloadError(f"{shown}: cannot resolve the host ({exc}); offline? use offline mode "
                                        "with a filled download cache, or a local path") from None
            except _HtmlInsteadOfData as exc:
                part.unlink(missing_ok=True)
                raise DownloadError(f"{shown}: {exc}") from None
        else:
            raise DownloadError(f"{shown}: failed after {policy.retries + 1} attempts ({last_error})")
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256.lower():
            part.unlink(missing_ok=True)
            raise DownloadError(f"{shown}: sha256 mismatch (expected {sha256.lower()}, got {got})")
    part.replace(dest)
    return dest


class _HtmlInsteadOfData(Exception):
    pass


def _download_once(client: httpx.Client, url: str, part: Path) -> bool:
    """Stream ``url`` into ``part`` (resuming if it has bytes). True when the body is complete."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with client.stream("GET", url, headers=headers) as resp:
        if resp.status_code == 416 and have:  # we already hold everything
            return True
        resp.raise_for_status()
        ctype = resp.headers.get("content-type", "")
        if "text/html" in ctype and not url.lower().endswith((".html", ".htm")):
            raise _HtmlInsteadOfData("the server sent an HTML page instead of the data file")
        resumed = resp.status_code == 206
        mode = "ab" if resumed else "wb"
        expected = resp.headers.get("content-length")
        received = 0
        with open(part, mode) as fh:
            for chunk in resp.iter_bytes(1 << 20):
                fh.write(chunk)
                received += len(chunk)
        if expected is not None and received < int(expected):
            return False
    return True


def resolve_location(location: str, *, sha256: str | None = None, policy: FetchPolicy | None = None) -> Path:
    """A local path for ``location``: downloaded (and cached) when it is an http(s) URL."""
    if is_url(location):
        return fetch(location, sha256=sha256, policy=policy)
    path = Path(location).expanduser()
    if not path.exists():
        raise DownloadError(f"{location}: no such file")
    if sha256 is not None and sha256_file(path) != sha256.lower():
        raise DownloadError(f"{location}: sha256 mismatch (expected {sha256.lower()})")
    return path
