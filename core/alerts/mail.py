"""E-mail over SMTP: `smtp://` (STARTTLS when the server offers it), `smtps://` (implicit TLS)."""
from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from core.alerts import DeliveryError
from core.metrics import timed
from core.settings import Settings

# Python folds a header just over 78 characters right after its name, and readers then see a leading space in
# the subject: fold only at RFC 5322's hard limit.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)


def build_message(settings: Settings, to: str, subject: str, text: str, html: str | None = None,
                  headers: dict[str, str] | None = None) -> EmailMessage:
    """The message as sent: plain text, an HTML alternative when given, and the extra headers."""
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(settings.smtp_from)[1].rpartition("@")[2] or None)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


@timed("alerts", "smtp_send")
def send_mail(settings: Settings, to: str, subject: str, text: str, html: str | None = None,
              headers: dict[str, str] | None = None) -> None:
    """Send one e-mail through settings.smtp_url; DeliveryError on any failure (refused, timeout, TLS, 4xx/5xx).

    Credentials in the URL are sent only over TLS (STARTTLS or smtps); a server refusing the recipient
    outright also raises DeliveryError, and the outbox's attempt limit ends the retries.
    """
    message = build_message(settings, to, subject, text, html, headers)
    url = urlsplit(settings.smtp_url)
    host, timeout = url.hostname or "", settings.smtp_timeout_s
    context = ssl.create_default_context()
    try:
        if url.scheme == "smtps":
            client = smtplib.SMTP_SSL(host, url.port or 465, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, url.port or 25, timeout=timeout)
        with client:
            client.ehlo()
            if url.scheme == "smtp" and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if url.username:
                if not isinstance(client.sock, ssl.SSLSocket):
                    raise DeliveryError(f"{host} offers no STARTTLS: the password is not sent in clear")
                client.login(unquote(url.username), unquote(url.password or ""))
            refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {host}: {type(exc).__name__}: {str(exc)[:200]}") from None
    if refused:
        raise DeliveryError(f"SMTP {host} refused {', '.join(refused)}")
