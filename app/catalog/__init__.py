"""Products and SKUs of a merchant."""
