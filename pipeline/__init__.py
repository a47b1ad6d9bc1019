"""overbroad: find the criminal provisions that are too vague to foresee or that endanger political speech."""

__version__ = "0.1.0"
