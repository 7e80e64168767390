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

from .plan import Check, FileAction, RunAction

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


def code_block(text: str, language: str, field: str, title: str | None = None) -> str:
    """A highlighted code block whose <code> text is exactly `text`.

    Same markup as pymdownx.highlight, so Material styles it and adds its copy
    button; unlike Markdown, no newline is stripped or added.
    """
    body = _highlight(text, language)
    caption = f'<span class="filename">{html.escape(title)}</span>' if title else ""
    return (
        f'<div class="language-{language} highlight">{caption}<pre><span></span>'
        f'<code data-field="{field}">{body}</code></pre></div>'
    )


def _highlight(text: str, language: str) -> str:
    # Pygments' HtmlFormatter always ends the last line with a newline; the
    # tokens themselves are exact, so they are wrapped here one by one.
    lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    out = []
    for token_type, value in lex(text, lexer):
        while token_type not in STANDARD_TYPES:
            token_type = token_type.parent
        css = STANDARD_TYPES[token_type]
        escaped = html.escape(value, quote=False)
        out.append(f'<span class="{css}">{escaped}</span>' if css else escaped)
    return "".join(out)


def inline_markdown(text: str) -> str:
    """Short Spanish Markdown (descriptions, notes) as inline HTML."""
    rendered = markdown.markdown(text).strip()
    if rendered.startswith("<p>") and rendered.endswith("</p>") and rendered.count("<p>") == 1:
        rendered = rendered[3:-4]
    return rendered


def _attrs(**values: str | None) -> str:
    return " ".join(
        f'data-{k.replace("_", "-")}="{html.escape(v, quote=True)}"'
        for k, v in values.items()
        if v is not None
    )


def _field(name: str, text: str, tag: str = "code") -> str:
    return f'<{tag} data-field="{name}">{html.escape(text)}</{tag}>'


def run_block(action: RunAction, nodes: list[str], when: str | None) -> str:
    parts = [
        f'<div class="rb-action rb-run" '
        f"{_attrs(step=action.step, nodes=' '.join(nodes), kind='run', when=when)}>",
        code_block(action.command, "bash", "command"),
    ]
    if action.unless:
        parts.append(
            '<p class="rb-guard">Deploy omite esta orden cuando la siguiente comprobación '
            "tiene éxito (ya está hecho):</p>"
        )
        parts.append(code_block(action.unless, "bash", "unless"))
    if action.note:
        parts.append(f'<p class="rb-note">{_field("note", action.note, "span")}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def _file_language(path: str) -> str:
    if path.startswith(_SYSCTL_DIR):
        return "ini"
    for suffix, language in _FILE_LEXERS.items():
        if path.endswith(suffix):
            return language
    return "text"


def file_block(action: FileAction, nodes: list[str], when: str | None) -> str:
    owner = f"{_field('owner', action.owner)}:{_field('group', action.group)}"
    parts = [
        f'<div class="rb-action rb-file" '
        f"{_attrs(step=action.step, nodes=' '.join(nodes), kind='file', path=action.path, when=when)}>",
        f'<p class="rb-file-meta">Fichero {_field("path", action.path)}, '
        f'permisos {_field("mode", action.mode)}, propietario {owner}</p>',
        code_block(action.content, _file_language(action.path), "content", title=action.path),
    ]
    if action.validate:
        parts.append(
            '<p class="rb-validate">Antes de instalarlo, deploy valida el fichero nuevo en el '
            "nodo (<code>%s</code> es esa copia provisional). Si la validación falla, el fichero "
            "anterior y el servicio en marcha quedan como estaban:</p>"
        )
        parts.append(code_block(action.validate, "bash", "validate"))
    if action.on_change:
        service = (
            f" (servicio {_field('service', action.service)}, un nodo cada vez)"
            if action.service
            else ""
        )
        when = "Si el fichero cambia" if action.unless else "Solo si el fichero cambia"
        parts.append(f'<p class="rb-on-change">{when}, deploy ejecuta a continuación{service}:</p>')
        parts.append(code_block(action.on_change, "bash", "on_change"))
    if action.unless:
        parts.append(
            '<p class="rb-guard">Aunque el fichero no cambie, deploy la ejecuta también cuando la '
            "siguiente comprobación falla (el fichero está bien, pero no en vigor):</p>"
        )
        parts.append(code_block(action.unless, "bash", "unless"))
    if action.note:
        parts.append(f'<p class="rb-note">{_field("note", action.note, "span")}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def check_block(check: Check, nodes: list[str]) -> str:
    parts = [
        f'<div class="rb-check" {_attrs(step=check.step, nodes=" ".join(nodes), check_id=check.id)}>',
        f'<p class="rb-check-title"><strong data-field="title">{html.escape(check.title)}</strong> '
        f'<span class="rb-check-id">({_field("id", check.id)})</span></p>',
    ]
    if check.explanation:
        parts.append(f'<p data-field="explanation">{inline_markdown(check.explanation)}</p>')
    parts.append(code_block(check.command, "bash", "command"))
    parts.append(
        f'<p class="rb-expect"><strong>Resultado esperado:</strong> '
        f'<span data-field="description">{inline_markdown(check.description)}</span></p>'
    )
    criteria = [f"código de salida {_field('exit_code', str(check.exit_code))}"]
    if check.stdout_contains is not None:
        criteria.append(f"la salida contiene {_field('stdout_contains', check.stdout_contains)}")
    if check.stdout_regex is not None:
        criteria.append(f"la salida cumple la expresión regular {_field('stdout_regex', check.stdout_regex)}")
    parts.append(
        '<p class="rb-criteria">Lo que exige <code>verify</code> (salida y errores juntos): '
        + "; ".join(criteria)
        + ".</p>"
    )
    parts.append("</div>")
    return "\n".join(parts)
