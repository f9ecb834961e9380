"""The buyer flow's fixture (`world`: a marketplace, two shops with offers and delivery
modes, a buyer with an address), shared with tests/orders."""

from ..orders.conftest import world  # noqa: F401
