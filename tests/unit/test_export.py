"""`./rb export ansible` without the lab: the CLI, the files, and the playbook run for real.

The exported playbook is run with stock ansible-playbook on this machine
(`-e ansible_connection=local`, one node) against a small procedure written
here, whose files live in a temporary folder: Jinja-looking text reaches the
file untouched, the secret is read from the environment at run time and
never printed, guards and `when_file_exists` decide like deploy, a second
run changes nothing, and a failed validation or activation leaves the old
file in place with deploy's message. The lab tests (test_export_lab.py) run
the real plan on real nodes.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbook.data.load import LAB_SITE, PUBLISHED_SITE, REPO_ROOT, load_procedure, load_site
from runbook.deploy.executor import validator_verdict
from runbook.export import MARKER, build, export_ansible
from runbook.export.validation import ansible_validate, plan_validator
from runbook.export.yaml_text import unsafe_loader
from runbook.plan.build import build_plan, load_plan
from runbook.plan.secrets import materialize

ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
INVOKE = str(Path(sys.executable).parent / "invoke")
SECRET = "Prueba.Exportar-42"
SECRET_ENV = "RB_EXPORT_TEST_SECRET"
RECAP_RE = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def export_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([INVOKE, "export", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


# ------------------------------------------------------------------- the CLI


def test_cli_writes_the_project_and_says_how_to_run_it(tmp_path):
    out = tmp_path / "ansible-lab"
    proc = export_cli("ansible", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert f"Proyecto de Ansible del sitio lab en {out}" in proc.stdout
    assert "ansible-playbook site.yml" in proc.stdout
    for name in ("inventory.yml", "site.yml", "ansible.cfg", "group_vars/all.yml", "LEEME.md"):
        assert (out / name).is_file(), name
    assert "-F /var/lib/runbook/lab/ssh_config" in (out / "ansible.cfg").read_text()
    assert "StrictHostKeyChecking=yes" in (out / "ansible.cfg").read_text()
    # Exporting again over an earlier export replaces it.
    (out / "files" / "hera" / "stale").write_text("de una exportación anterior\n")
    assert export_cli("ansible", "--output", str(out)).returncode == 0
    assert not (out / "files" / "hera" / "stale").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pyinfra", "--output", "x"], "formato de exportación desconocido: 'pyinfra'; usa uno de: ansible"),
        (["ansible"], "indica la carpeta del proyecto con --output CARPETA"),
        (["ansible", "--site", "atlantida", "--output", "x"], "no existe el sitio 'atlantida'"),
    ],
)
def test_cli_bad_input_exit_2_with_one_spanish_line(tmp_path, args, message):
    proc = export_cli(*[str(tmp_path / a) if a == "x" else a for a in args])
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and message in proc.stderr
    assert not (tmp_path / "x").exists()


def test_cli_never_overwrites_a_folder_that_is_not_an_export(tmp_path):
    mine = tmp_path / "mis-cosas"
    mine.mkdir()
    (mine / "notas.txt").write_text("importante\n")
    proc = export_cli("ansible", "--output", str(mine))
    assert proc.returncode == 2
    assert "ya existe y no es una exportación anterior" in proc.stderr
    assert [p.name for p in mine.iterdir()] == ["notas.txt"]


def test_cli_bad_data_exit_2_with_file_and_line(tmp_path):
    data = tmp_path / "site_data"
    data.mkdir()
    for f in (REPO_ROOT / "site_data").glob("*.yaml"):
        (data / f.name).write_text(f.read_text().replace("priority: 100", "priority: 300"))
    proc = export_cli("ansible", "--output", str(tmp_path / "x"), env={"RUNBOOK_DATA_DIR": str(data)})
    assert proc.returncode == 2
    assert re.search(r"lab\.yaml, línea \d+: campo 'nodes\[1\]\.priority'", proc.stderr), proc.stderr
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------- the files


@pytest.mark.parametrize("site", [PUBLISHED_SITE, LAB_SITE])
def test_export_is_accepted_by_ansible_playbook(tmp_path, site):
    export_ansible(load_plan(site), tmp_path / "p")
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "site.yml", "--syntax-check"], cwd=tmp_path / "p",
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr


def test_export_is_a_pure_function_of_the_plan():
    assert build(load_plan(LAB_SITE)) == build(load_plan(LAB_SITE))


def test_no_secret_value_is_ever_written(tmp_path, monkeypatch):
    # Even with the published site's secret defined, the export only names its sources.
    monkeypatch.setenv("RUNBOOK_STATS_PASSWORD", SECRET)
    out = tmp_path / "olimpo"
    export_ansible(load_plan(PUBLISHED_SITE), out)
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(), path
    assert "RUNBOOK_STATS_PASSWORD" in (out / "group_vars" / "all.yml").read_text()
    assert "@@SECRETO_stats_password@@" in (out / "files" / "hera" / "etc" / "haproxy" / "haproxy.cfg").read_text()


@pytest.mark.parametrize(
    ("exit_code", "output", "passes"),
    [
        (0, "Configuration file is valid\n", True),
        (0, "", True),
        (0, "[WARNING]  (1) : parsing [f:3] : 'option httplog' not usable with proxy 'x'\n"
            "Configuration file is valid\n", False),
        (0, "Config files missing: /etc/keepalived/keepalived.conf\n", False),
        (1, "[ALERT]    (1) : config : parsing [f:2] : unknown keyword 'bogus'\n", False),
        (5, "", False),
    ],
)
def test_exported_validator_judges_like_deploy(tmp_path, exit_code, output, passes):
    printed = tmp_path / "printed"
    printed.write_text(output)
    validator = f"cat {printed}; exit {exit_code} # %s"
    command = ansible_validate(validator)
    assert plan_validator(command) == validator
    # What ansible.builtin.copy does with it: `validate % path`, split like a shell, no shell.
    proc = subprocess.run(shlex.split(command % str(tmp_path / "candidate")), capture_output=True, text=True)
    assert (proc.returncode == 0) is passes is validator_verdict(exit_code, output)[0]
    assert output.strip() in proc.stdout


def test_a_validator_naming_the_file_twice_is_refused_in_spanish():
    from runbook.export import ExportError

    with pytest.raises(ExportError, match="un solo %s"):
        ansible_validate("cmp %s %s.orig")


# ---------------------------------------------- the playbook, run on this machine

TEMPLATES = {
    "app.conf.j2": (
        "# {{ managed }}\n"
        "nodo {{ node.name }}\n"
        "{% raw %}ajeno: {{ variable }} {% if x %} {# comentario #} ${HOME} 100%{% endraw %}\n"
        "clave {{ secret('stats_password') }}\n"
    ),
    "activado.conf.j2": "estado {{ site.vip }}\n",
}


def local_site(tmp_path: Path, templates: dict[str, str] | None = None, procedure: str | None = None):
    """A site and procedure whose files live under tmp_path/root; returns (plan, root)."""
    root = tmp_path / "root"
    data, tpl = tmp_path / "data", tmp_path / "templates"
    for d in (root, data, tpl):
        d.mkdir(exist_ok=True)
    site = (REPO_ROOT / "site_data" / "lab.yaml").read_text()
    site = site.replace("name: lab\n", "name: local\n").split("# Only the lab has this block")[0]
    site = site.replace("  config: /var/lib/runbook/lab/ssh_config\n", "")
    site = site.replace("    file: /var/lib/runbook/lab/secrets/stats_password\n",
                        f"    env: {SECRET_ENV}\n    file: {tmp_path}/sin-secreto\n")
    (data / "local.yaml").write_text(site)
    (data / "procedure.yaml").write_text(procedure or f"""
steps:
  - id: fichero
    title: Un fichero con llaves que no son de Ansible
    explanation: x
    actions:
      - file: {root}/{{{{ node.name }}}}/app.conf
        template: app.conf.j2
        mode: "0640"
        validate: "awk '/^nodo / {{ok=1}} /^clave/ {{c=$0}} END {{if (!ok) print c; exit !ok}}' %s"
        apply: "echo aplicado >> {root}/app-aplicado.log"
  - id: orden
    title: Una orden con condición
    explanation: x
    actions:
      - run: echo {{{{ node.name }}}} '{{{{ "{{{{ ajeno }}}}" }}}}' >> {root}/{{{{ node.name }}}}/orden.log
        unless: test -s {root}/{{{{ node.name }}}}/orden.log
  - id: condicional
    title: Solo donde existe un fichero
    explanation: x
    when: {{file_exists: {root}/no-existe}}
    actions:
      - run: touch {root}/condicional-ejecutado
  - id: activado
    title: Un fichero que se activa
    explanation: x
    actions:
      - file: {root}/activado.conf
        template: activado.conf.j2
        apply: "! grep -q roto {root}/activado.conf && echo activado >> {root}/activaciones.log"
""")
    for name, text in {**TEMPLATES, **(templates or {})}.items():
        (tpl / name).write_text(text)
    os.environ["RUNBOOK_TEMPLATE_DIR"] = str(tpl)
    try:
        plan = build_plan(load_site("local", data), load_procedure(data))
    finally:
        del os.environ["RUNBOOK_TEMPLATE_DIR"]
    return plan, root


def run_local(project: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict[str, tuple[int, ...]]]:
    """ansible-playbook on this machine, as node hera only; (process, recap per host)."""
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "site.yml", "--limit", "hera,localhost", "-e", "ansible_connection=local", *extra],
        cwd=project, capture_output=True, text=True, timeout=300,
        env={**os.environ, SECRET_ENV: SECRET, "ANSIBLE_NOCOLOR": "1"},
    )
    recap = {m.group(1): tuple(int(m.group(i)) for i in range(2, 6)) for m in RECAP_RE.finditer(proc.stdout)}
    return proc, recap


# ansible-playbook on this machine writes the plan's files, owned by root:root.
needs_root = pytest.mark.root(reason="los ficheros del plan son de root:root")


@pytest.fixture(scope="module")
def converged_local(tmp_path_factory):
    """The local procedure exported and run once: (tmp folder, plan, root, first run); for `needs_root` tests."""
    tmp = tmp_path_factory.mktemp("local")
    plan, root = local_site(tmp)
    export_ansible(plan, tmp / "project")
    return tmp, plan, root, run_local(tmp / "project")


@needs_root
def test_local_run_does_what_the_plan_says(converged_local):
    _tmp, plan, root, (proc, recap) = converged_local
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert recap["hera"][3] == 0 and recap["hera"][1] > 0
    app = plan.step("fichero").actions["hera"][0]
    # Byte for byte the plan's file, Jinja-looking text untouched, the secret from the environment.
    assert (root / "hera" / "app.conf").read_text() == materialize(app.content, {"stats_password": SECRET})
    assert "{{ variable }} {% if x %} {# comentario #} ${HOME} 100%" in (root / "hera" / "app.conf").read_text()
    assert oct((root / "hera" / "app.conf").stat().st_mode & 0o777) == "0o640"
    assert (root / "hera" / "orden.log").read_text() == "hera {{ ajeno }}\n"  # run verbatim
    assert not (root / "condicional-ejecutado").exists()  # when_file_exists: the file is not there
    assert (root / "activaciones.log").read_text() == "activado\n"
    assert not (root / "afrodita").exists()  # --limit hera: the other node's paths untouched
    assert SECRET not in proc.stdout + proc.stderr


@needs_root
def test_local_rerun_fixes_only_a_mode_and_then_changes_nothing(converged_local):
    tmp, _plan, root, _first = converged_local
    (root / "hera" / "app.conf").chmod(0o644)  # only the mode drifts: fixed, nothing activated
    proc, recap = run_local(tmp / "project")
    assert proc.returncode == 0 and recap["hera"][1] == 1, proc.stdout[-3000:]
    assert oct((root / "hera" / "app.conf").stat().st_mode & 0o777) == "0o640"
    assert (root / "app-aplicado.log").read_text() == "aplicado\n"  # a mode change activates nothing
    assert (root / "hera" / "orden.log").read_text() == "hera {{ ajeno }}\n"  # the guard held
    assert (root / "activaciones.log").read_text() == "activado\n"
    proc, recap = run_local(tmp / "project", "--check", "--diff")
    assert proc.returncode == 0 and recap["hera"][1] == 0, proc.stdout[-3000:]
    assert SECRET not in proc.stdout + proc.stderr


@needs_root
def test_local_run_failed_validation_keeps_the_file_and_masks_the_secret(converged_local):
    tmp, _plan, root, _first = converged_local
    good = (root / "hera" / "app.conf").read_bytes()
    broken = {"app.conf.j2": TEMPLATES["app.conf.j2"].replace("nodo {{", "node {{")}
    plan, _root = local_site(tmp, templates=broken)
    export_ansible(plan, tmp / "project-roto")
    proc, recap = run_local(tmp / "project-roto")
    assert proc.returncode == 2 and recap["hera"][3] == 1
    # The validator printed the candidate's secret line: the message shows the marker instead.
    assert "la validación falló (awk " in proc.stdout
    assert "clave @@SECRETO_stats_password@@" in proc.stdout
    assert SECRET not in proc.stdout + proc.stderr
    assert (root / "hera" / "app.conf").read_bytes() == good
    # Nothing left next to it but deploy's backup of the current file (no `app.conf.NNN~`).
    assert sorted(p.name for p in (root / "hera").iterdir()) == [".app.conf.runbook-bak", "app.conf", "orden.log"]
    assert (root / "hera" / ".app.conf.runbook-bak").read_bytes() == good
    assert (root / "app-aplicado.log").read_text() == "aplicado\n"  # not activated


@needs_root
def test_local_run_failed_activation_restores_the_previous_file(converged_local):
    tmp, _plan, root, _first = converged_local
    plan, _root = local_site(tmp, templates={"activado.conf.j2": "estado roto\n"})
    export_ansible(plan, tmp / "project-roto")
    proc, recap = run_local(tmp / "project-roto")
    assert proc.returncode == 2 and recap["hera"][3] == 1
    expected = (f"«! grep -q roto {root}/activado.conf && echo activado >> {root}/activaciones.log» "
                "falló (código 1)")
    assert expected in proc.stdout
    assert "se restauró el fichero anterior y sigue en servicio" in proc.stdout
    assert (root / "activado.conf").read_text() == "estado 198.51.100.150\n"
    assert (root / ".activado.conf.runbook-bak").read_text() == "estado 198.51.100.150\n"
    assert (root / "activaciones.log").read_text() == "activado\nactivado\n"  # the old file, applied again


@needs_root
def test_local_run_failed_activation_of_a_new_file_removes_it(tmp_path):
    procedure = """
steps:
  - id: nuevo
    title: Un fichero nuevo que no arranca
    explanation: x
    actions:
      - file: ROOT/nuevo.conf
        template: activado.conf.j2
        apply: "echo 'servicio: configuración rechazada' >&2; exit 3"
"""
    plan, root = local_site(tmp_path, procedure=procedure.replace("ROOT", str(tmp_path / "root")))
    export_ansible(plan, tmp_path / "project")
    proc, _ = run_local(tmp_path / "project")
    assert proc.returncode == 2
    assert "falló (código 3): servicio: configuración rechazada" in proc.stdout
    assert f"se retiró el fichero nuevo (no había uno anterior en {root}/nuevo.conf)" in proc.stdout
    assert not (root / "nuevo.conf").exists()


def test_project_yaml_marks_jinja_looking_plan_text_unsafe(tmp_path):
    plan, root = local_site(tmp_path)
    files = build(plan)
    assert MARKER in files
    hera = files["host_vars/hera.yml"]
    # The command differs per node (host var) and holds `{{`: Ansible must take it as plain text.
    assert f"rb_orden_0_command: !unsafe 'echo hera ''{{{{ ajeno }}}}'' >> {root}/hera/orden.log'" in hera
    assert yaml.load(hera, Loader=unsafe_loader())["rb_orden_0_command"].startswith("echo hera '{{ ajeno }}'")
    # Text without Jinja marks stays plain, easy to read.
    assert "rb_orden_0_unless: test -s" in hera


def test_export_of_a_unicast_site_carries_each_node_peers(tmp_path):
    # The trixie lab site has vrrp.unicast: true; its nodes' files in the project are the plan's.
    files = export_ansible(load_plan("trixie"), tmp_path / "p")
    confs = {path.split("/")[1]: (tmp_path / "p" / path).read_text()
             for path in files if path.endswith("etc/keepalived/keepalived.conf")}
    assert set(confs) == {"hestia", "ares"}
    assert "unicast_src_ip 198.51.100.110\n    unicast_peer {\n        198.51.100.111\n    }" in confs["hestia"]
    assert "unicast_src_ip 198.51.100.111\n    unicast_peer {\n        198.51.100.110\n    }" in confs["ares"]
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "site.yml", "--syntax-check"], cwd=tmp_path / "p",
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "WARNING" not in proc.stderr, proc.stdout + proc.stderr
