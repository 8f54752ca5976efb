"""The repository's own web pages: server-rendered HTML over the repository services."""
