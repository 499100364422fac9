"""The return page, the status API it polls, and ui-ack: what the learner sees and what gets timed."""

import re
import time

import pytest

from cardpay import signals
from cardpay.core import clock, events, ids
from cardpay.core.extensions import db
from cardpay.models import Course, Enrollment, Learner, Payment
from cardpay.payments import approvals

STATUS_KEYS = {"payment_status", "enrollment_status", "access_granted_at", "course"}


@pytest.fixture
def payment(app):
    """A pending payment waiting for its outcome; returns its token."""
    with app.app_context():
        course = Course(slug="python-foundations", title="Python Foundations", price_cents=49900)
        learner = Learner(email="thandi@example.com", name="Thandi")
        db.session.add_all([course, learner])
        db.session.flush()
        enrollment = Enrollment(learner_id=learner.id, course_id=course.id)
        db.session.add(enrollment)
        db.session.flush()
        row = Payment(token=ids.payment_token(), external_transaction_id=ids.external_transaction_id(),
                      paylink_id="PL1", enrollment_id=enrollment.id, amount_cents=49900, status="pending")
        db.session.add(row)
        db.session.commit()
        return row.token


@pytest.fixture
def timed():
    """Collect the stage-timed and ui-updated events published during the test."""
    seen = []

    def on_stage(_sender, **kwargs):
        seen.append(("stage", kwargs["operation"], kwargs["duration_ms"]))

    def on_ui(_sender, **kwargs):
        seen.append(("ui-updated", kwargs["ui_update_ms"], kwargs["end_to_end_ms"]))

    signals.stage_timed.connect(on_stage)
    signals.ui_updated.connect(on_ui)
    yield seen
    signals.stage_timed.disconnect(on_stage)
    signals.ui_updated.disconnect(on_ui)


# pytest-flask keeps one app context (so one session) around each test and its client requests:
# these helpers use it too, ending its transaction first so they read what the requests committed.
def _row(_app, token):
    db.session.commit()
    db.session.expire_all()
    row = db.session.execute(db.select(Payment).where(Payment.token == token)).scalar_one()
    db.session.commit()
    return row


def _decide(_app, token, decide):
    db.session.commit()
    db.session.expire_all()
    row = db.session.execute(db.select(Payment).where(Payment.token == token)).scalar_one()
    decision = decide(row)
    db.session.commit()
    events.publish_all(decision.events)  # what the callback path does after its commit
    return decision


def _state(page):
    return re.search(r'id="payment-state"[^>]*data-state="([a-z_]+)"', page.get_data(as_text=True)).group(1)


def test_return_page_confirms_and_records_the_arrival_once(app, client, payment):
    first = client.get(f"/payments/{payment}/return")
    assert first.status_code == 200 and _state(first) == "confirming"
    assert "Confirming your payment…" in first.get_data(as_text=True)
    assert 'id="course-access"' not in first.get_data(as_text=True).split("<template")[0]
    arrived = _row(app, payment).return_page_at
    clock.advance(seconds=5)
    client.get(f"/payments/{payment}/return")
    assert _row(app, payment).return_page_at == arrived


def test_status_api_answers_exactly_the_spec_shape(client, payment):
    response = client.get(f"/api/payments/{payment}/status")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.json == {"payment_status": "pending", "enrollment_status": "pending_payment",
                             "access_granted_at": None,
                             "course": {"slug": "python-foundations", "title": "Python Foundations"}}


def test_granted_access_shows_on_the_page_and_in_the_api(app, client, payment):
    client.get(f"/payments/{payment}/return")
    _decide(app, payment, lambda row: approvals.apply_success(row, "fast_track"))
    status = client.get(f"/api/payments/{payment}/status").json
    assert set(status) == STATUS_KEYS
    assert (status["payment_status"], status["enrollment_status"]) == ("succeeded", "active")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", status["access_granted_at"])
    page = client.get(f"/payments/{payment}/return")
    assert _state(page) == "granted"
    link = re.search(r'<a id="course-access"[^>]*href="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert link == f"/learn/{payment}"
    room = client.get(link)
    assert room.status_code == 200 and "Your course is open" in room.get_data(as_text=True)


def test_course_room_is_closed_until_access_is_granted(client, payment):
    response = client.get(f"/learn/{payment}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/payments/{payment}/return")


@pytest.mark.parametrize("decide, state, words", [
    (lambda row: approvals.apply_failure(row, "fast_track"), "failed", "did not go through"),
    (lambda row: approvals.send_to_manual_review("unknown", payment=row), "manual_review", "A person"),
])
def test_failed_and_manual_review_payments_answer_and_say_so(app, client, payment, decide, state, words):
    _decide(app, payment, decide)
    assert client.get(f"/api/payments/{payment}/status").json["payment_status"] == state
    page = client.get(f"/payments/{payment}/return")
    assert _state(page) == state and words in page.get_data(as_text=True)
    if state == "manual_review":
        assert "Nothing is lost" in page.get_data(as_text=True)


@pytest.mark.parametrize("outcome, state, words", [("cancel", "cancelled", "No payment was made"),
                                                   ("failure", "failed", "did not go through")])
def test_gateway_redirect_hints_show_while_cardpay_has_no_verdict(client, payment, outcome, state, words):
    page = client.get(f"/payments/{payment}/return?outcome={outcome}").get_data(as_text=True)
    assert re.search(r'id="payment-state"[^>]*data-state="([a-z_]+)"', page).group(1) == state and words in page
    # A hint is not a verdict: the page never tells someone who may yet be charged that they were not.
    assert "not charged" not in page and "Nothing was charged" not in page


@pytest.mark.parametrize("token", ["1", "2", "0", "PL1", "x" * 65])
def test_unknown_tokens_and_sequential_ids_find_nothing(client, payment, token):
    api = client.get(f"/api/payments/{token}/status")
    assert api.status_code == 404 and api.json["error"] == "not_found"
    assert client.post(f"/api/payments/{token}/ui-ack").status_code == 404
    page = client.get(f"/payments/{token}/return")
    assert page.status_code == 404 and "could not find that payment" in page.get_data(as_text=True)


def test_payment_tokens_carry_at_least_128_random_bits(payment):
    tokens = {ids.payment_token() for _ in range(200)} | {payment}
    assert len(tokens) == 201
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token)  # 43 base64url characters = 256 bits


def test_ui_ack_records_ui_update_and_end_to_end_once(app, client, payment, timed):
    started = time.monotonic()  # real time passes too, and a slow database can make it seconds
    client.get(f"/payments/{payment}/return")
    assert client.post(f"/api/payments/{payment}/ui-ack").status_code == 409  # nothing to show yet
    clock.advance(seconds=1)
    _decide(app, payment, lambda row: approvals.apply_success(row, "fast_track"))
    clock.advance(seconds=2)
    timed.clear()
    first = client.post(f"/api/payments/{payment}/ui-ack")
    assert first.status_code == 200 and first.json == {"acknowledged": True, "recorded": True}
    second = client.post(f"/api/payments/{payment}/ui-ack")
    assert second.json == {"acknowledged": True, "recorded": False}
    stages = {name: ms for kind, name, ms in timed if kind == "stage"}
    assert set(stages) == {"ui_update", "end_to_end"}
    real_ms = (time.monotonic() - started) * 1000
    assert 2000 <= stages["ui_update"] < 2000 + real_ms and 3000 <= stages["end_to_end"] < 3000 + real_ms
    assert [entry for entry in timed if entry[0] == "ui-updated"] == [
        ("ui-updated", stages["ui_update"], stages["end_to_end"])]
    assert _row(app, payment).ui_acked_at is not None


def test_ack_after_a_manual_approval_counts_but_times_no_stage_against_thresholds(app, client, payment, timed):
    client.get(f"/payments/{payment}/return")

    def review_then_approve(row):
        review = approvals.send_to_manual_review("fast_track_disabled", payment=row)
        db.session.flush()
        return approvals.approve_manual_review(review.intervention, "ops@example.com", "bank statement checked")

    clock.advance(minutes=20)  # a person took twenty minutes; that is not cardpay being slow
    _decide(app, payment, review_then_approve)
    timed.clear()
    assert client.post(f"/api/payments/{payment}/ui-ack").json == {"acknowledged": True, "recorded": True}
    assert [entry for entry in timed if entry[0] == "stage"] == []
    assert timed == [("ui-updated", None, None)]
    assert _row(app, payment).ui_acked_at is not None


def test_ui_update_starts_at_the_page_load_when_access_came_first(app, client, payment, timed):
    _decide(app, payment, lambda row: approvals.apply_success(row, "fast_track"))
    clock.advance(seconds=10)
    client.get(f"/payments/{payment}/return")
    clock.advance(milliseconds=300)
    client.post(f"/api/payments/{payment}/ui-ack")
    stages = {name: ms for kind, name, ms in timed if kind == "stage"}
    assert 300 <= stages["ui_update"] < 800 and 300 <= stages["end_to_end"] < 800


def test_ui_ack_needs_no_csrf_token_the_payment_token_is_the_capability(app_factory, payment):
    app = app_factory(WTF_CSRF_ENABLED=True)
    _decide(app, payment, lambda row: approvals.apply_success(row, "fast_track"))
    assert app.test_client().post(f"/api/payments/{payment}/ui-ack").status_code == 200


def test_detection_is_timed_as_zero_when_the_outcome_was_known_before_arrival(app, client, payment, timed):
    _decide(app, payment, lambda row: approvals.apply_success(row, "fast_track"))
    assert [e for e in timed if e[1] == "payment_detection"] == []  # nobody was waiting yet
    client.get(f"/payments/{payment}/return")
    client.get(f"/payments/{payment}/return")
    assert [e for e in timed if e[1] == "payment_detection"] == [("stage", "payment_detection", 0.0)]


def test_detection_is_timed_by_the_approval_when_the_learner_was_waiting(app, client, payment, timed):
    client.get(f"/payments/{payment}/return")
    clock.advance(milliseconds=700)
    _decide(app, payment, lambda row: approvals.apply_success(row, "fast_track"))
    [(_, _, duration)] = [e for e in timed if e[1] == "payment_detection"]
    assert 700 <= duration < 1200
