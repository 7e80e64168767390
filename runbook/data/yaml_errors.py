"""Explaining YAML errors: where a broken line belongs, and what the parser meant, in Spanish."""

from __future__ import annotations

import re

import yaml

_LINE_RE = re.compile(r"^( *)((?:-(?: +|$))*)(?:(\"[^\"]*\"|'[^']*'|[^\s#'\"{\[][^:#]*?)\s*:(?: |$))?")
_BLOCK_START_RE = re.compile(r"^\s*[|>][-+0-9]*\s*(#.*)?$")


def guess_field(text_before: str, line: int) -> tuple[str | int, ...]:
    """The field a line belongs to, from indentation alone (for errors met before parsing)."""
    stack: list[tuple[int, str | int]] = []  # (column, key or item index)
    block_column = None  # inside a "|" or ">" block scalar started by a key at this column
    for raw_line in text_before.split("\n")[:line]:
        match = _LINE_RE.match(raw_line)
        column = len(match.group(1))
        if not raw_line.strip() or raw_line.lstrip().startswith("#"):
            continue
        if block_column is not None and column > block_column:
            continue
        block_column = None
        for _dash in re.findall(r"-(?: +|$)", match.group(2)):
            while stack and stack[-1][0] > column:
                stack.pop()
            index = 0
            if stack and stack[-1][0] == column and isinstance(stack[-1][1], int):
                index = stack.pop()[1] + 1
            stack.append((column, index))
            column += len(_dash)
        if match.group(3) is not None:
            while stack and stack[-1][0] >= column:
                stack.pop()
            stack.append((column, match.group(3).strip("'\"")))
            if _BLOCK_START_RE.match(raw_line[match.end():]):
                block_column = column
    return tuple(part for _, part in stack)


# PyYAML and LibYAML describe syntax errors in English; a person editing a
# data file gets the Spanish meaning. Checked in order, first match wins.
_SYNTAX = [
    (r"nesting depth", "anidamiento demasiado profundo"),
    (r"mapping values are not allowed", "aquí no cabe «clave: valor» (¿falta un espacio tras «:», "
     "sobra un «:» o la sangría no cuadra?)"),
    (r"block sequence entries are not allowed", "aquí no puede empezar un elemento de lista «- » "
     "(revisa la sangría)"),
    (r"escape", "secuencia de escape desconocida en un texto entre comillas dobles"),
    (r"quoted scalar", "unas comillas no se cierran"),
    (r"flow sequence", "una lista entre corchetes no se cierra bien (falta «,» o «]»)"),
    (r"flow mapping", "un mapa entre llaves no se cierra bien (falta «,» o «}»)"),
    (r"flow node|node content", "falta un valor (¿una lista o un mapa sin cerrar?)"),
    (r"block mapping|block collection|expected key|expected ':'|block end|indicator",
     "la sangría no cuadra o falta «:» tras una clave"),
    (r"cannot start any token", "un carácter que no puede empezar un valor YAML (p. ej. «@», «`» o «%»: "
     "pon el valor entre comillas)"),
    (r"end of stream", "el fichero termina antes de cerrar una lista, un mapa o unas comillas"),
    (r"directive", "directiva YAML («%») no válida"),
    (r"document", "hay más de un documento YAML o un separador («---», «...») fuera de lugar"),
    (r"anchor|alias", "ancla o alias YAML no admitido"),
    (r"tag", "etiqueta YAML no admitida"),
]


def syntax_message(exc: yaml.YAMLError, text: str = "") -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None and text:
        lines = text.split("\n")
        here = lines[mark.line] if mark.line < len(lines) else ""
        if "\t" in here[: mark.column + 1]:
            return "YAML no válido: hay un tabulador donde YAML espera espacios de sangría"
    parts = (getattr(exc, "context", None), getattr(exc, "problem", None))
    english = " ".join(str(part) for part in parts if part) or str(exc)
    for pattern, spanish in _SYNTAX:
        if re.search(pattern, english, re.IGNORECASE):
            return f"YAML no válido: {spanish}"
    return "YAML no válido: error de sintaxis"
