"""Users, merchants, staff roles, login, tokens and permissions."""
