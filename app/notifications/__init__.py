"""E-mail about bookings, through a persisted outbox.

`outbox.queue_booking_mail` composes the mails for a booking event and adds them to the session
of the booking's own transaction; they are delivered after the commit (a background thread per
request, and `flask mail send` from cron or a systemd timer for what could not be sent yet).
A mail server that is down never loses, delays or fails a booking.
"""
