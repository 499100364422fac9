"""The admin forms: sign-in (password, then code), and the reason every operator action must carry (CSRF-protected by Flask-WTF)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
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


class EmptyForm(FlaskForm):
    """A form with only its CSRF token (sign out)."""
