"""/embed/city/<city> and /embed/station/<id>: a small server-rendered page for city portals' iframes.

No Dash bundle, no cookies, no login: one HTML response with inline CSS, an inline SVG map and a few lines of
JavaScript that refresh the figures with fetch(). Frameable only by settings.embed_allowed_origins.
"""
from __future__ import annotations

import logging
import math
import secrets
from pathlib import Path

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Flask, Response, g, jsonify, render_template, request
from pydantic import ValidationError

from core.alerts.subscriptions import FORECAST_STANDARDS
from core.aqi.categories import band_positions
from core.aqi.engine import categories, category_info
from core.catalog import UnknownCity, cities, stations
from core.forecast import service
from core.parameters import POLLUTANTS
from core.rankings import city_index
from core.snapshots import current, marker_value
from dashboard import context
from dashboard.api import alerts
from dashboard.api.alerts import SubscriptionRequest
from dashboard.api.errors import APIError
from dashboard.figures import LABELS, STANDARDS, text_color

log = logging.getLogger(__name__)
blueprint = Blueprint("embed", __name__, url_prefix="/embed",
                      template_folder=str(Path(__file__).parent / "templates"))

THEMES = ("light", "dark")
REFRESH_DEFAULT_S, REFRESH_MIN_S, REFRESH_MAX_S = 300, 30, 86400
TEXT = {
    "en": {"aqi": "AQI", "level": "Level", "updated": "Updated", "forecast": "Next three days",
           "forecast_unavailable": "Forecast unavailable", "no_index": "No current index",
           "stations": "stations", "monitor": "reference monitor", "sensor": "low-cost sensor (PM2.5 EPA-corrected)",
           "source": "Full map", "error": "This view cannot be shown", "alerts": "Get alerts",
           "email": "E-mail address", "threshold": "Tell me when the air is", "when": "Based on",
           "kind_forecast": "tomorrow's forecast (each morning)", "kind_observed": "current readings (NowCast)",
           "subscribe": "Send me alerts", "opt_in": "We e-mail you a link to confirm; every alert has an "
           "unsubscribe link.", "sent": "Check your inbox: confirm with the link we sent to {email}.",
           "or_worse": "or worse"},
    "es": {"aqi": "ICA", "level": "Nivel", "updated": "Actualizado", "forecast": "Próximos tres días",
           "forecast_unavailable": "Pronóstico no disponible", "no_index": "Sin índice actual",
           "stations": "estaciones", "monitor": "monitor de referencia",
           "sensor": "sensor de bajo coste (PM2.5 corregido EPA)", "source": "Mapa completo",
           "error": "Esta vista no se puede mostrar", "alerts": "Recibir alertas",
           "email": "Correo electrónico", "threshold": "Avísame cuando el aire esté", "when": "Según",
           "kind_forecast": "el pronóstico de mañana (cada mañana)", "kind_observed": "las lecturas actuales (NowCast)",
           "subscribe": "Enviarme alertas", "opt_in": "Le enviamos un enlace para confirmar; cada alerta incluye "
           "un enlace para darse de baja.", "sent": "Revise su correo: confirme con el enlace enviado a {email}.",
           "or_worse": "o peor"},
    "fr": {"aqi": "IQA", "level": "Niveau", "updated": "Mis à jour", "forecast": "Trois prochains jours",
           "forecast_unavailable": "Prévision indisponible", "no_index": "Pas d'indice actuel",
           "stations": "stations", "monitor": "station de référence",
           "sensor": "capteur bas coût (PM2.5 corrigé EPA)", "source": "Carte complète",
           "error": "Cette vue ne peut pas être affichée", "alerts": "Recevoir des alertes",
           "email": "Adresse e-mail", "threshold": "Prévenez-moi quand l'air est", "when": "Selon",
           "kind_forecast": "la prévision de demain (chaque matin)", "kind_observed": "les mesures actuelles (NowCast)",
           "subscribe": "M'envoyer des alertes", "opt_in": "Nous vous envoyons un lien de confirmation ; chaque "
           "alerte contient un lien de désinscription.", "sent": "Consultez vos e-mails : confirmez avec le lien "
           "envoyé à {email}.", "or_worse": "ou pire"},
}


class EmbedError(Exception):
    """A parameter or a name the embed cannot serve; shown as a message in the frame."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def init_app(server: Flask) -> None:
    """Mount /embed/… on the server."""
    server.register_blueprint(blueprint)


@blueprint.before_request
def _nonce() -> None:
    g.embed_nonce = secrets.token_urlsafe(16)


@blueprint.after_request
def _frame_policy(response: Response) -> Response:
    # Our own full policy: framing only by the configured origins; scripts only our nonce'd inline one.
    settings = context.settings()
    forms = "'self'" if request.endpoint == "embed.alerts_form" else "'none'"  # the opt-in form posts to itself
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{g.get('embed_nonce', 'none')}'; style-src 'unsafe-inline'; "
        f"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action {forms}; "
        f"frame-ancestors {settings.embed_allowed_origins}")
    if settings.alert_embed_origins:  # the "Get alerts" link depends on the framing page
        response.vary.add("Referer")
    response.headers.pop("X-Frame-Options", None)
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    response.headers.setdefault("Cache-Control", "public, max-age=60")
    return response


@blueprint.get("/city/<city>")
def city_view(city: str):
    return _respond("city", city)


@blueprint.get("/station/<station_id>")
def station_view(station_id: str):
    return _respond("station", station_id)


def _respond(kind: str, key: str):
    lang = request.args.get("lang", "en")
    text = TEXT.get(lang, TEXT["en"])
    theme = request.args.get("theme", "light")
    try:
        options = parse_options(request.args)
        view = embed_view(kind, key, options["standard"], options["pollutant"])
    except EmbedError as exc:
        if request.args.get("format") == "json":
            code = "not_found" if exc.status == 404 else "invalid_parameter"
            return jsonify({"error": {"code": code, "message": str(exc)}}), exc.status
        return render_template("embed/error.html", message=str(exc), text=text,
                               theme=theme if theme in THEMES else "light", lang=lang if lang in TEXT else "en",
                               nonce=g.embed_nonce), exc.status
    if request.args.get("format") == "json":
        return jsonify(view)
    return render_template("embed/view.html", view=view, text=TEXT[options["lang"]], nonce=g.embed_nonce,
                           alerts_link=alerts_link(kind, key, options), **options)


def alerts_link(kind: str, key: str, options: dict) -> str | None:
    """The opt-in form's address when the framing page's origin (from Referer) is in settings.alert_embed_origins."""
    settings = context.settings()
    referrer = urlsplit(request.referrer or "")
    origin = f"{referrer.scheme}://{referrer.netloc}".lower()
    if not settings.alerts_enabled or origin not in settings.alert_embed_origins.lower().split():
        return None
    place = {"city": key} if kind == "city" else {"station": key}
    return "/embed/alerts?" + urlencode({**place, "standard": options["standard"], "lang": options["lang"],
                                         "theme": options["theme"]})


@blueprint.route("/alerts", methods=["GET", "POST"])
def alerts_form():
    """The opt-in form (GET) and its submission (POST): a pending e-mail subscription, confirmed by its link."""
    source = request.form if request.method == "POST" else request.args
    lang = source.get("lang") if source.get("lang") in TEXT else "en"
    theme = source.get("theme") if source.get("theme") in THEMES else "light"
    text = TEXT[lang]
    standard = source.get("standard", context.settings().default_standard)
    place_field = "station" if source.get("station") else "city"
    place_value = source.get(place_field, "")
    try:
        if not context.settings().alerts_enabled:
            raise EmbedError("Alerts are not enabled on this server.", 404)
        if standard not in STANDARDS:
            raise EmbedError(f"Unknown standard {standard!r}. Use one of: {', '.join(STANDARDS)}.")
        place_name = _alert_place(place_field, place_value)
    except EmbedError as exc:
        return render_template("embed/error.html", message=str(exc), text=text, theme=theme, lang=lang,
                               nonce=g.embed_nonce), exc.status
    names = [c["name"] for c in categories(standard)][1:]
    page = {"text": text, "lang": lang, "theme": theme, "nonce": g.embed_nonce, "standard": standard,
            "place_field": place_field, "place_value": place_value, "place_name": place_name,
            "categories": names, "forecast_allowed": standard in FORECAST_STANDARDS, "message": None,
            "failed": False, "done": False, "email": source.get("email", ""),
            "category": source.get("category", names[1] if len(names) > 1 else names[0]),
            "kind": source.get("kind", "forecast")}
    if request.method == "GET":
        return render_template("embed/alerts_form.html", **page)
    status = 202
    try:
        body = SubscriptionRequest(email=source.get("email", ""), standard=standard, kind=source.get("kind", ""),
                                   category=source.get("category", ""), **{
                                       "city" if place_field == "city" else "station_id": place_value})
        alerts.create(body)
        page.update(done=True, message=text["sent"].format(email=body.email))
    except ValidationError as exc:
        problem = exc.errors()[0]
        status, page["failed"] = 400, True
        page["message"] = f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}"
    except APIError as exc:
        status, page["failed"], page["message"] = exc.status, True, exc.message
    response = Response(render_template("embed/alerts_form.html", **page), status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _alert_place(field: str, value: str) -> str:
    """The display name of the form's city or station; EmbedError (404) when there is none."""
    ctx = context.current()
    if field == "station":
        station = next((s for s in stations(ctx) if value.isdigit() and s["id"] == int(value)), None)
        if station is None:
            raise EmbedError(f"No station with id {value!r}.", 404)
        return f"{station['name']}, {station['city']}"
    if all(c["name"] != value for c in cities(ctx)):
        raise EmbedError(f"No city named {value!r}.", 404)
    return value


def parse_options(args) -> dict:
    """theme, standard, pollutant, lang, refresh from the query string; EmbedError names an unknown value."""
    theme = args.get("theme", "light")
    if theme not in THEMES:
        raise EmbedError(f"Unknown theme {theme!r}. Use one of: {', '.join(THEMES)}.")
    standard = args.get("standard", context.settings().default_standard)
    if standard not in STANDARDS:
        raise EmbedError(f"Unknown standard {standard!r}. Use one of: {', '.join(STANDARDS)}.")
    pollutant = args.get("pollutant", "aqi")
    if pollutant not in ("aqi", *POLLUTANTS):
        raise EmbedError(f"Unknown pollutant {pollutant!r}. Use one of: aqi, {', '.join(POLLUTANTS)}.")
    lang = args.get("lang", "en")
    if lang not in TEXT:
        raise EmbedError(f"No translation for lang={lang!r}. Available: {', '.join(TEXT)}.")
    raw = args.get("refresh", str(REFRESH_DEFAULT_S))
    if not raw.isdigit() or not (int(raw) == 0 or REFRESH_MIN_S <= int(raw) <= REFRESH_MAX_S):
        raise EmbedError(f"refresh must be 0 (off) or whole seconds from {REFRESH_MIN_S} to {REFRESH_MAX_S}, "
                         f"not {raw!r}.")
    return {"theme": theme, "standard": standard, "pollutant": pollutant, "lang": lang, "refresh": int(raw)}


def embed_view(kind: str, key: str, standard: str, pollutant: str) -> dict:
    """Everything the embed shows, as plain data (also its JSON refresh)."""
    if kind == "station":
        if not key.isdigit():
            raise EmbedError(f"Station id must be a number, not {key!r}.", 404)
        everywhere = current(context.current(), standard)
        station = next((s for s in everywhere["stations"] if s["id"] == int(key)), None)
        if station is None:
            raise EmbedError(f"No active station with id {key}.", 404)
        snapshot = current(context.current(), standard, station["city"])
        value = marker_value(station, pollutant)
        title, city = station["name"], station["city"]
    else:
        try:
            snapshot = current(context.current(), standard, key)
        except UnknownCity:
            raise EmbedError(f"No city named {key!r}.", 404) from None
        if not snapshot["stations"]:
            raise EmbedError(f"No city named {key!r} with active stations.", 404)
        top = city_index(snapshot["stations"], pollutant)
        station = top["station"] if top else None
        value = top["value"] if top else None
        title = city = key
    cats = categories(standard)
    position = _position(value, cats)
    info = category_info(standard, position)
    label = "level" if standard == "eea" else "aqi"
    as_of = snapshot["as_of"]
    return {
        "kind": kind, "title": title, "city": city, "standard": standard, "standard_name": STANDARDS[standard],
        "pollutant": pollutant, "pollutant_name": LABELS[pollutant], "label": label,
        "value": None if value is None else round(value), "category": info["name"] if value is not None else None,
        "color": info["color"], "text_color": text_color(info["color"]),
        "health_message": info["health_message"] if value is not None else None,
        "as_of": as_of.strftime("%Y-%m-%d %H:00 UTC") if as_of else None,
        "map": mini_map(snapshot["stations"], pollutant, cats, station["id"] if station else None),
        "forecast": forecast_strip(station["id"]) if station else {"available": False, "days": []},
        "map_link": f"/?city={city}&standard={standard}&pollutant={pollutant}"
                    + (f"&station={station['id']}" if kind == "station" and station else ""),
    }


def _position(value: float | None, cats: list[dict]) -> int:
    return int(band_positions([cat["low"] for cat in cats], math.nan if value is None else value))


def mini_map(stations: list[dict], pollutant: str, cats: list[dict], selected: int | None,
             width: int = 320, height: int = 150, pad: int = 12) -> dict:
    """Stations projected into an SVG box (equirectangular with cos(lat)): monitors circles, sensors squares."""
    rows = [s for s in stations if s["lat"] is not None]
    if not rows:
        return {"width": width, "height": height, "points": []}
    lats = [s["lat"] for s in rows]
    lons = [s["lon"] for s in rows]
    kx = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((max(lons) - min(lons)) * kx, 1e-3)
    span_y = max(max(lats) - min(lats), 1e-3)
    scale = min((width - 2 * pad) / span_x, (height - 2 * pad) / span_y)
    ox = (width - span_x * scale) / 2
    oy = (height - span_y * scale) / 2
    points = []
    for s in rows:
        value = marker_value(s, pollutant)
        position = _position(value, cats)
        color = cats[position]["color"] if position >= 0 else "#9E9E9E"
        points.append({"id": s["id"], "name": s["name"], "kind": s["kind"], "color": color,
                       "value": None if value is None else round(value),
                       "x": round(ox + (s["lon"] - min(lons)) * kx * scale, 1),
                       "y": round(height - oy - (s["lat"] - min(lats)) * scale, 1),
                       "selected": s["id"] == selected})
    return {"width": width, "height": height, "points": points}


def forecast_strip(station_id: int) -> dict:
    """The next three days' categories from the forecaster, or unavailable (no model loaded, or it failed)."""
    try:
        days = service.daily_categories(context.current(), station_id)[:3]
    except service.ModelUnavailable:
        return {"available": False, "days": []}
    except Exception:  # a public widget shows "unavailable" rather than an error page; the log has the cause
        log.exception("forecast for station %s failed", station_id)
        return {"available": False, "days": []}
    return {"available": bool(days), "days": [
        {"date": str(d["date"]), "category": d["category"], "color": d["color"],
         "text_color": text_color(d["color"]) if str(d["color"]).startswith("#") and len(d["color"]) == 7 else "#000",
         "aqi": d.get("aqi")} for d in days]}
