"""gunicorn settings for `make serve` / `app.py serve` (production: the same, more workers and hosts behind a load
balancer). `app.py serve` migrates and seeds before exec'ing gunicorn; each worker warms its cache here.
"""
import gc
import multiprocessing
import os
import shutil

from prometheus_client import multiprocess

# `app.py serve` passes --bind from the settings; this is for running gunicorn with this file directly.
bind = f"{os.environ.get('AQI_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
# A worker per core with 2 threads each served the most cached answers per second here, and held 1,000
# connections under p99 1 s (bench/api_load.py's shapes table); more threads only contend for the GIL.
workers = int(os.environ.get("WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("THREADS", "2"))
# No access log by default: writing a line per request cost 5 % of a worker's CPU at full load (every request is
# timed into the panel's metrics anyway). `GUNICORN_CMD_ARGS="--access-logfile -"` turns it on.
accesslog = None
# The predictor (TensorFlow) is not fork-safe: every worker imports the app itself, never the master.
preload_app = False


def on_starting(server):
    """Start with empty Prometheus multi-process files, so /metrics counts only this run's workers."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def post_worker_init(worker):
    """Warm the cache in the background once the worker has built its app (with Redis one worker warms for all)."""
    # Imported here: this file is read by the master, which must not import the app (see preload_app).
    from core.bootstrap import warm_in_background
    from dashboard.context import EXTENSION

    # The app's own objects (Dash, plotly, TensorFlow: millions) live as long as the worker: out of the
    # collector's sight, a full collection walks only what requests allocate. A decoded 5,000-station snapshot
    # otherwise set one off that took a map update's p95 from 92 to 338 ms.
    gc.freeze()
    ctx = worker.wsgi.extensions[EXTENSION]
    if ctx.settings.cache_warm_on_start:
        warm_in_background(ctx)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
