"""Spanish wording shared by the site and the messages: lists, numbers.

Neutral ground: checks, the CLI and the site all word things for a Spanish
reader, and none of them should import another's module to do so.
"""

from __future__ import annotations


def spanish_list(items: list[str], fmt: str = "{}") -> str:
    """"A", "A y B", "A, B y C" (each item put into `fmt`): any number of nodes, in Spanish."""
    items = [fmt.format(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " y " + items[-1]


def spanish_number(value: float, decimals: int = 2) -> str:
    """2.6133 -> "2,61"; 3.0 -> "3": numbers as a Spanish reader writes them."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{decimals}f}".replace(".", ",")


_NUMBER_WORDS = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez")


def number_word(n: int) -> str:
    """2 -> "dos": how a page says how many nodes there are."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def shown(value: object, limit: int = 40) -> str:
    """A value for a one-line message: quoted, escaped, cut when long."""
    text = value if isinstance(value, str) else str(value)
    out = repr(text) if isinstance(value, str) else text
    out = out.replace("\n", "\\n")
    if len(out) > limit:
        out = f"{out[: limit - 1]}… ({len(text)} caracteres)"
    return out
