"""Shared pieces of the admin UI pages."""
