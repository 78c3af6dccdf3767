"""Many threads appending at once leave one contiguous, unforked chain that verifies."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.db import connection, connections, transaction

from apps.ledger import selectors, services
from apps.ledger.models import LedgerEntry

THREADS = 12
PER_THREAD = 25


@pytest.mark.usefixtures("ledger_transactional_db")
def test_parallel_appends_leave_a_contiguous_unforked_chain():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the race matters on PostgreSQL")
    services.ledger_append(entry_type="test.event", payload={"warmup": True})
    errors: list[BaseException] = []
    results: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(number: int) -> None:
        try:
            start.wait()
            for index in range(PER_THREAD):
                with transaction.atomic():
                    appended = services.ledger_append(
                        entry_type="test.event", payload={"thread": number, "i": index}
                    )
                with lock:
                    results.append(appended.seq)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    total = 2 + THREADS * PER_THREAD  # genesis + warm-up + all workers
    assert sorted(results) == list(range(2, total))
    rows = list(LedgerEntry.objects.order_by("seq").values_list("seq", "prev_hash", "entry_hash"))
    assert [row[0] for row in rows] == list(range(total))
    assert len({row[1] for row in rows}) == total  # no two children of one parent
    for previous, current in itertools.pairwise(rows):
        assert current[1] == previous[2]
    services.ledger_checkpoint_create()
    report = selectors.ledger_verify()
    assert report["valid"] is True
    assert report["checkpoint_size"] == total
