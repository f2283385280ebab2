"""Admin: the public alert subscriptions (pause, resume, delete) and the outbox's dead letters (retry)."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, callback, ctx, dcc, html, no_update

from core.alerts import outbox, subscriptions
from dashboard import access, context

dash.register_page(__name__, path="/admin/alerts", name="Alerts", title="Alert subscriptions",
                   access="access_admin", order=5)

PREFIX = "alerts-admin"
STATUS, NOTICE, COUNTS, TABLE, DEAD, POLL = (f"{PREFIX}-{part}" for part in
                                             ("status", "notice", "counts", "table", "dead", "poll"))
ACTION = f"{PREFIX}-action"  # pattern-matching id: {"type": ACTION, "action": pause|resume|delete|retry, "id": n}
ACTIONS = {"active": ("pause",), "paused": ("resume",)}


def layout(pathname: str | None = None, **_query) -> html.Div:
    return html.Div([
        html.H4("Alert subscriptions"),
        html.Div(id=COUNTS, className="mb-2"),
        html.Label("Status", htmlFor=STATUS),
        dcc.Dropdown(id=STATUS, options=[{"label": "all", "value": "all"}]
                     + [{"label": s, "value": s} for s in subscriptions.STATUSES], value="all", clearable=False,
                     style={"maxWidth": "16rem"}),
        html.Div(id=NOTICE, className="my-2"),
        html.Div(id=TABLE),
        html.H5("Dead letters", className="mt-4"),
        html.Div(id=DEAD),
        dcc.Interval(id=POLL, interval=5000),
    ])


def _button(action: str, row_id: int) -> dbc.Button:
    return dbc.Button(action.capitalize(), id={"type": ACTION, "action": action, "id": row_id}, size="sm",
                      color="danger" if action == "delete" else "secondary", className="me-1", outline=True)


def subscriptions_table(rows: list[dict]) -> html.Div:
    if not rows:
        return html.P("No subscriptions.", className="text-muted")
    head = html.Thead(html.Tr([html.Th(h) for h in ("id", "status", "kind", "to", "place", "threshold",
                                                     "in episode", "")]))
    body = html.Tbody([html.Tr([
        html.Td(r["id"]), html.Td(r["status"]), html.Td(r["kind"]), html.Td(f"{r['channel']}: {r['target']}"),
        html.Td(r["place"]), html.Td(f"{r['category']} ({r['standard']})"), html.Td("yes" if r["in_episode"] else ""),
        html.Td([_button(a, r["id"]) for a in (*ACTIONS.get(r["status"], ()), "delete")]),
    ]) for r in rows])
    return dbc.Table([head, body], id=f"{PREFIX}-subscriptions", size="sm", striped=True, responsive=True)


def dead_table(rows) -> html.Div:
    if not rows:
        return html.P("No dead letters.", className="text-muted", id=f"{PREFIX}-no-dead")
    head = html.Thead(html.Tr([html.Th(h) for h in ("id", "channel", "to", "attempts", "last error", "")]))
    body = html.Tbody([html.Tr([html.Td(m.id), html.Td(m.channel), html.Td(m.target), html.Td(m.attempts),
                                html.Td(m.last_error), html.Td(_button("retry", m.id))]) for m in rows])
    return dbc.Table([head, body], id=f"{PREFIX}-dead-table", size="sm", striped=True, responsive=True)


@callback(Output(COUNTS, "children"), Output(TABLE, "children"), Output(DEAD, "children"),
          Input(POLL, "n_intervals"), Input(STATUS, "value"), Input(NOTICE, "children"))
def refresh(_tick, status, _notice):
    app = context.current()
    counts = subscriptions.counts(app)
    with app.session() as session:
        dead = outbox.dead_letters(session)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none yet"
    rows = subscriptions.listing(app, None if status == "all" else status)
    return f"Subscriptions: {summary}.", subscriptions_table(rows), dead_table(dead)


@callback(Output(NOTICE, "children"), Input({"type": ACTION, "action": ALL, "id": ALL}, "n_clicks"),
          prevent_initial_call=True)
@access.requires("admin")  # it changes state: always an admin, whatever access_admin says
def act(_clicks):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered[0]["value"]:
        return no_update
    app, action, row_id = context.current(), trigger["action"], trigger["id"]
    if action == "retry":
        with app.session() as session:
            done = outbox.retry(session, row_id)
        what = f"Message {row_id} queued again." if done else f"Message {row_id} is not dead."
    elif action == "delete":
        done = subscriptions.remove(app, row_id)
        what = f"Subscription {row_id} deleted." if done else f"Subscription {row_id} is gone."
    else:
        done = subscriptions.set_status(app, row_id, action)
        what = f"Subscription {row_id}: {action}d." if done else f"Subscription {row_id} could not be {action}d."
    return dbc.Alert(what, color="info" if done else "warning", duration=4000, id=f"{PREFIX}-result")
