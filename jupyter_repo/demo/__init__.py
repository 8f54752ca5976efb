"""Demo content: sample files of every package type and a bootstrap for a fresh server."""
