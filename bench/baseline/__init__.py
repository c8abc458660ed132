"""The bare Django baseline of bench/checkout.py: a hand-written SQL checkout."""
