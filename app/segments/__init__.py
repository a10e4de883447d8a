"""Audience segments: saved rules over what we know of shoppers, evaluated in SQL."""
