"""Column types shared by the models."""

from datetime import timezone

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

from cardpay.core import clock


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always returned as aware UTC, on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return clock.naive_utc(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)
