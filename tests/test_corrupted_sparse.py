"""Corrupted sparse matrices (index arrays edited after construction, as a user
can) are refused at every entry point before a kernel reads them; the structure
check admits every valid matrix.

Cases that crashed the interpreter before the fix run in a subprocess, so a
regression fails the test instead of killing the run.  Each class of input is
generated (a parametrized grid or hypothesis), not only the example that found it.
"""

import json
import os

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import run_script
from hypothesis import given, settings
from hypothesis import strategies as st

from sknn import Perceptron
from sknn._validation import _sparse_structure_problem, check_sparse_structure

HYPOTHESIS = settings(max_examples=60, deadline=None, derandomize=True, database=None)
_rng = np.random.RandomState(0)


X = _rng.randn(30, 5)


Y_CLF = np.arange(30) % 3


Y_REG = X @ _rng.randn(5)


# Each corruption edits a valid matrix's index arrays after construction, as a
# user can; ``seed`` moves the edit around. Compressed formats: (major, minor)
# axes are (rows, columns) for CSR, (columns, rows) for CSC.
CORRUPTIONS = [
    "index_eq_minor", "index_far", "index_negative", "indptr_decreasing",
    "indptr_start", "indptr_end_beyond", "data_short", "indices_short",
    "indices_float", "indptr_length", "coo_row", "coo_col_negative",
]


def corrupt(A, kind, seed):
    """A copy of sparse ``A`` with the index structure broken as ``kind`` says."""
    rng = np.random.RandomState(seed)
    if kind.startswith("coo"):
        A = sp.coo_matrix(A, copy=True)  # tocoo shares the index arrays
        if kind == "coo_row":
            A.row[rng.randint(A.nnz)] = A.shape[0] + rng.randint(3)
        else:
            A.col[rng.randint(A.nnz)] = -1 - rng.randint(3)
        return A
    A = A.copy()
    n_minor = A.shape[1] if A.format == "csr" else A.shape[0]
    k = rng.randint(A.nnz)
    if kind == "index_eq_minor":
        A.indices[k] = n_minor
    elif kind == "index_far":
        A.indices[k] = n_minor + rng.randint(1, 10**6)
    elif kind == "index_negative":
        A.indices[k] = -rng.randint(1, 5)
    elif kind == "indptr_decreasing":
        i = rng.randint(1, len(A.indptr) - 1)
        A.indptr[i] = A.indptr[i + 1] + 1 + rng.randint(3)
    elif kind == "indptr_start":
        A.indptr[0] = 1 + rng.randint(2)
    elif kind == "indptr_end_beyond":
        A.indptr[-1] = A.nnz + 1 + rng.randint(5)
    elif kind == "data_short":
        A.data = A.data[: -1 - rng.randint(3)]
    elif kind == "indices_short":
        A.indices = A.indices[: -1 - rng.randint(3)]
    elif kind == "indices_float":
        A.indices = A.indices.astype(np.float64)
    elif kind == "indptr_length":
        A.indptr = A.indptr[:-1]
    return A


_CORRUPTED_SCRIPT = """
    import json, sys, warnings
    import numpy as np, scipy.sparse as sp
    sys.path.insert(0, sys.argv[2])
    from test_corrupted_sparse import corrupt, X, Y_CLF, Y_REG
    from sknn import MLPClassifier, MLPRegressor, Perceptron, lr_find
    warnings.simplefilter("ignore")
    fmt = sys.argv[1]
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.3, X, 0.0))
    Xs = Xs.tocsc() if fmt == "csc" else Xs
    small = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    fitted = {
        "clf": MLPClassifier(**small).fit(Xs, Y_CLF),
        "reg": MLPRegressor(**small).fit(Xs, Y_REG),
        "perc": Perceptron(max_iter=2).fit(Xs, Y_CLF),
    }
    entries = {
        "clf.fit": lambda Z: MLPClassifier(**small).fit(Z, Y_CLF),
        "clf.partial_fit": lambda Z: fitted["clf"].partial_fit(Z, Y_CLF),
        "clf.predict_proba": lambda Z: fitted["clf"].predict_proba(Z),
        "clf.score": lambda Z: fitted["clf"].score(Z, Y_CLF),
        "clf.validation_data": lambda Z: MLPClassifier(**small).fit(
            Xs, Y_CLF, X_val=Z, y_val=Y_CLF),
        "reg.fit": lambda Z: MLPRegressor(**small).fit(Z, Y_REG),
        "reg.predict": lambda Z: fitted["reg"].predict(Z),
        "reg.lbfgs": lambda Z: MLPRegressor(**small, solver="lbfgs").fit(Z, Y_REG),
        "lr_find": lambda Z: lr_find(MLPRegressor(**small), Z, Y_REG, n_steps=3),
        "perc.fit": lambda Z: Perceptron(max_iter=2).fit(Z, Y_CLF),
        "perc.partial_fit": lambda Z: fitted["perc"].partial_fit(Z, Y_CLF),
        "perc.decision_function": lambda Z: fitted["perc"].decision_function(Z),
    }
    for kind in json.loads(sys.argv[3]):
        for seed in range(3):
            Z = corrupt(Xs, kind, seed)
            for name, call in entries.items():
                print("case", kind, seed, name, flush=True)  # the last line names a crash
                try:
                    call(Z)
                    outcome = "accepted"
                except ValueError as exc:
                    outcome = "ValueError: " + str(exc)
                print(json.dumps([kind, seed, name, outcome]), flush=True)
"""


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_corrupted_sparse_input_is_refused_everywhere(fmt):
    kinds = [k for k in CORRUPTIONS if fmt == "csr" or not k.startswith("coo")]
    out = run_script(_CORRUPTED_SCRIPT, fmt, os.path.dirname(__file__), json.dumps(kinds))
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
    assert len(rows) == len(kinds) * 3 * 12
    for kind, seed, entry, outcome in rows:
        assert outcome.startswith("ValueError") and "corrupted" in outcome, (kind, seed, entry,
                                                                              outcome)
        assert " X " in outcome or "X_val" in outcome or outcome.startswith("ValueError: X ")


def _raw_structure(data):
    """A CSR matrix whose index arrays are drawn freely (valid or not)."""
    n_rows = data.draw(st.integers(0, 4))
    n_cols = data.draw(st.integers(1, 4))
    nnz = data.draw(st.integers(0, 6))
    ints = st.integers(-2, 6)
    A = sp.csr_matrix((n_rows, n_cols))
    A.indptr = np.array(data.draw(st.lists(ints, min_size=max(n_rows + 1, 1),
                                           max_size=n_rows + 2)), dtype=np.int32)
    A.indices = np.array(data.draw(st.lists(ints, min_size=nnz, max_size=nnz)), dtype=np.int32)
    A.data = np.ones(data.draw(st.sampled_from([nnz, max(nnz - 1, 0), nnz + 1])))
    return A


@HYPOTHESIS
@given(data=st.data())
def test_sparse_structure_check_guarantees_in_bounds_reads(data):
    # What the kernels rely on: every row's [indptr[r], indptr[r+1]) range lies
    # inside indices and data, and every index there is a valid column.
    A = _raw_structure(data)
    if _sparse_structure_problem(A) is not None:
        with pytest.raises(ValueError, match="corrupted CSR"):
            check_sparse_structure(A, "X")
        return
    indptr, n_rows = A.indptr, A.shape[0]
    assert len(indptr) == n_rows + 1 and indptr[0] == 0
    for r in range(n_rows):
        assert 0 <= indptr[r] <= indptr[r + 1] <= min(len(A.indices), len(A.data))
        assert all(0 <= A.indices[k] < A.shape[1] for k in range(indptr[r], indptr[r + 1]))


@HYPOTHESIS
@given(
    dense=st.lists(st.sampled_from([0.0, 0.0, 1.5, -2.0]), min_size=12, max_size=12),
    fmt=st.sampled_from(["csr", "csc", "coo", "bsr", "lil", "dok", "dia"]),
    index_dtype=st.sampled_from([np.int32, np.int64]),
    unsorted=st.booleans(),
)
def test_valid_sparse_matrices_pass_the_structure_check(dense, fmt, index_dtype, unsorted):
    # No false alarm: explicit zeros, duplicates, unsorted and int64 indices,
    # empty rows and every scipy format are valid input.
    A = sp.csr_matrix(np.reshape(dense, (4, 3)))
    A.indices, A.indptr = A.indices.astype(index_dtype), A.indptr.astype(index_dtype)
    if unsorted and A.nnz > 1:
        A = sp.csr_matrix((np.r_[A.data, 0.0], np.r_[A.indices[::-1], 0].astype(index_dtype),
                           np.r_[A.indptr[:-1], A.nnz + 1]), shape=A.shape)
    check_sparse_structure(A.asformat(fmt), "X")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # short fits
def test_int64_index_csr_trains_the_perceptron_like_int32():
    # Found a bug: int64-index CSR was refused with "y must be ...".
    A = sp.csr_matrix(np.where(np.abs(X) > 0.3, X, 0.0))
    B = A.copy()
    B.indices, B.indptr = B.indices.astype(np.int64), B.indptr.astype(np.int64)
    a = Perceptron(max_iter=5).fit(A, Y_CLF)
    b = Perceptron(max_iter=5).fit(B, Y_CLF)
    np.testing.assert_array_equal(a.coef_, b.coef_)
