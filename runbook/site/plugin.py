"""MkDocs plugin: the hand-written Spanish pages get their steps from the plan.

Pages are Jinja2 templates (StrictUndefined) over the published site, so prose
like "la IP virtual {{ vip }}" follows the data. Directives in HTML comments
are then replaced by generated Markdown:

    <!-- runbook:paso ID -->                 one procedure step (heading included)
    <!-- runbook:orden ID -->                a look-only command and its output (observations)
    <!-- runbook:tabla-nodos -->             the node table ("Ver tabla")
    <!-- runbook:topologia -->               the Mermaid topology diagram
    <!-- runbook:servicios -->               the services behind the VIP
    <!-- runbook:valores -->                 the tutorial's values, to replace by the reader's own
    <!-- runbook:comprobaciones-verify -->   the extra checks `invoke verify` runs
    <!-- runbook:comprobaciones-pasos -->    every step's documented check, as a command
    <!-- runbook:resultados -->              the last saved drill and benchmarks (tables, plots)
    <!-- runbook:medida ESCENARIO CLAVE -->   one measured figure, e.g. node-crash vip_moved_s
    <!-- runbook:resistencia -->             the soak's figures (measured.json's «soak»)
    <!-- runbook:referencia -->              every field of a site file (runbook/site/reference.py)

Each directive is one entry of RunbookPlugin.DIRECTIVES (name, arguments,
handler; the grammar is in directives.py). Every problem (bad data, a
template error, an unknown directive or a wrong argument, a step shown
twice or never) is a PluginError, so `mkdocs build --strict` fails with a
Spanish message naming it (page and line where there is one) instead of
publishing a site that drifted.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority

from ..data.load import LAB_SITE, PUBLISHED_SITE, REPO_ROOT, DataError, data_dir, load_procedure, load_site
from ..names import template_dir
from ..plan.build import PlanError, build_plan
from ..plan.copies import backup_path
from ..plan.steps import Plan
from ..rehearse.mapping import address_plan
from ..wording import number_word, spanish_list, spanish_number
from .blocks import BlockStash
from .config_values import ConfigValueError, config_facts
from .directives import DIRECTIVE_RE, Directive, Place, directive_table, find, parse, source_line, where
from .results import ResultsError, load_results, measured, results_markdown, soak_markdown
from .search import add_unaccented_fields
from .steps import node_label, observation_markdown, step_markdown
from .tables import node_table, services_table, step_checks_list, topology, verify_checks
from .values import values_note, values_table

THEME_DIR = Path(__file__).resolve().parent / "theme"
# MkDocs prints its plugins' INFO lines; --strict fails only on warnings.
LOG = logging.getLogger("mkdocs.plugins.runbook")
# Domains reserved for examples (RFC 2606, RFC 6761): mkdocs.yml's repo_url until one is set.
EXAMPLE_DOMAINS = ("example", "example.org", "example.com", "example.net", "test", "invalid", "localhost")


def placeholder_repo(url: str | None) -> bool:
    """True when the repository link is missing or points at a domain reserved for examples."""
    host = (urlsplit(url or "").hostname or "").rstrip(".")
    return not host or any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)


def placeholder_notice(url: str | None) -> str:
    return (f"runbook: el enlace al repositorio de las páginas es de ejemplo ({url or 'ninguno'}): "
            "antes de publicar la web, define RUNBOOK_REPO_URL con su dirección real")
# How the pages name the system of the balancers (the site's `os`).
RELEASES = {"debian12": "Debian 12 (bookworm)", "debian13": "Debian 13 (trixie)"}


class RunbookConfig(base.Config):
    site = c.Type(str, default=PUBLISHED_SITE)
    # Pages about this project itself (its embedded lab): built for the published site only.
    # Another site's runbook leaves them out, with their entries in the nav.
    published_only = c.ListOfItems(c.Type(str), default=[])
    # Where the site YAML lives; relative to mkdocs.yml. Unset: RUNBOOK_DATA_DIR or site_data/.
    data_dir = c.Optional(c.Type(str))
    # The last saved drill and benchmark results (committed); relative to mkdocs.yml.
    # Unset: benchmarks/measured.json of the repository.
    results = c.Optional(c.Type(str))


class RunbookPlugin(BasePlugin[RunbookConfig]):
    def on_config(self, config):
        self._data_dir = self._resolve_data_dir(config)
        self._published = self.config.site == PUBLISHED_SITE
        self._repo_url = config.repo_url
        if placeholder_repo(self._repo_url):
            LOG.info(placeholder_notice(self._repo_url))
        try:
            site = load_site(self.config.site, self._data_dir)
            self.plan: Plan = build_plan(site, load_procedure(self._data_dir))
            # The lab page describes the embedded lab with its own values.
            self._lab_site = load_site(LAB_SITE, self._data_dir) if self._published else None
            self._facts = config_facts(self.plan)
        except (DataError, PlanError) as exc:
            raise PluginError(f"runbook: {exc}") from None
        except ConfigValueError as exc:
            raise PluginError(f"runbook: las páginas citan un valor que ya no está: {exc}") from None
        if not self._published and config.nav is not None:
            config.nav = _without_pages(config.nav, set(self.config.published_only))
        # Our templates (the Spanish 404 page) before the theme's own (Theme.dirs: pinned mkdocs<2).
        config.theme.dirs.insert(0, str(THEME_DIR))
        self._results_path = self._resolve_results(config)
        try:
            self._results = load_results(self._results_path)
        except ResultsError as exc:
            raise PluginError(f"runbook: {exc}") from None
        self._pages = _page_environment()
        self._stashes: dict[str, BlockStash] = {}
        self._rendered: dict[str, str] = {}  # step id -> page that rendered it
        self._shown_observations: set[str] = set()
        self._step_pages: dict[str, str] = {}
        return config

    def _resolve_data_dir(self, config) -> Path:
        if self.config.data_dir is None:
            return data_dir()
        base_dir = Path(config.config_file_path or ".").resolve().parent
        return (base_dir / self.config.data_dir).resolve()

    def _resolve_results(self, config) -> Path:
        if self.config.results is None:
            return REPO_ROOT / "benchmarks" / "measured.json"
        return (Path(config.config_file_path or ".").resolve().parent / self.config.results).resolve()

    def on_files(self, files, config):
        _require_local_scripts(files, config)
        for page in self.config.published_only:
            file = files.get_file_from_path(page)
            if file is None:
                raise PluginError(f"runbook: published_only nombra una página que no existe: {page}")
            if not self._published:
                files.remove(file)
        # Read every page once up front: the verify page links to steps that
        # may live on pages built after it, and a missing step fails early.
        # Every directive is checked here too, so a wrong one is named at its
        # line in the page as written.
        found: dict[str, list[str]] = {}
        first_line: dict[str, int] = {}
        for file in files.documentation_pages():
            for match, line in find(file.content_string):
                directive, args = parse(match.group("body"), self.DIRECTIVES, file.src_uri, line)
                if directive.name == "paso":
                    found.setdefault(args[0], []).append(file.src_uri)
                    first_line.setdefault(args[0], line)
        known = {s.id for s in self.plan.steps}
        for step_id, pages in found.items():
            if step_id not in known:
                raise PluginError(
                    f"runbook: {where(pages[0], first_line[step_id])}: "
                    f"el paso {step_id!r} no existe en procedure.yaml"
                )
            if len(pages) > 1:
                raise PluginError(
                    f"runbook: el paso {step_id!r} aparece dos veces ({', '.join(pages)})"
                )
        missing = [s.id for s in self.plan.steps if s.id not in found]
        if missing:
            raise PluginError(f"runbook: ninguna página muestra los pasos: {', '.join(missing)}")
        self._step_pages = {step_id: pages[0] for step_id, pages in found.items()}
        return files

    def on_page_markdown(self, markdown, page, config, files):
        src = page.file.src_uri
        text = self._render_jinja(markdown, src)
        stash = self._stashes[src] = BlockStash()

        def expand(match) -> str:
            place = Place(src, source_line(markdown, match.group(0)), stash)
            directive, args = parse(match.group("body"), self.DIRECTIVES, src, place.line)
            try:
                return directive.handler(self, place, *args)
            except ResultsError as exc:  # a figure the results file lacks, named at its directive
                raise place.error(str(exc)) from None

        return DIRECTIVE_RE.sub(expand, text)

    def on_page_content(self, html, page, config, files):
        stash = self._stashes.pop(page.file.src_uri, None)
        if stash is None:
            return html
        try:
            return stash.restore(html)
        except ValueError as exc:
            raise PluginError(f"runbook: {page.file.src_uri}: {exc}") from None

    def on_env(self, env, config, files):
        missing = [s.id for s in self.plan.steps if s.id not in self._rendered]
        if missing:
            raise PluginError(f"runbook: pasos que no llegaron a mostrarse: {', '.join(missing)}")
        unused = [o.id for o in self.plan.observations if o.id not in self._shown_observations]
        if unused:
            raise PluginError(f"runbook: ninguna página muestra las órdenes: {', '.join(unused)}")
        return env

    @event_priority(-50)  # after the search plugin writes the index, before offline inlines it
    def on_post_build(self, config):
        index_file = Path(config.site_dir) / "search" / "search_index.json"
        if not index_file.is_file():
            return
        index = json.loads(index_file.read_text(encoding="utf-8"))
        index_file.write_text(
            json.dumps(add_unaccented_fields(index), ensure_ascii=False, separators=(",", ":")),
            encoding="utf-8",
        )

    def on_serve(self, server, config, builder):
        # Editing the data or a template rebuilds the site like editing a page.
        server.watch(str(self._data_dir))
        server.watch(str(template_dir()))
        server.watch(str(self._results_path))
        return server

    # ------------------------------------------------------------------ helpers

    def _render_jinja(self, markdown: str, src: str) -> str:
        site = self.plan.site
        ctx = {
            "site": site,
            "plan": self.plan,
            "vip": site.vip,
            "lan": site.network.lan,
            "vrrp": site.vrrp,
            "stats": site.stats,
            # Any number of balancers: the VIP owner, the node that takes over
            # first, and all the others in the order they would claim the VIP.
            "master": site.nodes_by_priority[0],
            "backup": site.nodes_by_priority[1],
            "backups": site.nodes_by_priority[1:],
            "balancers": site.nodes_by_priority,
            "servers": site.servers,
            "services": site.services,
            # The published site's build has the pages about this project (published_only).
            "published": self._published,
            # Where ./rb comes from (mkdocs.yml repo_url): pages link to it where they name ./rb first.
            "repo_url": self._repo_url,
            # Values the prose quotes from the rendered configuration files.
            "track": self._facts.track,
            "maintenance": self._facts.maintenance,
            "checks": self._facts.checks,
            "global_maxconn": self._facts.global_maxconn,
            "bind_line": self._facts.bind_lines,
            "interface_lines": self._facts.interface_lines,
            "release": RELEASES.get(site.os, site.os),
        }
        if self._lab_site is not None:
            ctx["lab_site"] = self._lab_site
            ctx["rehearsal"] = address_plan()  # the lab page's «Ensaya tu propio sitio»
        try:
            return self._pages.from_string(markdown).render(ctx)
        except jinja2.TemplateSyntaxError as exc:
            raise PluginError(
                f"runbook: {src}, línea {exc.lineno}: plantilla no válida: {exc.message}"
            ) from None
        except jinja2.UndefinedError as exc:
            line = _template_line(exc)
            raise PluginError(f"runbook: {src}{line}: variable no definida ({exc.message})") from None
        except jinja2.TemplateError as exc:
            raise PluginError(f"runbook: {src}: {exc.message or type(exc).__name__}") from None

    # ------------------------------------------------------------ directives
    # Each handler is called as handler(self, place, *args) with the
    # arguments its table entry names (DIRECTIVES, below).

    def _step(self, place: Place, step_id: str) -> str:
        try:
            step = self.plan.step(step_id)
        except KeyError:
            raise place.error(f"el paso {step_id!r} no existe en procedure.yaml") from None
        if step_id in self._rendered:
            raise PluginError(
                f"runbook: el paso {step_id!r} aparece dos veces ({self._rendered[step_id]} y {place.src})"
            )
        self._rendered[step_id] = place.src
        note = values_note(self.plan, step_id, place.src)
        return step_markdown(self.plan, step, place.stash, values_note=note)

    def _observation(self, place: Place, observation_id: str) -> str:
        try:
            item = self.plan.observation(observation_id)
        except KeyError:
            raise place.error(
                f"la orden {observation_id!r} no existe en procedure.yaml (observations)"
            ) from None
        self._shown_observations.add(observation_id)
        return observation_markdown(item, place.stash)

    def _verify_checks(self, place: Place) -> str:
        from ..checks import catalog

        try:
            return verify_checks(catalog(self.plan), self._find_step, place.src)
        except ValueError as exc:
            raise place.error(str(exc)) from None

    def _reference(self, place: Place) -> str:
        from ..data.schema import site_schema
        from .reference import reference_markdown

        return reference_markdown(site_schema())

    DIRECTIVES = directive_table(
        Directive("paso", ("ID",), _step),
        Directive("orden", ("ID",), _observation),
        Directive("medida", ("ESCENARIO", "CLAVE"), lambda self, place, scenario, key:
                  measured(self._results, scenario, key)),
        Directive("tabla-nodos", (), lambda self, place: node_table(self.plan.site)),
        Directive("topologia", (), lambda self, place: topology(self.plan.site)),
        Directive("servicios", (), lambda self, place: services_table(self.plan.site)),
        Directive("comprobaciones-verify", (), _verify_checks),
        Directive("comprobaciones-pasos", (), lambda self, place:
                  step_checks_list(self.plan, self._find_step, place.src)),
        Directive("valores", (), lambda self, place: values_table(self.plan, self._find_step, place.src)),
        Directive("resultados", (), lambda self, place: results_markdown(self._results, place.stash)),
        Directive("referencia", (), _reference),
        Directive("resistencia", (), lambda self, place: soak_markdown(self._results)),
    )

    def _find_step(self, step_id: str) -> tuple[str, str] | None:
        page = self._step_pages.get(step_id)
        return None if page is None else (page, self.plan.step(step_id).title)


def _without_pages(nav: list, pages: set[str]) -> list:
    """The nav without the entries of `pages` (sections keep their other entries)."""
    out = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            kept = _without_pages(value, pages)
            if kept:
                out.append({next(iter(item)): kept})
        elif value not in pages:
            out.append(item)
    return out


def _require_local_scripts(files, config) -> None:
    """Every extra script must be served by the site itself.

    Material fetches Mermaid from a CDN when no local copy defines it, and a
    failed fetch offline also stops search and tabs: a missing copy is an error.
    The same for polyfills: the offline plugin would add iframe-worker from a
    CDN when no local copy is listed.
    """
    for script in [*config.extra_javascript, *config.extra.get("polyfills", [])]:
        path = str(getattr(script, "path", script))
        if "://" in path or path.startswith("//"):
            raise PluginError(f"runbook: un script del sitio apunta fuera de él: {path}")
        if files.get_file_from_path(path) is None:
            raise PluginError(
                f"runbook: falta {config.docs_dir}/{path}; ejecuta ./rb para descargar la copia local"
            )


def _page_environment() -> jinja2.Environment:
    # Comments use {## ##}: the attr_list syntax "{#id}" must stay plain Markdown.
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        comment_start_string="{##",
        comment_end_string="##}",
    )
    env.filters["etiqueta"] = node_label
    env.filters["num"] = spanish_number
    env.filters["enumera"] = spanish_list  # ["A", "B", "C"] -> "A, B y C"
    env.filters["en_letra"] = number_word
    env.filters["copia"] = backup_path  # where deploy keeps the file it replaced
    return env


def _template_line(exc: BaseException) -> str:
    """The page line of a Jinja runtime error, from the rewritten traceback."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f", línea {line}" if line else ""
