"""`flask calendars sync`: refresh every imported calendar, from cron or a systemd timer.

Each URL import is downloaded again (conditionally: If-None-Match / If-Modified-Since, so an
unchanged feed costs a 304) and its busy blocks are brought up to date; an uploaded file is
expanded again, so its repeating events keep reaching as far ahead as the space's horizon.
One line per import says how it went. Every import is committed on its own, so one broken
feed never undoes the others; a feed that cannot be fetched or read keeps its last good
blocks and records the error for the venue's managers. The exit status is 1 only when an
import could not be processed at all (a database error); broken feeds are reported, not fatal.

Run it every 15 minutes or so. cron (crontab -e for the user that runs the app):

    */15 * * * *  cd /srv/dichtbij && .venv/bin/flask --app wsgi calendars sync

systemd: dichtbij-calendars.service

    [Service]
    Type=oneshot
    WorkingDirectory=/srv/dichtbij
    EnvironmentFile=/etc/dichtbij.env
    ExecStart=/srv/dichtbij/.venv/bin/flask --app wsgi calendars sync
    TimeoutStartSec=15min

and dichtbij-calendars.timer (`systemctl enable --now dichtbij-calendars.timer`)

    [Timer]
    OnBootSec=5min
    OnUnitActiveSec=15min

    [Install]
    WantedBy=timers.target
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from app.feeds import imports
from app.feeds.import_models import CalendarImport

calendars_cli = AppGroup("calendars", help="Calendars imported from elsewhere (Google, Outlook, files).")


def _label(import_: CalendarImport) -> str:
    """Which import, without its URL: a private feed's URL is a secret and logs are not."""
    space = import_.space
    source = "url" if import_.url else f"file {import_.filename}"
    return f"import {import_.id} ({source}) · {space.venue.name} / {space.name}"


@calendars_cli.command("sync")
def sync() -> None:
    """Sync every imported calendar now: one line per import (for cron or a systemd timer;
    see app/feeds/cli.py). Exit status 1 only when an import could not be processed at all."""
    ids = imports.import_ids()
    db.session.commit()
    crashed = 0
    for import_id in ids:
        label = f"import {import_id}"
        try:
            import_ = db.session.get(CalendarImport, import_id)
            if import_ is None:
                continue  # deleted meanwhile
            label = _label(import_)
            request = imports.feed_request(import_)
            db.session.commit()  # no transaction (nor SQLite write lock) while downloading
            fetched = imports.download(request)
            import_ = db.session.get(CalendarImport, import_id)
            if import_ is None:
                db.session.commit()
                continue
            report = imports.apply_download(import_, fetched)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            crashed += 1
            click.echo(f"{label}: not processed: {exc.__class__.__name__}: {exc}", err=True)
            continue
        if report.error:
            click.echo(f"{label}: failed ({report.error}); keeping {report.blocks} blocks")
        else:
            click.echo(f"{label}: {report.result}, {report.blocks} blocks")
    click.echo(f"{len(ids)} imports, {crashed} not processed.")
    if crashed:
        raise SystemExit(1)
