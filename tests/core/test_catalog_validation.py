from decimal import Decimal

import pytest

from halles.catalog.validation import (
    FieldError,
    clean_gtin,
    clean_price,
    clean_quantity,
    clean_sku,
    clean_vat_rate,
)


def test_gtins_are_checked():
    assert clean_gtin("4006381333931") == "4006381333931"
    assert clean_gtin(" 978-0201 485011 ") == "9780201485011"  # spaces and dashes go
    assert clean_gtin("") is None
    for bad in ("4006381333932", "12345", "40063813339ab"):
        with pytest.raises(FieldError):
            clean_gtin(bad)


def test_prices_quantities_vat_and_skus():
    assert clean_price("12,50") == 1250
    for bad in ("0", "-3", "abc"):
        with pytest.raises(FieldError):
            clean_price(bad)
    assert clean_quantity("7") == 7
    with pytest.raises(FieldError):
        clean_quantity("-1")
    with pytest.raises(FieldError):
        clean_quantity("1.5")
    assert clean_vat_rate("5,5") == Decimal("5.5")
    with pytest.raises(FieldError):
        clean_vat_rate("19.6")
    with pytest.raises(FieldError):
        clean_sku("  ")
