"""The sandbox gateway's memory: paylinks, their card attempts, and the test-card rules.

Mounted inside cardpay in development, the paylinks live in a SQLite file in the instance folder
(instance/sandbox.sqlite3) that every worker opens, so `gunicorn -w N` serves one sandbox; the tests
and a sandbox served alone keep them in one process's memory, behind one lock.
Card numbers are never kept: an attempt records the last 4 digits and its outcome only.
"""

import json
import re
import secrets
import sqlite3
import threading
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime

from cardpay.core import clock
from cardpay.core.redaction import luhn_valid

APPROVED_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
# Succeeds at the bank but the sandbox never sends the callback: only getStatus knows, so
# cardpay's payment detection fallback (status poll) is what grants access.
SILENT_CARD = "4000000000000077"


class CardError(ValueError):
    """The card form was filled in wrongly: nothing is charged, the form shows this sentence."""


def _expiry_ok(raw, today):
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", raw or "")
    if not match:
        return False
    month, year = int(match.group(1)), int(match.group(2))
    year = year + 2000 if year < 100 else year
    return 1 <= month <= 12 and (year, month) >= (today.year, today.month)


def judge_card(number, expiry, cvv):
    """Return (outcome, last4, send_callback) for a card form, or raise CardError.

    outcome is SUCCESS or FAILURE. The test cards are fixed; any other number is approved when
    it passes the Luhn check and refused as a typing error when it does not.
    """
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise CardError("Enter the card number printed on the card (12 to 19 digits).")
    if not _expiry_ok(expiry, clock.now()):
        raise CardError("Enter an expiry date in the future, as MM/YY.")
    if not re.fullmatch(r"\d{3,4}", (cvv or "").strip()):
        raise CardError("Enter the 3 or 4 digit security code (CVV).")
    if digits == DECLINED_CARD:
        return "FAILURE", digits[-4:], True
    if digits == SILENT_CARD:
        return "SUCCESS", digits[-4:], False
    if digits == APPROVED_CARD or luhn_valid(digits):
        return "SUCCESS", digits[-4:], True
    raise CardError("That card number is not valid; please check it. Nothing was charged.")


@dataclass
class Paylink:
    """One payment link issued by the sandbox."""

    paylink_id: str
    external_transaction_id: str
    amount: int
    currency: str
    description: str
    urls: dict
    status: str = "PENDING"  # PENDING, SUCCESS or FAILURE (a declined card may be retried)
    created_at: object = field(default_factory=clock.now)
    completed_at: object = None
    attempts: list = field(default_factory=list)  # {"last4", "status", "at"}
    deliveries: list = field(default_factory=list)  # {"status", "attempt", "http_status", "at"}
    lookups: int = 0  # getStatus calls answered, so tests can see how often cardpay asked

    def record(self):
        """Return the getStatus answer for this paylink."""
        return {"responseCode": "00", "message": "OK", "paylinkID": self.paylink_id,
                "externalTransactionID": self.external_transaction_id, "status": self.status,
                "amount": self.amount, "currency": self.currency}


class _MemoryStore:
    """Paylinks in this process's memory, behind one lock (tests, and a sandbox served alone)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.paylinks = {}

    @contextmanager
    def transaction(self):
        with self.lock:
            yield self

    def get(self, paylink_id):
        return self.paylinks.get(paylink_id)

    def find(self, reference):
        return next((p for p in self.paylinks.values() if p.external_transaction_id == reference), None)

    def put(self, paylink):
        self.paylinks[paylink.paylink_id] = paylink

    def all(self):
        return dict(self.paylinks)


class _FileStore:
    """Paylinks in a SQLite file every worker process opens: `gunicorn -w N` serves one sandbox."""

    def __init__(self, path):
        self.path = str(path)
        with closing(sqlite3.connect(self.path)) as connection, connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("CREATE TABLE IF NOT EXISTS paylinks (id TEXT PRIMARY KEY, reference TEXT UNIQUE, "
                               "data TEXT NOT NULL)")

    @contextmanager
    def transaction(self):
        # BEGIN IMMEDIATE: one writer at a time across processes, so a charge or a lookup count is never lost.
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            self._connection = connection
            yield self
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    def _row(self, where, value):
        row = self._connection.execute(f"SELECT data FROM paylinks WHERE {where} = ?", (value,)).fetchone()
        return _from_json(row[0]) if row else None

    def get(self, paylink_id):
        return self._row("id", paylink_id)

    def find(self, reference):
        return self._row("reference", reference)

    def put(self, paylink):
        self._connection.execute("INSERT OR REPLACE INTO paylinks (id, reference, data) VALUES (?, ?, ?)",
                                 (paylink.paylink_id, paylink.external_transaction_id, _to_json(paylink)))

    def all(self):
        return {row[0]: _from_json(row[1]) for row in self._connection.execute("SELECT id, data FROM paylinks")}


def _to_json(paylink):
    return json.dumps(asdict(paylink), default=lambda value: value.isoformat())


def _from_json(text):
    values = json.loads(text)
    for name in ("created_at", "completed_at"):
        if values.get(name):
            values[name] = datetime.fromisoformat(values[name])
    return Paylink(**values)


class SandboxState:
    """Every paylink this sandbox issued, by paylinkID: in memory, or in a file all workers share."""

    def __init__(self, path=None):
        self._store = _FileStore(path) if path else _MemoryStore()
        self.stopping = threading.Event()  # set to end pending callback retries at once

    @property
    def paylinks(self):
        """Every paylink, by paylinkID (a snapshot when they live in a file)."""
        with self._store.transaction() as store:
            return store.all()

    def create(self, payload):
        """Issue a paylink (the same one again for a repeated externalTransactionID)."""
        with self._store.transaction() as store:
            existing = store.find(payload["externalTransactionID"])
            if existing is not None:
                return existing, False
            paylink = Paylink(paylink_id="SBX" + secrets.token_hex(10),
                              external_transaction_id=payload["externalTransactionID"],
                              amount=payload["amount"], currency=payload["currency"],
                              description=payload.get("description") or "", urls=dict(payload["urls"]))
            store.put(paylink)
            return paylink, True

    def get(self, paylink_id):
        """Return a paylink or None."""
        with self._store.transaction() as store:
            return store.get(paylink_id)

    def look_up(self, paylink_id):
        """Return a paylink for getStatus, counting the lookup, or None."""
        with self._store.transaction() as store:
            paylink = store.get(paylink_id)
            if paylink is not None:
                paylink.lookups += 1
                store.put(paylink)
            return paylink

    def charge(self, paylink_id, outcome, last4):
        """Record a card attempt; return False when the paylink was already paid (no second charge)."""
        with self._store.transaction() as store:
            paylink = store.get(paylink_id)
            if paylink.status == "SUCCESS":
                return False
            paylink.status = outcome
            paylink.completed_at = clock.now()
            paylink.attempts.append({"last4": last4, "status": outcome, "at": paylink.completed_at})
            store.put(paylink)
            return True

    def note_delivery(self, paylink_id, status, attempt, http_status):
        """Remember one callback delivery attempt (http_status None: no answer)."""
        with self._store.transaction() as store:
            paylink = store.get(paylink_id)
            paylink.deliveries.append({"status": status, "attempt": attempt, "http_status": http_status,
                                       "at": clock.now()})
            store.put(paylink)
