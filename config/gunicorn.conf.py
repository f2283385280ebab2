"""gunicorn settings for `make serve` (production: the same, more workers and hosts behind a load balancer)."""
import multiprocessing
import os
import shutil

from prometheus_client import multiprocess

bind = f"{os.environ.get('AQI_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("THREADS", 4))
accesslog = "-"
# The predictor (TensorFlow) is not fork-safe: every worker imports the app itself, never the master.
preload_app = False


def on_starting(server):
    """Start with empty Prometheus multi-process files, so /metrics counts only this run's workers."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
