"""The Flyte side: reads flytekit launch plans, writes plans as flytekit workflows, runs them with the local executor.

No network and no click. May import ``core``; nothing else of this package.
"""
