"""fmbook: the helper package of the *Foundation Models in Society* workbook.

The notebooks keep the code that each lesson is about; fmbook holds the
plumbing: profiles and seeding, device detection, the data registry, checks of
expected results, the results ledger, exercises, widgets and plots.
"""

__version__ = "0.1.0"

REPOSITORY = "https://github.com/fmbook/fmbook"
"""Where the book lives. The notebooks' Colab set-up cell is generated from this."""

from .chapter import Chapter, start  # noqa: E402
from .checks import ExpectationError, expect  # noqa: E402
from .profiles import chapter_settings, get_profile  # noqa: E402
from .seeding import seed_everything  # noqa: E402

__all__ = [
    "__version__", "REPOSITORY", "Chapter", "start", "expect", "ExpectationError",
    "chapter_settings", "get_profile", "seed_everything",
]
