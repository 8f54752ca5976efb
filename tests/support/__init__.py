"""Test helpers: real servers on free ports, real clients in subprocesses."""
