"""The anaconda.org-compatible REST API under ``/api``."""
