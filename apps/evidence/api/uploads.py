"""The multipart upload handler of ``POST /evidence/register``: streams the ``file`` part to a
temporary file in chunks and refuses it (413) as soon as it passes the size limit."""

from __future__ import annotations

from django.core.files.uploadhandler import TemporaryFileUploadHandler

from apps.evidence import services


class EvidenceUploadHandler(TemporaryFileUploadHandler):
    """Never holds more than one chunk of the upload in memory; stops at the limit."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0
        self.limit = services.max_bytes()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.file.close()
            raise services.ArtifactTooLarge(details={"max_bytes": self.limit})
        super().receive_data_chunk(raw_data, start)
