"""The shape of an iKhokha callback body: paylinkID and status required, anything else allowed."""

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate

from cardpay.core.redaction import looks_like_card

STATUSES = ("SUCCESS", "FAILURE")
# What /openapi.json tells a sender (the checks below are the rule; this is their documented shape):
# 1 to 128 characters, no leading or trailing whitespace. The server also refuses non-printable
# characters and anything shaped like a card number.
PAYLINK_ID_PATTERN = r"^\S(?:.*\S)?$"
TIMESTAMP_DOC = ("optional; Unix seconds (integer or decimal, as a number or a string) or ISO 8601 with a zone; "
                 "must lie within WEBHOOK_TIMESTAMP_TOLERANCE seconds of now (else 401); one that does not parse "
                 "is a 400")


def _status(value):
    if value.strip().upper() not in STATUSES:
        raise ValidationError("Must be SUCCESS or FAILURE.")


def _identifier(value):
    # An identifier shaped like a card number is not one iKhokha issued, and must not be stored.
    if looks_like_card(value):
        raise ValidationError("Looks like a card number, not a paylink id.")
    if value != value.strip() or not value.isprintable():
        raise ValidationError("Must be printable, without surrounding spaces.")


class CallbackSchema(Schema):
    """A payment callback: which paylink, what happened, and our reference if sent."""

    class Meta:
        unknown = INCLUDE

    paylinkID = fields.String(required=True, validate=[validate.Length(min=1, max=128), _identifier], metadata={
        "pattern": PAYLINK_ID_PATTERN, "example": "PL-8f2c1e9a7b",
        "description": "iKhokha's paylink id: 1 to 128 printable characters without surrounding whitespace, "
                       "not shaped like a card number"})
    status = fields.String(required=True, validate=_status, metadata={
        "enum": list(STATUSES), "example": "SUCCESS",
        "description": "SUCCESS or FAILURE; any letter case is accepted (success, Failure) and means the same"})
    externalTransactionID = fields.String(allow_none=True, load_default=None, metadata={
        "description": "our reference, as sent when the paylink was created", "example": "cp_3f9a0c2e8b7d4e61a5c0d2b4f6e8a1c3"})
    # Checked before the schema (verify._timestamps_ok); declared so the document describes it.
    timestamp = fields.Raw(allow_none=True, metadata={
        "oneOf": [{"type": "number"}, {"type": "string"}], "nullable": True, "description": TIMESTAMP_DOC,
        "example": 1796472000})

    @post_load
    def normalise(self, data, **_):
        """Upper-case the status so SUCCESS, success and Success are one delivery key."""
        data["status"] = data["status"].strip().upper()
        return data
