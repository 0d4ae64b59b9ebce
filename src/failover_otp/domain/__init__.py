"""The pure core: flow state, the transition function and status aggregation.

Nothing in this package performs I/O, reads the clock or draws random numbers: every function
takes the state, an event and ``now`` and returns the new state plus commands for the shell.
"""
