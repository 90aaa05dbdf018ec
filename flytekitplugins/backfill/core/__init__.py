"""The pure core: windows, schedules, the pieces tree, plans and the request that names them.

Datetimes in, values out: no network, no click, no flytekit workflow or client API (only its failure-policy enum).
Imports nothing from the other layers of this package.
"""
