"""Check sknn's TensorBoard callback as a user would: train, serve, look.

1. trains MLPClassifiers on digits with ``sknn.callbacks.TensorBoard``: three
   learning rates with a validation set (runs ``lr=...``) and a 2-candidate x
   2-fold GridSearchCV (runs ``search/candidate-<i>/fold-<k>`` and ``search/refit``);
2. starts ``tensorboard --logdir`` on 127.0.0.1 (a free port), waits until it
   answers, at most ``--timeout`` seconds;
3. opens a dashboard in headless Chromium and saves a screenshot;
4. stops TensorBoard (always, also on errors) and prints the paths.

Needs ``pip install "sknn[tensorboard]"`` and a Chromium binary
(``apt-get install chromium``). Not part of CI (about a minute). Usage::

    python benchmarks/check_tensorboard.py --out tensorboard.png [--dashboards timeseries,hparams]
"""

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split

from sknn import MLPClassifier
from sknn.callbacks import TensorBoard


def train(log_dir):
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X / 16, y, stratify=y, random_state=0)
    for lr in (1e-3, 1e-2, 1e-1):
        MLPClassifier(hidden_layer_sizes=(64,), learning_rate_init=lr, max_iter=30,
                      random_state=0,
                      callbacks=[TensorBoard(log_dir, histogram_freq=5, run_name=f"lr={lr:g}")],
                      ).fit(X_train, y_train, validation_data=(X_val, y_val))
    GridSearchCV(MLPClassifier(max_iter=20, random_state=0,
                               callbacks=[TensorBoard(Path(log_dir) / "search")]),
                 {"hidden_layer_sizes": [(16,), (64, 64)]}, cv=2, n_jobs=2).fit(X_train, y_train)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, deadline):
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in time")


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if path := shutil.which(name):
            return path
    raise FileNotFoundError("no Chromium binary on PATH (apt-get install chromium)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tensorboard.png",
                        help="screenshot file; with several dashboards, NAME-<dashboard>.png")
    parser.add_argument("--logdir", default=None, help="runs directory (default: temporary)")
    parser.add_argument("--dashboards", default="scalars&tagFilter=loss|score,hparams",
                        help="comma-separated TensorBoard dashboards to capture: timeseries, "
                             "scalars, hparams, histograms, distributions (a '&key=value' "
                             "may follow, e.g. 'scalars&tagFilter=loss')")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds allowed for TensorBoard to start and Chromium to draw")
    args = parser.parse_args()

    log_dir = Path(args.logdir or tempfile.mkdtemp(prefix="sknn-tb-"))
    if not any(log_dir.rglob("events.out.*")):  # --logdir of an earlier run: reuse
        train(log_dir)
    runs = sorted(str(p.parent.relative_to(log_dir)) for p in log_dir.rglob("events.out.*"))
    print("runs:", ", ".join(runs))

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(log_dir),
         "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + args.timeout
    try:
        wait_http(url + "/data/runs", deadline)
        with urllib.request.urlopen(url + "/data/runs", timeout=5) as response:
            print("TensorBoard runs:", response.read().decode())
        dashboards = args.dashboards.split(",")
        out = Path(args.out).resolve()
        for dashboard in dashboards:
            path = out if len(dashboards) == 1 else out.with_name(
                f"{out.stem}-{dashboard.split('&')[0]}{out.suffix}")
            # --virtual-time-budget lets the page's scripts fetch and draw the
            # data before the screenshot is taken.
            subprocess.run(
                [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 "--window-size=1600,1100", "--virtual-time-budget=20000",
                 f"--screenshot={path}", f"{url}/#{dashboard}"],
                check=True, timeout=max(deadline - time.monotonic(), 10.0),
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            print("screenshot:", path, f"({path.stat().st_size / 1e3:.0f} kB)")
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
