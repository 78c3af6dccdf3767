"""A large multipart upload streams: memory stays bounded while 30 MiB are hashed and stored."""

from __future__ import annotations

import hashlib
import tracemalloc

from django.db import connection
from django.test.client import ClientHandler, RequestFactory

from apps.evidence.models import EvidenceArtifact

SIZE = 30 * 1024 * 1024
BOUNDARY = "lexeconboundary"


def _multipart_on_disk(path, size: int) -> tuple[int, str]:
    """Write a multipart body with a ``size``-byte file part to ``path``, 1 MiB at a time."""
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
        for _ in range(size // len(block)):
            out.write(block)
            hasher.update(block)
        out.write(f"\r\n--{BOUNDARY}--\r\n".encode())
    return path.stat().st_size, hasher.hexdigest()


def test_thirty_mib_upload_streams_with_bounded_memory(writer, tmp_path, evidence_dir):
    length, expected = _multipart_on_disk(tmp_path / "body", SIZE)
    key = writer._credentials["HTTP_AUTHORIZATION"]
    with (tmp_path / "body").open("rb") as stream:
        environ = RequestFactory()._base_environ(
            PATH_INFO="/evidence/register",
            REQUEST_METHOD="POST",
            CONTENT_TYPE=f"multipart/form-data; boundary={BOUNDARY}",
            CONTENT_LENGTH=str(length),
            HTTP_AUTHORIZATION=key,
        )
        environ["wsgi.input"] = stream
        handler = ClientHandler(enforce_csrf_checks=False)
        tracemalloc.start()
        try:
            response = handler(environ)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 201, response.content
    assert connection.vendor in {"sqlite", "postgresql"}
    artifact = EvidenceArtifact.objects.get()
    assert (artifact.sha256, artifact.size_bytes) == (expected, SIZE)
    stored = evidence_dir / expected[:2] / expected[2:4] / expected
    assert stored.stat().st_size == SIZE
    # Hash-on-write equals hash-on-read.
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == expected
    assert peak < 4 * 1024 * 1024, f"peak {peak} bytes while streaming {SIZE}"
