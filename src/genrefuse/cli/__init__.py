"""The ``genrefuse`` command line (``genrefuse --help``; ``python -m genrefuse.cli``)."""
from .main import build_parser, main

__all__ = ["build_parser", "main"]
