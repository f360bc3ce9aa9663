"""Calendar feeds and invitations: iCalendar builders (`ical.py`), kept free of HTTP."""
