"""Other packages' channels share the one outbox: a registered channel's messages are claimed, retried and
delivered once, and messages that share an ordering key go out in the order they were queued."""

import pytest

from cardpay.alerting import channels, outbox
from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery


@pytest.fixture
def recorder():
    sent, failing = [], set()

    def send(config, payload, delivery_id):
        if payload["n"] in failing:
            raise channels.ChannelError("receiver down")
        sent.append(payload["n"])

    channels.register("test_channel", send, lambda config, payload: "test receiver")
    yield sent, failing
    channels._REGISTERED.pop("test_channel", None)


def test_a_registered_channel_is_delivered_once_in_order_per_key(app, recorder):
    sent, failing = recorder
    failing.add(1)
    with app.app_context():
        for n in (1, 2):
            outbox.enqueue("test_channel", {"n": n}, ordering_key="enrollment:7")
        outbox.enqueue("test_channel", {"n": 3}, ordering_key="enrollment:8")
        db.session.commit()
        outbox.deliver_due()
        assert sent == [3]  # 1 failed, and 2 waits behind it: same key
        failing.clear()
        clock.advance(hours=1)
        outbox.deliver_due()
        outbox.deliver_due()
        assert sent == [3, 1, 2]
        outbox.deliver_due()
        assert sent == [3, 1, 2]  # delivered rows are never sent again
        rows = db.session.query(AlertDelivery).order_by(AlertDelivery.id).all()
        assert [(row.status, row.attempts, row.target) for row in rows] == [
            ("delivered", 2, "test receiver"), ("delivered", 1, "test receiver"), ("delivered", 1, "test receiver")]
