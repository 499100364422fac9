"""All of cardpay's tables, one module per aggregate; imported here so Alembic sees them all."""

from cardpay.models.admin import AdminUser
from cardpay.models.api_key import ApiKey
from cardpay.models.audit import AuditLog, SecretRotation
from cardpay.models.catalog import Course, Enrollment, Learner
from cardpay.models.jobs import JobLease, JobRun
from cardpay.models.learner_access import SignInLink
from cardpay.models.monitoring import (
                                       AlertDelivery,
                                       CardPaymentAlert,
                                       CardPaymentBusinessMetric,
                                       CardPaymentMetric,
                                       CardPaymentMetricTotal,
                                       CardPaymentPerformance,
)
from cardpay.models.payment import FastTrackApproval, ManualIntervention, Payment
from cardpay.models.webhook import WebhookEvent

__all__ = [
    "AdminUser", "AlertDelivery", "ApiKey", "AuditLog", "CardPaymentAlert", "CardPaymentBusinessMetric",
    "CardPaymentMetric", "CardPaymentMetricTotal", "CardPaymentPerformance", "Course", "Enrollment",
    "FastTrackApproval",
    "JobLease", "JobRun", "Learner", "ManualIntervention", "Payment", "SecretRotation", "SignInLink", "WebhookEvent",
]
