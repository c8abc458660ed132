"""The default penalty amounts, technical fees, plans and value-added services (settlements.defaults),
made again when a test earlier in the session deleted them."""

from settlements.defaults import ensure_default_charges


def ensure_charge_defaults() -> None:
    ensure_default_charges()
