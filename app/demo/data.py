"""Demo data for Utrecht-West: the people from the product brief and their neighbourhood.

Built through the same service functions the app uses, so the demo obeys every rule.
Idempotent: each object is looked up by a natural key before it is created.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts import services as accounts
from app.accounts.models import User
from app.extensions import db

DEMO_PASSWORD = "dichtbij-demo"

DEMO_USERS = [
    # email, name, role, language
    ("anouk@example.org", "Anouk de Vries", "member", "nl"),
    ("samir@example.org", "Samir El Amrani", "member", "en"),
    ("marja@example.org", "Marja Jansen", "manager", "nl"),
    ("kees@example.org", "Kees Bakker", "manager", "nl"),
    ("coordinator@example.org", "Coördinator Dichtbij", "admin", "nl"),
]


def load_demo(only_if_empty: bool = False) -> str:
    if only_if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        return "The database has data; demo not loaded."
    created = 0
    for email, name, role, language in DEMO_USERS:
        if accounts.user_by_email(email) is None:
            accounts.register_user(email, DEMO_PASSWORD, name, language=language, role=role)
            created += 1
    return f"Demo loaded: {created} new accounts (password for all: {DEMO_PASSWORD})."
