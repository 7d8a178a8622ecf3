"""Credentials in URLs never reach logs, metadata or lineage; untrusted strings never reach Markdown unescaped."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import dagster as dg

from agenttrace_pipeline.defs.references.assets import mooncake_reference_traces
from agenttrace_pipeline.lib.warehouse import WarehouseResource
from agenttrace_pipeline.redact import md_table, redact
from agenttrace_pipeline.store.warehouse import Warehouse

SAMPLE = Path(__file__).resolve().parents[2] / "assets_config" / "samples" / "mooncake_sample.jsonl"


def _serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    import functools

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def test_credentials_in_a_trace_url_are_never_logged_or_stored(isolated: Path, monkeypatch, tmp_path: Path):
    monkeypatch.delenv("AGENTTRACE_OFFLINE")
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "remote.jsonl").write_bytes(SAMPLE.read_bytes())
    server, port = _serve(tmp_path / "www")
    try:
        url = f"http://alice:S3CRETPASS@127.0.0.1:{port}/remote.jsonl?token=T0KEN123"
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize([mooncake_reference_traces], resources={"warehouse": WarehouseResource()},
                                run_config={"ops": {"mooncake_reference_traces": {"config": {"extra_locations": [url]}}}},
                                instance=instance, raise_on_error=False)
    finally:
        server.shutdown()
    assert result.success
    logs = " ".join(str(e.user_message) + str(e.dagster_event) for e in instance.all_logs(result.run_id))
    wh = Warehouse()
    stored = str(wh.lineage().rows()) + str(wh.query("SELECT * FROM mooncake_reference_requests").rows())
    stored += str(wh.query("SELECT * FROM reference_cache_stats").rows())
    assert f"127.0.0.1:{port}/remote.jsonl" in logs  # the redacted form is there
    for secret in ("S3CRETPASS", "T0KEN123", "alice"):
        assert secret not in logs and secret not in stored


def test_untrusted_strings_are_escaped_in_markdown_tables():
    table = md_table(["tool", "calls"], [("<img src=x onerror=alert(1)>", 3), ("**bold** | [link](http://u:p@h/x?k=v)", 1)])
    assert "<img" not in table and "&lt;img" in table
    assert "\\*\\*bold\\*\\*" in table and "\\|" in table and "u:p@" not in table and "k=v" not in table
    assert table.count("\n") == 4  # header, rule and exactly one line per row: no row can break out


def test_redact_keeps_scheme_host_and_path_only():
    assert redact("fetching https://user:pw@example.org:8443/a/b.jsonl?sig=abc#frag now") == \
        "fetching https://example.org:8443/a/b.jsonl?… now"
