"""Send one message over SMTP with the configured host, port, STARTTLS and login."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from sync_server.config import Config

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "tickets@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_seconds: float = 10.0
    # Account mail's links (accounts.links): signed with the app's secret key, on this address.
    link_secret: str = ""
    public_url: str = "http://localhost:5000"  # also a guest's order link (orders.guest_links)

    @classmethod
    def from_config(cls, config: Config) -> SmtpSettings:
        return cls(host=config.smtp_host, port=config.smtp_port, sender=config.smtp_from,
                   username=config.smtp_username, password=config.smtp_password,
                   starttls=config.smtp_starttls, timeout_seconds=config.smtp_timeout_seconds,
                   link_secret=config.secret_key,
                   public_url=config.public_url or cls.public_url)

    @property
    def configured(self) -> bool:
        return bool(self.host)


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Send ``message``; raises ``OSError``/``smtplib.SMTPException`` when it cannot."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)
