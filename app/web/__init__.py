"""The shopper web app (/app) and the store workbench (/workbench) on the public API."""
