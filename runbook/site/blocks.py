"""HTML blocks for the site's actions and checks, built straight from plan objects.

Markdown is a poor carrier for text that must survive byte for byte (a file's
content, a command with backslashes): its parsers strip newlines, expand
entities, and mind indentation. So every block that shows plan text is built
here as HTML, stashed behind a placeholder token that Markdown leaves alone,
and put back into the page after Markdown has run (see `BlockStash`).

Each block carries `data-*` attributes and each plan value sits in an element
with `data-field`, so the drift test can read back exactly what a reader sees.
"""

from __future__ import annotations

import html
import re

import markdown
from pygments import lex
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES

from ..plan import expected_output
from ..plan.steps import SECRET_MARKER, SECRET_MARKER_RE, Check, FileAction, RunAction
from .manual import placeholder

# Lexers by file name: only where Pygments really knows the syntax; the rest
# is shown as plain text rather than mis-coloured.
_FILE_LEXERS = {".conf": "text", ".cfg": "text"}
_SYSCTL_DIR = "/etc/sysctl.d/"


class BlockStash:
    """Keeps finished HTML aside while Markdown processes the page around it."""

    TOKEN_RE = re.compile(r"RBBLOQUE(\d{4})FIN")
    PARAGRAPH_RE = re.compile(r"<p>\s*RBBLOQUE(\d{4})FIN\s*</p>")

    def __init__(self) -> None:
        self._blocks: list[str] = []

    def add(self, block_html: str) -> str:
        self._blocks.append(block_html)
        return f"RBBLOQUE{len(self._blocks) - 1:04d}FIN"

    def restore(self, page_html: str) -> str:
        """Swap every token (alone in its paragraph) back for its HTML block."""
        out = self.PARAGRAPH_RE.sub(lambda m: self._blocks[int(m.group(1))], page_html)
        leftover = self.TOKEN_RE.search(out)
        if leftover:
            # A token Markdown wrapped in something else: the block would be lost.
            raise ValueError(f"bloque {leftover.group(0)} no quedó aislado en su párrafo")
        return out


def code_block(
    text: str | list[tuple[str, str]], language: str, field: str, title: str | None = None
) -> str:
    """A highlighted code block whose <code> text is exactly `text`.

    Same markup as pymdownx.highlight, so Material styles it and adds its copy
    button; unlike Markdown, no newline is stripped or added. `text` may be a
    list of (piece, language) to highlight parts differently (a here-document's
    body); secret markers become placeholders the reader replaces.
    """
    pieces = [(text, language)] if isinstance(text, str) else text
    body = "".join(_highlight_with_secrets(piece, lang) for piece, lang in pieces)
    caption = f'<span class="filename">{html.escape(title)}</span>' if title else ""
    return (
        f'<div class="language-{language} highlight">{caption}<pre><span></span>'
        f'<code data-field="{field}">{body}</code></pre></div>'
    )


def _highlight_with_secrets(text: str, language: str) -> str:
    out, pos = [], 0
    for match in SECRET_MARKER_RE.finditer(text):
        out.append(_highlight(text[pos : match.start()], language))
        name = match.group(1)
        out.append(
            f'<span class="rb-secreto" data-secret="{html.escape(name, quote=True)}" '
            f'title="Pon aquí el valor real">{html.escape(placeholder(name))}</span>'
        )
        pos = match.end()
    out.append(_highlight(text[pos:], language))
    return "".join(out)


def _highlight(text: str, language: str) -> str:
    # Pygments' HtmlFormatter always ends the last line with a newline; the
    # tokens themselves are exact, so they are wrapped here one by one.
    if not text:
        return ""
    lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    out = []
    for token_type, value in lex(text, lexer):
        while token_type not in STANDARD_TYPES:
            token_type = token_type.parent
        css = STANDARD_TYPES[token_type]
        escaped = html.escape(value, quote=False)
        out.append(f'<span class="{css}">{escaped}</span>' if css else escaped)
    return "".join(out)


_VARIES = "Cambia de una máquina a otra"


def output_block(output: str, field: str, partial: bool = False) -> str:
    """What a command prints: example text, its variable parts in italics."""
    if not output:
        return (
            f'<p class="rb-output rb-output-none">Salida esperada: ninguna '
            f'(<span data-field="{field}" data-empty="">la orden no escribe nada</span>).</p>'
        )
    body = "".join(
        f'<em class="rb-var" title="{_VARIES}">{html.escape(piece)}</em>'
        if variable
        else html.escape(piece, quote=False)
        for piece, variable in expected_output.parts(output)
    )
    label = "Salida esperada, entre otras líneas y en cualquier orden" if partial else "Salida esperada"
    varies = (
        ' <span class="rb-var-note">(en <em>cursiva</em>, lo que cambia de una máquina a otra)</span>'
        if any(variable for _, variable in expected_output.parts(output))
        else ""
    )
    return (
        f'<div class="rb-output" data-partial="{str(partial).lower()}">'
        f'<p class="rb-output-label">{label}{varies}:</p>'
        f'<div class="language-text highlight"><pre><span></span>'
        f'<code data-field="{field}">{body}</code></pre></div></div>'
    )


def inline_markdown(text: str) -> str:
    """Short Spanish Markdown (descriptions, notes) as inline HTML."""
    rendered = markdown.markdown(text).strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return rendered


def attrs(**values: str | None) -> str:
    """`data-*` attributes (underscores become dashes); None values are left out."""
    return " ".join(
        f'data-{k.replace("_", "-")}="{html.escape(v, quote=True)}"'
        for k, v in values.items()
        if v is not None
    )


def field(name: str, text: str, tag: str = "code") -> str:
    return f'<{tag} data-field="{name}">{html.escape(text)}</{tag}>'


def file_language(path: str) -> str:
    if path.startswith(_SYSCTL_DIR):
        return "ini"
    for suffix, language in _FILE_LEXERS.items():
        if path.endswith(suffix):
            return language
    return "text"


# ------------------------------------------------------- what the tool does
# These blocks go in each step's collapsed "Con ./rb" box: guards, modes,
# validation and restore mechanics, what verify requires. A file's content
# is not repeated here: it is the one in the by-hand block above it.


def run_block(action: RunAction, nodes: list[str], when: str | None) -> str:
    parts = [
        f'<div class="rb-action rb-run" '
        f"{attrs(step=action.step, nodes=' '.join(nodes), kind='run', when=when)}>",
        '<p class="rb-tool-lead">Ejecuta:</p>',
        code_block(action.command, "bash", "command"),
    ]
    if action.unless:
        parts.append(
            '<p class="rb-guard">salvo si la siguiente comprobación tiene éxito (ya está hecho), '
            "y entonces no la ejecuta:</p>"
        )
        parts.append(code_block(action.unless, "bash", "unless"))
    if action.note:
        parts.append(f'<p class="rb-note">{field("note", action.note, "span")}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def file_block(action: FileAction, nodes: list[str], when: str | None) -> str:
    owner = f"{field('owner', action.owner)}:{field('group', action.group)}"
    parts = [
        f'<div class="rb-action rb-file" '
        f"{attrs(step=action.step, nodes=' '.join(nodes), kind='file', path=action.path, when=when)}>",
        f'<p class="rb-file-meta">Escribe {field("path", action.path)} con el contenido de arriba, '
        f'permisos {field("mode", action.mode)} y propietario {owner}. Si el fichero del nodo ya es '
        "igual, no lo reescribe (solo corrige propietario y permisos si hace falta).</p>",
    ]
    secrets = sorted(set(SECRET_MARKER_RE.findall(action.content)))
    for name in secrets:
        marker = html.escape(SECRET_MARKER.format(name=name))
        parts.append(
            f'<p class="rb-secret-note">Donde el bloque dice «{html.escape(placeholder(name))}», escribe el '
            f"valor real del secreto, que lee del entorno o de un fichero fuera del repositorio y sube "
            f"al nodo como fichero, nunca en una línea de órdenes. En el plan (<code>./rb plan</code>) "
            f'figura como <code data-field="secret">{marker}</code>.</p>'
        )
    if action.validate:
        parts.append(
            '<p class="rb-validate">Primero lo sube a un fichero provisional junto al definitivo y lo '
            "valida con esta orden (<code>%s</code> es ese fichero provisional); da la validación por "
            "buena solo si termina con código 0 y no escribe nada más que su mensaje de éxito. Si "
            "falla, borra el provisional: el fichero anterior y el servicio en marcha quedan como "
            "estaban.</p>"
        )
        parts.append(code_block(action.validate, "bash", "validate"))
    if action.on_change:
        service = (
            f" (servicio {field('service', action.service)}, un nodo cada vez)" if action.service else ""
        )
        when = "si el contenido ha cambiado" if action.unless else "solo si el contenido ha cambiado"
        parts.append(
            '<p class="rb-on-change">Guarda una copia del fichero anterior, pone el nuevo en su sitio '
            f"y, {when}, ejecuta{service}:</p>"
        )
        parts.append(code_block(action.on_change, "bash", "on_change"))
        parts.append(
            '<p class="rb-restore">Si esa orden falla, vuelve a poner el fichero anterior y la '
            "repite, para que el nodo siga como estaba.</p>"
        )
    if action.unless:
        parts.append(
            '<p class="rb-guard">Aunque el fichero no cambie, deploy la ejecuta también cuando la '
            "siguiente comprobación falla (el fichero está bien, pero no en vigor):</p>"
        )
        parts.append(code_block(action.unless, "bash", "unless"))
    if action.note:
        parts.append(f'<p class="rb-note">{field("note", action.note, "span")}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def criteria_block(check: Check, nodes: list[str]) -> str:
    """What `./rb verify` requires of a documented check's output."""
    criteria = [f"termina con código {field('exit_code', str(check.exit_code))}"]
    if check.stdout_contains is not None:
        criteria.append(f"su salida contiene {field('stdout_contains', check.stdout_contains)}")
    if check.stdout_regex is not None:
        criteria.append(
            f"su salida cumple la expresión regular {field('stdout_regex', check.stdout_regex)}"
        )
    if check.stdout_matches_output:
        output = check.output or ""
        varies = ", salvo las partes en cursiva" if any(v for _, v in expected_output.parts(output)) else ""
        shape = ("contiene, en cualquier orden, las líneas que se muestran arriba" if check.output_partial
                 else "es, línea a línea, la que se muestra arriba")
        criteria.append(field("stdout_matches_output", f"su salida {shape}{varies}", "span"))
    return (
        f'<div class="rb-check-criteria" '
        f'{attrs(step=check.step, nodes=" ".join(nodes), check_id=check.id)}>'
        f'<p><code>./rb verify</code> ejecuta la comprobación «{html.escape(check.title)}» '
        f'({field("id", check.id)}) y la da por buena si la orden '
        + ", ".join(criteria[:-1])
        + (" y " if len(criteria) > 1 else "")
        + criteria[-1]
        + " (salida normal y de errores juntas).</p></div>"
    )
