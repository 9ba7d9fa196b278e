"""Integrations of Herald with application frameworks."""
