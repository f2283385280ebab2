"""Entry point: `python app.py [run|train|db upgrade|seed|ingest --follow|import PATH]`; `server` for gunicorn."""
from __future__ import annotations

import argparse
import logging
import sys
import time

from core.settings import SettingsError, get_settings

log = logging.getLogger("aqi")


def _progress(label: str):
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}")

    def update(done, total) -> None:
        bar.n = round(100 * done / total)
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def _engine():
    from core.db import migrate
    from core.db.engine import get_engine

    engine = get_engine()
    migrate.upgrade(engine)
    return engine


def cmd_run(args) -> None:
    """Serve the dashboard (Dash's server), seeding the embedded database on first start."""
    from core.ingest import seed
    from dashboard import create_app

    settings = get_settings()
    engine = _engine()
    if seed.is_empty(engine):
        print(f"First start: seeding {settings.seed_days} days of demo data for {settings.seed_stations} stations …")
        started = time.perf_counter()
        totals = seed.seed(engine, settings.seed_days, settings.seed_stations, settings.seed,
                           progress=_progress("seeding"))
        print(f"Seeded {totals['measurements']:,} measurements in {time.perf_counter() - started:.1f} s")
    if settings.live_simulation:
        seed.append_new_hours(engine, settings.seed_stations, settings.seed)
        seed.LiveSimulation(engine, settings.seed_stations, settings.seed).start()
    _forecasts_on_start(settings, engine)
    app = create_app(settings, engine)
    print(f"Dashboard on http://{settings.host}:{settings.port}/")
    app.run(host=settings.host, port=settings.port, debug=False)


def _forecasts_on_start(settings, engine) -> None:
    """Train the small demo model when there is none (first start), then forecast every hour in a thread."""
    from core.forecast import model_status

    status = model_status()
    if status["status"] != "ok" and settings.forecast_train_on_start:
        print(f"{status['message']}\nFirst start: training the small forecast model "
              f"({settings.forecast_epochs} epochs on {settings.forecast_train_days} days) …")
        _train(engine, settings.forecast_train_days, settings.forecast_epochs)
    if settings.forecast_batch_enabled:
        from core.forecast.service import ForecastBatch

        ForecastBatch(engine).start()


def _train(engine, days: int, epochs: int) -> dict:
    from tqdm import tqdm

    from core.forecast import predictor, training

    started = time.perf_counter()
    bar = tqdm(total=None, desc="training", unit="step")

    def progress(step: int, total: int, loss: float) -> None:
        bar.total = total
        bar.update(step - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}")

    card = training.train_and_save(engine, predictor.model_dir(), days, epochs, progress=progress)
    bar.close()
    predictor.reset()
    print(f"Model {card['version']} trained in {time.perf_counter() - started:.1f} s "
          f"on {card['data_range']['start']} … {card['data_range']['end']}, held out from {card['data_range']['split']}")
    print("Held-out MAE by horizon (model / persistence / same hour yesterday):")
    metrics = card["metrics"]
    for parameter, rows in metrics["mae"].items():
        cells = [f"{h:>2} h {m:.2f}/{p:.2f}/{y:.2f}" for h, m, p, y in
                 zip(metrics["horizons"], rows["model"], rows["persistence"], rows["same_hour_yesterday"])]
        print(f"  {parameter:5} " + "  ".join(cells))
    print("beats both baselines at every horizon" if metrics["beats_baselines"] else
          "does NOT beat both baselines at every horizon (see the card)")
    return card


def cmd_train(args) -> None:
    """Train the forecast model on the configured database and save a new version under var/models/."""
    settings = get_settings()
    _train(_engine(), args.days or settings.forecast_train_days, args.epochs or settings.forecast_epochs)


def cmd_db(args) -> None:
    from core.db import migrate
    from core.db.engine import get_engine

    engine = get_engine()
    if args.action == "upgrade":
        migrate.upgrade(engine)
    print(f"database at revision {migrate.current_revision(engine)}")


def cmd_seed(args) -> None:
    from core.ingest import seed

    settings = get_settings()
    started = time.perf_counter()
    totals = seed.seed(_engine(), args.days, args.stations, settings.seed, progress=_progress("seeding"))
    print(f"Seeded {totals['measurements']:,} measurements and {totals['weather']:,} weather hours "
          f"for {totals['stations']} stations in {totals['cities']} cities in {time.perf_counter() - started:.1f} s")


def cmd_ingest(args) -> None:
    from core.ingest import seed

    settings = get_settings()
    engine = _engine()
    if not args.follow:
        print(f"appended {seed.append_new_hours(engine, settings.seed_stations, settings.seed):,} measurements")
        return
    live = seed.LiveSimulation(engine, settings.seed_stations, settings.seed)
    print("following: appending each new hour (Ctrl-C stops)")
    live.run()


def cmd_import(args) -> None:
    from core.ingest.files import import_file

    from tqdm import tqdm

    engine = _engine()
    for path in tqdm(args.paths, desc="importing", unit="file", disable=len(args.paths) < 2):
        summary = import_file(engine, path, city=args.city, strict=args.strict)
        print(f"{path}: {summary.source}, {summary.lines_read:,} lines, {summary.loaded:,} measurements loaded, "
              f"{summary.new_stations} new stations, {len(summary.rejected)} rejected")
        for sentence in summary.conversions:
            print(f"  converted: {sentence}")
        for reason, count in summary.skipped.items():
            print(f"  skipped {count:,}: {reason}")
        for rejected in summary.rejected[:50]:
            print(f"  rejected line {rejected.line}: {rejected.reason}")
        if len(summary.rejected) > 50:
            print(f"  … and {len(summary.rejected) - 50} more rejected lines")


def cmd_users(args) -> None:
    from core import users

    engine = _engine()
    if args.action == "create":
        password = users.create_user(engine, args.name, args.role, args.password)
        print(f"created {args.role} '{args.name}'" + ("" if args.password else f" with password: {password}"))
        return
    for user in users.list_users(engine):
        print(f"{user['name']:24s} {user['role']:9s} {'active' if user['active'] else 'inactive':9s} "
              f"created {user['created_at']:%Y-%m-%d %H:%M}")


def cmd_worker(args) -> None:
    """A Celery worker for the admin jobs (production: AQI_JOBS_BACKEND=celery and REDIS_URL)."""
    from core.jobs.celery_app import celery

    _engine()
    # Threads, not forked processes: TensorFlow (the retrain job) is not fork-safe.
    celery.worker_main(["worker", "--pool", "threads", "--concurrency", str(args.concurrency),
                        "--loglevel", "INFO"])


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="app.py", description="AQI Predictor operations dashboard")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="serve the dashboard (default)").set_defaults(func=cmd_run)
    train = sub.add_parser("train", help="train the forecast model and save a new version")
    train.add_argument("--epochs", type=int, default=None)
    train.add_argument("--days", type=int, default=None, help="days of history to use")
    train.set_defaults(func=cmd_train)
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "current"])
    db.set_defaults(func=cmd_db)
    seed_p = sub.add_parser("seed", help="load simulated demo data into the configured database")
    seed_p.add_argument("--days", type=int, default=None)
    seed_p.add_argument("--stations", type=int, default=None)
    seed_p.set_defaults(func=cmd_seed)
    ingest = sub.add_parser("ingest", help="append the newest simulated hours")
    ingest.add_argument("--follow", action="store_true", help="keep appending each new hour")
    ingest.set_defaults(func=cmd_ingest)
    users_p = sub.add_parser("users", help="create or list users")
    users_p.add_argument("action", choices=["create", "list"])
    users_p.add_argument("name", nargs="?")
    users_p.add_argument("--role", choices=["analyst", "operator", "admin"], default="analyst")
    users_p.add_argument("--password", help="at least 10 characters; a random one is printed when left out")
    users_p.set_defaults(func=cmd_users)
    worker = sub.add_parser("worker", help="run a Celery worker for the admin jobs")
    worker.add_argument("--concurrency", type=int, default=2)
    worker.set_defaults(func=cmd_worker)
    imp = sub.add_parser("import", help="import OpenAQ archive CSV(.gz) or AirNow hourly .dat files")
    imp.add_argument("paths", nargs="+")
    imp.add_argument("--city", help="assign new stations to this existing city")
    imp.add_argument("--strict", action="store_true", help="load nothing if any line is rejected")
    imp.set_defaults(func=cmd_import)
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "users" and args.action == "create" and not args.name:
        parser.error("users create needs a NAME")
    if args.command == "seed":
        args.days = args.days or settings.seed_days
        args.stations = args.stations or settings.seed_stations
    try:
        (getattr(args, "func", None) or cmd_run)(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
else:
    from dashboard import create_app

    app = create_app()
    server = app.server
