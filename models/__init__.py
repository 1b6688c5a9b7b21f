"""Shipped weights and model cards, and the code that synthesises data and trains them."""
