"""What the source-change sensor compares between ticks (plain Python, no Dagster import).

A source's fingerprint is a sha256 over its items: each local file's content hash (a glob contributes every
file it matches, by path), and each URL's HTTP validator (ETag, else Last-Modified, else Content-Length) from
a HEAD request. Locations and fallbacks both count, so a source whose files appear, vanish or change gets a
new fingerprint. URLs are never stored or logged whole: the state keys them by the download cache's key
(sha256 of the URL) and log lines use :func:`~agenttrace_pipeline.redact.redact_url`.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from agenttrace_pipeline import settings
from agenttrace_pipeline.redact import redact, redact_url
from agenttrace_pipeline.sources.config import SourceSpec
from agenttrace_pipeline.sources.download import cache_path, is_url
from agenttrace_pipeline.store.atomic import sha256_file

UNVERIFIED = "unverified"  # a URL never reached yet (offline, or the server did not answer)


def url_key(url: str) -> str:
    """The key a URL is known by in the state: the download cache's folder name (no credentials in it)."""
    return cache_path(url).parent.name


@dataclass
class State:
    """The sensor's cursor: per source its fingerprint, per URL key its validator digest, and per local
    file ``[size, mtime_ns, sha256]`` so an unchanged file is not read again."""

    sources: dict[str, str] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    files: dict[str, list] = field(default_factory=dict)

    @classmethod
    def load(cls, cursor: str | None) -> State:
        """The state a cursor holds (an empty state for no cursor or one this version cannot read)."""
        if not cursor:
            return cls()
        try:
            data = orjson.loads(cursor)
            return cls(dict(data["sources"]), dict(data["urls"]), dict(data["files"]))
        except (ValueError, KeyError, TypeError):
            return cls()

    def dump(self) -> str:
        return orjson.dumps({"sources": self.sources, "urls": self.urls, "files": self.files},
                            option=orjson.OPT_SORT_KEYS).decode()


@dataclass
class Observation:
    """One tick's look at every source: fingerprints, the URLs whose validator changed, and notes to log."""

    state: State
    changed_urls: list[str] = field(default_factory=list)  # full URLs, for evicting their cached copies only
    notes: list[str] = field(default_factory=list)


def head_validator(client: httpx.Client, url: str) -> str | None:
    """``etag:…``, ``last-modified:…`` or ``length:…`` from a HEAD of ``url``; None when it cannot be had
    (the failure is raised as :class:`httpx.HTTPError`)."""
    resp = client.head(url)
    resp.raise_for_status()
    for header, tag in (("etag", "etag"), ("last-modified", "last-modified"), ("content-length", "length")):
        if value := resp.headers.get(header):
            return f"{tag}:{value}"
    return None


def _file_item(path: Path, old: dict[str, list], new: dict[str, list]) -> str:
    st = path.stat()
    key = str(path)
    cached = old.get(key)
    if cached is not None and cached[:2] == [st.st_size, st.st_mtime_ns]:
        sha = cached[2]
    else:
        sha = sha256_file(path)
    new[key] = [st.st_size, st.st_mtime_ns, sha]
    return sha


def _url_item(url: str, client: httpx.Client | None, prev: State, obs: Observation) -> str:
    key = url_key(url)
    before = prev.urls.get(key)
    now: str | None = None
    if client is not None:
        try:
            validator = head_validator(client, url)
            now = hashlib.sha256(validator.encode()).hexdigest() if validator else None
            if now is None:
                obs.notes.append(f"{redact_url(url)}: no ETag, Last-Modified or Content-Length; changes go unseen")
        except httpx.HTTPError as exc:
            obs.notes.append(f"{redact_url(url)}: HEAD failed ({type(exc).__name__}: {redact(str(exc))})")
    if now is None:  # unknown this tick: keep what we knew, so an outage is not mistaken for a change
        now = before or UNVERIFIED
    elif before not in (None, UNVERIFIED, now):
        obs.changed_urls.append(url)
    obs.state.urls[key] = now
    return f"url {key} {now}"


def _items(locations: Iterable[str], client: httpx.Client | None, prev: State, obs: Observation) -> list[str]:
    items: list[str] = []
    for loc in map(settings.expand, locations):
        if is_url(loc):
            items.append(_url_item(loc, client, prev, obs))
            continue
        paths = sorted(Path(p) for p in glob.glob(loc, recursive=True)) if any(c in loc for c in "*?[") else [Path(loc)]
        found = [p for p in paths if p.is_file()]
        items += [f"file {p} {_file_item(p, prev.files, obs.state.files)}" for p in found]
        if not found:
            items.append(f"absent {loc}")
    return items


def source_digest(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode()).hexdigest()


def observe(specs: Iterable[SourceSpec], prev: State, client: httpx.Client | None) -> Observation:
    """Fingerprint every source against the previous state; ``client`` None checks no URL (offline)."""
    obs = Observation(State())
    for spec in specs:
        items = _items(spec.locations, client, prev, obs) + ["fallback"] + _items(spec.fallback, client, prev, obs)
        obs.state.sources[spec.name] = source_digest(items)
    return obs


def changed_sources(prev: State, now: State) -> list[str]:
    """Sources whose fingerprint differs from the previous tick's (a source first seen now counts, unless
    there was no previous tick at all: the first tick only records a baseline)."""
    if not prev.sources:
        return []
    return sorted(n for n, d in now.sources.items() if prev.sources.get(n) != d)


def evict_cached(urls: Iterable[str]) -> list[Path]:
    """Remove the cached downloads of ``urls`` (their server copy changed), so the refit fetches them anew."""
    gone = []
    for url in urls:
        path = cache_path(url)
        if path.exists():
            path.unlink()
            gone.append(path)
    return gone
