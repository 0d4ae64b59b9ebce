"""The HTTP API (FastAPI): the only package that knows about HTTP."""
