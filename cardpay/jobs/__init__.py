"""Scheduled jobs: what runs when (timetable), the run-once guard (guard), leases, the scheduler process
(runner), retention and secret rotation, and their commands.

Only `flask cardpay scheduler` runs them; web workers never start a scheduler. However many
schedulers run, on however many hosts, each tick of each job runs once: a lease (job_leases)
picks the active scheduler, and every tick is claimed by inserting its unique job_runs row.
Nothing else in cardpay imports this package.
"""


def init_app(app):
    """Add the scheduler, cleanup and rotate-secret commands."""
    from cardpay.jobs import commands  # noqa: F401  (registers itself)
