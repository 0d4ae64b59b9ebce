"""Adapters that hand messages to a messaging provider (Routee, or its sandbox) and read reports."""
