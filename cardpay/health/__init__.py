"""Health and configuration checks for load balancers and operators."""
