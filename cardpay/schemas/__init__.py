"""The schemas of cardpay."""
