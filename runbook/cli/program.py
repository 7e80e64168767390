"""`./rb`: invoke's Program, speaking Spanish and exiting 2 on misuse.

Invoke answers a mistyped command line in English and with exit code 1
("No idea what '--bogus' is!", "Flag ... needed value and was not given
one!", a Python traceback for `--port abc`). Misuse is bad input: here it is
one Spanish line, with a suggestion when a task or option name is close to
a real one, and exit code 2. Help and task listings are Spanish too.
What a task raises is mapped to an exit code in runbook/cli/errors.py.

This leans on invoke's internals: `run()` repeats the steps of invoke 2's
Program.run, the listing reads Program's attributes (list_format,
scoped_collection...), and invoke's English messages are matched by text:
pinned invoke<3 (pyproject.toml); tests/site/test_cli_misuse.py shows a change.

Start-up matters (`./rb --list` within 0.25 s, benchmarks/bench_cli.py): this module
and the task modules import only invoke at load time; each task imports what
it needs (pydantic models, Jinja, fabric, rich) when it runs.
"""

from __future__ import annotations

import os
import re
import sys

from invoke import Program
from invoke.exceptions import Exit, ParseError, UnexpectedExit
from invoke.parser import ParserContext

from ..errors import BAD_INPUT

BINARY = "./rb"

_CORE_HELP = {
    "command-timeout": "tiempo máximo, en segundos, de cada orden ejecutada",
    "complete": "imprimir candidatos para completar la línea de órdenes",
    "config": "fichero de configuración de invoke a usar",
    "debug": "mostrar mensajes de depuración",
    "dry": "mostrar las órdenes en vez de ejecutarlas",
    "echo": "mostrar cada orden antes de ejecutarla",
    "help": "mostrar la ayuda general o la de una tarea y salir",
    "hide": "valor por defecto de 'hide' al ejecutar órdenes",
    "list": "listar las tareas disponibles",
    "list-depth": "al listar, mostrar solo los primeros N niveles",
    "list-format": "formato de la lista de tareas: flat (por defecto), nested o json",
    "print-completion-script": "imprimir el script de autocompletado para bash, zsh o fish",
    "prompt-for-sudo-password": "pedir la contraseña de sudo al empezar",
    "pty": "usar una pseudoterminal al ejecutar órdenes",
    "version": "mostrar la versión y salir",
    "warn-only": "avisar en vez de fallar cuando una orden falla",
    "write-pyc": "permitir crear ficheros .pyc",
    "collection": "nombre de la colección de tareas a cargar",
    "no-dedupe": "no eliminar tareas repetidas",
    "search-root": "carpeta desde la que buscar tasks.py",
}

_EXITS = [
    (r"^Sub-collection '(.+)' not found!$", "no existe la colección de tareas «{0}»"),
    (r"^Can't find any collection named '(.+)'!$", "no se encuentra la colección de tareas «{0}»"),
    (r"^No tasks found in collection '(.*)'!$", "la colección «{0}» no tiene tareas"),
    (r"--list-depth", "--list-depth no se puede usar con el formato json"),
]


class RunbookProgram(Program):
    def __init__(self) -> None:
        super().__init__(name="runbook", binary=BINARY)

    # ----------------------------------------------------------------- running

    def run(self, argv=None, exit: bool = True) -> None:  # noqa: A002 - invoke's signature
        try:
            self.create_config()
            try:
                self.parse_core(argv)
                self.parse_collection()
                self.parse_tasks()
                self.parse_cleanup()
            except ParseError as exc:
                raise self._misuse(self.spanish_parse_error(exc)) from None
            except (ValueError, TypeError) as exc:  # an option value of the wrong kind (`--port abc`)
                raise self._misuse(_bad_value(exc)) from None
            try:
                self.update_config()  # loads the file given with -f/--config
            except Exception:  # noqa: BLE001 - unreadable or malformed: the user's input, not our bug
                raise self._misuse("no se puede cargar el fichero de configuración de invoke (-f/--config)"
                                   ) from None
            self.execute()
        except (UnexpectedExit, Exit) as exc:
            code = exc.result.exited if isinstance(exc, UnexpectedExit) else exc.code
            if isinstance(exc, Exit) and exc.message:
                message, misuse = _spanish_exit(exc.message)
                print(message, file=sys.stderr)
                code = BAD_INPUT if misuse else code
            if isinstance(exc, UnexpectedExit) and exc.result.hide:
                print(exc, file=sys.stderr, end="")
            if exit:
                sys.exit(code)
        except KeyboardInterrupt:
            sys.exit(1)

    def parse_core(self, argv) -> None:
        super().parse_core(argv)
        # invoke turns off writing .pyc files (to keep tasks.py's folder clean),
        # so every `./rb` compiled the package's modules again: a tenth of a
        # second or more per command. __pycache__ is ignored by git; Python's
        # own switch (-B, PYTHONDONTWRITEBYTECODE) is still obeyed.
        sys.dont_write_bytecode = bool(sys.flags.dont_write_bytecode)

    def _misuse(self, message: str) -> Exit:
        return Exit(f"error: {message} (mira «{BINARY} --list» o «{BINARY} --help TAREA»)", code=BAD_INPUT)

    def spanish_parse_error(self, exc: ParseError) -> str:
        text = str(exc)
        context = getattr(exc, "context", None)
        task = context.name if isinstance(context, ParserContext) and context.name else None
        match = re.match(r"^No idea what '(.*)' is!$", text, re.S)
        if match:
            return self._unknown(match.group(1), context, task)
        match = re.match(r"^Flag <Argument: ([^ >]+)", text)
        if match and "needed value" in text:
            return f"la opción --{match.group(1)} necesita un valor"
        if match and "doesn't take any value" in text:
            return f"la opción --{match.group(1)} no admite valor"
        match = re.match(r"^'(.+)' did not receive required positional arguments: (.+)$", text)
        if match:
            names = ", ".join(re.findall(r"'([^']+)'", match.group(2)))
            return f"a la tarea «{match.group(1)}» le falta el argumento obligatorio {names}"
        match = re.match(r"^'(.*)' is ambiguous", text)
        if match:
            return f"«{match.group(1)}» es ambiguo tras una opción de valor opcional; usa --opción=valor"
        return "línea de órdenes no válida"

    def _unknown(self, token: str, context, task: str | None) -> str:
        from ..wording import shown  # only on a misuse: not worth its import at every start

        if token.startswith("-"):
            flags = sorted(context.flags) if isinstance(context, ParserContext) else []
            where = f" de la tarea «{task}»" if task else ""
            return f"la opción {shown(token)}{where} no existe" + _suggestion(token.split("=")[0], flags)
        tasks = sorted(self.collection.task_names) if getattr(self, "collection", None) else []
        if task:
            return (f"{shown(token)} sobra: la tarea «{task}» no admite más argumentos y no hay "
                    "ninguna tarea con ese nombre" + _suggestion(token, tasks))
        return f"no existe la tarea {shown(token)}" + _suggestion(token, tasks)

    # ------------------------------------------------------------------ help

    def core_args(self):
        return _spanish_args(super().core_args())

    def task_args(self):
        return _spanish_args(super().task_args())

    def print_version(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            own = version("runbook")
        except PackageNotFoundError:
            own = "?"
        print(f"runbook {own}")

    def print_help(self) -> None:
        print(f"Uso: {BINARY} [--opciones-generales] TAREA [--opciones-de-la-tarea] [OTRA TAREA ...]")
        print("")
        print("Opciones generales:")
        print("")
        self.print_columns(_spanish_tuples(self.initial_context.help_tuples()))
        if getattr(self, "collection", None):
            self.list_tasks()

    def no_tasks_given(self) -> None:
        self.print_help()
        raise Exit

    def print_task_help(self, name: str) -> None:
        import inspect

        ctx = self.parser.contexts[name]
        tuples = _spanish_tuples(ctx.help_tuples())
        opts = "[--opciones] " if tuples else ""
        print(f"Uso: {BINARY} [--opciones-generales] {name} {opts}[otras tareas ...]")
        print("")
        print("Descripción:")
        for line in (inspect.getdoc(self.collection[name]) or "ninguna").splitlines():
            print(self.leading_indent + line if line.strip() else "")
        print("")
        print("Opciones:")
        if tuples:
            self.print_columns(tuples)
        else:
            print(self.leading_indent + "ninguna")
            print("")

    def list_tasks(self) -> None:
        if not hasattr(self, f"list_{self.list_format}"):
            from ..wording import shown

            wrong = shown(self.list_format)
            raise self._misuse(f"formato de lista desconocido {wrong}; usa flat, nested o json")
        super().list_tasks()

    def task_list_opener(self, extra: str = "") -> str:
        root = f" de «{self.list_root}»" if self.list_root else ""
        return f"Tareas disponibles{root}"

    def display_with_columns(self, pairs, extra: str = "") -> None:
        print(f"{self.task_list_opener(extra=extra)}:\n")
        self.print_columns(pairs)
        default = self.scoped_collection.default
        if default:
            print(f"Tarea por defecto: {default}\n")


def _spanish_args(arguments):
    for argument in arguments:
        argument.help = _CORE_HELP.get(argument.name, argument.help)
    return arguments


def _spanish_tuples(tuples):
    words = {"STRING": "TEXTO", "INT": "NÚMERO"}
    return [(re.sub(r"\b(STRING|INT)\b", lambda m: words[m.group(1)], flags), text) for flags, text in tuples]


def _suggestion(token: str, candidates: list[str]) -> str:
    import difflib  # only on a misuse

    close = difflib.get_close_matches(token, candidates, n=1, cutoff=0.6)
    return f"; ¿quería decir {close[0]!r}?" if close else ""


def _bad_value(exc: Exception) -> str:
    from ..wording import shown

    match = re.search(r"invalid literal for int\(\) with base 10: '(.*)'", str(exc))
    if match:
        return f"valor no válido {shown(match.group(1))}: esa opción espera un número entero"
    return "valor de opción no válido"


def _spanish_exit(message: str) -> tuple[str, bool]:
    """invoke's own English exits (a misuse: exit 2) in Spanish; our tasks' messages as they are."""
    for pattern, spanish in _EXITS:
        match = re.search(pattern, message)
        if match:
            return f"error: {spanish.format(*match.groups())}", True
    return message, False


def main() -> None:
    # The first time a model validates, pydantic reads the entry points of every
    # installed distribution, looking for plugins runbook neither has nor wants.
    # Its documented switch skips that; a value the user set (plugins wanted) is kept.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    RunbookProgram().run()
