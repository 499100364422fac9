"""The learner blueprint."""
