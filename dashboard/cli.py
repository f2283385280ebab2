"""The command line, `python app.py COMMAND …`: serving, the database, data, the forecast model, users, jobs."""
from __future__ import annotations

import dataclasses
import gc
import importlib.util
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from tqdm import tqdm

from core import bootstrap, context, feeds, times, tokens, users
from core.alerts import operator
from core.feeds import open_meteo
from core.context import Context
from core.db import migrate
from core.forecast import evaluation, training
from core.forecast.service import ForecastBatch
from core.ingest import seed as seeding
from core.ingest.files import import_file
from core.jobs import runner
from core.jobs.celery_app import make_celery
from core.jobs.registry import configured_feeds, fetch_and_invalidate
from core.jobs.schedule import run_scheduled, start_in_process
from core.settings import ROOT, SettingsError
from dashboard import create_app
from dashboard.forecast_figures import reliability_figure

GUNICORN_CONFIG = ROOT / "config" / "gunicorn.conf.py"
SHOWN_ITEMS = 50
ISO_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ",
               "%Y-%m-%dT%H:%M:%SZ"]


class Failure(click.ClickException):
    """A command's error, printed as `error: …` (settings: exit 2, bad input or files: exit 1)."""

    def __init__(self, exc: Exception, exit_code: int) -> None:
        super().__init__(str(exc))
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", file=file or sys.stderr)


class Commands(click.Group):
    """The root group: turns the errors every command may meet into messages and exit codes."""

    def invoke(self, click_ctx: click.Context):
        try:
            return super().invoke(click_ctx)
        except SettingsError as exc:
            raise Failure(exc, 2) from exc
        except (ValueError, OSError) as exc:
            raise Failure(exc, 1) from exc


@click.group(cls=Commands, invoke_without_command=True)
@click.pass_context
def cli(click_ctx: click.Context) -> None:
    """AQI Predictor operations dashboard (no command: run)."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(run)


def main() -> None:
    """`python app.py …`: settings from config/ and the environment."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cli.main(prog_name="app.py")


def app_context() -> Context:
    """This invocation's context, built on first use from the Settings passed as `obj` (tests) or loaded."""
    root = click.get_current_context().find_root()
    if not isinstance(root.obj, Context):
        root.obj = context.build(root.obj)
        root.call_on_close(root.obj.close)
    return root.obj


def migrated_context() -> Context:
    """app_context with the schema brought up to date first (every command that writes needs it)."""
    ctx = app_context()
    migrate.upgrade(ctx.engine)
    return ctx


def progress_bar(label: str) -> Callable[[int, int], None]:
    """A progress callback (done, total) drawing a percentage bar from its first call (so nothing when unused)."""
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=100, desc=label, unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}")
        bar.n = round(100 * done / total)
        bar.refresh()
        if done >= total:
            bar.close()

    return update


# -- serving ---------------------------------------------------------------------------------------------------

@cli.command()
def run() -> None:
    """Serve with Dash's server (`make run`): migrate, seed and train on first start, follow the live hours."""
    ctx = app_context()
    settings = ctx.settings
    prepare_and_report(ctx)
    if not configured_feeds(settings) and settings.live_simulation:  # real sources bring their own new hours
        seeding.append_new_hours(ctx, settings.seed_stations, settings.seed)
        seeding.LiveSimulation(ctx, settings.seed_stations, settings.seed).start()
    status = ctx.models.status()
    if status["status"] != "ok" and settings.forecast_train_on_start:
        click.echo(f"{status['message']}\nFirst start: training the small forecast model "
                   f"({settings.forecast_epochs} epochs on {settings.forecast_train_days} days) …")
        train_and_report(ctx, settings.forecast_train_days, settings.forecast_epochs)
    if settings.forecast_batch_enabled:
        ForecastBatch(ctx).start()
    start_in_process(ctx)  # what beat runs in production: feeds, weather, alerts
    app = create_app(ctx=ctx)
    gc.freeze()  # as gunicorn's workers do: the long-lived start-up objects leave the collector's scans
    if settings.cache_warm_on_start:
        bootstrap.warm_in_background(ctx)
    click.echo(f"Dashboard on http://{settings.host}:{settings.port}/")
    app.run(host=settings.host, port=settings.port, debug=False)


@cli.command()
def serve() -> None:
    """Serve with gunicorn (`make serve`; WORKERS, THREADS): migrate and seed once, then the workers start."""
    ctx = app_context()
    settings = ctx.settings
    prepare_and_report(ctx)
    # click.echo flushed what was printed (the first admin's password), which exec would otherwise discard.
    ctx.close()  # a clean goodbye to the database before exec drops the connections
    # Each worker builds the app itself (config/gunicorn.conf.py: TensorFlow is not fork-safe) and warms there.
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONFIG),
                              "--chdir", str(ROOT), "--bind", f"{settings.host}:{settings.port}", "app:server"])


def prepare_and_report(ctx: Context) -> None:
    """The start-up steps, saying what they did; the first admin's password is shown here once, stored nowhere."""
    settings = ctx.settings
    prepared = bootstrap.prepare(ctx, progress=progress_bar(
        f"first start: seeding {settings.seed_days} days for {settings.seed_stations} stations"))
    if prepared.seeded:
        click.echo(f"Seeded {prepared.seeded['measurements']:,} measurements in {prepared.seeded['seconds']:.1f} s")
    if prepared.first_admin:
        name, password = prepared.first_admin
        if password is None:
            click.echo(f"Created the first admin user '{name}' with the password in first_admin_password_file")
        else:
            click.echo(f"Created the first admin user '{name}' with password: {password}  "
                       "(you will be asked to change it at first sign-in)")


# -- database and data -----------------------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations."""
    ctx = migrated_context()
    click.echo(f"database at revision {migrate.current_revision(ctx.engine)}")


@db.command("current")
def db_current() -> None:
    """Show the schema revision."""
    click.echo(f"database at revision {migrate.current_revision(app_context().engine)}")


@cli.command("seed")
@click.option("--days", type=int, help="days of history (default: seed_days)")
@click.option("--stations", type=int, help="number of stations (default: seed_stations)")
def seed_command(days: int | None, stations: int | None) -> None:
    """Load simulated demo data into the configured database."""
    ctx = migrated_context()
    settings = ctx.settings
    started = time.perf_counter()
    totals = seeding.seed(ctx.engine, days or settings.seed_days, stations or settings.seed_stations, settings.seed,
                          progress=progress_bar("seeding"))
    click.echo(f"Seeded {totals['measurements']:,} measurements and {totals['weather']:,} weather hours "
               f"for {totals['stations']} stations in {totals['cities']} cities in {time.perf_counter() - started:.1f} s")


@cli.command()
@click.option("--follow", is_flag=True, help="keep appending each new hour")
def ingest(follow: bool) -> None:
    """Append the newest simulated hours."""
    ctx = migrated_context()
    settings = ctx.settings
    if not follow:
        click.echo(f"appended {seeding.append_new_hours(ctx, settings.seed_stations, settings.seed):,} measurements")
        return
    click.echo("following: appending each new hour (Ctrl-C stops)")
    seeding.LiveSimulation(ctx, settings.seed_stations, settings.seed).run()


@cli.command("alerts")
@click.option("--deliver-only", is_flag=True, help="only send what is due in the outbox")
def alerts_command(deliver_only: bool) -> None:
    """Evaluate the public alert subscriptions against the newest hour and send what is due (the `alerts` job)."""
    ctx = migrated_context()
    job = "alert_delivery" if deliver_only else "alerts"
    run_id = run_scheduled(ctx, job)
    if run_id is None:
        raise click.ClickException(f"{job} is already running elsewhere")
    run = runner.get_run(ctx.engine, run_id)
    click.echo(f"{job}: {run['status']} {json.dumps(run['summary'], default=str)}")


@cli.group("operator-alerts")
def operator_alerts() -> None:
    """Operator alerting on the performance checks: evaluate, show the states, silence."""


@operator_alerts.command("evaluate")
def operator_alerts_evaluate() -> None:
    """One evaluation of every rule and its notifications now (the every-minute `operator_alerts` job)."""
    ctx = migrated_context()
    run_id = run_scheduled(ctx, "operator_alerts")
    if run_id is None:
        raise click.ClickException("operator_alerts is already running elsewhere")
    run = runner.get_run(ctx.engine, run_id)
    click.echo(f"operator_alerts: {run['status']} {json.dumps(run['summary'], default=str)}")


@operator_alerts.command("status")
def operator_alerts_status() -> None:
    """Each rule's state, silence and acknowledgement, then the latest transitions."""
    view = operator.read_panel_view(migrated_context())
    for rule in view["rules"].values():
        silenced = (f"  silenced until {times.iso(rule['silenced_until']) if rule['silenced_until'] else 'resolved'}"
                    f" by {rule['silenced_by']}" if rule["silenced"] else "")
        acked = f"  acknowledged by {rule['acknowledged_by']}" if rule["acknowledged_by"] else ""
        click.echo(f"{rule['rule']:<24} {rule['state']:<10} {rule['severity'] or '':<8} since "
                   f"{times.iso(rule['since'])}{silenced}{acked}")
    for event in view["history"]:
        click.echo(f"{times.iso(event['at'])} {event['rule']}: {event['from']} -> {event['to']}"
                   + (f" ({event['notification']}{', silenced' if event['silenced'] else ''})"
                      if event["notification"] else ""))


@operator_alerts.command("silence")
@click.argument("rule", required=False)
@click.option("--all", "every_rule", is_flag=True, help="every rule (needs --for 1h or 4h)")
@click.option("--for", "duration", type=click.Choice(list(operator.SILENCE_CHOICES)), required=True,
              help="1h, 4h, or until the rule resolves")
@click.option("--reason", default="", help="why (shown in the history)")
@click.option("--by", "by", default="cli", help="who silences")
def operator_alerts_silence(rule: str | None, every_rule: bool, duration: str, reason: str, by: str) -> None:
    """Mute a rule's notifications (its state still changes), or every rule's with --all."""
    if every_rule == (rule is not None):
        raise click.UsageError("name one RULE or give --all")
    silence_id = operator.silence(migrated_context(), rule, duration, by, reason)
    click.echo(f"silence {silence_id}: {rule or 'every rule'} for {duration}")


@cli.command("import")
@click.argument("paths", nargs=-1, required=True)
@click.option("--city", help="assign new stations to this existing city (Open-Meteo CSV: the city whose weather it is)")
@click.option("--strict", is_flag=True, help="load nothing if any line is rejected")
def import_command(paths: tuple[str, ...], city: str | None, strict: bool) -> None:
    """Import OpenAQ archive CSV(.gz), AirNow hourly .dat files or Open-Meteo weather CSV downloads."""
    ctx = migrated_context()
    for path in tqdm(paths, desc="importing", unit="file", disable=len(paths) < 2):
        report_import(path, import_file(ctx.engine, path, city=city, strict=strict))


def report_import(path: str, summary) -> None:
    """Whatever the importer's summary holds: its counts on one line, then each list and table entry indented."""
    fields = {f.name: getattr(summary, f.name) for f in dataclasses.fields(summary) if f.name != "path"}
    counts = [f"{name.replace('_', ' ')} {_scalar(value)}" for name, value in fields.items()
              if not isinstance(value, (list, tuple, dict))]
    counts += [f"{len(value)} {name.replace('_', ' ')}" for name, value in fields.items()
               if isinstance(value, (list, tuple, dict))]
    click.echo(f"{path}: " + ", ".join(counts))
    for name, value in fields.items():
        if isinstance(value, dict):
            for key, count in value.items():
                click.echo(f"  {name} {_scalar(count)}: {key}")
        elif isinstance(value, (list, tuple)):
            for item in value[:SHOWN_ITEMS]:
                click.echo(f"  {name}: {_item(item)}")
            if len(value) > SHOWN_ITEMS:
                click.echo(f"  … and {len(value) - SHOWN_ITEMS:,} more {name}")


def _scalar(value) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _item(item) -> str:
    if dataclasses.is_dataclass(item):
        return ", ".join(f"{f.name} {_scalar(getattr(item, f.name))}" for f in dataclasses.fields(item))
    return str(item)


# -- the forecast model (`backtest` joins this section) ------------------------------------------------------------

@cli.command()
@click.option("--epochs", type=int, help="default: forecast_epochs")
@click.option("--days", type=int, help="days of history to use (default: forecast_train_days)")
def train(epochs: int | None, days: int | None) -> None:
    """Train the forecast model on the configured database and save a new version."""
    ctx = migrated_context()
    train_and_report(ctx, days or ctx.settings.forecast_train_days, epochs or ctx.settings.forecast_epochs)


def train_and_report(ctx: Context, days: int, epochs: int) -> dict:
    """Train with a progress bar, then print the held-out skill against both baselines; returns the card."""
    started = time.perf_counter()
    with tqdm(total=None, desc="training", unit="step") as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.4f}")

        card = training.train_and_save(ctx.engine, ctx.models.directory, days, epochs, progress=progress)
    ctx.models.reset()
    data_range = card["data_range"]
    click.echo(f"Model {card['version']} trained in {time.perf_counter() - started:.1f} s "
               f"on {data_range['start']} … {data_range['end']}, held out from {data_range['split']}")
    report_skill(card["metrics"])
    return card


def report_skill(metrics: dict) -> None:
    """The held-out skill table of each target and the verdict against the best baseline."""
    for parameter in metrics["mae"]:
        click.echo("\n".join(evaluation.skill_text(metrics, parameter)))
    click.echo("beats the best baseline at every horizon" if metrics["beats_best_baseline"] else
               "does NOT beat the best baseline at every horizon (see the card)")


@cli.command()
@click.option("--from", "start", type=click.DateTime(ISO_FORMATS), required=True,
              help="first held-out issue hour, UTC: the model trains on the data before it")
@click.option("--to", "end", type=click.DateTime(ISO_FORMATS), required=True, help="last hour scored, UTC")
@click.option("--epochs", type=int, default=30, show_default=True,
              help="at most: training stops when the validation loss stops improving")
@click.option("--train-days", type=int, help="days before --from to train on (default: all stored)")
@click.option("--out", type=click.Path(file_okay=False), default="var/backtest", show_default=True,
              help="folder for the reliability plots")
def backtest(start, end, epochs: int, train_days: int | None, out: str) -> None:
    """Train on the data before --from, score forecasts issued in [--from, --to − 72 h] against the baselines."""
    ctx = migrated_context()
    with tqdm(total=None, desc="training", unit="step") as bar:

        def progress(step: int, total: int, loss: float) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{loss:.4f}")

        card = training.backtest(ctx.engine, times.utc(start), times.utc(end), epochs, train_days, progress)
    data_range = card["data_range"]
    click.echo(f"Trained on {data_range['start']} … {data_range['split']} ({card['training']['epochs_run']} epochs), "
               f"scored issues from {data_range['split']} to {data_range['end']} minus 72 h, "
               f"{data_range['stations']} station(s)")
    folder = Path(out) if Path(out).is_absolute() else ROOT / out
    folder.mkdir(parents=True, exist_ok=True)
    modes = [("past inputs only", "past_only", card["metrics"])]
    if "with_weather" in card["metrics"]:
        modes.append((("with weather: the OBSERVED weather of the forecast hours stands in for a weather forecast "
                       "(a real forecast has errors: this is an upper bound)"), "with_weather",
                      card["metrics"]["with_weather"]))
    for title, key, metrics in modes:
        click.echo(f"\n== {title}")
        report_skill(metrics)
        for parameter in metrics["mae"]:
            if any(v is not None for v in metrics["mae"][parameter]["model"]):
                plot = write_figure(reliability_figure(metrics, parameter), folder / f"reliability-{parameter}-{key}")
                click.echo(f"reliability plot: {plot}")


def write_figure(figure, stem: Path) -> Path:
    """A PNG when kaleido is installed, else a self-contained HTML file; returns the path written."""
    if importlib.util.find_spec("kaleido"):
        figure.write_image(stem.with_suffix(".png"))
        return stem.with_suffix(".png")
    figure.write_html(stem.with_suffix(".html"), include_plotlyjs=True)
    return stem.with_suffix(".html")


@cli.command("models")
def models_list() -> None:
    """The forecast model versions on disk, newest first: promoted or not, held-out MAE, why one is refused."""
    from core.forecast import versions

    directory = app_context().models.directory
    rows = versions.listing(directory)
    if not rows:
        click.echo(f"no forecast model in {directory}")
    for row in rows:
        mae = ", ".join(f"{t} {v}" for t, v in row["held_out_mae"].items())
        click.echo(f"{'*' if row['promoted'] else ' '} {row['version']}  trained {row['trained_at'] or '?'}  "
                   f"held-out MAE {mae or '?'}" + (f"  REFUSED: {row['problem']}" if row["problem"] else ""))


# -- users ---------------------------------------------------------------------------------------------------------

@cli.group("users")
def users_group() -> None:
    """Create, change, disable or list users."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(users.ROLES), default="analyst", show_default=True)
@click.option("--password", help="at least 10 characters; a random one is printed when left out")
def users_create(name: str, role: str, password: str | None) -> None:
    """Create a user."""
    created = users.create_user(migrated_context().engine, name, role, password)
    click.echo(f"created {role} '{name}'" + ("" if password else f" with password: {created}"))


@users_group.command("passwd")
@click.argument("name")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True,
              help="at least 10 characters; asked twice (hidden) when left out")
def users_passwd(name: str, password: str) -> None:
    """Set a user's password."""
    users.set_password(migrated_context().engine, name, password)
    click.echo(f"password of '{name}' changed")


@users_group.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Stop a user from signing in."""
    users.disable_user(migrated_context().engine, name)
    click.echo(f"disabled '{name}'")


@users_group.command("list")
def users_list() -> None:
    """List users with role and state."""
    for user in users.list_users(migrated_context().engine):
        click.echo(f"{user['name']:24s} {user['role']:9s} {'active' if user['active'] else 'inactive':9s} "
                   f"created {user['created_at']:%Y-%m-%d %H:%M}")


@users_group.command("logout")
@click.argument("name")
def users_logout(name: str) -> None:
    """Sign a user out everywhere: every session cookie they hold stops working."""
    users.end_sessions_named(migrated_context().engine, name)
    click.echo(f"signed '{name}' out everywhere")


@users_group.group("token")
def users_token() -> None:
    """API tokens (`Authorization: Bearer …`): create, list, revoke."""


@users_token.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(sorted(tokens.SCOPES)), default=["read"],
              show_default=True, help="repeat for several: " + "; ".join(f"{k}: {v}" for k, v in tokens.SCOPES.items()))
@click.option("--label", default="", help="what the token is for (shown by list)")
def users_token_create(name: str, scopes: tuple[str, ...], label: str) -> None:
    """Create a token for user NAME; it is printed once and stored only as a hash."""
    token_id, token = tokens.create_token(migrated_context().engine, name, tuple(scopes), label)
    click.echo(f"token {token_id} for '{name}' ({', '.join(sorted(set(scopes)))}); shown this once:\n{token}")


@users_token.command("list")
@click.argument("name", required=False)
def users_token_list(name: str | None) -> None:
    """List tokens (of user NAME, or everyone's), never their values."""
    for t in tokens.list_tokens(migrated_context().engine, name):
        used = f"used {t['last_used_at']:%Y-%m-%d %H:%M}" if t["last_used_at"] else "never used"
        click.echo(f"{t['id']:>5} {t['user']:24s} {' '.join(t['scopes']):12s} "
                   f"{'revoked' if t['revoked'] else 'active':8s} created {t['created_at']:%Y-%m-%d %H:%M}, {used}"
                   + (f"  {t['label']}" if t["label"] else ""))


@users_token.command("revoke")
@click.argument("token_id", type=int)
def users_token_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID: it stops working at once."""
    tokens.revoke_token(migrated_context().engine, token_id)
    click.echo(f"revoked token {token_id}")


# -- jobs and schedules (`alerts` joins this section) ----------------------------------------------------------

@cli.command()
@click.argument("source", type=click.Choice(sorted(feeds.SOURCES)))
@click.option("--from", "start", type=click.DateTime(ISO_FORMATS), help="first hour, UTC (default: from the cursor)")
@click.option("--to", "end", type=click.DateTime(ISO_FORMATS), help="last hour, UTC (default: the current hour)")
def fetch(source: str, start, end) -> None:
    """Fetch a live source once (or backfill --from/--to) and store what is new or changed.

    open-meteo: every city's weather forecast (and CAMS when enabled); past weather: fetch-weather."""
    ctx = migrated_context()
    started = time.perf_counter()
    try:
        report = fetch_and_invalidate(ctx, source, utc_or_none(start), utc_or_none(end))
    except feeds.FeedError as exc:
        raise click.ClickException(str(exc)) from exc
    report_fetch(report, started)


@cli.command("fetch-weather")
@click.option("--from", "start", type=click.DateTime(ISO_FORMATS), required=True, help="first hour, UTC")
@click.option("--to", "end", type=click.DateTime(ISO_FORMATS), required=True, help="last hour, UTC")
@click.option("--archive", is_flag=True, help="from the historical archive API (training, backfill); default: "
                                               "the forecast API, which reaches 92 days back and the next hours")
def fetch_weather(start, end, archive: bool) -> None:
    """Fetch every city's hourly weather from Open-Meteo for --from … --to (observed hours are kept)."""
    start, end, now = times.utc(start), times.utc(end), datetime.now(timezone.utc)
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    if not archive and start < now - timedelta(days=open_meteo.MAX_PAST_DAYS):
        raise click.BadParameter(f"the forecast API reaches {open_meteo.MAX_PAST_DAYS} days back: add --archive",
                                 param_hint="--from")
    ctx = migrated_context()
    started = time.perf_counter()
    try:
        report = (open_meteo.backfill_archive(ctx.engine, ctx.settings, start, end, now) if archive
                  else feeds.fetch(ctx.engine, ctx.settings, open_meteo.SOURCE, start, end, now))
    except feeds.FeedError as exc:
        raise click.ClickException(str(exc)) from exc
    report_fetch(report, started)


def report_fetch(report: feeds.FetchReport, started: float) -> None:
    """A feed run's counts on one line, then what it skipped and its errors (exit 1 when there were any)."""
    click.echo(f"{report.source}: {report.start:%Y-%m-%d %H:00} … {report.end:%Y-%m-%d %H:00} UTC, {report.requests} "
               f"requests, {report.rows:,} values new or changed over {report.hours} hours, {report.stations_new} "
               f"new stations, newest hour {report.newest_hour or '—'} ({time.perf_counter() - started:.1f} s)")
    for reason, count in report.skipped.items():
        click.echo(f"  skipped {count:,}: {reason}")
    for message in report.errors[:SHOWN_ITEMS]:
        click.echo(f"  error: {message}")
    if report.errors:
        sys.exit(1)


def utc_or_none(value):
    return None if value is None else times.utc(value)


@cli.command()
def beat() -> None:
    """Fire the schedule (feeds at :10 and :40, the forecast batch at :20): run it on every host, RedBeat's lock
    in Redis makes exactly one fire."""
    ctx = migrated_context()
    if not ctx.settings.redis_url:
        raise click.ClickException("beat needs REDIS_URL (the schedule and its lock live in Redis)")
    make_celery(ctx).Beat(loglevel="INFO").run()


@cli.command()
@click.option("--concurrency", type=int, default=2, show_default=True)
def worker(concurrency: int) -> None:
    """Run a Celery worker for the admin jobs (production: jobs_backend=celery and REDIS_URL)."""
    celery = make_celery(migrated_context())
    # Threads, not forked processes: TensorFlow (the retrain job) is not fork-safe.
    celery.worker_main(["worker", "--pool", "threads", "--concurrency", str(concurrency), "--loglevel", "INFO"])
