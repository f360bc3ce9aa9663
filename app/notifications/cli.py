"""`flask mail send`: deliver the outbox's queued mail, from cron or a systemd timer.

Mail is normally sent right after the booking's commit. What could not be sent then (the mail
server was down or slow) stays queued with a back-off, and this command delivers it. Run it
every minute or so; runs that overlap are safe (each message is claimed before it is sent).

cron (crontab -e for the user that runs the app):

    * * * * *  cd /srv/dichtbij && .venv/bin/flask --app wsgi mail send

systemd: dichtbij-mail.service

    [Service]
    Type=oneshot
    WorkingDirectory=/srv/dichtbij
    EnvironmentFile=/etc/dichtbij.env
    ExecStart=/srv/dichtbij/.venv/bin/flask --app wsgi mail send

and dichtbij-mail.timer (`systemctl enable --now dichtbij-mail.timer`)

    [Timer]
    OnBootSec=1min
    OnUnitActiveSec=1min

    [Install]
    WantedBy=timers.target
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.notifications.outbox import deliver_pending, queued_count

mail_cli = AppGroup("mail", help="Outgoing e-mail.")


@mail_cli.command("send")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, help="Most messages per run.")
def send(limit: int) -> None:
    """Deliver queued mail that is due (for cron or a systemd timer; see app/notifications/cli.py)."""
    sent, failed = deliver_pending(limit=limit)
    click.echo(f"Sent {sent}, failed {failed}; {queued_count()} queued.")
