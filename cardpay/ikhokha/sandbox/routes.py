"""The sandbox gateway's endpoints: iK Pay's payment and getStatus API, and the hosted card page.

The API checks IK-APPID and IK-SIGN exactly as iKhokha does (401 JSON when either is wrong)
against the sandbox's own application credentials, app.config SANDBOX_APP_ID / SANDBOX_SECRET
(generated once per install into instance/sandbox_credentials by config.build_config, so cardpay and a
separate sandbox process on the same install share them), which are also cardpay's defaults outside
production. Callbacks are signed with the same secret.
"""

import hmac
import json

from flask import current_app, jsonify, redirect, render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from cardpay.core import display
from cardpay.ikhokha import signing
from cardpay.ikhokha.sandbox import bp, notifier
from cardpay.ikhokha.sandbox.state import CardError, judge_card


class _Urls(Schema):
    class Meta:
        unknown = EXCLUDE

    callbackUrl = fields.Url(required=True, require_tld=False)
    successPageUrl = fields.Url(required=True, require_tld=False)
    failurePageUrl = fields.Url(require_tld=False)
    cancelUrl = fields.Url(require_tld=False)


class _CreatePayment(Schema):
    class Meta:
        unknown = EXCLUDE

    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    externalTransactionID = fields.String(required=True, validate=validate.Length(min=1, max=128))
    urls = fields.Nested(_Urls, required=True)
    description = fields.String(load_default="")
    mode = fields.String(load_default="live", validate=validate.OneOf(["live", "test"]))


def _state():
    return current_app.extensions["ikhokha_sandbox"]


def _refuse(status, message, code):
    response = jsonify({"responseCode": code, "message": message})
    response.status_code = status
    return response


def _authentication_error():
    """Return a 401 response when IK-APPID or IK-SIGN is wrong, else None."""
    app_id = request.headers.get("IK-APPID", "")
    expected_id, secret = current_app.config.get("SANDBOX_APP_ID"), current_app.config.get("SANDBOX_SECRET")
    if not expected_id or not secret or not hmac.compare_digest(app_id.encode(), expected_id.encode()):
        return _refuse(401, "Unauthorized: unknown application id (IK-APPID)", "401")
    if not signing.signature_matches(request.headers.get("IK-SIGN", ""), [secret],
                                     request.path, request.get_data()):
        return _refuse(401, "Unauthorized: signature (IK-SIGN) does not match", "401")
    return None


@bp.post("/api/payment")
def create_payment():
    """Issue a paylink for a signed create-payment request."""
    refused = _authentication_error()
    if refused:
        return refused
    try:
        payload = _CreatePayment().load(json.loads(request.get_data() or b"null"))
    except (ValueError, ValidationError) as exc:
        detail = exc.messages if isinstance(exc, ValidationError) else "body is not JSON"
        return _refuse(400, f"Invalid payment request: {detail}", "10")
    paylink, _ = _state().create(payload)
    return jsonify({"responseCode": "00", "message": "Payment link created",
                    "paylinkUrl": f"{request.host_url.rstrip('/')}{bp.url_prefix}/pay/{paylink.paylink_id}",
                    "paylinkID": paylink.paylink_id,
                    "externalTransactionID": paylink.external_transaction_id})


@bp.get("/api/getStatus/<paylink_id>")
def get_status(paylink_id):
    """Report a paylink's status: SUCCESS, FAILURE or PENDING."""
    refused = _authentication_error()
    if refused:
        return refused
    paylink = _state().look_up(paylink_id)
    if paylink is None:
        return _refuse(404, "Payment link not found", "404")
    return jsonify(paylink.record())


def _money(paylink):
    return display.money(int(paylink.amount), paylink.currency)


@bp.get("/pay/<paylink_id>")
def card_page(paylink_id):
    """The hosted card page of a paylink."""
    paylink = _state().get(paylink_id)
    if paylink is None:
        return render_template("sandbox/message.html", title="Payment link not found",
                               message="This payment link does not exist or has expired."), 404
    if paylink.status == "SUCCESS":
        return render_template("sandbox/message.html", title="Already paid",
                               message="This payment link has already been paid; nothing more is charged.",
                               link=paylink.urls["successPageUrl"]), 409
    return render_template("sandbox/pay.html", paylink=paylink, money=_money(paylink), error=None)


@bp.post("/pay/<paylink_id>")
def pay(paylink_id):
    """Charge the test card, send the callback in the background, send the browser back."""
    state = _state()
    paylink = state.get(paylink_id)
    if paylink is None:
        return card_page(paylink_id)
    try:
        outcome, last4, send_callback = judge_card(request.form.get("card_number"), request.form.get("expiry"),
                                                   request.form.get("cvv"))
    except CardError as exc:
        return render_template("sandbox/pay.html", paylink=paylink, money=_money(paylink), error=str(exc)), 400
    if not state.charge(paylink_id, outcome, last4):
        return card_page(paylink_id)
    if send_callback:
        delay = float(current_app.config.get("SANDBOX_CALLBACK_DELAY_SECONDS") or 0)
        notifier.deliver_in_background(state, paylink, outcome, current_app.config["SANDBOX_APP_ID"],
                                       current_app.config["SANDBOX_SECRET"], delay)
    if outcome == "SUCCESS":
        return redirect(paylink.urls["successPageUrl"], code=303)
    return redirect(paylink.urls.get("failurePageUrl") or paylink.urls["successPageUrl"], code=303)
