"""The buying world of tests/orders is shared here."""

from ..orders.conftest import world  # noqa: F401
