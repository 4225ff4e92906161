"""Companion package for "Your Mouse and Eyes Secretly Leak Your Preference" (arXiv 2606.20482).

Subpackages hold one stage each: :mod:`ifl_utils.data` (locate, verify, parse, cache, tidy tables),
:mod:`ifl_utils.results` (numbers the book quotes), :mod:`ifl_utils.plots` (one figure style),
:mod:`ifl_utils.runner` (executes the chapters and builds the book), :mod:`ifl_utils.cli` (``ifl``).
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("ifl_utils")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0+src"

__all__ = ["__version__"]
