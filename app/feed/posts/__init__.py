"""Merchants' posts and polls, how a post looks to its reader, and feed rewards."""
