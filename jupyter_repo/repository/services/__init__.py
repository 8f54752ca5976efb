"""Use cases of the repository, as functions over a database session and an :class:`Actor`.

Each function checks permissions itself, so every caller (REST API, channels, web pages,
admin commands) gets the same rules.
"""
