"""The domain events of cardpay, as one Blinker namespace.

Services emit these; handlers (metrics, performance, business, audit, alerting) subscribe.
Each signal is sent with the Flask app as sender and keyword arguments that describe the event.
"""

from blinker import Namespace

cardpay_signals = Namespace()

callback_received = cardpay_signals.signal("callback-received")
callback_rejected = cardpay_signals.signal("callback-rejected")
payment_created = cardpay_signals.signal("payment-created")
payment_succeeded = cardpay_signals.signal("payment-succeeded")
payment_failed = cardpay_signals.signal("payment-failed")
approval_granted = cardpay_signals.signal("approval-granted")
approval_failed = cardpay_signals.signal("approval-failed")
manual_intervention_required = cardpay_signals.signal("manual-intervention-required")
manual_intervention_resolved = cardpay_signals.signal("manual-intervention-resolved")
stage_timed = cardpay_signals.signal("stage-timed")
ui_updated = cardpay_signals.signal("ui-updated")
threshold_exceeded = cardpay_signals.signal("threshold-exceeded")
request_finished = cardpay_signals.signal("request-finished")
alert_raised = cardpay_signals.signal("alert-raised")
alert_resolved = cardpay_signals.signal("alert-resolved")
admin_action = cardpay_signals.signal("admin-action")
# Access changes, whatever caused them: the learner's receipt and the business's access events listen here.
enrollment_activated = cardpay_signals.signal("enrollment-activated")
enrollment_revoked = cardpay_signals.signal("enrollment-revoked")
