"""The admin password policy: long enough after trimming, not blank, not one of the passwords guessed first."""

MIN_PASSWORD_LENGTH = 12
# The first guesses of every password-spraying list that are 12 characters or longer.
COMMON_PASSWORDS = frozenset({
    "passwordpassword", "password1234", "password12345", "password123456", "123456789012",
    "1234567890123", "12345678901234", "123456123456", "qwertyuiopas", "qwertyuiop123", "qwerty123456",
    "1q2w3e4r5t6y", "iloveyou1234", "adminadminadmin", "administrator", "letmeinletmein",
    "welcome12345", "welcome123456", "changemechangeme", "abcdefghijkl", "aaaaaaaaaaaa", "000000000000",
    "111111111111", "cardpaycardpay", "passw0rdpassw0rd", "correcthorsebatterystaple",
})


def problem(password):
    """Return why a password may not be used, or None when it may."""
    trimmed = (password or "").strip()
    if not trimmed:
        return "the password may not be blank or only spaces"
    if len(trimmed) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters (not counting spaces around it)"
    if trimmed.lower() in COMMON_PASSWORDS or len(set(trimmed)) < 4:
        return "the password is one of the first guesses of any attacker: choose another"
    return None
