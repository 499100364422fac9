"""The webhook blueprint."""
