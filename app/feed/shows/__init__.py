"""Buyer shows: shoppers' photos of what they bought, reported by readers, moderated."""
