"""Numbers from the command line: click types for values that JSON and timers can
use (finite floats, whole numbers in ASCII digits), each within its bounds.
"""

import math

import click


class FiniteFloat(click.ParamType):
    """A float that JSON and timers can use: no NaN, no infinity, within bounds."""

    name = "float"

    def __init__(self, minimum=None, above=False, maximum=None):
        self.minimum = minimum
        self.above = above
        self.maximum = maximum

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.minimum is not None:
            if self.above and number <= self.minimum:
                self.fail(f"must be greater than {self.minimum:g}", param, ctx)
            if not self.above and number < self.minimum:
                self.fail(f"must be at least {self.minimum:g}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"must be at most {self.maximum:g}", param, ctx)
        return number


class Integer(click.ParamType):
    """An integer in ASCII digits, at least `minimum` and at most `maximum`.

    The digits are counted before they are converted: Python refuses to convert
    more than 4,300 of them (a ValueError that was an internal error, exit 1),
    and a value past `maximum` needs no conversion to be refused."""

    name = "integer"

    def __init__(self, minimum=None, maximum=None):
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            number = value
        else:
            text = value.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not (digits.isascii() and digits.isdigit()):
                self.fail(f"{value!r} is not a whole number", param, ctx)
            negative = text[:1] == "-"
            if too_many_digits(digits, self.maximum, self.minimum):
                self._out_of_range(negative, param, ctx)
            number = whole(digits, negative)
        if self.minimum is not None and number < self.minimum:
            self._out_of_range(True, param, ctx)
        if self.maximum is not None and number > self.maximum:
            self._out_of_range(False, param, ctx)
        return number

    def _out_of_range(self, below, param, ctx):
        if below and self.minimum is not None:
            self.fail(f"must be at least {self.minimum}", param, ctx)
        if not below and self.maximum is not None:
            self.fail(f"must be at most {self.maximum}", param, ctx)
        self.fail(f"has more than {_MOST_DIGITS} digits", param, ctx)


# Fewer digits than Python's own limit on converting text to int (4,300), so that a
# type without a bound still never meets it.
_MOST_DIGITS = 4000


def whole(digits, negative=False):
    """ASCII `digits` as an int, leading zeros dropped first: int() counts them
    towards its limit of 4,300 digits."""
    number = int(digits.lstrip("0") or "0")
    return -number if negative else number


def too_many_digits(digits, maximum=None, minimum=None):
    """Whether ASCII `digits` (no sign) hold more digits than any value from
    `minimum` to `maximum` has: out of range, known without converting them."""
    if maximum is None or minimum is None:
        most = _MOST_DIGITS
    else:
        most = min(len(str(max(abs(maximum), abs(minimum)))), _MOST_DIGITS)
    return len(digits.lstrip("0")) > most
