"""Rendering offline: no URL in a document is ever fetched while the PDF is made, and narratives
are text, never markup. A real HTTP server on 127.0.0.1 counts every request it gets."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.techdoc import render, services
from apps.techdoc.render import NoNetworkFetcher, html_to_pdf
from tests.techdoc.conftest import SYSTEM_ID, URL, pdf_text


@pytest.fixture
def listener():
    """An HTTP server on a free local port that records the path of every request."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_the_listener_does_count_a_real_fetch(listener):
    """The control: a plain request to the listener is counted (so zero below means none)."""
    from urllib.request import urlopen

    base, hits = listener
    with urlopen(f"{base}/control.png", timeout=5) as answer:  # noqa: S310 - local test server
        assert answer.status == 200
    assert hits == ["/control.png"]


def test_the_fetcher_refuses_every_url_in_markup(listener, tmp_path):
    base, hits = listener
    html = (
        "<html><head>"
        f'<link rel="stylesheet" href="{base}/style.css">'
        f"<style>@import url({base}/imported.css); body {{ background: url({base}/bg.png); }}"
        f"@font-face {{ font-family: x; src: url({base}/font.woff2); }}</style>"
        "</head><body>"
        f'<img src="{base}/pixel.png"><img src="file:///etc/hostname">'
        f'<img src="https://example.invalid/remote.png"><p>ok</p></body></html>'
    )
    fetcher = NoNetworkFetcher()
    pdf = html_to_pdf(html, fetcher=fetcher)
    assert pdf.startswith(b"%PDF-")
    assert hits == []
    refused = " ".join(fetcher.refused)
    for url in (f"{base}/style.css", f"{base}/pixel.png", "file:///etc/hostname"):
        assert url in refused
    assert "ok" in pdf_text(pdf, tmp_path)


def test_a_network_url_in_a_narrative_is_not_fetched(
    listener, staff_api, system, officer, tmp_path
):
    base, hits = listener
    text = (
        f'See <img src="{base}/narrative.png"> and <link rel="stylesheet" href="{base}/n.css">, '
        f"url({base}/css.png) or simply {base}/plain for the test report."
    )
    services.narrative_save(user=officer, system_id=SYSTEM_ID, field="test_reports", text=text)
    client = staff_api("compliance_officer")
    response = client.get(URL, {"ai_system": SYSTEM_ID, "format": "pdf"})
    assert response.status_code == 200
    assert hits == []
    # The narrative is printed as the text it is.
    printed = " ".join(pdf_text(response.content, tmp_path).split())
    assert f'<img src="{base}/narrative.png">' in printed
    html = client.get(URL, {"ai_system": SYSTEM_ID, "format": "html"}).content.decode()
    assert f"&lt;img src=&quot;{base}/narrative.png&quot;&gt;" in html
    assert f'<img src="{base}' not in html
    assert hits == []


def test_the_html_document_needs_nothing_from_outside(staff_api, system):
    client = staff_api("compliance_officer")
    html = client.get(URL, {"ai_system": SYSTEM_ID, "format": "html"}).content.decode()
    assert "<script" not in html
    assert "<link" not in html
    assert "src=" not in html
    assert "DejaVu Sans" in html  # the fonts Debian's fonts-dejavu-core installs


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("annex_iii_point", "Annex III point"),
        ("art_6_3_exemption", "Art. 6(3) exemption"),
        ("text_sha256", "Text SHA-256"),
        ("id", "ID"),
        ("decisions_in_window", "Decisions in window"),
    ],
)
def test_labels_of_fact_keys(key, expected):
    assert render.label(key) == expected


def test_facts_become_values_pairs_and_tables():
    rows = render.fact_rows(
        {
            "count": 3,
            "flag": True,
            "none": None,
            "names": ["a", "b"],
            "empty": [],
            "by_level": {"high": 2, "low": 1},
            "rows": [{"seq": 1, "who": "user:1"}, {"seq": 2, "extra": "x"}],
        }
    )
    by_label = {row["label"]: row for row in rows}
    assert by_label["Count"]["value"] == "3"
    assert by_label["Flag"]["value"] == "yes"
    assert by_label["None"]["value"] == "—"
    assert by_label["Names"]["value"] == "a, b"
    assert by_label["Empty"]["value"] == "none"
    assert by_label["By level"]["pairs"] == [("High", "2"), ("Low", "1")]
    table = by_label["Rows"]
    assert table["columns"] == ["Seq", "Who", "Extra"]
    assert table["rows"] == [["1", "user:1", "—"], ["2", "—", "x"]]
