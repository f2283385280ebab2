"""Public AQI alerts: subscriptions, hourly evaluation, and delivery through a durable outbox (e-mail, webhooks)."""
from __future__ import annotations


class DeliveryError(Exception):
    """A send failed in a way worth retrying later (server down, timeout, non-2xx), or a target was refused."""
