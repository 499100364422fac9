"""Marshmallow schemas of the learner side: the Enroll Now form and the payment status JSON."""

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate


class EnrollSchema(Schema):
    """The Enroll Now form: who is buying the course."""

    class Meta:
        unknown = EXCLUDE  # csrf_token and anything else a browser adds

    email = fields.Email(required=True, validate=validate.Length(max=254),
                         error_messages={"required": "Enter your email address.",
                                         "invalid": "Enter a valid email address, like name@example.com."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="Enter your name."),
                         error_messages={"required": "Enter your name."})

    @pre_load
    def tidy(self, data, **_):
        """Trim whitespace and lower-case the email so one person is one learner."""
        data = {key: (value.strip() if isinstance(value, str) else value) for key, value in dict(data).items()}
        if isinstance(data.get("email"), str):
            data["email"] = data["email"].lower()
        return data


class CourseRefSchema(Schema):
    """The course a payment is for."""

    slug = fields.String()
    title = fields.String()


class PaymentStatusSchema(Schema):
    """GET /api/payments/<token>/status (SPEC §4), exactly these keys."""

    payment_status = fields.String(metadata={"enum": ["created", "pending", "succeeded", "failed", "manual_review"]})
    enrollment_status = fields.String(metadata={"enum": ["pending_payment", "active", "revoked"]})
    access_granted_at = fields.String(allow_none=True, metadata={"description": "ISO 8601 UTC, or null"})
    course = fields.Nested(CourseRefSchema)
