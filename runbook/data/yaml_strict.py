"""A strict YAML reader for the site data: clean UTF-8 YAML or a precise error.

PyYAML's `safe_load` accepts far more than data files need, and some of it
turns into surprises or tracebacks: tags (`!!python/object`, `!!binary`,
local `!foo`), anchors and aliases (recursive ones, "billion laughs" bombs),
non-string keys, YAML 1.1 numbers (`0110` is octal 72, `1:30` is 90), very
deep nesting (RecursionError in the composer), several documents, control
characters. This reader walks PyYAML's event stream (LibYAML when present)
with an explicit stack, so nesting costs no recursion, and refuses each of
those at the first event that shows it: an alias bomb is refused at its
first anchor, in milliseconds. Scalars are resolved and built with PyYAML's
own Resolver and SafeConstructor pieces (bool_values, construct_yaml_*),
which are not its documented API: pinned pyyaml<7 (pyproject.toml).

It returns plain Python data (dicts with string keys, lists, str, int,
float, bool, None, dates) plus the line of every key and item, so that a
validation error can name the file, the line and the field.
"""

from __future__ import annotations

import codecs
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import BadInputError
from ..wording import shown
from .yaml_errors import guess_field, syntax_message

MAX_BYTES = 256 * 1024  # the shipped files are ~10 KiB; a data file has no reason to be larger
MAX_DEPTH = 24  # the models nest 6 levels deep
MAX_EVENTS = 100_000  # a 256 KiB file of one-character items stays below this
MAX_DIGITS = 18  # no field needs a larger integer

Path_ = tuple[str | int, ...]

# Raw characters YAML files may not carry: C0 controls except tab and line
# breaks, DEL, C1 controls (NEL included: it would shift line numbers),
# surrogates, non-characters, BOMs after the start, the Unicode line and
# paragraph separators and the bidirectional overrides that make text read
# differently from what it is ("Trojan Source").
_BAD_CHAR_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff"
    "\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
# The same inside a value (escapes such as "\0" or "\e" in double quotes).
# A value may hold tabs and newlines, nothing else below U+0020.
_BAD_VALUE_CHAR_RE = re.compile(_BAD_CHAR_RE.pattern.replace("\x0b\x0c\x0e-\x1f", "\x0b-\x1f"))
_DECIMAL_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")


class YamlError(BadInputError):
    """The file is not acceptable data; `line` is 1-based, `path` the field (may be empty)."""

    def __init__(self, line: int, path: Path_, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Place:
    """Where a key or list item sits in the file, and how its scalar value was written."""

    line: int  # of the key (mapping entry) or of the item (sequence entry)
    source: str | None = None  # a scalar as written (quoted ones in quotes); None for mappings, lists


@dataclass
class Document:
    data: dict
    places: dict[Path_, Place] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """The line of the deepest existing part of `path` (1 for the root)."""
        for end in range(len(path), 0, -1):
            place = self.places.get(tuple(path[:end]))
            if place is not None:
                return place.line
        return 1

    def source_of(self, path: Path_) -> str | None:
        place = self.places.get(tuple(path))
        return place.source if place else None


# ------------------------------------------------------------------ reading


def read(path: Path) -> Document:
    """Read and parse one data file; raises YamlError (or OSError when unreadable)."""
    return parse(_read_bytes(path))


def _read_bytes(path: Path) -> bytes:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise YamlError(1, (), "no es un fichero normal")
    if info.st_size > MAX_BYTES:
        raise YamlError(1, (), _too_big(info.st_size))
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:  # it grew while we looked
        raise YamlError(1, (), _too_big(len(raw)))
    return raw


def _too_big(size: int) -> str:
    return f"ocupa {size // 1024} KiB; el máximo para un fichero de datos es {MAX_BYTES // 1024} KiB"


def parse(raw: bytes) -> Document:
    text = decode(raw)
    _check_characters(text)
    return _compose(text)


def decode(raw: bytes) -> str:
    """Strict UTF-8 (a UTF-8 BOM is allowed); UTF-16/32 and Latin-1 are named as such."""
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if raw.startswith(bom):
            raise YamlError(1, (), f"el fichero está codificado en {name}; guárdalo como UTF-8")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw[:nul].count(b"\n") + 1
        raise YamlError(
            line, guess_field(raw[:nul].decode("utf-8", "replace"), line),
            "contiene bytes NUL (¿codificado en UTF-16 o UTF-32?); guárdalo como UTF-8",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        before = raw[: exc.start].decode("utf-8", "replace")
        raise YamlError(
            line, guess_field(before, line),
            f"no es UTF-8 válido (byte 0x{raw[exc.start]:02X}; ¿codificado en Latin-1 o "
            "Windows-1252?); guárdalo como UTF-8",
        ) from None
    text = text.removeprefix("\ufeff")
    # One kind of line break, so that YAML's line numbers and ours agree.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _check_characters(text: str) -> None:
    match = _BAD_CHAR_RE.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise YamlError(
            line, guess_field(text[: match.start()], line),
            f"carácter no admitido {_codepoint(match.group())} (un carácter de control o invisible)",
        )


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


# ---------------------------------------------------------------- composing


@dataclass
class _Frame:
    container: dict | list
    path: Path_
    key: str | None = None  # a mapping's pending key
    key_line: int = 0


_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> Document:
    loader = _LOADER(text)
    places: dict[Path_, Place] = {}
    stack: list[_Frame] = []
    root: Any = None
    documents = 0
    events = 0
    where: Path_ = ()
    try:
        while True:
            event = loader.get_event()
            events += 1
            line = event.start_mark.line + 1
            if events > MAX_EVENTS:
                raise YamlError(line, where, f"demasiados elementos (más de {MAX_EVENTS})")
            if isinstance(event, yaml.StreamEndEvent):
                break
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise YamlError(line, (), "hay más de un documento YAML («---»); usa uno solo")
                continue
            if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, yaml.AliasEvent):
                raise YamlError(line, _here(stack), f"alias YAML (*{event.anchor}) no admitido: "
                                "escribe el valor completo")
            if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
                continue
            _refuse_anchor_and_tag(event, line, stack)
            if isinstance(event, yaml.ScalarEvent):
                value = _scalar(event, line, stack)
                if stack and isinstance(stack[-1].container, dict) and stack[-1].key is None:
                    _take_key(stack[-1], value, event, line)
                    where = (*stack[-1].path, stack[-1].key)
                    continue
                written = event.value if event.implicit[0] else repr(event.value)
                where = _place(stack, value, line, places, written)
                if not stack:
                    root = value
                continue
            # A mapping or a sequence starts.
            if stack and isinstance(stack[-1].container, dict) and stack[-1].key is None:
                raise YamlError(line, stack[-1].path, "una clave debe ser un nombre, no una lista ni un mapa")
            container: dict | list = {} if isinstance(event, yaml.MappingStartEvent) else []
            where = _place(stack, container, line, places, None)
            if not stack:
                root = container
            if len(stack) >= MAX_DEPTH:
                raise YamlError(line, where, f"anidamiento demasiado profundo (más de {MAX_DEPTH} niveles)")
            stack.append(_Frame(container, where))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(line, _here(stack) or where, syntax_message(exc, text)) from None
    except yaml.YAMLError as exc:
        raise YamlError(1, where, syntax_message(exc)) from None
    finally:
        loader.dispose()
    if root is None or root == "":
        raise YamlError(1, (), "el fichero está vacío (no hay ningún dato)")
    if not isinstance(root, dict):
        what = "una lista" if isinstance(root, list) else f"un valor suelto ({shown(root)})"
        raise YamlError(1, (), f"la raíz debe ser un mapa de claves («campo: valor»), no {what}")
    return Document(data=root, places=places)


def _here(stack: list[_Frame]) -> Path_:
    if not stack:
        return ()
    top = stack[-1]
    return (*top.path, top.key) if top.key is not None else top.path


def _refuse_anchor_and_tag(event, line: int, stack: list[_Frame]) -> None:
    if event.anchor is not None:
        raise YamlError(line, _here(stack), f"ancla YAML (&{event.anchor}) no admitida: "
                        "los datos no usan anclas ni alias")
    if event.tag is not None:
        tag = event.tag.replace("tag:yaml.org,2002:", "!!")
        raise YamlError(line, _here(stack), f"etiqueta YAML {shown(tag)} no admitida: "
                        "los datos solo llevan textos, números, listas y mapas")


def _take_key(frame: _Frame, value: Any, event, line: int) -> None:
    if not isinstance(value, str) or value == "":
        raise YamlError(line, frame.path, f"clave no válida {shown(event.value)}: una clave debe ser un "
                        "nombre (texto), no un número, un booleano ni un valor vacío")
    if value in frame.container:
        raise YamlError(line, (*frame.path, value), f"clave {value!r} repetida")
    frame.key = value
    frame.key_line = line


def _place(stack: list[_Frame], value: Any, line: int, places: dict, source: str | None) -> Path_:
    """Put a value in the current container; returns its path."""
    if not stack:
        return ()
    top = stack[-1]
    if isinstance(top.container, dict):
        path = (*top.path, top.key)
        places[path] = Place(top.key_line, source)
        top.container[top.key] = value
        top.key = None
    else:
        path = (*top.path, len(top.container))
        places[path] = Place(line, source)
        top.container.append(value)
    return path


def _scalar(event, line: int, stack: list[_Frame]) -> Any:
    text = event.value
    bad = _BAD_VALUE_CHAR_RE.search(text)
    if bad:
        problem = f"el valor contiene un carácter de control {_codepoint(bad.group())}"
        raise YamlError(line, _here(stack), problem)
    if not event.implicit[0]:  # quoted or block scalar: always text
        return text
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    kind = tag.rsplit(":", 1)[-1]
    if kind == "null":
        return None
    if kind == "bool":
        return _CONSTRUCTOR.bool_values[text.lower()]
    if kind == "int":
        if not _DECIMAL_RE.match(text):
            raise YamlError(line, _here(stack), f"número con formato ambiguo {shown(text)} (YAML lo "
                            "leería como octal, hexadecimal o sexagesimal): escríbelo en decimal, o entre "
                            "comillas si es un texto")
        if len(text.lstrip("+-")) > MAX_DIGITS:
            raise YamlError(line, _here(stack), f"número demasiado grande {shown(text)}")
        return int(text)
    if kind == "float":
        return _construct(_CONSTRUCTOR.construct_yaml_float, text, line, stack, "número decimal no válido")
    if kind == "timestamp":
        return _construct(_CONSTRUCTOR.construct_yaml_timestamp, text, line, stack, "fecha no válida")
    if kind == "merge":
        raise YamlError(line, _here(stack), "la clave de fusión «<<» no se admite: escribe los campos")
    return text


def _construct(method, text: str, line: int, stack: list[_Frame], what: str) -> Any:
    try:
        return method(yaml.ScalarNode("", text))
    except (ValueError, OverflowError):
        raise YamlError(line, _here(stack), f"{what}: {shown(text)}") from None
