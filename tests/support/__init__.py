"""Helpers shared by the test suite: PostgreSQL servers and databases, free ports, HTTP waits."""
