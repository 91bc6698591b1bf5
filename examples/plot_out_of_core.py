"""
Out-of-core training: streaming a dask array through ``partial_fit``
====================================================================

When the training set does not fit in memory, keep it as a chunked
:mod:`dask.array` (backed by files, a database or a cluster) and feed the
blocks one at a time to ``partial_fit``: only one block is in memory at once.
dask-ml's :class:`~dask_ml.wrappers.Incremental` wrapper does the loop (one
``partial_fit`` call per block, one pass over the array per ``partial_fit``
of the wrapper); the plain loop over ``X.blocks`` at the end trains the very
same model.

Here the California housing data (20640 districts) is cut into 1000-row
blocks and an :class:`sknn.MLPRegressor` sees each block once per epoch.  Its
test R^2 tracks the one of an in-memory ``fit`` with the same number of epochs.
"""

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask_ml.wrappers import Incremental
from sklearn.datasets import fetch_california_housing
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknn import MLPRegressor

X, y = fetch_california_housing(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_train)  # on a real out-of-core set: fit on a sample
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# The training set as a dask array of 1000-row blocks
Xd = da.from_array(X_train, chunks=(1000, X.shape[1]))
yd = da.from_array(y_train, chunks=1000)
print(f"{Xd.numblocks[0]} blocks of up to {Xd.chunksize[0]} rows")

# %%
# Stream the blocks, one pass per epoch, and score after every pass
n_epochs = 15
params = dict(hidden_layer_sizes=(64, 32), learning_rate_init=0.003, random_state=0)
inc = Incremental(MLPRegressor(**params), shuffle_blocks=True, random_state=0)
streamed = []
for _epoch in range(n_epochs):
    inc.partial_fit(Xd, yd)
    streamed.append(r2_score(y_test, inc.estimator_.predict(X_test)))

# %%
# The same network trained in memory, for reference
# (n_iter_no_change=np.inf: exactly n_epochs, as many as the streamed passes)
in_memory = MLPRegressor(max_iter=n_epochs, n_iter_no_change=np.inf,
                         **params).fit(X_train, y_train)
print(f"streamed R^2:  {streamed[-1]:.3f}")
print(f"in-memory R^2: {r2_score(y_test, in_memory.predict(X_test)):.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(np.arange(1, n_epochs + 1), streamed, marker="o", label="streamed (partial_fit)")
ax.axhline(r2_score(y_test, in_memory.predict(X_test)), color="k", ls="--",
           label=f"in-memory fit, {n_epochs} epochs")
ax.set(xlabel="passes over the dask array", ylabel="test R$^2$",
       title="MLPRegressor on California housing, block by block")
ax.legend()
fig.tight_layout()

# %%
# Without dask-ml: the plain loop over the blocks
# -------------------------------------------------
# ``Incremental`` only automates this loop; any iterator of blocks (files read
# one by one, a database cursor) works the same way.
est = MLPRegressor(**params)
for _epoch in range(2):
    for xb, yb in zip(Xd.blocks, yd.blocks):
        est.partial_fit(xb.compute(), yb.compute())
print(f"plain loop, 2 passes: R^2 = {r2_score(y_test, est.predict(X_test)):.3f}")
