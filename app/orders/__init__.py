"""Orders: a pickup hold (a reservation) that is paid online or at the till."""
