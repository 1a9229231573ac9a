"""Sphinx configuration of the fmbook website (``make site``).

The pages are staged by ``python -m fmbook.website`` into ``build/site-src/`` (this file is copied
there); chapter pages are the executed notebooks that ``fmbook run``/``make book`` write, rendered
with their outputs. Nothing is executed here and nothing is fetched from the network: MathJax is
served from the build (``_static/mathjax``, copied from the distribution's ``libjs-mathjax``).
"""

from fmbook import REPOSITORY, __version__

project = "fmbook"
author = "the fmbook authors"
copyright = "the fmbook authors; code MIT, data sets under their own licences"
release = version = __version__

extensions = ["myst_nb"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "substitution"]
myst_substitutions = {"repository": REPOSITORY}
myst_heading_anchors = 3

# Render the executed copies as they are: never run a notebook during the build.
nb_execution_mode = "off"
# An explorer output holds a widget view and its static default image: show the image (a website
# has no kernel), and load no widget JavaScript (it would come from a CDN).
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None),
                              ("html", "application/vnd.jupyter.widget-state+json", None)]
nb_ipywidgets_js = {}
nb_merge_streams = True

exclude_patterns = ["_build", "**.ipynb_checkpoints", "_chapter_table.md"]
suppress_warnings = ["mystnb.unknown_mime_type"]

# MathJax 2 (Debian's libjs-mathjax), copied into _static/mathjax by fmbook.website.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
mathjax2_config = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": False, "processEnvironments": False,
                "ignoreClass": "tex2jax_ignore|bd-page-width", "processClass": "math|tex2jax_process"},
    "showMathMenu": False,
    "messageStyle": "none",
}
myst_update_mathjax = False

html_theme = "sphinx_book_theme"
html_title = "fmbook: foundation models, built and audited"
html_static_path = ["_static"]
html_css_files = ["fmbook.css"]
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "show_toc_level": 2,
    "launch_buttons": {},
}
html_show_sourcelink = True
html_copy_source = True  # the download button offers the page source (the executed .ipynb)
# The theme logs a console error when no colour mode is set.
html_context = {"default_mode": "light"}
