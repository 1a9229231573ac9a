"""Facts about the package itself: its version and where it lives.

Kept in a module of their own so that any submodule can import them without
importing the package face (:mod:`fmbook`), which imports the submodules.
"""

__version__ = "0.1.0"

REPOSITORY = "https://github.com/fmbook/fmbook"
"""Where the book lives. The notebooks' Colab set-up cell and the site's links are generated from this."""
