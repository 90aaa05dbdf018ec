"""The backend: a Flyte cluster through FlyteRemote. Launches backfills, reads their status and the runs they made,
and rides out outages.

May import ``core`` and ``flyte``; never ``command``.
"""
