"""The link from an estimator's HTML repr to its API page (scikit-learn's
``_doc_link_*`` convention, as scikit-learn's own estimators have)."""

__all__ = ["DocLinkMixin", "DOCS_URL"]

# Where sknn's documentation (``docs/``, built by ``make docs``) is published.
DOCS_URL = "https://sknn.readthedocs.io/en/stable/"


class DocLinkMixin:
    """Points the "?" link of the HTML repr at sknn's API reference page.

    scikit-learn builds the URL from ``_doc_link_template`` for classes whose
    top-level module is ``_doc_link_module``; ``estimator_module`` is the
    public module (``sknn``) and ``estimator_name`` the class name, matching
    the pages ``docs/api.rst`` generates (``generated/sknn.MLPClassifier.html``).
    """

    _doc_link_module = "sknn"
    _doc_link_template = DOCS_URL + "generated/{estimator_module}.{estimator_name}.html"
