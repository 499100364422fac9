"""A payment's token and paylink reach only the browser that created the payment (SPEC §12): typing someone
else's email at Enroll Now, before or after them, never yields their token, their paylink or their course."""

from sqlalchemy import select

from cardpay.core.extensions import db
from cardpay.models import ManualIntervention
from tests.learners.learner_helpers import deliver, learner_name, paid, payment_row, session_of, wait_until

VICTIM = "victim@example.com"


def _tokens(shop, browser):
    return session_of(shop.app, browser).get("payment_tokens", [])


def _attacker_sees_nothing(shop, attacker, victim_token, victim_paylink, attacker_answer):
    assert victim_token not in _tokens(shop, attacker)
    assert attacker_answer.headers.get("Location") != victim_paylink
    assert victim_token not in attacker_answer.text and victim_paylink not in attacker_answer.text
    # Enroll Now again after the victim paid: the neutral page, not the victim's confirmation page.
    again = shop.enroll(attacker, email=VICTIM, name="Mallory")
    assert again.status_code == 200 and "If this address already has the course, sign in by email" in again.text
    assert victim_token not in again.text and "/learn/" not in again.text
    assert victim_token not in _tokens(shop, attacker)
    # Not signed in: my courses and the course by slug send the attacker to the sign-in form.
    for path in ("/account/courses", f"/learn/{shop.slug}"):
        answer = attacker.get(shop.url + path, allow_redirects=False, timeout=10)
        assert answer.status_code == 303 and answer.headers["Location"].endswith("/account/sign-in")
    # The attacker's own payment (if any) opens nothing.
    for token in _tokens(shop, attacker):
        room = attacker.get(f"{shop.url}/learn/{token}", allow_redirects=False, timeout=10)
        assert room.status_code == 303 and "/return" in room.headers["Location"]


def test_victim_first_then_attacker_types_the_victims_email(store):
    shop = store()
    victim, attacker = shop.browser(), shop.browser()
    victim_paylink = shop.enroll(victim, email=VICTIM, name="Vuyo Victim").headers["Location"]
    victim_token = _tokens(shop, victim)[0]

    answer = shop.enroll(attacker, email=VICTIM, name="Mallory")
    assert answer.status_code == 303 and answer.headers["Location"] != victim_paylink  # a payment of its own

    assert shop.pay(victim, victim_paylink).status_code == 303
    paid(shop, victim_token)
    _attacker_sees_nothing(shop, attacker, victim_token, victim_paylink, answer)
    assert len(shop.payments()) == 2


def test_attacker_first_then_the_victim_pays_on_a_payment_of_their_own(store):
    shop = store()
    attacker, victim = shop.browser(), shop.browser()
    answer = shop.enroll(attacker, email=VICTIM, name="Mallory")
    attacker_token = _tokens(shop, attacker)[0]

    victim_paylink = shop.enroll(victim, email=VICTIM, name="Vuyo Victim").headers["Location"]
    victim_token = _tokens(shop, victim)[0]
    assert victim_token != attacker_token and victim_paylink != answer.headers["Location"]
    assert shop.pay(victim, victim_paylink).status_code == 303
    paid(shop, victim_token)

    _attacker_sees_nothing(shop, attacker, victim_token, victim_paylink, answer)
    assert payment_row(shop.app, attacker_token).status == "pending"
    # The learner's name is the paying one, not the one the attacker typed first.
    assert learner_name(shop.app, VICTIM) == "Vuyo Victim"


def test_the_same_browser_still_gets_its_own_paylink_back(store):
    shop = store()
    browser = shop.browser()
    first = shop.enroll(browser, email=VICTIM)
    second = shop.enroll(browser, email=VICTIM)
    assert first.headers["Location"] == second.headers["Location"] and len(shop.payments()) == 1


def test_a_second_successful_payment_goes_to_review_as_a_refund_candidate(store):
    shop = store()
    one, two = shop.browser(), shop.browser()
    first_paylink = shop.enroll(one, email=VICTIM, name="First").headers["Location"]
    second_paylink = shop.enroll(two, email=VICTIM, name="Second").headers["Location"]
    first_token, second_token = _tokens(shop, one)[0], _tokens(shop, two)[0]
    shop.pay(one, first_paylink)
    paid(shop, first_token)
    shop.pay(two, second_paylink)

    def reviewed():
        return payment_row(shop.app, second_token).status == "manual_review"
    assert wait_until(reviewed)
    with shop.app.app_context():
        item = db.session.execute(select(ManualIntervention)).scalar_one()
        assert item.reason == "duplicate_payment" and item.details["refund_candidate"] is True
        db.session.commit()
    first = payment_row(shop.app, first_token)
    assert first.status == "succeeded" and learner_name(shop.app, VICTIM) == "First"  # no second grant
    deliver(shop.app)
    receipts = [m for m in shop.smtp.messages if m["subject"].startswith("Your receipt")]
    assert len(receipts) == 1
