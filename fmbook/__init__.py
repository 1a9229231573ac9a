"""fmbook: the helper package of the *Foundation Models in Society* workbook.

The notebooks keep the code that each lesson is about; fmbook holds the
plumbing: profiles and seeding, device detection, the data registry, checks of
expected results, the results ledger, exercises, widgets and plots. Each
chapter's own settings, exercises and helpers live in ``fmbook/chapters/``.
"""

from ._meta import REPOSITORY, __version__
from .chapter import Chapter, start
from .checks import NOT_MEASURED, ExpectationError, expect
from .profiles import chapter_settings, get_profile
from .seeding import seed_everything

__all__ = [
    "__version__", "REPOSITORY", "Chapter", "start", "expect", "ExpectationError", "NOT_MEASURED",
    "chapter_settings", "get_profile", "seed_everything",
]
