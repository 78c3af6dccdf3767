"""Limits of legal holds and the locks the retention app takes."""

from __future__ import annotations

#: A hold's reason and release reason: at least this many characters, at most the maximum.
REASON_MIN_LENGTH = 10
TEXT_MAX_LENGTH = 4000
REQUESTED_BY_MAX_LENGTH = 200
#: The most decisions one ``decision_ids`` hold names.
MAX_HOLD_DECISIONS = 1000
#: The longest period a regulatory package covers.
MAX_PACKAGE_DAYS = 3660

#: First key of the retention app's two-key PostgreSQL advisory locks ("RETN"); two-key locks
#: never collide with one-key locks, nor with other classes (evidence uses "EVID").
LOCK_CLASS = 0x5245544E
#: Transaction-level: taken exclusively to place or release a hold, shared by each sweep batch
#: and each artifact hold check, so no hold can appear between a check and the erasure it allows.
HOLDS_LOCK = 1
#: Session-level: held by a running sweep for its whole run. A later run that gets it knows that
#: every run still marked ``running`` is dead (its connection, and so its lock, is gone).
SWEEP_LOCK = 2
