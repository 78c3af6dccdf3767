"""A 100 MiB multipart upload streams: memory stays bounded while it is received, hashed, stored
and read back, and the hash taken while writing is the hash of what is read back.

How memory is measured, and why this way:

- **Peak resident memory of this process (RSS).** Linux keeps a high-water mark of a process's
  resident memory (``VmHWM`` in ``/proc/self/status``); writing ``5`` to ``/proc/self/clear_refs``
  resets it to the current resident size (Linux 4.0 and later). The test resets it right before
  the upload and reads it right after the read-back: the difference is the most the process's
  resident memory grew meanwhile, whatever allocated it — Python objects, C buffers of hashlib or
  the database driver alike. ``resource.getrusage().ru_maxrss`` would be the same figure but can
  not be reset: in a test process that earlier held more (another test, the suite's setup) it
  shows no growth at all, so it would pass whatever the upload did.
- **Peak of Python's own allocations (tracemalloc)**, a finer bound on where a whole-body
  ``bytes`` object would show up first.

The body is written to a file in 1 MiB blocks and handed to the WSGI handler as ``wsgi.input``, as
a server hands a socket: the test never holds the upload in memory either.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tracemalloc
from pathlib import Path

import pytest
from django.test.client import ClientHandler, RequestFactory

from apps.evidence.models import EvidenceArtifact

MIB = 1024 * 1024
SIZE = 100 * MIB
BOUNDARY = "lexeconboundary"
# Well below the upload's size: a handler that kept the body, or one chunk per MiB, fails this.
MAX_RSS_GROWTH = 40 * MIB
MAX_PYTHON_PEAK = 8 * MIB
CLEAR_REFS = Path("/proc/self/clear_refs")


def _write_multipart(path: Path, size: int) -> tuple[int, str]:
    """Write a multipart body with a ``size``-byte file part to ``path``, 1 MiB at a time;
    return the body's length and the SHA-256 of the file part."""
    hasher = hashlib.sha256()
    block = bytes(range(256)) * 4096  # 1 MiB
    with path.open("wb") as out:
        for name, value in (("artifact_type", "external_report"), ("title", "big report")):
            out.write(
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        out.write(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="r.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        for index in range(size // len(block)):
            # Vary the blocks so the file is not one repeated MiB.
            chunk = index.to_bytes(8, "big") + block[8:]
            out.write(chunk)
            hasher.update(chunk)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return path.stat().st_size, hasher.hexdigest()


def _post_file(body: Path, length: int, authorization: str):
    """``POST /evidence/register`` with ``body`` streamed from disk as the request's input."""
    with body.open("rb") as stream:
        environ = RequestFactory()._base_environ(
            PATH_INFO="/evidence/register",
            REQUEST_METHOD="POST",
            CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
            CONTENT_LENGTH=str(length),
            HTTP_AUTHORIZATION=authorization,
        )
        environ["wsgi.input"] = stream
        return ClientHandler(enforce_csrf_checks=False)(environ)


def _status_bytes(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB$", status, re.MULTILINE)
    assert match, f"no {field} in /proc/self/status"
    return int(match[1]) * 1024


def _reset_peak_rss() -> int:
    """Reset the resident high-water mark to the current resident size; return that size."""
    CLEAR_REFS.write_text("5")
    return _status_bytes("VmHWM")


def _sha256_of(chunks) -> str:
    hasher = hashlib.sha256()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not CLEAR_REFS.exists(),
    reason="the peak-RSS measurement needs Linux's /proc/self/clear_refs",
)
def test_a_100_mib_upload_streams_in_bounded_memory(writer, tmp_path, evidence_dir):
    authorization = writer._credentials["HTTP_AUTHORIZATION"]
    # Warm up the same path with a small upload, so first-use imports and caches don't count.
    small_length, _ = _write_multipart(tmp_path / "small", MIB)
    assert _post_file(tmp_path / "small", small_length, authorization).status_code == 201
    length, expected = _write_multipart(tmp_path / "body", SIZE)

    baseline = _reset_peak_rss()
    tracemalloc.start()
    try:
        response = _post_file(tmp_path / "body", length, authorization)
        assert response.status_code == 201, response.content
        artifact_id = json.loads(response.content)["artifact_id"]
        # Read back through the API, streamed and hashed chunk by chunk (the test client closes
        # the response when its content is exhausted).
        download = writer.get(f"/evidence/{artifact_id}/content")
        read_back = _sha256_of(download.streaming_content)
        verified = writer.post(f"/evidence/{artifact_id}/verify", {}, format="json").json()
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth = _status_bytes("VmHWM") - baseline

    artifact = EvidenceArtifact.objects.get(pk=artifact_id)
    assert (artifact.sha256, artifact.size_bytes) == (expected, SIZE)
    stored = evidence_dir / expected[:2] / expected[2:4] / expected
    assert stored.stat().st_size == SIZE
    # Hash-on-write (recorded at registration) equals hash-on-read (from the API and the disk).
    assert read_back == expected
    assert verified == {
        "valid": True,
        "sha256": expected,
        "stored_sha256": expected,
        "reason": None,
    }
    with stored.open("rb") as handle:
        assert _sha256_of(iter(lambda: handle.read(MIB), b"")) == expected
    assert rss_growth < MAX_RSS_GROWTH, f"resident memory grew {rss_growth} bytes for {SIZE}"
    assert python_peak < MAX_PYTHON_PEAK, f"Python allocations peaked at {python_peak} bytes"
