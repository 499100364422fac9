"""Scheduled jobs: what runs when (tasks), the run-once guard (guard), the scheduler process (runner).

Only `flask cardpay scheduler` runs them; web workers never start a scheduler. However many
schedulers run, on however many hosts, each tick of each job runs once: a lease (job_leases)
picks the active scheduler, and every tick is claimed by inserting its unique job_runs row.
"""
