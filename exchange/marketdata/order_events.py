"""What a user's ``order`` message calls an order's state (``accepted``, ``partially_filled``,
``filled``, ``cancelled``, ``rejected``). Its own module, free of Django, because both the
publisher (imported before ``django.setup()`` in the fan-out process) and the message builders
need it: they used to import each other for it."""
from decimal import Decimal


def order_event(status: str, filled: Decimal) -> str | None:
    if status == "open":
        return "partially_filled" if filled > 0 else "accepted"
    return status if status in ("filled", "cancelled", "rejected") else None
