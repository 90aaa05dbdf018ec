"""A test backend that imitates open-source Flyte (flyteorg/flyte v1.16.x) rule by rule.

- ``admin``: FlyteAdmin's AdminService over gRPC on 127.0.0.1 (flyteadmin/pkg/manager/impl), with fault injection.
- ``compiler``: what FlyteAdmin runs at CreateWorkflow (flytepropeller/pkg/compiler).
- ``executor``: how flytepropeller runs an execution (flytepropeller/pkg/controller), in deterministic rounds.

Test support, not product: each rule names the Go file it was ported from.
"""
