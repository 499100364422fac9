"""Verified callbacks: access follows a real SUCCESS at once, exactly once; odd cases wait for a person."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from cardpay.core import clock
from cardpay.ikhokha import signing
from tests.callbacks.callback_helpers import LEGACY_PATH, MAIN_PATH, Seen, header, post


def test_success_grants_access_at_once_and_records_the_delivery(client, payment, success_for, seen):
    response = post(client, *success_for(payment))
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "processed"
    assert seen.payment(payment.id) == ("succeeded", "active")
    [approval] = seen.approvals(payment.id)
    assert (approval.method, approval.outcome) == ("fast_track", "approved")
    [event] = seen.events()
    assert (event.verdict, event.processing_status, event.http_status) == ("accepted", "processed", 200)
    assert event.delivery_key == f"{payment.paylink_id}:SUCCESS"
    assert event.payment_id == payment.id and event.processed_at is not None
    assert event.signature_valid is True
    assert header(event, "IK-SIGN") == "[redacted]" and header(event, "IK-APPID") == "[redacted]"
    assert [a.target_id for a in seen.audit("approval_granted")] == [str(payment.id)]


def test_legacy_netlify_path_verifies_with_its_own_path(client, payment, success_for, seen):
    body, headers = success_for(payment, path=LEGACY_PATH)
    assert post(client, body, headers, path=LEGACY_PATH).status_code == 200
    assert seen.has_access(payment.id)
    assert seen.events()[0].path == LEGACY_PATH


def test_signature_over_json_stringify_form_is_accepted(client, payment, signed_callback, seen):
    payload = {"paylinkID": payment.paylink_id, "status": "SUCCESS", "externalTransactionID": payment.external_id,
               "amount": 499.0, "note": "Thandi's \"course\""}
    pretty = json.dumps(payload, indent=2)  # what is sent; iKhokha signed the compact JSON.stringify form
    compact = ('{"paylinkID":"%s","status":"SUCCESS","externalTransactionID":"%s","amount":499,'
               '"note":"Thandi\'s \\"course\\""}' % (payment.paylink_id, payment.external_id))
    body, headers = signed_callback(pretty, sign_body=compact)
    response = post(client, body, headers)
    assert response.status_code == 200, response.get_json()
    assert seen.has_access(payment.id)


def test_header_names_are_case_insensitive_and_status_any_case(client, payment, success_for, seen):
    body, headers = success_for(payment, status="success")
    headers = {"ik-appid": headers["IK-APPID"], "Ik-Sign": headers["IK-SIGN"], "content-type": "application/json"}
    assert post(client, body, headers).status_code == 200
    assert seen.has_access(payment.id)
    assert seen.events()[0].delivery_key.endswith(":SUCCESS")


def test_query_string_is_not_signed(client, payment, success_for, seen):
    body, headers = success_for(payment)
    assert post(client, body, headers, path=MAIN_PATH + "?source=ikhokha").status_code == 200
    assert seen.has_access(payment.id)


def test_failure_marks_payment_failed_keeps_enrollment_pending_and_writes_no_approval(
        client, payment, success_for, seen):
    response = post(client, *success_for(payment, status="FAILURE"))
    assert response.status_code == 200
    assert seen.payment(payment.id) == ("failed", "pending_payment")
    assert seen.approvals() == [] and seen.interventions() == []


def test_success_after_failure_is_a_successful_retry(client, payment, success_for, seen):
    post(client, *success_for(payment, status="FAILURE"))
    assert post(client, *success_for(payment)).status_code == 200
    assert seen.payment(payment.id) == ("succeeded", "active")


def test_duplicate_delivery_is_recorded_and_changes_nothing(client, payment, success_for, seen):
    body, headers = success_for(payment)
    first, second = post(client, body, headers), post(client, body, headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.get_json()["outcome"] == "duplicate"
    assert len(seen.approvals(payment.id)) == 1
    original, duplicate = seen.events()
    assert duplicate.delivery_key is None and duplicate.duplicate_of_id == original.id
    assert duplicate.processing_status == "duplicate"
    assert len(seen.audit("approval_granted")) == 1


@pytest.mark.parametrize("case", ["unknown_paylink", "reference_mismatch", "failure_after_success", "fast_track_off"])
def test_odd_callbacks_open_one_review_item_and_change_no_access(app_factory, make_payment, case):
    app = app_factory(ENABLE_CARD_PAYMENT_FAST_TRACK=case != "fast_track_off")
    client, seen = app.test_client(), Seen(app)
    payment = make_payment()
    payload = {"paylinkID": payment.paylink_id, "status": "SUCCESS", "externalTransactionID": payment.external_id}
    if case == "unknown_paylink":
        payload["paylinkID"] = "PL-NOBODY"
    if case == "reference_mismatch":
        payload["externalTransactionID"] = "cp_someone_else"
    if case == "failure_after_success":
        body = json.dumps(payload).encode()
        secret = app.config["IKHOKHA_WEBHOOK_SECRET"]
        headers = {"IK-APPID": app.config["IKHOKHA_API_KEY"], "IK-SIGN": signing.sign(secret, MAIN_PATH, body)}
        assert post(client, body, headers).status_code == 200
        payload["status"] = "FAILURE"
    access_before = seen.payment(payment.id)[1]
    body = json.dumps(payload).encode()
    headers = {"IK-APPID": app.config["IKHOKHA_API_KEY"],
               "IK-SIGN": signing.sign(app.config["IKHOKHA_WEBHOOK_SECRET"], MAIN_PATH, body)}
    response = post(client, body, headers)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "manual_review"
    [item] = seen.interventions()
    assert item.status == "open"
    assert item.reason == {"fast_track_off": "fast_track_disabled"}.get(case, case)
    assert item.webhook_event_id == seen.events()[-1].id
    assert seen.payment(payment.id)[1] == access_before
    assert len(seen.audit("manual_intervention_required")) == 1
    # The same callback again is a duplicate: still one item.
    assert post(client, body, headers).get_json()["outcome"] == "duplicate"
    assert len(seen.interventions()) == 1


def test_unknown_paylink_failure_is_recorded_without_review(client, signed_callback, seen):
    body, headers = signed_callback(paylinkID="PL-NOBODY", status="FAILURE")
    assert post(client, body, headers).status_code == 200
    [event] = seen.events()
    assert event.processing_status == "ignored" and "unknown paylink" in event.error
    assert seen.interventions() == []


@pytest.mark.parametrize("stamp", [
    lambda now: str(int(now.timestamp())),
    lambda now: f"{now.timestamp() - 120:.3f}",
    lambda now: (now + timedelta(seconds=120)).isoformat(),
    lambda now: now.astimezone(timezone(timedelta(hours=2))).isoformat(),
])
def test_timestamps_within_tolerance_are_accepted(client, payment, success_for, seen, stamp):
    now = clock.now()
    body, headers = success_for(payment, headers={"IK-TIMESTAMP": stamp(now)})
    assert post(client, body, headers).status_code == 200
    assert seen.has_access(payment.id)


def test_body_timestamp_is_checked_too(client, payment, signed_callback, seen):
    stamp = int(datetime.now(timezone.utc).timestamp())
    body, headers = signed_callback(paylinkID=payment.paylink_id, externalTransactionID=payment.external_id,
                                    timestamp=stamp)
    assert post(client, body, headers).status_code == 200
    assert seen.has_access(payment.id)


def test_callback_is_exempt_from_csrf(app_factory, make_payment, signed_callback):
    app = app_factory(WTF_CSRF_ENABLED=True)
    payment = make_payment()
    body, headers = signed_callback(paylinkID=payment.paylink_id, externalTransactionID=payment.external_id)
    assert app.test_client().post(MAIN_PATH, data=body, headers=headers).status_code == 200
    assert Seen(app).has_access(payment.id)


def test_validation_switched_off_outside_production_skips_app_id_and_signature(app_factory, make_payment):
    app = app_factory(ENABLE_ENHANCED_WEBHOOK_VALIDATION=False)
    payment = make_payment()
    body = json.dumps({"paylinkID": payment.paylink_id, "status": "SUCCESS"})
    response = app.test_client().post(MAIN_PATH, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    [event] = Seen(app).events()
    assert event.signature_valid is None and event.verdict == "accepted"


def test_secret_rotation_previous_secret_accepted_until_it_expires(app_factory, make_payment):
    expires = clock.now() + timedelta(hours=1)
    app = app_factory(IKHOKHA_WEBHOOK_SECRET="new-secret-0001", IKHOKHA_WEBHOOK_SECRET_PREVIOUS="old-secret-0001",
                      IKHOKHA_WEBHOOK_SECRET_PREVIOUS_EXPIRES=expires.isoformat())
    client, seen = app.test_client(), Seen(app)
    first, second, third = make_payment(), make_payment(), make_payment()

    def send(payment, secret):
        body = json.dumps({"paylinkID": payment.paylink_id, "status": "SUCCESS"}).encode()
        headers = {"IK-APPID": app.config["IKHOKHA_API_KEY"], "IK-SIGN": signing.sign(secret, MAIN_PATH, body)}
        return client.post(MAIN_PATH, data=body, headers=headers)

    assert send(first, "old-secret-0001").status_code == 200
    assert send(second, "new-secret-0001").status_code == 200
    clock.advance(hours=1, seconds=1)
    refused = send(third, "old-secret-0001")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_signature"
    assert [seen.has_access(p.id) for p in (first, second, third)] == [True, True, False]
    assert send(third, "new-secret-0001").status_code == 200
