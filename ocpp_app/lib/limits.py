"""Integer limits: what the database columns hold (IntegerField is a signed
32-bit integer, BigIntegerField a signed 64-bit one on every supported
database) and the one range check every layer uses."""

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def int_in_range(value: object, low: int = INT32_MIN, high: int = INT32_MAX) -> bool:
    """True for an int with low <= value <= high (both inclusive). A bool is
    not an integer here: JSON `true` must never pass for 1."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
