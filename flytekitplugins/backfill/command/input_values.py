"""`--input NAME=VALUE` for list, dict, dataclass and union inputs: the JSON value checked element by element against
the input's Flyte literal type, so that what a backfill registers is exactly what the launch plan declares (issue 10,
#16), and pickled inputs refused before anything is imported.

flytekit's own command-line type for these inputs (``JsonParamType``) returns the parsed JSON unchecked: ``[1, "a"]``
for a ``List[int]``. Its ``TypeEngine.to_literal`` then refuses the string, but also refuses ints for floats, and only
when a run starts.
Here every element is checked (bools are not ints, ints must fit int64, ints are taken for floats), converted to the
Python value flytekit expects (``1`` -> ``1.0`` for a float, ``"red"`` -> the enum member, an object -> the
dataclass), and an error names the element: ``tags[1]``, ``weights["b"]``, ``cfg.rate``.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import typing
from pathlib import Path
from typing import Any, List, Optional

from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.interaction.click_types import literal_type_to_click_type
from flytekit.models.types import LiteralType, SimpleType
from flytekit.types.pickle.pickle import FlytePickleTransformer

from .dates import INT64, DateType, parse_duration, type_name

_SCALARS = {SimpleType.INTEGER, SimpleType.FLOAT, SimpleType.STRING, SimpleType.BOOLEAN, SimpleType.DATETIME,
            SimpleType.DURATION, SimpleType.NONE}  # fmt: skip


class WrongValue(ValueError):
    """A value (or one element of it) that does not match the input's type; the message names the element."""


def is_pickled(literal_type: LiteralType) -> bool:
    """Whether the type is, or holds, a pickled Python object (a type flytekit has no transformer for)."""
    if literal_type.blob is not None:
        return literal_type.blob.format == FlytePickleTransformer.PYTHON_PICKLE_FORMAT
    inner = [literal_type.collection_type, literal_type.map_value_type]
    inner += list(literal_type.union_type.variants) if literal_type.union_type else []
    return any(t is not None and is_pickled(t) for t in inner)


def is_json_typed(literal_type: LiteralType) -> bool:
    """Whether the type is, or holds, a list, a dict or a JSON object (dataclass): a value given as JSON."""
    if literal_type.collection_type is not None or literal_type.map_value_type is not None:
        return True
    if literal_type.simple == SimpleType.STRUCT:
        return True
    return bool(literal_type.union_type) and any(is_json_typed(v) for v in literal_type.union_type.variants)


def is_plain_data(literal_type: LiteralType) -> bool:
    """Whether flytekit turns a value of this type into a literal without reading or uploading files."""
    if literal_type.simple is not None or literal_type.enum_type is not None:
        return True
    if literal_type.collection_type is not None or literal_type.map_value_type is not None:
        return is_plain_data(literal_type.collection_type or literal_type.map_value_type)
    return bool(literal_type.union_type) and all(is_plain_data(v) for v in literal_type.union_type.variants)


def from_text(name: str, text: str, literal_type: LiteralType, python_type: Any) -> Any:
    """The text of ``--input name=text`` (JSON, or a JSON/YAML file as flytekit reads it) as a checked Python value."""
    candidates: List[Any] = []
    try:
        candidates.append(json.loads(text))
    except ValueError as e:
        if _is_file(text):
            candidates.append(_load_file(Path(text)))
        elif not literal_type.union_type:
            example = "'[1, 2]'" if literal_type.collection_type is not None else "'{\"a\": 1}'"
            raise WrongValue(f"give it as JSON, such as {example} ({e})") from None
    if literal_type.union_type and not isinstance(candidates[0] if candidates else None, str):
        candidates.append(text)  # Union[str, List[int]]: `apac` is the string, `[1, 2]` the list
    error: Optional[WrongValue] = None
    for value in candidates:
        try:
            return checked(value, literal_type, python_type, name)
        except WrongValue as e:
            error = error or e
    raise error  # type: ignore[misc]


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for the file system
        return False


def _load_file(file: Path) -> Any:
    try:
        if file.suffix in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(file.read_text())
        return json.loads(file.read_text())
    except Exception as e:  # a file that is not JSON/YAML
        raise WrongValue(f"the file {str(file)!r} is not {'YAML' if file.suffix in ('.yaml', '.yml') else 'JSON'}: "
                         f"{' '.join(str(e).split())[:120]}") from None  # fmt: skip


def checked(value: Any, lt: LiteralType, pt: Any, path: str, schema: Optional[dict] = None, strict: bool = False) -> Any:
    """``value`` (parsed JSON) as the Python value of type ``pt`` whose literal is of type ``lt``; ``path`` names it.
    ``schema`` is a dataclass's JSON schema where its literal type no longer carries it (a nested dataclass).
    ``strict`` takes no int for a float, at any depth: a union tries its variants strictly first."""
    pt = _unannotated(pt)
    if lt.union_type:
        args = typing.get_args(pt)
        variants = [(v, args[i] if i < len(args) else TypeEngine.guess_python_type(v))
                    for i, v in enumerate(lt.union_type.variants)]  # fmt: skip
        errors = []
        for exact in (True, False) if not strict else (True,):  # Union[float, int]: 1 is the int; 1.5 the float
            for variant, variant_pt in variants:
                try:
                    return _checked_one(value, variant, variant_pt, path, exact)
                except WrongValue as e:
                    errors.append((variant, e))
        # Optional[List[int]] given a list: the list's wrong element, not "expected Optional[List[int]]"
        shaped = {id(variant): e for variant, e in errors if _same_shape(value, variant)}  # the lenient try's error
        if len(shaped) == 1:
            raise next(iter(shaped.values()))
        raise WrongValue(f"{path} is {_found(value)}, expected {_name(pt)}")
    return _checked_one(value, lt, pt, path, strict=strict, schema=schema)


def _checked_one(value: Any, lt: LiteralType, pt: Any, path: str, strict: bool, schema: Optional[dict] = None) -> Any:
    if is_pickled(lt):
        raise WrongValue(f"{path} is a pickled Python object, which cannot be given on the command line")
    if lt.collection_type is not None:
        if not isinstance(value, list):
            raise WrongValue(f"{path} is {_found(value)}, expected {_name(pt)}")
        item = _arg(pt, 0, lt.collection_type)
        return [checked(v, lt.collection_type, item, f"{path}[{i}]", strict=strict) for i, v in enumerate(value)]
    if lt.map_value_type is not None:
        if not isinstance(value, dict):
            raise WrongValue(f"{path} is {_found(value)}, expected {_name(pt)}")
        item = _arg(pt, 1, lt.map_value_type)
        return {k: checked(v, lt.map_value_type, item, f"{path}[{json.dumps(k)}]", strict=strict) for k, v in value.items()}
    if dataclasses.is_dataclass(pt):
        return _dataclass(value, pt, path, schema or lt.metadata or {}, strict)
    if lt.enum_type is not None:
        if not isinstance(value, str) or value not in lt.enum_type.values:
            choices = ", ".join(map(repr, lt.enum_type.values))
            raise WrongValue(f"{path} is {_found(value)}, expected one of {choices}")
        return pt(value) if isinstance(pt, type) and issubclass(pt, enum.Enum) else value
    if lt.simple in _SCALARS:
        return _scalar(value, lt.simple, pt, path, strict)
    if lt.simple == SimpleType.STRUCT and dict in (pt, typing.get_origin(pt)) and not isinstance(value, dict):
        raise WrongValue(f"{path} is {_found(value)}, expected {_name(pt)}")
    # a dict with non-string keys, a pydantic model, a file or a dataset: flytekit's own type reads the element
    try:
        return literal_type_to_click_type(lt, pt).convert(value, None, None)
    except Exception as e:
        raise WrongValue(f"{path} is not a valid {_name(pt)}: {' '.join(str(e).split())[:160]}") from None


def _same_shape(value: Any, lt: LiteralType) -> bool:
    """Whether a JSON list or object has the shape of ``lt``, so that ``lt``'s error about it is the one to show."""
    if isinstance(value, list):
        return lt.collection_type is not None
    return isinstance(value, dict) and (lt.map_value_type is not None or lt.simple == SimpleType.STRUCT)


def _scalar(value: Any, simple: int, pt: Any, path: str, strict: bool) -> Any:
    wrong = WrongValue(f"{path} is {_found(value)}, expected {_name(pt)}")
    if simple == SimpleType.NONE:
        if value is not None:
            raise wrong
        return None
    if isinstance(value, bool):  # a bool is an int to Python; to Flyte it is only a boolean
        if simple != SimpleType.BOOLEAN:
            raise wrong
        return value
    if simple == SimpleType.INTEGER and isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise WrongValue(
                f"{path} is {value}, which does not fit Flyte's 64-bit integers ({INT64[0]} to {INT64[1]})"
            )
        return value
    if simple == SimpleType.FLOAT and isinstance(value, (float, int)) and not (strict and isinstance(value, int)):
        try:
            return float(value)
        except OverflowError:
            raise WrongValue(f"{path} is {value}, too large for a float") from None
    if simple == SimpleType.STRING and isinstance(value, str):
        return value
    if simple in (SimpleType.DATETIME, SimpleType.DURATION) and isinstance(value, str):
        try:
            return DateType().convert(value, None, None) if simple == SimpleType.DATETIME else parse_duration(value)
        except Exception as e:  # click's BadParameter or parse_duration's ValueError
            reason = getattr(e, "message", None) or str(e)
            raise WrongValue(f"{path} is not a valid {_name(pt)}: {' '.join(reason.split())[:160]}") from None
    raise wrong


def _dataclass(value: Any, pt: type, path: str, schema: dict, strict: bool = False) -> Any:
    """A JSON object as the dataclass ``pt``. A field left out takes the class's default or, for a class flytekit
    rebuilt from a fetched launch plan's JSON schema (which drops the defaults), the schema's default."""
    if not isinstance(value, dict):
        raise WrongValue(f"{path} is {_found(value)}, expected {_name(pt)}")
    fields = {f.name: f for f in dataclasses.fields(pt) if f.init}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise WrongValue(f"{path} has no field {unknown[0]!r}; the fields of {_name(pt)} are {', '.join(fields)}")
    try:
        hints = typing.get_type_hints(pt)
    except Exception:  # an annotation that does not resolve: take the field's own type
        hints = {}
    kwargs = {}
    for name, field in fields.items():
        field_type = hints.get(name, field.type)
        described = _resolved(schema.get("properties", {}).get(name, {}), schema)
        if name in value:
            given = value[name]
        elif field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING:
            continue
        elif "default" in described:
            given = _integral(described["default"])
        else:
            raise WrongValue(f"{path}.{name} is missing, expected {_name(field_type)}")
        literal_type = TypeEngine.to_literal_type(field_type)
        kwargs[name] = checked(given, literal_type, field_type, f"{path}.{name}", described, strict)
    return pt(**kwargs)


def _resolved(described: dict, root: dict) -> dict:
    """A field's schema, following ``{"$ref": "#/$defs/Inner"}`` to the root's definitions, which it keeps."""
    ref = described.get("$ref")
    defs = root.get("$defs", root.get("definitions", {}))
    if isinstance(ref, str):
        described = defs.get(ref.rsplit("/", 1)[-1], {})
    return {**described, "$defs": defs} if defs and "$defs" not in described else described


def _integral(value: Any) -> Any:
    """A schema default read back from protobuf, where every number is a double: 5.0 is the int 5 again."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return {k: _integral(v) for k, v in value.items()} if isinstance(value, dict) else value


def literal_of(value: Any, literal_type: LiteralType, python_type: Any) -> Any:
    """The Flyte literal of a checked value, for the last check that flytekit takes it (plain data only)."""
    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_literal(ctx, value, python_type, literal_type)


def _unannotated(pt: Any) -> Any:
    return typing.get_args(pt)[0] if typing.get_origin(pt) is typing.Annotated else pt


def _arg(pt: Any, index: int, lt: LiteralType) -> Any:
    args = typing.get_args(pt)
    return args[index] if len(args) > index else TypeEngine.guess_python_type(lt)


def _name(pt: Any) -> str:
    return "None" if pt is type(None) else type_name(pt)


def _found(value: Any) -> str:
    """`a string ("a")`, `a boolean (true)`: a JSON value as an error message describes it."""
    if value is None:
        return "null"
    kinds = [(bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"), (list, "a list"),
             (dict, "an object")]  # fmt: skip
    kind = next((k for t, k in kinds if isinstance(value, t)), type(value).__name__)
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    return f"{kind} ({shown if len(shown) <= 40 else shown[:40] + '...'})"
