"""The imperative shell: loads state, asks the core, saves, then acts on the commands."""
