"""The HAR writer on its own: (request, response) pairs of httpx in, a HAR 1.2 file out that
carries every field HAR 1.2 requires, reads back as the same exchanges, keeps each credential as
one same-shape pseudonym throughout, and marks an exchange broken on purpose, which the checks
then note instead of failing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from chatcontract.traffic import har
from chatcontract.traffic.commands import check_traffic

TOKEN = "d41d8cd98f00b204e9800998ecf8427e"  # a shape a schema checks (32 hex digits)
SECRET = "s3cr3t-Token/With+Odd=Chars"
REQUIRED = {
    "entry": {"startedDateTime", "time", "request", "response", "cache", "timings"},
    "request": {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"},
    "response": {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"},
    "content": {"size", "mimeType"},
    "timings": {"send", "wait", "receive"},
}


def _pair(url: str, status: int, body: dict | bytes, *, headers: dict | None = None, sent: dict | None = None):
    request = httpx.Request("POST" if sent is not None else "GET", url, headers=headers or {}, json=sent)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.Response(status, headers={"content-type": "application/json"}, content=content, request=request)
    return request, response


def test_the_file_has_every_field_har_requires_and_reads_back(tmp_path: Path) -> None:
    pairs = [_pair("http://127.0.0.1:1/_/mutes?x=1", 200, {"status": "ok", "data": []}),
             _pair("http://127.0.0.1:1/_/mutes", 400, {"status": "badRequest", "data": []}, sent={"userID": 5}),
             _pair("http://127.0.0.1:1/bin", 200, b"\xff\xfe\x00binary")]
    assert har.write(tmp_path / "out.har", pairs, api="plugdj") == 3
    document = json.loads((tmp_path / "out.har").read_text())
    assert document["log"]["version"] == "1.2" and document["log"]["creator"]["name"] == "chatcontract"
    for entry in document["log"]["entries"]:
        assert REQUIRED["entry"] <= set(entry) and REQUIRED["request"] <= set(entry["request"])
        assert REQUIRED["response"] <= set(entry["response"]) and REQUIRED["content"] <= set(entry["response"]["content"])
        assert REQUIRED["timings"] <= set(entry["timings"])
    exchanges = har.read(tmp_path / "out.har")
    assert [(e.method, e.url, e.status) for e in exchanges] == [(r.method, str(r.url), s.status_code) for r, s in pairs]
    assert exchanges[1].request_body == pairs[1][0].content and exchanges[2].response_body == b"\xff\xfe\x00binary"
    assert document["log"]["entries"][2]["response"]["content"]["encoding"] == "base64"


def test_credentials_become_one_same_shape_pseudonym_each(tmp_path: Path) -> None:
    headers = {"Ozeki-User": TOKEN, "Authorization": f"Bearer {SECRET}"}
    echoed = {"status": "OK", "caller": TOKEN, "participants": [TOKEN], "debug": json.dumps(SECRET)}
    pairs = [_pair("http://127.0.0.1:1/index.php?srv=chatserver", 200, echoed, headers=headers) for _ in range(2)]
    har.write(tmp_path / "out.har", pairs, api="ozeki")
    text = (tmp_path / "out.har").read_text()
    assert TOKEN not in text and "s3cr3t" not in text
    document = json.loads(text)
    pseudonyms = {h["value"] for e in document["log"]["entries"] for h in e["request"]["headers"] if h["name"] == "ozeki-user"}
    [pseudonym] = pseudonyms  # one value, one pseudonym, across entries
    assert re.fullmatch(r"[0-9a-f]{32}", pseudonym) and pseudonym != TOKEN
    body = json.loads(document["log"]["entries"][0]["response"]["content"]["text"])
    assert body["caller"] == pseudonym and body["participants"] == [pseudonym]
    # A second writer (another key) gives other pseudonyms: nothing ties a file to the value.
    har.write(tmp_path / "again.har", pairs, api="ozeki")
    assert pseudonym not in (tmp_path / "again.har").read_text()


def test_an_exchange_broken_on_purpose_is_noted_not_failed(tmp_path: Path) -> None:
    request, response = _pair("http://127.0.0.1:1/_/mutes", 400, {"status": "badRequest", "data": []}, sent={"reason": 1})
    with har.HarWriter(tmp_path / "out.har", api="plugdj") as writer:
        writer.add(request, response, on_purpose=True)
        writer.add(request, response)
    [noted, failed] = check_traffic("plugdj", tmp_path / "out.har").recorder.results
    assert noted["outcome"] == "pass" and "breaks the spec on purpose" in noted["detail"]
    assert failed["outcome"] == "fail" and failed["side"] == "client" and "userID" in failed["message"]
