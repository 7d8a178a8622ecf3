from __future__ import annotations

import functools
import hashlib
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agenttrace_pipeline.sources.download import DownloadError, FetchPolicy
from agenttrace_pipeline.sources.registry import SourceSpec, ingest, load_sources, resolve

SAMPLES = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "sources"


def test_the_default_source_list_loads_and_covers_every_format():
    specs = load_sources()
    assert {s.format for s in specs} == {"agenttrace", "mini_swe_agent", "openhands_v0", "openhands_v1", "claude_code",
                                         "tracelab", "azure_arrivals", "mooncake_arrivals"}
    assert all(s.fallback for s in specs if s.optional)
    assert any(loc.startswith("https://huggingface.co/") for s in specs for loc in s.locations)
    # every agent source names its model's context window; arrival-only traces have no model
    assert {s.name for s in specs if s.context_window is None} == {"azure_2023", "mooncake_fast25"}


@pytest.fixture
def http_dir(tmp_path: Path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_url_location_is_downloaded_verified_and_parsed(http_dir, isolated: Path):
    root, base = http_dir
    shutil.copy(SAMPLES / "tracelab" / "round_trace.jsonl", root / "rounds.jsonl")
    sha = hashlib.sha256((root / "rounds.jsonl").read_bytes()).hexdigest()
    url = f"{base}/rounds.jsonl"
    spec = SourceSpec("remote", "tracelab", (url,), sha256={url: sha})
    res, parsed = ingest(spec, FetchPolicy(offline=False, retries=1, backoff_s=0.01))
    assert not res.used_fallback and parsed.turns_frame().height == 4
    bad = SourceSpec("remote2", "tracelab", (url,), sha256={url: "0" * 64})
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        ingest(bad, FetchPolicy(offline=False, retries=1, backoff_s=0.01))


def test_optional_sources_fall_back_to_their_samples_and_say_why(isolated: Path):
    fallback = str(SAMPLES / "tracelab" / "round_trace.jsonl")
    spec = SourceSpec("o", "tracelab", ("https://example.invalid/data.jsonl",), optional=True, fallback=(fallback,))
    res = resolve(spec, FetchPolicy(offline=True))
    assert res.used_fallback and "offline mode" in res.notes[0] and "bundled sample" in res.notes[-1]
    missing = SourceSpec("m", "tracelab", (str(isolated / "nowhere" / "*.jsonl"),), optional=True, fallback=(fallback,))
    assert resolve(missing).used_fallback


def test_a_required_source_that_is_missing_is_an_error_naming_it(isolated: Path):
    with pytest.raises(DownloadError, match=r"nowhere\.jsonl: no such file"):
        resolve(SourceSpec("r", "tracelab", (str(isolated / "nowhere.jsonl"),)))
