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
    """An integer in ASCII digits, at least `minimum`."""

    name = "integer"

    def __init__(self, minimum=None):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            number = value
        else:
            text = value.strip()
            digits = text[1:] if text[:1] in "+-" else text
            if not (digits.isascii() and digits.isdigit()):
                self.fail(f"{value!r} is not a whole number", param, ctx)
            number = int(text)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"must be at least {self.minimum}", param, ctx)
        return number
