"""A scripted learner: buys a course through cardpay and the sandbox gateway over real HTTP.

It does what a browser does (course page, Enroll Now with its CSRF token, the hosted card page,
the return page, the status polls, ui-ack) and times each stage as the learner sees it. Used by
`flask cardpay simulate-payment` and by the end-to-end tests.
"""

import re
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin

CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


class PurchaseError(Exception):
    """The purchase could not go on (a page answered something a learner would not expect)."""


@dataclass
class Purchase:
    """What happened: the stage timings (ms, in order), the final status JSON and the payment token."""

    stages: list = field(default_factory=list)  # (name, ms)
    token: str = None
    status: dict = None
    card_page_status: int = None

    @property
    def granted(self):
        """Tell whether the learner ended up with access."""
        return bool(self.status) and self.status["enrollment_status"] == "active" and (
            self.status["payment_status"] == "succeeded")


def _expiry():
    year = time.gmtime().tm_year + 3
    return f"12/{year % 100:02d}"


def _timed(purchase, name, started):
    purchase.stages.append((name, (time.perf_counter() - started) * 1000.0))


def buy(base_url, slug, card="4242424242424242", email="learner@example.com", name="Demo Learner",
        wait_seconds=30.0, poll_seconds=0.05):
    """Buy one course; return a Purchase (raise PurchaseError when a step answers unexpectedly)."""
    import requests  # here, not at start: only the CLI and the tests buy courses

    purchase = Purchase()
    base_url = base_url.rstrip("/")
    with requests.Session() as browser:
        started = time.perf_counter()
        page = browser.get(f"{base_url}/courses/{slug}", timeout=10)
        if page.status_code != 200:
            raise PurchaseError(f"course page {slug!r} answered {page.status_code}")
        token = CSRF_FIELD.search(page.text)
        form = {"email": email, "name": name, "csrf_token": token.group(1) if token else ""}
        enrolled = browser.post(f"{base_url}/courses/{slug}/enroll", data=form, allow_redirects=False, timeout=30)
        if enrolled.status_code != 303:
            raise PurchaseError(f"Enroll Now answered {enrolled.status_code}, not a redirect to the card page")
        paylink_url = urljoin(base_url + "/", enrolled.headers["Location"])
        _timed(purchase, "checkout (Enroll Now -> paylink)", started)

        started = time.perf_counter()
        card_page = browser.get(paylink_url, timeout=10)
        if card_page.status_code != 200:
            raise PurchaseError(f"card page answered {card_page.status_code}")
        _timed(purchase, "paylink (card page loaded)", started)

        started = time.perf_counter()
        paid = browser.post(paylink_url, data={"card_number": card, "expiry": _expiry(), "cvv": "123"},
                            allow_redirects=False, timeout=30)
        purchase.card_page_status = paid.status_code
        if paid.status_code != 303:
            raise PurchaseError(f"card payment answered {paid.status_code}: the card was refused by the form")
        return_url = urljoin(paylink_url, paid.headers["Location"])
        landing = browser.get(return_url, timeout=10)
        if landing.status_code != 200:
            raise PurchaseError(f"return page answered {landing.status_code}")
        purchase.token = re.search(r"/payments/([^/?#]+)/return", return_url).group(1)
        _timed(purchase, "card payment (Pay -> return page)", started)

        status_url = f"{base_url}/api/payments/{purchase.token}/status"
        started = time.perf_counter()
        deadline = started + wait_seconds
        known = None
        while time.perf_counter() < deadline:
            purchase.status = browser.get(status_url, timeout=10).json()
            if known is None and purchase.status["payment_status"] not in ("created", "pending"):
                known = time.perf_counter()
                _timed(purchase, "callback/detection (outcome known)", started)
            if purchase.granted or purchase.status["payment_status"] in ("failed", "manual_review"):
                break
            time.sleep(poll_seconds)
        if not purchase.granted:
            return purchase
        _timed(purchase, "access granted (after outcome)", known)

        started = time.perf_counter()
        ack = browser.post(f"{base_url}/api/payments/{purchase.token}/ui-ack", timeout=10)
        if ack.status_code != 200:
            raise PurchaseError(f"ui-ack answered {ack.status_code}")
        _timed(purchase, "ui-ack", started)
    return purchase
