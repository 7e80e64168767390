"""`./rb rehearse SITE`: your site tried on the lab before production.

Exit codes: 0 every stage passed; 1 a stage failed (the summary says which);
2 bad input, a site the lab cannot hold or a missing prerequisite, with
nothing written and nothing started.
"""

from __future__ import annotations

import json
import time

from invoke.exceptions import Exit

from .common import FAILED, fail, out
from .drill_tasks import DURATION_LIMITS, RATE_LIMITS, _number
from .errors import task

DEFAULT_RATE = "100"
DEFAULT_DURATION = "12"


@task(
    positional=["site"],
    help={
        "site": "tu sitio (site_data/SITIO.yaml, sin bloque lab:)",
        "down": "detener el ensayo de ese sitio (lo mismo que ./rb lab.down --site SITIO)",
        "rate": f"peticiones por segundo de los simulacros (por defecto {DEFAULT_RATE})",
        "duration": f"segundos de carga de cada simulacro (por defecto {DEFAULT_DURATION})",
        "json": "imprimir el resumen en JSON (para máquinas)",
    }
)
def rehearse(c, site, down=False, rate=DEFAULT_RATE, duration=DEFAULT_DURATION, json_=False):
    """Ensaya tu sitio en el laboratorio: tu forma en direcciones de documentación, desplegada,
    verificada y sometida al simulacro (planned y node-crash)."""
    rate = _number(rate, "rate", RATE_LIMITS)
    duration = _number(duration, "duration", DURATION_LIMITS)
    from .. import lab
    from ..data.load import data_dir, display_path, load_site
    from ..lab.lifecycle import check_prerequisites
    from ..output.terminal import choose_console
    from ..output.verbatim import emit
    from ..rehearse import files

    yours = load_site(site)
    if down:
        if yours.lab is not None:  # never the lab itself: rehearse only speaks of rehearsals
            raise fail(f"el sitio {yours.name!r} es un laboratorio, no un ensayo: usa ./rb lab.down --site "
                       f"{yours.name}")
        lab.down(files.lab_site(yours))
        out(f"ensayo de {yours.name} detenido: sin espacios de red, montajes ni procesos")
        return
    rehearsal = files.prepare(yours, display_path(data_dir() / f"{yours.name}.yaml"))  # exit 2 if unmappable
    check_prerequisites()
    console = choose_console(stderr=True)
    files.write(rehearsal)
    from ..rehearse.run import rehearse as run_stages
    from ..rehearse.summary import document, summary

    started = time.monotonic()
    try:
        stages = run_stages(rehearsal.plan, rate, duration,
                            log=lambda message: emit(console, ("ensayo: ", "dim"), message))
    except KeyboardInterrupt:
        raise fail(f"interrumpido: el ensayo queda a medias; detenlo con ./rb lab.down --site {yours.name}",
                   FAILED) from None
    took = time.monotonic() - started
    if json_:
        out(json.dumps(document(yours.name, stages, rehearsal.path, took), ensure_ascii=False, indent=2))
    else:
        out(summary(yours.name, stages, rehearsal.path, took))
    if not all(s.ok for s in stages):
        raise Exit(code=FAILED)
