"""Retrieval strategy kinds (query generation, rephrase, answer augmentation, utility labels,
retrieval-augmented generation, query expansion), and in :mod:`.base` what they share: the
collection they read and the checks a generated query goes through. What a kind is, and the
registry that names each kind's class, is :mod:`synthir.generation.strategy`."""
