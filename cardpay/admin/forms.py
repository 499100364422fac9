"""The admin forms: sign-in (password, then code), the reason every operator action must carry, and a course
(CSRF-protected by Flask-WTF). A course's values are checked by cardpay.catalogue, the one place that knows
what a course may hold."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """Email and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    """The second sign-in step: a 6-digit TOTP code or a recovery code."""

    code = StringField("Code", validators=[DataRequired(), Length(max=64)])


class ReasonForm(FlaskForm):
    """Why the operator does this: it goes into the audit log."""

    reason = StringField("Reason", validators=[DataRequired(message="Say why: it goes into the audit log."),
                                               Length(min=3, max=500)])


class DecideForm(ReasonForm):
    """A manual-review decision: one reason for approve and reject, and the override box for approving a payment
    iKhokha does not report as paid."""

    confirm = BooleanField("Approve anyway: iKhokha does not report this payment as paid")


class ConfirmForm(ReasonForm):
    """An action that asks "are you sure" (revoke): the reason and a required tick."""

    confirm = BooleanField("I understand", validators=[DataRequired(message="Tick the box to confirm.")])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (sign out)."""


class CourseForm(FlaskForm):
    """A course as an operator edits it; cardpay.catalogue checks the values."""

    slug = StringField("Slug")
    title = StringField("Title")
    description = TextAreaField("Description")
    price = StringField("Price (rands)")
    access_url = StringField("Access URL (optional)")
    active = BooleanField("On sale (active)", default=True)
