"""Stores, opening hours, nearby search and the map."""
