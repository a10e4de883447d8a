"""Image uploads: verified, cleaned, stored and served."""
