"""The sign-in form (marshmallow): one email address, tidied like Enroll Now's."""

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate


class SignInSchema(Schema):
    """POST /account/sign-in."""

    class Meta:
        unknown = EXCLUDE  # csrf_token

    email = fields.Email(required=True, validate=validate.Length(max=254))

    @pre_load
    def tidy(self, data, **_):
        """Trim and lower-case the email, as Enroll Now stores it."""
        data = dict(data)
        if isinstance(data.get("email"), str):
            data["email"] = data["email"].strip().lower()
        return data
