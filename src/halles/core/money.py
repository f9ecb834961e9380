"""Money as integer minor units (cents) with the marketplace's currency; rates as Decimal.

Rounding is explicit: half-up, per line.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency


class MoneyError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Money:
    cents: int
    currency: str = "EUR"

    def __post_init__(self):
        if not isinstance(self.cents, int) or isinstance(self.cents, bool):
            raise TypeError("Money takes integer cents")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.cents + other.cents, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.cents - other.cents, self.currency)

    def __mul__(self, quantity: int) -> "Money":
        if not isinstance(quantity, int):
            raise TypeError("multiply Money by an integer quantity; use percent_of for rates")
        return Money(self.cents * quantity, self.currency)

    def _same(self, other: "Money") -> None:
        if self.currency != other.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def format(self, locale: str = "fr") -> str:
        return format_money(self.cents, self.currency, locale)


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def percent_of(cents: int, rate_percent: Decimal) -> int:
    """`rate_percent` % of `cents`, rounded half-up to the cent (e.g. 1.4 % of 1000 = 14)."""
    return round_half_up(Decimal(cents) * Decimal(rate_percent) / Decimal(100))


def vat_of_gross(gross_cents: int, vat_rate_percent: Decimal) -> int:
    """The VAT contained in a price that includes VAT, rounded half-up."""
    rate = Decimal(vat_rate_percent)
    return round_half_up(Decimal(gross_cents) * rate / (Decimal(100) + rate))


def net_of_gross(gross_cents: int, vat_rate_percent: Decimal) -> int:
    return gross_cents - vat_of_gross(gross_cents, vat_rate_percent)


def parse_amount(text: str | int | float | Decimal) -> int:
    """'12,50', '12.50', '1 234,5', 12.5 -> cents. Refuses negatives, more than 2 decimals,
    and anything that is not a number."""
    if isinstance(text, bool):
        raise MoneyError("not an amount")
    raw = str(text).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    raw = raw.removesuffix("€").removesuffix("EUR").strip()
    if "," in raw and "." in raw:  # 1.234,50 or 1,234.50: the last separator is decimal
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    else:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise MoneyError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not an amount: {text!r}")
    if value < 0:
        raise MoneyError(f"negative amount: {text!r}")
    try:
        exact = value == value.quantize(Decimal("0.01"))
    except InvalidOperation as exc:  # e.g. "1E100": too many digits to hold in cents
        raise MoneyError(f"not an amount: {text!r}") from exc
    if not exact:
        raise MoneyError(f"more than two decimals: {text!r}")
    return int(value * 100)


def format_money(cents: int, currency: str = "EUR", locale: str = "fr") -> str:
    return format_currency(Decimal(cents) / 100, currency, locale=locale)


def allocate(total_cents: int, weights: list[int]) -> list[int]:
    """Split `total_cents` in proportion to `weights`, to the cent, with nothing lost: each
    share is rounded down, then the cents left go to the largest remainders (ties to the
    first). E.g. allocate(100, [1, 1, 1]) == [34, 33, 33]."""
    if total_cents < 0:
        raise MoneyError("cannot allocate a negative amount")
    weight_sum = sum(weights)
    if not weights or weight_sum <= 0:
        return [0] * len(weights)
    shares = [total_cents * w // weight_sum for w in weights]
    remainders = [total_cents * w % weight_sum for w in weights]
    left = total_cents - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        shares[index] += 1
    return shares
