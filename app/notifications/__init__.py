"""E-mail about bookings, through a persisted outbox.

`outbox.queue_booking_mail` writes the mails for a booking event into the session of the
booking's own transaction (an announcement of a new booking is composed when first sent); they
are delivered after the commit (one sender thread per process, and `flask mail send` from cron
or a systemd timer for what could not be sent yet).
A mail server that is down never loses, delays or fails a booking.
"""
