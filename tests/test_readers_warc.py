"""dolma warc: a WARC written here with an HTML page, a non-HTML record and broken records."""

import gzip
import json
import os
import zlib

import pytest

from dolma.cli import main
from dolma.core.config import resolve
from dolma.core.errors import ConfigError
from dolma.core.executor import execute
from dolma.core.io import read_bytes
from dolma.readers.config import WarcConfig
from dolma.readers.stage import WarcStage

ARTICLE = (
    "<html><head><title>T</title><meta charset='utf-8'></head><body><nav>Home | About</nav><article>"
    "<h1>Pretraining corpora</h1><p>Dolma is a corpus of three trillion tokens, built from web pages, code, "
    "papers and books; this paragraph is the main content of the page.</p></article>"
    "<footer>copyright</footer></body></html>"
)


def warc_record(kind, headers, block):
    head = f"WARC/1.0\r\nWARC-Type: {kind}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode() + f"Content-Length: {len(block)}\r\n\r\n".encode() + block + b"\r\n\r\n"


def response(n, content_type, body, extra_headers=""):
    http = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{extra_headers}\r\n".encode() + body
    return warc_record(
        "response",
        {
            "WARC-Record-ID": f"<urn:uuid:0000000{n}-aaaa-bbbb-cccc-dddddddddddd>",
            "WARC-Date": f"2024-03-0{n}T10:00:00Z",
            # WARC 1.0's own examples bracket the URI (`<http://...>`); most writers do not: test both
            "WARC-Target-URI": f"<http://example.com/{n}>" if n == 1 else f"http://example.com/{n}",
            "Content-Type": "application/http; msgtype=response",
        },
        http,
    )


def chunked(data, size=40):
    parts = [data[i : i + size] for i in range(0, len(data), size)]
    return b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def records():
    gz = zlib.compressobj(wbits=31)
    page2 = ARTICLE.replace("Dolma", "OLMo").encode("latin-1")
    return [
        warc_record("warcinfo", {"WARC-Record-ID": "<urn:uuid:info>", "Content-Type": "application/warc-fields"}, b"software: test\r\n"),
        response(1, "text/html; charset=utf-8", ARTICLE.encode()),
        warc_record("request", {"WARC-Record-ID": "<urn:uuid:req>", "WARC-Target-URI": "http://example.com/1"}, b"GET / HTTP/1.1\r\n\r\n"),
        response(2, "image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        # broken: a Content-Length that is not a number, with a body that must be skipped
        b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: lots\r\n\r\nHTTP/1.1 200 OK\r\n\r\n<html>lost</html>\r\n\r\n",
        # an HTML page after the broken record, chunked and gzip-encoded, in latin-1
        response(3, "text/html; charset=iso-8859-1", chunked(gz.compress(page2) + gz.flush()), "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"),
        response(4, "text/html", b"   "),
        # broken: not an HTTP response at all
        response(5, "text/html", b"").replace(b"HTTP/1.1 200 OK", b"garbage-here!!!"),
    ]


def write_warc(path, recs, compress):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        for r in recs:
            f.write(gzip.compress(r) if compress else r)


def run_warc(**kwargs):
    config = resolve(WarcConfig, kwargs)
    stage = WarcStage(config)
    units = stage.units()
    return execute(stage, units, config.processes, config.ignore_existing, progress_bar=False), units


def read_docs(path):
    return [json.loads(line) for line in read_bytes(path).decode().split("\n") if line]


@pytest.mark.parametrize("compress", [False, True])
def test_warc_html_non_html_and_broken_records(tmp_path, compress):
    name = "crawl-00.warc.gz" if compress else "crawl-00.warc"
    recs = records()
    truncated = response(6, "text/html", ARTICLE.encode())[:-100]  # the archive ends inside this record
    write_warc(str(tmp_path / "warcs" / name), recs + [truncated], compress)
    report, units = run_warc(
        documents=[str(tmp_path / "warcs")], destination=[str(tmp_path / "out")], source_name="cc", store_html_in_metadata=True
    )
    assert report.ok, report.failed
    docs = read_docs(str(tmp_path / "out" / "documents" / "crawl-00-0000.jsonl.gz"))
    assert [d["id"] for d in docs] == ["00000001-aaaa-bbbb-cccc-dddddddddddd", "00000003-aaaa-bbbb-cccc-dddddddddddd"]
    first, second = docs
    assert "main content of the page" in first["text"] and "Home | About" not in first["text"]
    assert "OLMo is a corpus" in second["text"]
    assert first["source"] == "cc" and first["created"] == "2024-03-01T10:00:00Z"
    meta = first["metadata"]
    assert meta["url"] == "http://example.com/1" and meta["warc_date"] == "2024-03-01T10:00:00Z"
    assert meta["warc_record_id"] == "urn:uuid:00000001-aaaa-bbbb-cccc-dddddddddddd" and meta["content_type"] == "text/html"
    assert meta["html"] == ARTICLE
    assert meta["origin"] == {"file": str(tmp_path / "warcs" / name), "offset": len(recs[0])}
    manifest = json.load(open(tmp_path / "out" / "documents" / "crawl-00.manifest.json"))
    counts = manifest["counts"]
    assert counts["documents_out"] == 2 and counts["non_html"] == 1 and counts["empty"] == 1
    assert counts["broken"] == 3  # bad Content-Length, not HTTP, truncated at the end
    assert counts["records_other_type"] == 2 and counts["records"] == 9
    assert counts["documents_in"] == counts["documents_out"] + counts["non_html"] + counts["empty"] + counts["broken"]
    assert manifest["inputs"][0]["bytes"] == os.path.getsize(tmp_path / "warcs" / name)


def test_corrupt_compressed_archive_is_not_fatal(tmp_path):
    path = str(tmp_path / "w" / "bad.warc.gz")
    write_warc(path, records()[:2], compress=True)
    with open(path, "ab") as f:
        f.write(gzip.compress(response(7, "text/html", ARTICLE.encode()))[:-30])  # a truncated gzip member
    report, _ = run_warc(documents=[path], destination=[str(tmp_path / "out")], source_name="cc")
    assert report.ok, report.failed
    counts = json.load(open(tmp_path / "out" / "documents" / "bad.manifest.json"))["counts"]
    assert counts["documents_out"] == 1 and counts["broken"] == 1


def test_arc_file(tmp_path):
    http = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + ARTICLE.encode()
    desc = b"1 0 test\nURL IP-address Archive-date Content-type Archive-length\n"
    arc = (
        b"filedesc://test.arc 0.0.0.0 20240101000000 text/plain " + str(len(desc)).encode() + b"\n" + desc + b"\n"
        + b"http://example.org/a 1.2.3.4 20240102030405 text/html " + str(len(http)).encode() + b"\n" + http + b"\n"
    )
    write_warc(str(tmp_path / "a" / "old.arc"), [arc], compress=False)
    report, _ = run_warc(documents=[str(tmp_path / "a" / "*.arc")], destination=[str(tmp_path / "out")], source_name="arc")
    assert report.ok, report.failed
    (doc,) = read_docs(str(tmp_path / "out" / "documents" / "old-0000.jsonl.gz"))
    assert doc["metadata"]["url"] == "http://example.org/a" and doc["created"] == "2024-01-02T03:04:05Z"
    assert "main content" in doc["text"] and len(doc["id"]) == 32


def test_dolma_warc_config_runs_and_bad_configs(tmp_path, capsys):
    write_warc(str(tmp_path / "in" / "x.warc"), records(), compress=False)
    cfg = tmp_path / "warc.yaml"
    cfg.write_text(
        f"documents: ['{tmp_path}/in/*.warc']\ndestination: ['{tmp_path}/out']\nsource_name: cc\n"
        "linearizer: resiliparse\nstore_html_in_metadata: false\nprocesses: 1\n"
        f"work_dir: {{input: {tmp_path}/wi, output: {tmp_path}/wo}}\n"
    )
    assert main(["warc", "-c", str(cfg)]) == 0
    assert "html" not in read_docs(str(tmp_path / "out" / "documents" / "x-0000.jsonl.gz"))[0]["metadata"]
    assert main(["warc", "-c", str(cfg), "--pre.taggers", "c4_v2"]) == 2
    assert "pre.taggers" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="source_name"):
        WarcStage(resolve(WarcConfig, {"documents": ["x"], "destination": ["y"]}))
    with pytest.raises(ConfigError, match="one per `documents` entry"):
        WarcStage(resolve(WarcConfig, {"documents": ["x"], "destination": ["y", "z"], "source_name": "s"}))
