"""The services of cardpay."""
