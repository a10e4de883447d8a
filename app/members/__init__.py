"""Membership programs, members, points ledger, tiers and service cards."""
