"""The shape of an iKhokha callback body: paylinkID and status required, anything else allowed."""

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate

from cardpay.core.redaction import looks_like_card

STATUSES = ("SUCCESS", "FAILURE")


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

    paylinkID = fields.String(required=True, validate=[validate.Length(min=1, max=128), _identifier])
    status = fields.String(required=True, validate=_status)
    externalTransactionID = fields.String(allow_none=True, load_default=None)

    @post_load
    def normalise(self, data, **_):
        """Upper-case the status so SUCCESS, success and Success are one delivery key."""
        data["status"] = data["status"].strip().upper()
        return data
