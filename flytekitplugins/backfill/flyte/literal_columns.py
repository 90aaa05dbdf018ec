"""Lists of datetimes as Flyte literals, written straight to protobuf.

flytekit's generic path (the type engine, then its models) costs tens of microseconds per element: seconds at
100,000 runs. These build the protobuf in one pass and make flytekit's models only if something asks for them
(flytekit's local executor does; serialization does not). A test checks the bytes equal flytekit's own.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, List, Optional, Sequence

from flyteidl.core import literals_pb2
from flytekit.models import literals as literal_models

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _set_datetime(stamp: Any, value: datetime) -> None:
    delta = value - _EPOCH
    stamp.seconds, stamp.nanos = delta.days * 86400 + delta.seconds, delta.microseconds * 1000


class LiteralColumn(literal_models.BindingDataCollection):
    """A bound list of literals that serializes in one pass; its flytekit models are made only if asked for."""

    def __init__(self, protos: List[literals_pb2.BindingData], models: Any):
        self._protos = protos
        self._models = models  # a list, or a callable that makes it
        self._proto: Optional[literals_pb2.BindingDataCollection] = None

    @classmethod
    def of_datetimes(cls, values: Sequence[datetime]) -> "LiteralColumn":
        protos = []
        for value in values:
            proto = literals_pb2.BindingData()
            _set_datetime(proto.scalar.primitive.datetime, value)
            protos.append(proto)

        def models() -> List[literal_models.BindingData]:
            return [
                literal_models.BindingData(scalar=literal_models.Scalar(primitive=literal_models.Primitive(datetime=v)))
                for v in values
            ]

        return cls(protos, models)

    @property
    def bindings(self) -> List[literal_models.BindingData]:
        if callable(self._models):
            self._models = self._models()
        return self._models

    def to_flyte_idl(self) -> literals_pb2.BindingDataCollection:
        if self._proto is None:
            self._proto = literals_pb2.BindingDataCollection()
            self._proto.bindings.extend(self._protos)
        return self._proto


class NestedDatetimes(literal_models.Literal):
    """A literal ``List[List[datetime]]`` (a part's instants, a fixed input) that serializes in one pass."""

    def __init__(self, rows: Sequence[Sequence[datetime]]):
        self._rows = rows
        self._proto: Optional[literals_pb2.Literal] = None
        self._model: Optional[literal_models.Literal] = None

    def to_flyte_idl(self) -> literals_pb2.Literal:
        if self._proto is None:
            proto = literals_pb2.Literal()
            for row in self._rows:
                inner = proto.collection.literals.add()
                inner.collection.SetInParent()
                for value in row:
                    _set_datetime(inner.collection.literals.add().scalar.primitive.datetime, value)
            self._proto = proto
        return self._proto

    def __getattr__(self, name: str) -> Any:  # flytekit's model attributes, made on first use
        if name.startswith("_"):
            raise AttributeError(name)
        if self._model is None:
            self._model = literal_models.Literal.from_flyte_idl(self.to_flyte_idl())
        return getattr(self._model, name)
