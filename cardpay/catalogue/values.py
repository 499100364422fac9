"""What a course may hold, checked in one place: the marshmallow schema behind the admin form and the import.

Prices are rands with cents as text (``499.00``), parsed with decimal.Decimal so 0.10 is 10 cents
and never 9; a value with more than two decimals is refused rather than rounded.
"""

import re
from decimal import Decimal, InvalidOperation

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate

from cardpay.core import display

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CURRENCIES = ("ZAR",)  # iKhokha charges in rands only
MAX_PRICE_CENTS = 10_000_000_00  # R10 million: anything above is a typo
TRUE_WORDS = {"true", "1", "yes", "y", "on"}
FALSE_WORDS = {"false", "0", "no", "n", "off", ""}
FIELDS = ("slug", "title", "description", "price", "currency", "active", "access_url")


def parse_price(value):
    """Return the cents of a price in rands (``"1999.99"`` -> 199999); raise ValueError with a sentence."""
    if isinstance(value, bool) or value is None:
        raise ValueError("Enter a price in rands, like 499.00.")
    text = str(value).strip().replace(",", "")
    if text.upper().startswith("R"):
        text = text[1:].strip()
    try:
        rands = Decimal(text)
    except InvalidOperation:
        raise ValueError("Enter a price in rands, like 499.00.") from None
    if not rands.is_finite():
        raise ValueError("Enter a price in rands, like 499.00.")
    if rands.as_tuple().exponent < -2:
        raise ValueError("A price has at most two decimals (cents), like 499.99.")
    cents = int(rands * 100)
    if cents <= 0:
        raise ValueError("A price must be more than R0.00.")
    if cents > MAX_PRICE_CENTS:
        raise ValueError("A price must be at most R10,000,000.00.")
    return cents


def price_text(cents):
    """Return cents as rands with cents, the way a price is typed and exported (``499.00``)."""
    return f"{Decimal(cents) / 100:.2f}"


def rands(cents):
    """Return cents the way a person reads them: ``R1,234.00`` (core/display, the one money format)."""
    return display.money(int(cents))


class _Price(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_price(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class _Flag(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError("Use true or false.")


def _https_url(value):
    # A learner is sent there after paying: only an absolute https URL on a named host will do.
    if not re.fullmatch(r"https://[^\s/?#@]+\.[^\s/?#@]+(?:[/?#]\S*)?", value):
        raise ValidationError("Enter an https:// address, like https://learn.example.com/course.")


class CourseSchema(Schema):
    """A course as an operator types it or a file gives it; loads to the columns of ``courses``."""

    class Meta:
        unknown = EXCLUDE  # csrf_token, submit buttons, extra CSV columns

    slug = fields.String(required=True, error_messages={"required": "Enter a slug, like intro-to-python."}, validate=[
        validate.Length(min=1, max=120, error="A slug has 1 to 120 characters."),
        validate.Regexp(SLUG, error="A slug is lower-case letters, digits and single dashes, like intro-to-python.")])
    title = fields.String(required=True, error_messages={"required": "Enter a title."},
                          validate=validate.Length(min=1, max=200, error="A title has at most 200 characters."))
    description = fields.String(load_default="", validate=validate.Length(max=20000))
    price = _Price(required=True, error_messages={"required": "Enter a price in rands, like 499.00."})
    currency = fields.String(load_default="ZAR", validate=validate.OneOf(CURRENCIES, error="Currency must be ZAR."))
    active = _Flag(load_default=True)
    access_url = fields.String(load_default=None, allow_none=True,
                               validate=[validate.Length(max=1000), _https_url])

    @pre_load
    def tidy(self, data, **_):
        """Trim text, treat blank optional values as left out, upper-case the currency."""
        data = {key: (value.strip() if isinstance(value, str) else value) for key, value in dict(data).items()}
        for key in ("access_url", "currency", "description"):
            if data.get(key) in ("", None):
                data.pop(key, None)
        if isinstance(data.get("currency"), str):
            data["currency"] = data["currency"].upper()
        for key in ("slug", "title", "price"):
            if data.get(key) in ("", None):
                data.pop(key, None)  # reported as required, not as malformed
        return data

    @post_load
    def columns(self, data, **_):
        """Name the price by its column."""
        data["price_cents"] = data.pop("price")
        return data


def load(values, partial=False):
    """Return the columns of a course from raw values, or raise ValidationError (messages per field)."""
    return CourseSchema().load(values, partial=partial)


def first_messages(error):
    """Return {field: one sentence} from a ValidationError, for a page or a CLI line."""
    messages = error.messages if isinstance(error.messages, dict) else {"_": error.messages}
    return {key: value[0] if isinstance(value, list) else str(value) for key, value in messages.items()}


def as_values(course):
    """Return a course in the shape of the import file (what export writes)."""
    return {"slug": course.slug, "title": course.title, "description": course.description or "",
            "price": price_text(course.price_cents), "currency": course.currency, "active": bool(course.active),
            "access_url": course.access_url}
