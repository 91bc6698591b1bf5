"""Sphinx configuration of sknn's documentation.

``make docs`` (top level) builds it with warnings as errors; the gallery
executes ``examples/plot_*.py``.  Offline machines (CI) read California housing
through scikit-learn's own loader from a cache primed from ``../shared/data``,
exactly as ``tests/conftest.py`` does; with internet nothing is needed.
"""

import pathlib
import runpy
import sys
import warnings

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent


# Before numba is imported: the source-keyed numba cache and sklearn's data
# cache primed from ../shared, exactly as the test session sets them up.
runpy.run_path(str(ROOT / "tests" / "conftest.py"))

sys.path.insert(0, str(ROOT))
import sknn  # noqa: E402

# -- project -----------------------------------------------------------------
project = "sknn"
author = "the sknn developers"
copyright = "2025, the sknn developers"
version = release = sknn.__version__

# -- general -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # benchmarks/README.md's results, included in the user guide
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/*.ipynb", "**/*.py", "**/*.zip"]
default_role = "literal"
# no intersphinx (CI has no internet: a failed inventory fetch is a warning) and
# no mathjax (a CDN script): the pages must work offline

autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # only plot_*.py are gallery examples; demo.py is `make demo`'s script
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|demo)\.py$",
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sknn",),
    "reference_url": {"sknn": None},
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    "capture_repr": ("_repr_html_", "__repr__"),
}

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sknn {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
}
html_sidebars = {"getting_started": [], "changelog": [], "coming_from_keras": [],
                 "coming_from_sklearn": []}
html_show_sourcelink = False

# Docstrings inherited from scikit-learn (score, get_metadata_routing,
# set_*_request) and the Perceptron's parameters use scikit-learn's glossary
# terms and labels: link them to scikit-learn's online documentation.
_SKLEARN_DOCS = "https://scikit-learn.org/stable/"
_SKLEARN_LABELS = {
    "metadata_routing": "metadata_routing.html",
    "accuracy_score": "modules/model_evaluation.html#accuracy-score",
    "r2_score": "modules/model_evaluation.html#r2-score",
}


def _link_sklearn_reference(app, env, node, contnode):
    from docutils import nodes

    if node.get("refdomain") != "std":
        return None
    target = node.get("reftarget", "")
    if node.get("reftype") == "term":
        url = _SKLEARN_DOCS + "glossary.html#term-" + target.lower().replace(" ", "-")
    elif node.get("reftype") == "ref" and target in _SKLEARN_LABELS:
        url = _SKLEARN_DOCS + _SKLEARN_LABELS[target]
    else:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url,
                          reftitle="scikit-learn documentation")
    ref += contnode
    return ref


def setup(app):
    app.connect("missing-reference", _link_sklearn_reference)


# Examples print their own messages; keep Sphinx's output to real problems.
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently using agg")
