"""Jinja2 for the procedure and the config templates: sandboxed, bounded, Spanish errors.

The templates are data (procedure.yaml, templates/*.j2), so a mistake in
them must end as one Spanish sentence, never a traceback: any exception a
template raises (an undefined variable, a syntax error, a TypeError, a
division by zero...) becomes a TemplateError. The environment is
sandboxed (no `__class__` tricks) and bounded, so a template cannot take
the machine down either: ranges are capped by the sandbox, big powers,
repetitions and numeric arguments are refused, output is counted while it
is produced, and the whole plan has a time budget (see `time_budget`).
"""

from __future__ import annotations

import functools
import re
import shlex
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from ..errors import BadInputError
from ..names import SECRET_MARKER

MAX_OUTPUT = 1024 * 1024  # characters one template may produce (haproxy.cfg is ~2 KB)
MAX_INT_ARGUMENT = 100_000  # the sandbox's own cap for range()
MAX_INT_BITS = 4096



class TemplateError(BadInputError):
    """A template could not be rendered; the message is Spanish."""


class TemplateBudgetError(BadInputError):
    """The plan took longer than its time budget (raised from a timer signal)."""


class _BoundedEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and abs(left).bit_length() * right > MAX_INT_BITS:
                raise SecurityError("número demasiado grande")
        if operator in ("*", "+"):
            size = _size(left, right, operator)
            if size > MAX_OUTPUT:
                raise SecurityError("resultado demasiado grande")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - jinja's signature
        _check_arguments(args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)


def _size(left, right, operator: str) -> int:
    if operator == "*":
        if isinstance(left, str | list | tuple) and isinstance(right, int):
            return len(left) * right
        if isinstance(right, str | list | tuple) and isinstance(left, int):
            return len(right) * left
        return 0
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        return len(left) + len(right)
    return 0


def _check_arguments(args, kwargs) -> None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_ARGUMENT:
            raise SecurityError("argumento numérico demasiado grande")


def _guarded(function):
    @functools.wraps(function)  # keeps jinja's pass_context/pass_environment marks
    def wrapper(*args, **kwargs):
        _check_arguments(args, kwargs)
        return function(*args, **kwargs)

    return wrapper


@cache
def environment(directory: Path) -> jinja2.Environment:
    env = _BoundedEnvironment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # configs and shell text, not HTML
    )
    env.filters["q"] = lambda value: shlex.quote(str(value))
    env.filters = {name: _guarded(f) for name, f in env.filters.items()}
    env.globals.pop("lipsum", None)  # generates text of any size: nothing here needs it
    env.globals["secret"] = lambda name: SECRET_MARKER.format(name=name)
    return env


# Text without any Jinja delimiter renders to itself (Jinja only rewrites
# "\r" line ends): most strings of procedure.yaml are such, and compiling each
# one cost most of the time of building a plan, which every `./rb` task pays.
_JINJA_MARKS = ("{{", "{%", "{#", "\r")


def render_string(directory: Path, source: str, ctx: dict) -> str:
    if not any(mark in source for mark in _JINJA_MARKS):
        return source
    try:
        template = _compiled(directory, source)
    except Exception as exc:  # noqa: BLE001 - a syntax error, or anything else: one sentence
        raise TemplateError(describe(exc)) from None
    return _render(template, ctx)


@functools.lru_cache(maxsize=512)
def _compiled(directory: Path, source: str) -> jinja2.Template:
    """The same text is rendered once per node: compiled once (a failure is not cached)."""
    return environment(directory).from_string(source)


def render_file(directory: Path, name: str, ctx: dict) -> str:
    try:
        template = environment(directory).get_template(name)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"no existe la plantilla {name!r} en {directory}") from None
    except Exception as exc:  # noqa: BLE001
        raise TemplateError(f"plantilla {name}{_at_line(exc)}: {describe(exc)}") from None
    try:
        return _render(template, ctx)
    except TemplateError as exc:
        raise TemplateError(f"plantilla {name}: {exc}") from None


def _render(template: jinja2.Template, ctx: dict) -> str:
    parts: list[str] = []
    size = 0
    try:
        for chunk in template.generate(ctx):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateError(f"el resultado pasa de {MAX_OUTPUT // 1024} KiB")
            parts.append(chunk)
    except TemplateError:
        raise
    except TemplateBudgetError:
        raise TemplateError("tarda demasiado en generarse (¿un bucle enorme?)") from None
    except Exception as exc:  # noqa: BLE001 - any exception from a template is the template's fault
        raise TemplateError(describe(exc) + _at_line(exc)) from None
    return "".join(parts)


def _at_line(exc: BaseException) -> str:
    line = getattr(exc, "lineno", None)
    if line is None:
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if name == "<template>" or name.endswith(".j2"):
                line = tb.tb_lineno
            tb = tb.tb_next
    return f" (línea {line} de la plantilla)" if line else ""


# ------------------------------------------------------------------ messages

_UNDEFINED = [
    (r"^'([^']+)' is undefined$", "variable no definida «{0}»"),
    (r"^'(?:[\w.]+\.)?(\w+)(?: object)?' has no attribute '([^']+)'$",
     "variable no definida: «{0}» no tiene el atributo «{1}»"),
    (r"^(\w+) object has no element (.+)$", "variable no definida: la {0} no tiene el elemento {1}"),
]
_SYNTAX = [
    (r"unexpected end of template", "la plantilla termina antes de cerrar «{{{{ }}}}» o «{{% %}}»"),
    (r"Encountered unknown tag '([^']+)'", "etiqueta desconocida «{0}»"),
    (r"No filter named '([^']+)'", "filtro desconocido «{0}»"),
    (r"No test named '([^']+)'", "prueba desconocida «{0}»"),
    (r"unexpected '([^']+)'", "símbolo inesperado «{0}»"),
    (r"expected token '([^']+)', got '([^']+)'", "se esperaba «{0}» y aparece «{1}»"),
    (r"Expected an expression", "falta una expresión"),
]
_TOKENS = {"end of print statement": "}}", "end of statement block": "%}", "end of template": "fin"}
_PYTHON = {
    ZeroDivisionError: "división por cero",
    TypeError: "operación con tipos incompatibles",
    OverflowError: "número demasiado grande",
    KeyError: "clave inexistente",
    IndexError: "índice fuera de rango",
    AttributeError: "atributo inexistente",
    ValueError: "valor no válido",
    MemoryError: "sin memoria suficiente",
    UnicodeError: "texto mal codificado",
}


def describe(exc: BaseException) -> str:
    """A Spanish sentence for whatever a template raised."""
    message = getattr(exc, "message", None) or (str(exc) if exc.args else "")
    if isinstance(exc, jinja2.UndefinedError):
        return _first_match(_UNDEFINED, message) or "variable no definida"
    if isinstance(exc, SecurityError):
        if message and not re.search(r"[a-z]{3,} (is|of|to) ", message):  # ours are Spanish
            return f"operación no permitida: {message}"
        return "operación no permitida en una plantilla"
    if isinstance(exc, jinja2.TemplateSyntaxError):
        detail = _first_match(_SYNTAX, message)
        return "sintaxis de plantilla no válida" + (f": {detail}" if detail else "")
    if isinstance(exc, jinja2.TemplateError):
        return "error en la plantilla"
    if isinstance(exc, RecursionError):
        return "recursión sin fin"
    for kind, spanish in _PYTHON.items():
        if isinstance(exc, kind):
            return spanish
    return "la plantilla falló al generarse"


def _first_match(table: list[tuple[str, str]], message: str) -> str | None:
    for pattern, spanish in table:
        match = re.search(pattern, message)
        if match:
            return spanish.format(*(_TOKENS.get(g, g) for g in match.groups()))
    return None


# ------------------------------------------------------------------ budget


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise TemplateBudgetError in the main thread if the block uses more than `seconds` of CPU.

    CPU time, not wall time (ITIMER_PROF): a template that loops for ever
    burns CPU and is stopped all the same, while a valid plan on a machine
    busy with other work (CI, two cores, parallel jobs) is not refused for
    having waited its turn.

    Only where a timer signal can be used (the main thread, no timer already
    running); elsewhere the block simply runs.
    """
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_PROF)[0] == 0
    )
    if not usable:
        yield
        return

    def expired(signum, frame):
        raise TemplateBudgetError()

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
