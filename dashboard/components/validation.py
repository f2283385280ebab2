"""Dash's validation layout: every page's skeleton, so callbacks are checked against ids without a database."""
from __future__ import annotations

import dash
from dash import html


class PageSkeletons:
    """A Dash plugin giving the app a validation layout before `app.layout` is set.

    Assigning a layout function makes Dash call it at once, outside any request, unless a validation layout
    exists; the shell needs a request (it asks who is signed in). On the first request Dash rebuilds the
    validation layout from each page's layout() called without arguments (our pages then return their
    skeleton) plus the shell, so this placeholder only bridges start-up.
    """

    def plug(self, app: dash.Dash) -> None:
        app.validation_layout = html.Div(dash.page_container)
