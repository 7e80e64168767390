"""Expected outputs shown after a command: example text with marked variable parts.

The procedure data shows, after a command or a check, what a reader should
see in the terminal. Some parts of a real output change from one machine to
another (an interface index, a package build, a MAC address): the data marks
them as ⟨example⟩. The site prints the example in italics; the lab test
that proves the documented outputs on real nodes accepts any text there.

Two kinds of expected output:
- complete: the whole output, line by line;
- partial: lines that appear among others, in any order (`ss -ltn`).

Column alignment is not part of the promise: any run of blanks inside a line
matches any other (tools pad columns to the widest value, which depends on
the addresses in use).
"""

from __future__ import annotations

import re

VAR_OPEN, VAR_CLOSE = "⟨", "⟩"
_PART_RE = re.compile(f"{VAR_OPEN}([^{VAR_OPEN}{VAR_CLOSE}\n]+){VAR_CLOSE}")
_BLANKS_RE = re.compile(r"[ \t]+")


def check_markers(text: str) -> None:
    """Raise ValueError unless every ⟨ is closed on its line by a ⟩, with no nesting."""
    stripped = _PART_RE.sub("", text)
    for mark in (VAR_OPEN, VAR_CLOSE):
        if mark in stripped:
            raise ValueError(
                f"marca {mark} sin pareja: las partes variables van entre {VAR_OPEN} y {VAR_CLOSE}, "
                "en una sola línea y sin anidar"
            )


def parts(text: str) -> list[tuple[str, bool]]:
    """The text as (piece, is_variable) pairs, in order; joining the pieces drops the marks."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for match in _PART_RE.finditer(text):
        if match.start() > pos:
            out.append((text[pos : match.start()], False))
        out.append((match.group(1), True))
        pos = match.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def example(text: str) -> str:
    """The output as the site prints it (the examples in place of the marks)."""
    return "".join(piece for piece, _ in parts(text))


def _line_pattern(line: str) -> re.Pattern:
    regex = []
    for piece, variable in parts(line.strip()):
        if variable:
            regex.append(r".+?")
        else:
            regex.append(r"[ \t]+".join(re.escape(word) for word in _BLANKS_RE.split(piece)))
    return re.compile("".join(regex))


def _lines(text: str) -> list[str]:
    return text.strip("\n").splitlines()


def mismatch(expected: str, actual: str, partial: bool = False) -> str | None:
    """None when `actual` is what `expected` documents; else a Spanish reason."""
    wanted = _lines(expected)
    got = [line.strip() for line in _lines(actual)]
    patterns = [_line_pattern(line) for line in wanted]
    if partial:
        missing = [w for w, p in zip(wanted, patterns, strict=True) if not any(p.fullmatch(g) for g in got)]
        return f"faltan las líneas: {missing}" if missing else None
    if len(got) != len(wanted):
        missing = [w for w, p in zip(wanted, patterns, strict=True) if not any(p.fullmatch(g) for g in got)]
        extra = [g for g in got if not any(p.fullmatch(g) for p in patterns)]
        which = [f"falta «{example(w.strip())}»" for w in missing] + [f"sobra «{g}»" for g in extra]
        return (f"se esperaban {len(wanted)} líneas y salieron {len(got)}: "
                + ("; ".join(which) if which else str(got)))
    for number, (line, pattern, real) in enumerate(zip(wanted, patterns, got, strict=True), 1):
        if not pattern.fullmatch(real):
            return f"línea {number}: se esperaba «{example(line.strip())}» y salió «{real}»"
    return None
