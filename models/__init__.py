"""Shipped detector weights, their model cards, and the code that synthesises data and trains them."""
