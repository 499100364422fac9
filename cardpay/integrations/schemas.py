"""Marshmallow schemas of the access API: its query and its answer (also what /openapi.json describes)."""

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate


class EnrollmentQuerySchema(Schema):
    """GET /api/v1/enrollments?email=...&course=..."""

    class Meta:
        unknown = EXCLUDE

    email = fields.Email(required=True, validate=validate.Length(max=254),
                         error_messages={"required": "Give the learner's email as ?email=.",
                                         "invalid": "email is not an email address."})
    course = fields.String(validate=validate.Length(min=1, max=120))

    @pre_load
    def tidy(self, data, **_):
        """Trim, lower-case the email as learners are stored, and treat an empty course as left out."""
        data = {key: value.strip() for key, value in dict(data).items() if isinstance(value, str)}
        if "email" in data:
            data["email"] = data["email"].lower()
        if not data.get("course"):
            data.pop("course", None)
        return data


class AccessCourseSchema(Schema):
    """The course of an enrollment."""

    slug = fields.String()
    title = fields.String()


class AccessEnrollmentSchema(Schema):
    """One enrollment as the access API tells it."""

    course = fields.Nested(AccessCourseSchema)
    status = fields.String(metadata={"enum": ["pending_payment", "active", "revoked"]})
    access_granted_at = fields.String(allow_none=True, metadata={"description": "ISO 8601 UTC (Z), or null"})
    revoked_at = fields.String(allow_none=True, metadata={"description": "ISO 8601 UTC (Z), or null"})


class EnrollmentListSchema(Schema):
    """GET /api/v1/enrollments: a learner's enrollments."""

    enrollments = fields.List(fields.Nested(AccessEnrollmentSchema))
