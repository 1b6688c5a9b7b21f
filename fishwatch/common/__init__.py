"""Leaf modules every package shares: the edge-centre vocabulary, the strict settings base, CLI
error reporting. They import nothing from the project and nothing heavy, so ``dispatch`` (the
centre) and ``detector``/``streams`` (the edge) can both depend on them without pulling each
other in."""
