"""The sandbox gateway's memory: paylinks, their card attempts, and the test-card rules.

State lives in this process, guarded by one lock. That is enough for `make run` (one process,
threads) and for the tests. Under several gunicorn workers each worker would hold its own
paylinks, so there the sandbox must run as its own single process: `flask cardpay sandbox-gateway`.
Card numbers are never kept: an attempt records the last 4 digits and its outcome only.
"""

import re
import secrets
import threading
from dataclasses import dataclass, field

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


class SandboxState:
    """Every paylink this sandbox issued, by paylinkID, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.paylinks = {}
        self.stopping = threading.Event()  # set to end pending callback retries at once

    def create(self, payload):
        """Issue a paylink (the same one again for a repeated externalTransactionID)."""
        with self.lock:
            for paylink in self.paylinks.values():
                if paylink.external_transaction_id == payload["externalTransactionID"]:
                    return paylink, False
            paylink = Paylink(paylink_id="SBX" + secrets.token_hex(10),
                              external_transaction_id=payload["externalTransactionID"],
                              amount=payload["amount"], currency=payload["currency"],
                              description=payload.get("description") or "", urls=dict(payload["urls"]))
            self.paylinks[paylink.paylink_id] = paylink
            return paylink, True

    def get(self, paylink_id):
        """Return a paylink or None."""
        with self.lock:
            return self.paylinks.get(paylink_id)

    def look_up(self, paylink_id):
        """Return a paylink for getStatus, counting the lookup, or None."""
        with self.lock:
            paylink = self.paylinks.get(paylink_id)
            if paylink is not None:
                paylink.lookups += 1
            return paylink

    def charge(self, paylink_id, outcome, last4):
        """Record a card attempt; return False when the paylink was already paid (no second charge)."""
        with self.lock:
            paylink = self.paylinks[paylink_id]
            if paylink.status == "SUCCESS":
                return False
            paylink.status = outcome
            paylink.completed_at = clock.now()
            paylink.attempts.append({"last4": last4, "status": outcome, "at": paylink.completed_at})
            return True

    def note_delivery(self, paylink_id, status, attempt, http_status):
        """Remember one callback delivery attempt (http_status None: no answer)."""
        with self.lock:
            self.paylinks[paylink_id].deliveries.append(
                {"status": status, "attempt": attempt, "http_status": http_status, "at": clock.now()})
