from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from halles.core.money import (
    Money,
    MoneyError,
    format_money,
    net_of_gross,
    parse_amount,
    percent_of,
    vat_of_gross,
)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12,50", 1250),
        ("12.5", 1250),
        ("1 234,56", 123456),
        ("1.234,56", 123456),
        ("1,234.56", 123456),
        ("0", 0),
        ("7", 700),
        ("3,00 €", 300),
        (Decimal("2.1"), 210),
    ],
)
def test_amounts_are_parsed_to_cents(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["", "abc", "-1", "1,234", "12.345", "nan", "inf", True, "1E100"])
def test_bad_amounts_are_refused(text):
    with pytest.raises(MoneyError):
        parse_amount(text)


def test_the_seeds_payment_fee_rounds_half_up():
    # 1.4 % of 12.50 EUR = 0.175 -> 0.18 EUR
    assert percent_of(1250, Decimal("1.4")) == 18
    assert percent_of(1000, Decimal("1.4")) + 25 == 39


def test_vat_contained_in_a_gross_price():
    assert vat_of_gross(1200, Decimal("20")) == 200
    assert vat_of_gross(1055, Decimal("5.5")) == 55
    assert net_of_gross(1000, Decimal("20")) == 833  # 166.67 VAT -> 167


@given(st.integers(min_value=0, max_value=10**9), st.sampled_from(["0", "2.1", "5.5", "10", "20"]))
def test_net_plus_vat_is_always_the_gross(gross, rate):
    assert net_of_gross(gross, Decimal(rate)) + vat_of_gross(gross, Decimal(rate)) == gross


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money(12.5)
    with pytest.raises(MoneyError):
        Money(100, "EUR") + Money(100, "USD")
    assert Money(250) * 3 == Money(750)


def test_formatting_follows_the_language():
    assert (
        format_money(123456, "EUR", "fr").replace("\u202f", " ").replace("\xa0", " ")
        == "1 234,56 €"
    )
    assert format_money(123456, "EUR", "en") == "€1,234.56"
