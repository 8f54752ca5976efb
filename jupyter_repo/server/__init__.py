"""The HTTP face of the repository: a Tornado application over the repository's services.

Handlers stay thin: they read the request, call a service in a worker thread (so that
database work, hashing and disk I/O never block the event loop) and write the result.
"""
