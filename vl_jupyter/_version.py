"""The package version, in one place: pyproject.toml reads it (hatch's version source), the
package facade re-exports it as ``vl_jupyter.__version__``, and rooms that record it (the
tracker ledger) import it from here rather than from the package root."""

__version__ = "0.1.0"
