"""
===============================================================
From Keras Tuner to Optuna: depth, width, learning rate, solver
===============================================================

The Keras way to tune a network is a ``build_model(hp)`` function that Keras
Tuner calls with a new set of hyperparameters for every trial, watching the
curves in TensorBoard::

    def build_model(hp):
        n_hidden = hp.Int("n_hidden", min_value=0, max_value=8, default=2)
        n_neurons = hp.Int("n_neurons", min_value=16, max_value=256)
        learning_rate = hp.Float("learning_rate", min_value=1e-4, max_value=1e-2,
                                 sampling="log")
        optimizer = hp.Choice("optimizer", values=["sgd", "adam"])
        ...

    tuner = kt.BayesianOptimization(build_model, objective="val_accuracy", max_trials=25)
    tuner.search(X_train, y_train, epochs=20, validation_data=(X_val, y_val),
                 callbacks=[keras.callbacks.TensorBoard(log_dir)])

With sknn the same search is an `Optuna <https://optuna.org>`__ objective
(``pip install "sknn[optuna,tensorboard]"``): Optuna's TPE sampler plays
Keras Tuner's Bayesian optimisation, and
:class:`~sknn.callbacks.OptunaPruning` reports every epoch's validation
accuracy so that the median pruner stops trials that lag behind, as
Hyperband would. :class:`~sknn.callbacks.TensorBoard` writes every trial's
curves (``tensorboard --logdir`` shows them); here
:class:`~sknn.HistoryDisplay` draws the same curves.
"""

# %%
import tempfile

import matplotlib.pyplot as plt
import numpy as np
import optuna
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, train_test_split

from sknn import HistoryDisplay, MLPClassifier
from sknn.callbacks import LambdaCallback, OptunaPruning, TensorBoard
from sknn.model_selection import LayerSizes

optuna.logging.set_verbosity(optuna.logging.WARNING)

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities 0..16 to 0..1, like the Keras chapter's X / 255
X_train, X_val, y_train, y_val = train_test_split(X, y, stratify=y, random_state=0)
log_dir = tempfile.mkdtemp(prefix="sknn-tuner-")
N_EPOCHS = 20
histories = {}  # trial number -> the epochs it ran (pruned trials too)


def objective(trial):
    n_hidden = trial.suggest_int("n_hidden", 1, 4)
    n_neurons = trial.suggest_int("n_neurons", 16, 256, log=True)
    learning_rate = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])

    history = histories[trial.number] = {}

    def record(est, epoch, logs):
        for key, value in logs.items():
            history.setdefault(key, []).append(value)

    clf = MLPClassifier(
        hidden_layer_sizes=(n_neurons,) * n_hidden,
        learning_rate_init=learning_rate,
        solver=optimizer,
        max_iter=N_EPOCHS,
        n_iter_no_change=np.inf,  # exactly N_EPOCHS, unless pruned
        random_state=0,
        # OptunaPruning last: the others still see the epoch it prunes at
        callbacks=[
            LambdaCallback(on_epoch_end=record),
            TensorBoard(log_dir, run_name=f"trial-{trial.number:02d}"),
            OptunaPruning(trial, monitor="val_score"),
        ],
    )
    clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
    return clf.score(X_val, y_val)


study = optuna.create_study(
    direction="maximize",
    sampler=optuna.samplers.TPESampler(seed=0),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3),
)
study.optimize(objective, n_trials=20)

pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
print(f"best validation accuracy {study.best_value:.3f} with {study.best_params}")
print(f"{len(pruned)} of {len(study.trials)} trials pruned; "
      f"{sum(len(h['loss']) for h in histories.values())} epochs run of "
      f"{len(study.trials) * N_EPOCHS} without pruning")
print(f"TensorBoard: tensorboard --logdir {log_dir}")

# %%
# The curves of the trials
# ------------------------
# Every trial's validation accuracy per epoch: the pruned trials stop where
# they fell below the median of the earlier trials at the same epoch.
fig, ax = plt.subplots(figsize=(7, 4))
for trial in study.trials:
    score = histories[trial.number]["val_score"]
    is_pruned = trial.state == optuna.trial.TrialState.PRUNED
    ax.plot(range(1, len(score) + 1), score, color="0.6" if is_pruned else "C0",
            linestyle=":" if is_pruned else "-", linewidth=1)
ax.plot([], [], color="C0", label="completed")
ax.plot([], [], color="0.6", linestyle=":", label="pruned")
ax.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0.5, 1.0),
       title="Optuna trials (TPE sampler, median pruner)")
ax.legend(loc="lower right")
plt.show()

# %%
# The best trial and the first pruned one, drawn by :class:`~sknn.HistoryDisplay`
# from the same figures as TensorBoard's scalars.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for ax, trial in zip(axes, [study.best_trial] + pruned[:1]):
    HistoryDisplay(histories[trial.number],
                   estimator_name=f"trial {trial.number} ({trial.state.name.lower()})",
                   ).plot(ax=ax)
plt.show()

# %%
# The same search space with RandomizedSearchCV
# ---------------------------------------------
# :class:`~sknn.model_selection.LayerSizes` draws ``hidden_layer_sizes`` from the
# same two numbers (a depth and one width for all layers), so a random search
# needs no hand-made list of tuples.
space = {
    "hidden_layer_sizes": LayerSizes(n_hidden=(1, 4), n_neurons=loguniform(16, 256)),
    "learning_rate_init": loguniform(1e-4, 1e-1),
    "solver": ["sgd", "adam"],
}
search = RandomizedSearchCV(
    MLPClassifier(max_iter=N_EPOCHS, n_iter_no_change=np.inf, random_state=0), space,
    n_iter=10, cv=3, random_state=0)
search.fit(X_train, y_train)
print(f"RandomizedSearchCV: cross-validated accuracy {search.best_score_:.3f} with "
      f"{search.best_params_}")
print(f"validation accuracy {search.score(X_val, y_val):.3f}")
