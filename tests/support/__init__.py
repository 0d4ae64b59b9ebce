"""Helpers shared by the test suite: PostgreSQL servers and databases, free ports, HTTP waits."""

import pytest

# The wire sandbox helpers are a pytest plugin whose helpers assert: rewrite them too.
pytest.register_assert_rewrite("tests.support.wire_sandbox")
