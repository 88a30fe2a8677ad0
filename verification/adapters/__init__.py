"""Adapters: libraries presented in the post's interface for ``python -m verification.card``.

Each module here is an adapter file (see ``verification.conformance.target``): nplearn's own,
the post's library, and third-party homemade libraries. An adapter converts layouts and calling
conventions only; it never fixes a library's math.
"""
