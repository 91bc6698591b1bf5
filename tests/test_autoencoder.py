"""MLPAutoencoder: scikit-learn's transformer checks, the workflow, and quality
against PCA / IsolationForest on real data (digits)."""

import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknn import HistoryDisplay, MLPAutoencoder, lr_find
from sknn.callbacks import EarlyStopping

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# L-BFGS: the codes are identified only up to an invertible map of the code
# space, and along those flat directions two fits that differ by round-off
# (weighted rows vs repeated rows) drift apart over hundreds of iterations; 50
# iterations (or a linear code) keep check_sample_weight_equivalence's codes equal.
# noise > 0 is not in this list: repeated rows get independent noise draws, so
# integer weights are not repeated rows there (documented).
CHECKED = [
    MLPAutoencoder(),
    MLPAutoencoder(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=50),
    MLPAutoencoder(solver="lbfgs", hidden_layer_sizes=()),
    MLPAutoencoder(solver="sgd", hidden_layer_sizes=(8, 4), activation="tanh",
                   code_activation="tanh", learning_rate_init=0.01),
    # the MLPs' layer options (issue 16) on the autoencoder
    MLPAutoencoder(dropout=0.2),
    MLPAutoencoder(batch_normalization=True),
    MLPAutoencoder(hidden_layer_sizes=(8, 4), dropout=[0.2, 0.1], batch_normalization=True),
]


@parametrize_with_checks(CHECKED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    """sklearn's digits scaled to [0, 1], a fixed split."""
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16.0, y, test_size=0.3, random_state=0)
    return X_tr, X_te, y_tr, y_te


@pytest.fixture(scope="module")
def default_ae8(digits):
    """The default network (hidden (100,), adam, 200 epochs) with an 8-unit code, fitted
    once for the quality tests that use it."""
    return MLPAutoencoder(n_components=8, random_state=0).fit(digits[0])


def _mse(A, B):
    return float(np.mean((np.asarray(A) - np.asarray(B)) ** 2))


# ----------------------------------------------------------------- API
def test_shapes_names_and_round_trip(digits):
    X_tr, X_te, _, _ = digits
    ae = MLPAutoencoder(n_components=3, hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    Z = ae.fit_transform(X_tr)
    assert Z.shape == (len(X_tr), 3)
    np.testing.assert_allclose(Z, ae.transform(X_tr))
    R = ae.inverse_transform(ae.transform(X_te))
    assert R.shape == X_te.shape
    np.testing.assert_allclose(-ae.score_samples(X_te), np.mean((R - X_te) ** 2, axis=1),
                               rtol=1e-12)
    assert ae.score(X_te) == pytest.approx(np.mean(ae.score_samples(X_te)))
    assert list(ae.get_feature_names_out()) == ["mlpautoencoder0", "mlpautoencoder1",
                                                 "mlpautoencoder2"]
    assert ae.n_layers_ == 5 and ae.n_outputs_ == X_tr.shape[1]
    assert [c.shape for c in ae.coefs_] == [(64, 32), (32, 3), (3, 32), (32, 64)]
    with pytest.raises(ValueError, match="n_components=3"):
        ae.inverse_transform(np.zeros((2, 4)))


def test_set_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    X_tr = digits[0]
    df = pd.DataFrame(X_tr, columns=[f"px{i}" for i in range(X_tr.shape[1])])
    ae = MLPAutoencoder(max_iter=3, hidden_layer_sizes=(8,), random_state=0)
    out = ae.set_output(transform="pandas").fit_transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["mlpautoencoder0", "mlpautoencoder1"]
    assert list(ae.feature_names_in_) == list(df.columns)


def test_pipeline_column_transformer_grid_search(digits):
    X_tr, X_te, y_tr, y_te = digits
    pipe = make_pipeline(MinMaxScaler(), MLPAutoencoder(n_components=8, max_iter=30,
                                                         random_state=0),
                         LogisticRegression(max_iter=500))
    assert pipe.fit(X_tr, y_tr).score(X_te, y_te) > 0.8
    ct = ColumnTransformer([("ae", MLPAutoencoder(max_iter=3, random_state=0), slice(0, 32)),
                            ("keep", "passthrough", slice(32, 64))])
    assert ct.fit_transform(X_tr).shape == (len(X_tr), 2 + 32)
    # GridSearchCV scores by the autoencoder's own score (minus reconstruction error)
    search = GridSearchCV(MLPAutoencoder(max_iter=20, random_state=0),
                          {"n_components": [2, 8]}, cv=2).fit(X_tr)
    assert search.best_params_ == {"n_components": 8}


def test_clone_pickle_joblib_skops(tmp_path, digits):
    X_tr, X_te, _, _ = digits
    ae = MLPAutoencoder(max_iter=3, hidden_layer_sizes=(8,), random_state=0).fit(X_tr)
    expected = ae.transform(X_te)
    assert not hasattr(clone(ae), "coefs_")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(ae)).transform(X_te), expected)
    joblib.dump(ae, tmp_path / "ae.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "ae.joblib").transform(X_te), expected)
    sio = pytest.importorskip("skops.io")
    path = tmp_path / "ae.skops"
    sio.dump(ae, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert all(t.startswith(("sknn.", "numpy.", "builtins.")) for t in untrusted), untrusted
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.transform(X_te), expected)


def test_sparse_float32_and_sample_weight(digits):
    X_tr = digits[0][:300]
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    dense = MLPAutoencoder(**kw).fit(X_tr)
    sparse = MLPAutoencoder(**kw).fit(sp.csr_matrix(X_tr))
    np.testing.assert_allclose(sparse.transform(sp.csr_matrix(X_tr)), dense.transform(X_tr),
                               rtol=1e-10, atol=1e-12)
    f32 = MLPAutoencoder(**kw).fit(X_tr.astype(np.float32))
    assert f32.coefs_[0].dtype == np.float32
    assert f32.transform(X_tr.astype(np.float32)).dtype == np.float32
    assert f32.inverse_transform(f32.transform(X_tr)).dtype == np.float32
    # integer weights equal repeated rows (full batch)
    sw = np.ones(len(X_tr))
    sw[:10] = 2
    kw_full = dict(kw, batch_size=len(X_tr) + 10, shuffle=False)
    with pytest.warns(UserWarning, match="batch_size"):  # clipped to the 300 rows
        weighted = MLPAutoencoder(**kw_full).fit(X_tr, sample_weight=sw)
    repeated = MLPAutoencoder(**kw_full).fit(np.vstack([X_tr, X_tr[:10]]))
    np.testing.assert_allclose(weighted.transform(X_tr), repeated.transform(X_tr), rtol=1e-7,
                               atol=1e-9)


def test_partial_fit_stream(digits):
    X_tr, X_te, _, _ = digits
    ae = MLPAutoencoder(hidden_layer_sizes=(32,), n_components=8, random_state=0)
    before = None
    for _ in range(5):
        for batch in np.array_split(X_tr, 5):
            ae.partial_fit(batch)
        if before is None:
            before = ae.score(X_te)
    assert ae.score(X_te) > before
    assert len(ae.history_["loss"]) == 25
    with pytest.raises(AttributeError, match="partial_fit"):
        MLPAutoencoder(solver="lbfgs").partial_fit


def test_validation_set_early_stopping_history_tools(digits):
    X_tr, X_te, _, _ = digits
    ae = MLPAutoencoder(hidden_layer_sizes=(16,), max_iter=40, random_state=0,
                        early_stopping=True, n_iter_no_change=3,
                        callbacks=[EarlyStopping(monitor="val_loss", patience=2)])
    ae.fit(X_tr, X_val=X_te, sample_weight_val=np.ones(len(X_te)))
    assert set(ae.history_) >= {"loss", "val_loss", "val_score", "learning_rate", "epoch_time"}
    # val_score is the autoencoder's score on the validation set (best weights kept)
    assert max(ae.validation_scores_) == pytest.approx(ae.score(X_te), rel=1e-9)
    with pytest.raises(ValueError, match="sample_weight_val"):
        MLPAutoencoder().fit(X_tr, sample_weight_val=np.ones(3))
    pytest.importorskip("matplotlib")
    disp = HistoryDisplay.from_estimator(ae)
    assert "val_loss" in disp.lines_
    res = lr_find(MLPAutoencoder(hidden_layer_sizes=(16,), random_state=0), X_tr, n_steps=30)
    assert 1e-6 <= res.suggestion <= 10.0
    assert "code (Dense)" in ae.summary()


def test_binary_crossentropy_needs_unit_range(digits):
    X_tr = digits[0]
    with pytest.raises(ValueError, match="MinMaxScaler"):
        MLPAutoencoder(output_activation="sigmoid", loss="binary_crossentropy").fit(X_tr * 16)
    with pytest.raises(ValueError, match="output_activation='sigmoid'"):
        MLPAutoencoder(loss="binary_crossentropy").fit(X_tr)
    with pytest.raises(ValueError, match="noise"):
        MLPAutoencoder(solver="lbfgs", noise=0.1).fit(X_tr)
    ae = MLPAutoencoder(output_activation="sigmoid", loss="binary_crossentropy",
                        hidden_layer_sizes=(16,), max_iter=5, random_state=0).fit(X_tr)
    R = ae.inverse_transform(ae.transform(X_tr))
    assert R.min() > 0 and R.max() < 1
    P = np.clip(R, 1e-15, 1 - 1e-15)
    bce = -np.mean(X_tr * np.log(P) + (1 - X_tr) * np.log(1 - P), axis=1)
    np.testing.assert_allclose(-ae.score_samples(X_tr), bce, rtol=1e-10)


# ------------------------------------------------------------- quality
@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 8])
def test_reconstruction_beats_pca_on_digits(digits, k, request):
    # Defaults (hidden (100,), adam, 200 epochs); held-out error at most PCA(k)'s.
    X_tr, X_te, _, _ = digits
    pca = PCA(n_components=k, random_state=0).fit(X_tr)
    pca_err = _mse(pca.inverse_transform(pca.transform(X_te)), X_te)
    if k == 8:
        ae = request.getfixturevalue("default_ae8")
    else:
        ae = MLPAutoencoder(n_components=k, random_state=0).fit(X_tr)
    ae_err = _mse(ae.inverse_transform(ae.transform(X_te)), X_te)
    assert ae_err <= pca_err, (ae_err, pca_err)


def _corrupt(X, rng, block=4):
    """Digits with a random block x block square of pixels set to uniform noise."""
    X = X.copy()
    side = int(np.sqrt(X.shape[1]))
    for row in X:
        img = row.reshape(side, side)
        i, j = rng.randint(0, side - block + 1, size=2)
        img[i:i + block, j:j + block] = rng.uniform(0, 1, size=(block, block))
    return X


@pytest.mark.slow
def test_outlier_scores_rank_corrupted_digits(digits, default_ae8):
    X_tr, X_te, _, _ = digits
    rng = np.random.RandomState(0)
    n_bad = len(X_te) // 5
    X_mix = np.vstack([X_te, _corrupt(X_te[:n_bad], rng)])
    is_normal = np.r_[np.ones(len(X_te)), np.zeros(n_bad)]
    auc_ae = roc_auc_score(is_normal, default_ae8.score_samples(X_mix))
    pca = PCA(n_components=8, random_state=0).fit(X_tr)
    pca_scores = -np.mean((pca.inverse_transform(pca.transform(X_mix)) - X_mix) ** 2, axis=1)
    auc_pca = roc_auc_score(is_normal, pca_scores)
    iso = IsolationForest(random_state=0).fit(X_tr)
    auc_iso = roc_auc_score(is_normal, iso.score_samples(X_mix))
    print(f"ROC AUC autoencoder {auc_ae:.4f}  PCA {auc_pca:.4f}  IsolationForest {auc_iso:.4f}")
    assert auc_ae >= 0.95
    assert auc_ae >= max(auc_pca, auc_iso)


@pytest.mark.slow
def test_denoising_beats_plain_on_noisy_digits(digits):
    X_tr, X_te, _, _ = digits
    noise = 0.3
    X_noisy = X_te + np.random.RandomState(1).normal(scale=noise, size=X_te.shape)
    errs = {}
    for level in (0.0, noise):
        ae = MLPAutoencoder(n_components=16, noise=level, random_state=0).fit(X_tr)
        errs[level] = _mse(ae.inverse_transform(ae.transform(X_noisy)), X_te)
    assert errs[noise] < errs[0.0], errs


def test_noise_is_reproducible(digits):
    X_tr = digits[0][:200]
    kw = dict(hidden_layer_sizes=(8,), noise=0.2, max_iter=3, random_state=0)
    a = MLPAutoencoder(**kw).fit(X_tr)
    b = MLPAutoencoder(**kw).fit(sp.csr_matrix(X_tr))
    np.testing.assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-10)
    c = MLPAutoencoder(**dict(kw, noise=0.0)).fit(X_tr)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])


# ------------------------------------------------- dropout and batch norm
def test_dropout_mirrors_the_encoder_and_spares_the_code(digits):
    X_tr = digits[0][:300]
    kw = dict(hidden_layer_sizes=(16, 8), max_iter=3, random_state=0)
    ae = MLPAutoencoder(dropout=[0.3, 0.1], **kw).fit(X_tr)
    np.testing.assert_array_equal(ae._dropout_rates, [0.3, 0.1, 0.0, 0.1, 0.3])
    table = ae.summary()
    assert table.count("(Dropout)") == 4
    assert "dropout_3" not in table  # the code layer (hidden layer 3) is never dropped
    # masks act in training only: transform is deterministic and uses every unit
    np.testing.assert_array_equal(ae.transform(X_tr), ae.transform(X_tr))
    again = MLPAutoencoder(dropout=[0.3, 0.1], **kw).fit(X_tr)
    np.testing.assert_array_equal(ae.coefs_[0], again.coefs_[0])
    plain = MLPAutoencoder(**kw).fit(X_tr)
    assert not np.allclose(ae.coefs_[0], plain.coefs_[0])
    np.testing.assert_array_equal(MLPAutoencoder(dropout=0.2, **kw).fit(X_tr)._dropout_rates,
                                  [0.2, 0.2, 0.0, 0.2, 0.2])


@pytest.mark.parametrize("params,match", [
    (dict(hidden_layer_sizes=(), dropout=0.2), "hidden_layer_sizes=()"),
    (dict(hidden_layer_sizes=(8, 4), dropout=[0.2]), "one rate per hidden layer"),
    (dict(solver="lbfgs", dropout=0.2), "stochastic solver"),
])
def test_bad_dropout_raises_naming_it(digits, params, match):
    ae = MLPAutoencoder(max_iter=2, **params)
    with pytest.raises(ValueError, match=match):
        ae.fit(digits[0][:50])
    assert not hasattr(ae, "n_features_in_")


def test_batch_norm_transform_is_per_row_and_folded(digits):
    # Prediction normalises by the moving statistics, folded into the weights:
    # a row's code does not depend on the rows transformed with it, and the
    # encoder/decoder runs equal the whole network.
    X_tr, X_te, _, _ = digits
    ae = MLPAutoencoder(hidden_layer_sizes=(16,), batch_normalization=True, max_iter=5,
                        random_state=0).fit(X_tr)
    assert [g.shape for g in ae.batch_norm_gamma_] == [(16,), (2,), (16,)]
    Z = ae.transform(X_te)
    np.testing.assert_allclose(np.vstack([ae.transform(X_te[i:i + 1]) for i in range(5)]),
                               Z[:5], rtol=1e-12)
    np.testing.assert_allclose(-ae.score_samples(X_te),
                               np.mean((ae.inverse_transform(Z) - X_te) ** 2, axis=1),
                               rtol=1e-10)
    table = ae.summary()
    assert table.count("(BatchNormalization)") == 3 and "code (Dense)" in table


@pytest.mark.slow
@pytest.mark.parametrize("params", [dict(dropout=0.1), dict(batch_normalization=True)],
                         ids=["dropout", "batch_norm"])
def test_layer_options_keep_the_pca_anchor_on_digits(digits, params):
    # With either option at its usual setting, the held-out reconstruction error
    # of the default network still beats PCA's at k = 8 (measured: dropout 0.0175,
    # batch normalization 0.0202, PCA 0.0249, plain 0.0163).
    X_tr, X_te, _, _ = digits
    pca = PCA(n_components=8, random_state=0).fit(X_tr)
    pca_err = _mse(pca.inverse_transform(pca.transform(X_te)), X_te)
    ae = MLPAutoencoder(n_components=8, random_state=0, **params).fit(X_tr)
    assert _mse(ae.inverse_transform(ae.transform(X_te)), X_te) < pca_err
