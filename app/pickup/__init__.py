"""Reservations for store pickup: holds, pickup codes, staff hand-over and expiry."""
