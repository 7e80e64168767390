"""`./rb new SITE`: a commented site file, valid on the first try, or one Spanish line and nothing written.

Every answer path is exercised: flags, an answers file (and flags over it),
the questions on a terminal (scripted through the Terminal the questions
take, and once for real in a pseudo-terminal), and the proposals of
--from-nodes (the node's answers canned; the lab test reads real nodes). A
wrong answer must give exactly the message the loader gives that file, at
the line it would have had, exit 2, and leave the data folder as it was.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import time
from pathlib import Path

import invoke
import jsonschema
import pytest
import yaml
from invoke.exceptions import Exit
from support.hostile_cases import REPO, run_cli

from runbook.cli import new_tasks
from runbook.data.load import load_site
from runbook.data.schema import schema_text
from runbook.remote.sshmux import MuxConnection
from runbook.scaffold import answers as ans
from runbook.scaffold import probe as probe_module
from runbook.scaffold.probe import COMMAND, MARK, parse
from runbook.scaffold.proposals import propose
from runbook.scaffold.questions import Questions, Terminal
from runbook.scaffold.site_text import site_text

# The issue's own example: two balancers on ens18, VIP 10.20.0.100, three web servers on 8080
# with /healthz, round robin.
FLAGS = dict(
    lan_interface="ens18", lan_subnet="10.20.0.0/24", management_interface="ens19",
    management_subnet="10.30.0.0/24", vip="10.20.0.100",
    node=["name=lb1,lan=10.20.0.11,management=10.30.0.11", "name=lb2,lan=10.20.0.12,management=10.30.0.12"],
    server=["name=web1,lan=10.20.0.21", "name=web2,lan=10.20.0.22", "name=web3,lan=10.20.0.23"],
    service=["name=web,port=80,backend_port=8080,check_path=/healthz,expect_status=200,balance=roundrobin"],
)
ANSWERS_FILE = """\
lan_interface: ens18
lan_subnet: 10.20.0.0/24
management_interface: ens19
management_subnet: 10.30.0.0/24
vip: 10.20.0.100
nodes:
  - {name: lb1, lan: 10.20.0.11, management: 10.30.0.11}
  - {name: lb2, lan: 10.20.0.12, management: 10.30.0.12}
servers:
  - {name: web1, lan: 10.20.0.21}
  - {name: web2, lan: 10.20.0.22}
  - {name: web3, lan: 10.20.0.23}
services:
  - {name: web, port: 80, backend_port: 8080, check_path: /healthz, expect_status: 200, balance: roundrobin}
"""


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(REPO / "site_data" / "procedure.yaml", folder)
    monkeypatch.setenv("RUNBOOK_DATA_DIR", str(folder))
    monkeypatch.setenv("RUNBOOK_PLAN_CACHE", "0")
    monkeypatch.chdir(tmp_path)
    return folder


def listing(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def new(site: str = "mine", **options) -> None:
    """The task as ./rb runs it (in-process), never asking: batch."""
    new_tasks.new(invoke.Context(), site=site, batch=True, **options)


def refused(site: str = "mine", **options) -> str:
    with pytest.raises(Exit) as info:
        new(site, **options)
    assert info.value.code == 2
    assert "\n" not in info.value.message
    return info.value.message


def line_of(text: str, start: str | None, after: str = "") -> int:
    """The line of the first key `start` (after the line starting `after`); 1 for None: the root."""
    if start is None:
        return 1
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(after)) if after else 0
    return next(i for i, line in enumerate(lines, 1) if i > first and line.lstrip("- ").startswith(start))


def would_write(site: str, **options) -> str:
    """The text `new` would validate for these flags (to find the line an error names)."""
    flags = {k: v for k, v in options.items() if k in ans.SCALARS}
    given = ans.from_flags(flags, {"nodes": options.get("node"), "servers": options.get("server"),
                                   "services": options.get("service")})
    return site_text(ans.site_data(site, given), "# yaml-language-server: $schema=.schema/site.json")


# ------------------------------------------------------------ flags, files


def test_flags_write_a_commented_file_that_loads_and_plans(data, capsys):
    new(**FLAGS)
    path = data / "mine.yaml"
    assert capsys.readouterr().out.splitlines() == [
        "Escrito data/mine.yaml: 2 balanceadores, 3 servidores, 1 servicio.",
        "Esquema para tu editor: data/.schema/site.json (lo nombra la primera línea del fichero).",
        "Siguiente: ./rb plan --site mine   ./rb docs --site mine",
    ]
    text = path.read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=.schema/site.json"
    site = load_site("mine")
    assert site.network.lan.interface == "ens18" and str(site.vip) == "10.20.0.100"
    assert [n.name for n in site.nodes] == ["lb1", "lb2"] and [n.priority for n in site.nodes] == [110, 100]
    assert [s.name for s in site.servers] == ["web1", "web2", "web3"]
    web = site.services[0]
    assert (web.port, web.balance, web.health_check.path, web.health_check.expect_status) == \
        (80, "roundrobin", "/healthz", "200")
    assert [(str(b.address), b.port) for b in web.backends] == [(f"10.20.0.2{i}", 8080) for i in (1, 2, 3)]
    # The secret: where it comes from, never a value.
    assert site.secrets["stats_password"].env == "MINE_STATS_PASSWORD"
    assert site.secrets["stats_password"].file == "~/.config/runbook/mine/stats_password"
    # Each field says what it is, in Spanish, on the line above it.
    lines = text.splitlines()
    for key, words in (("vip:", "IP virtual"), ("  router_id:", "virtual_router_id"),
                       ("    interface: ens18", "Interfaz de los balanceadores en la LAN"),
                       ("    priority: 110", "Prioridad VRRP"), ("      path: /healthz", "Ruta que HAProxy pide")):
        at = next(i for i, line in enumerate(lines) if line.startswith(key))
        comments = []
        for line in reversed(lines[:at]):
            if not line.lstrip().startswith("#"):
                break
            comments.insert(0, line)
        assert words in " ".join(c.lstrip("# ") for c in comments), (key, comments)


def test_the_file_passes_its_own_json_schema_as_an_editor_checks_it(data):
    new(**FLAGS)
    schema = json.loads((data / ".schema" / "site.json").read_text())
    assert (data / ".schema" / "site.json").read_text() == schema_text()
    document = yaml.safe_load((data / "mine.yaml").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    assert [e.message for e in validator.iter_errors(document)] == []


def test_an_answers_file_writes_the_same_file_and_flags_win_over_it(data, tmp_path):
    new("alfa", **FLAGS)
    by_flags = (data / "alfa.yaml").read_text().replace("alfa", "SITE").replace("ALFA", "SITE")
    answers = tmp_path / "respuestas.yaml"
    answers.write_text(ANSWERS_FILE)
    new("beta", answers=str(answers))
    assert (data / "beta.yaml").read_text().replace("beta", "SITE").replace("BETA", "SITE") == by_flags
    new("tercero", answers=str(answers), vip="10.20.0.200", title="Con bandera")
    site = load_site("tercero")
    assert str(site.vip) == "10.20.0.200" and site.title == "Con bandera"
    assert [n.name for n in site.nodes] == ["lb1", "lb2"]  # the rest still from the file


def test_a_file_that_exists_is_kept_unless_force(data):
    new(**FLAGS)
    before = listing(data)
    message = refused(**{**FLAGS, "vip": "10.20.0.101"})
    assert message == "error: ya existe data/mine.yaml: no se toca (usa --force para reemplazarlo)"
    assert listing(data) == before
    new(**{**FLAGS, "vip": "10.20.0.101"}, force=True)
    assert str(load_site("mine").vip) == "10.20.0.101"


# ------------------------------------------------------------ bad answers

MODEL_ERRORS = [
    # (flags changed, the key whose line is named, the message after "campo '...': ")
    ({"vip": "10.21.0.100"}, "vip:", "campo 'vip': la IP virtual 10.21.0.100 no está en la subred LAN 10.20.0.0/24"),
    ({"vip": "banana"}, "vip:", "campo 'vip': no es una dirección IPv4 válida (valor: 'banana')"),
    ({"vip": None}, None, "campo 'vip': falta este campo obligatorio"),
    ({"lan_interface": "eth 1"}, "interface: ",
     "campo 'network.lan.interface': nombre de interfaz no válido 'eth 1'"),
    ({"management_interface": "ens18"}, ("interface: ens18", "  management:"),
     "campo 'network.management.interface': la red LAN y la de gestión deben usar interfaces distintas"),
    ({"lan_subnet": "10.20.0.1/24"}, "subnet: 10.20.0.1",
     "campo 'network.lan.subnet': 10.20.0.1/24 tiene bits de dirección de equipo: la red es 10.20.0.0/24"),
    ({"router_id": "abc"}, "router_id:", "campo 'vrrp.router_id': debe ser un número entero"),
    ({"router_id": "300"}, "router_id:", "campo 'vrrp.router_id': debe ser menor o igual que 255"),
    ({"node": ["name=lb1,lan=10.20.0.11,management=10.30.0.11,priority=300",
               "name=lb2,lan=10.20.0.12,management=10.30.0.12"]}, "priority: 300",
     "campo 'nodes[0].priority': debe ser menor o igual que 254"),
    ({"node": ["name=lb1,lan=10.20.0.11,management=10.30.0.11"]}, "nodes:",
     "campo 'nodes': necesita al menos 2 elemento(s)"),
    ({"node": ["name=Lb1,lan=10.20.0.11,management=10.30.0.11", "name=lb2,lan=10.20.0.12,management=10.30.0.12"]},
     "name: Lb1", "campo 'nodes[0].name': nombre no válido 'Lb1'"),
    ({"service": ["name=web,port=80,mode=udp"]}, "mode: udp", "campo 'services[0].mode': valor no admitido"),
    ({"service": ["name=web,port=8404"]}, "port: 8404", "campo 'stats.port': el puerto ya lo usa un servicio"),
    ({"service": ["name=web,port=80,check_path=/a b"]}, "path: ",
     "campo 'services[0].health_check.path': formato no válido (valor: /a b)"),
    ({"service": ["name=web,port=80,expect_status=2xx"]}, "expect_status:",
     "campo 'services[0].health_check.expect_status': códigos de estado no válidos '2xx'"),
    ({"service": ["name=db,port=5432,mode=tcp,check_path=/"]}, "health_check:",
     "campo 'services[0].health_check': un servicio tcp no admite comprobación HTTP"),
    ({"server": ["name=web1,lan=10.20.0.100"]}, "lan_address: 10.20.0.100",
     "campo 'servers[0].lan_address': coincide con la IP virtual o con la dirección de un balanceador"),
    ({"secret_env": "", "secret_file": ""}, "stats_password:",
     "campo 'secrets.stats_password': un secreto necesita 'env' o 'file'"),
    ({"secret_env": "mine-password"}, "env:", "campo 'secrets.stats_password.env'"),
    ({"ssh_port": "80"}, ("port: 80", "services:"),
     "campo 'services[0].port': el puerto 80 lo usa SSH en los nodos (ssh.port)"),
]


@pytest.mark.parametrize(("change", "key", "message"), MODEL_ERRORS, ids=[m[2].split(":")[0] + ":" + str(i)
                                                                        for i, m in enumerate(MODEL_ERRORS)])
def test_a_wrong_answer_gets_the_models_line_and_nothing_is_written(data, change, key, message):
    before = listing(data)
    options = {k: v for k, v in {**FLAGS, **change}.items() if v is not None}
    got = refused(**options)
    line = line_of(would_write("mine", **options), *(key if isinstance(key, tuple) else (key,)))
    assert got.startswith(f"error: data/mine.yaml, línea {line}: {message}"), got
    assert listing(data) == before  # not the site file, not the schema


ANSWER_ERRORS = [
    ({"node": ["lb1"]}, "error: --node 'lb1': cada dato va como clave=valor, separados por comas "
                        "(claves: name, lan, management, priority)"),
    ({"node": ["name=lb1,priorty=3"]}, "error: --node: clave desconocida 'priorty'; ¿quería decir 'priority'?"),
    ({"node": ["name=lb1,name=lb2"]}, "error: --node 'name=lb1,name=lb2': la clave 'name' aparece dos veces"),
    ({"service": ["name=web,port=80,servers=web1+web9"]},
     "error: el servicio 'web' nombra el servidor 'web9', que no está entre los servidores "
     "(servidores: web1, web2, web3)"),
    ({"from_nodes": "root@"}, "error: --from-nodes: 'root@' no es usuario@equipo ni un equipo "
                              "(p. ej. root@10.30.0.11,root@10.30.0.12)"),
    ({"from_nodes": "-oProxyCommand=x"}, "error: --from-nodes: '-oProxyCommand=x' no es usuario@equipo ni un "
                                         "equipo (p. ej. root@10.30.0.11,root@10.30.0.12)"),
    ({"from_nodes": "a,a"}, "error: --from-nodes nombra dos veces el mismo equipo"),
    ({"from_nodes": "a,b", "ssh_port": "veintidós"},
     "error: ssh_port: debe ser un número entero (valor: 'veintidós'); escríbelo sin comillas"),
]


@pytest.mark.parametrize(("change", "message"), ANSWER_ERRORS, ids=[m[1][7:40] for m in ANSWER_ERRORS])
def test_an_answer_with_no_place_in_a_site_file_is_one_line(data, change, message, fake_ssh):
    before = listing(data)
    assert refused(**{**FLAGS, **change}) == message
    assert listing(data) == before
    assert fake_ssh() == []  # nothing was dialled


@pytest.mark.parametrize(("name", "message"), [
    ("Mine", "error: nombre de sitio no válido 'Mine': usa minúsculas, cifras y guiones, empezando por una "
             "letra (máx. 32 caracteres)"),
    ("procedure", "error: nombre de sitio no válido 'procedure'"),
    ("../mine", "error: nombre de sitio no válido '../mine'"),
])
def test_a_bad_site_name_is_refused_before_anything(data, name, message):
    before = listing(data)
    assert refused(name, **FLAGS).startswith(message)
    assert listing(data) == before


def test_a_missing_data_folder_is_refused(data, monkeypatch, tmp_path):
    monkeypatch.setenv("RUNBOOK_DATA_DIR", str(tmp_path / "no-existe"))
    assert refused(**FLAGS) == "error: no existe la carpeta de datos no-existe"


@pytest.mark.parametrize(("content", "message"), [
    ("vipp: 10.20.0.100\n", "error: respuestas.yaml, línea 1: campo 'vipp': clave desconocida 'vipp'; "
                            "¿quería decir 'vip'?"),
    ("- vip\n", "error: respuestas.yaml, línea 1: campo '(raíz)': la raíz debe ser un mapa de claves"),
    ("vip: 1\nnodes: lb1\n", "error: respuestas.yaml, línea 2: campo 'nodes': nodes es una lista de mapas "
                             "(- name: ...)"),
    ("nodes:\n  - {name: lb1, addr: 1}\n", "error: respuestas.yaml, línea 2: campo 'nodes[0]': nodes[0]: "
                                           "clave desconocida 'addr'; las admitidas son: name, lan, management, "
                                           "priority"),
    ("vip: [unclosed\n", "error: respuestas.yaml, línea"),
    ("os: ubuntu2204\n", "error: data/mine.yaml, línea"),  # the model's: only debian12
])
def test_bad_answers_files_are_one_line(data, tmp_path, content, message):
    answers = tmp_path / "respuestas.yaml"
    answers.write_text(content)
    before = listing(data)
    with pytest.raises(Exit) as info:
        new_tasks.new(invoke.Context(), site="mine", batch=True, answers="respuestas.yaml",
                      **{k: v for k, v in FLAGS.items() if k not in ("vip",) or "vip" not in content})
    assert info.value.code == 2 and info.value.message.startswith(message), info.value.message
    assert listing(data) == before


def test_os_holds_only_what_the_procedure_supports(data, tmp_path):
    answers = tmp_path / "r.yaml"
    answers.write_text("os: ubuntu2204\n")
    with pytest.raises(Exit) as info:
        new_tasks.new(invoke.Context(), site="mine", batch=True, answers=str(answers), **FLAGS)
    assert ("campo 'os': valor no admitido; se espera uno de: 'debian12' o 'debian13' (valor: ubuntu2204)"
            in info.value.message)


def test_a_missing_answers_file_is_one_line(data):
    assert refused(answers="no-existe.yaml", **FLAGS) == \
        "error: no se puede leer el fichero de respuestas no-existe.yaml (No such file or directory)"


# ------------------------------------------------------------ the terminal


class Script:
    """A terminal whose answers are given in advance; it keeps what was said."""

    def __init__(self, answers: list[str]) -> None:
        self.answers, self.said, self.asked = list(answers), [], []

    def read(self, prompt: str) -> str:
        self.asked.append(prompt)
        if not self.answers:
            raise EOFError
        return self.answers.pop(0)

    def say(self, text: str) -> None:
        self.said.append(text)


# Title, LAN (interface, subnet, gateway, dns), management (interface, subnet), VIP, router id.
OPENING = ["Mis balanceadores", "ens18", "10.20.0.0/24", "10.20.0.1", "", "ens19", "10.30.0.0/24",
           "10.20.0.100", ""]
# Two balancers (count, then name, LAN, management, priority each), three servers, one service.
REST = ["", "", "10.20.0.11", "10.30.0.11", "", "", "10.20.0.12", "10.30.0.12", "",
        "3", "", "10.20.0.21", "", "10.20.0.22", "", "10.20.0.23",
        "", "", "", "", "8080", "", "/healthz", "200", "",
        "", "", "", "", "", ""]


def test_questions_take_defaults_and_write_a_valid_site(data):
    terminal = Script(OPENING + REST)
    answers = Questions("mine", {}, terminal=Terminal(terminal.read, terminal.say)).ask_all()
    assert terminal.answers == []
    text = site_text(ans.site_data("mine", answers), "# yaml-language-server: $schema=.schema/site.json")
    (data / "mine.yaml").write_text(text)
    site = load_site("mine")
    assert [n.name for n in site.nodes] == ["lb1", "lb2"] and str(site.network.lan.gateway) == "10.20.0.1"
    assert [(b.name, b.port) for b in site.services[0].backends] == [("web1", 8080), ("web2", 8080), ("web3", 8080)]
    assert "  Puerta de enlace de la LAN (opcional): " in terminal.asked
    assert "Título del sitio [Sitio mine]: " in terminal.asked


def test_each_wrong_answer_is_explained_and_asked_again(data):
    wrong = {  # the answer given first at this point of OPENING, and what the terminal says
        2: ("10.20.0.1/24", "    no vale: 10.20.0.1/24 tiene bits de dirección de equipo: la red es 10.20.0.0/24"),
        3: ("10.21.0.1", "    no vale: la puerta de enlace 10.21.0.1 no está en la subred 10.20.0.0/24"),
        5: ("ens18", "    no vale: la red LAN y la de gestión deben usar interfaces distintas"),
        6: ("10.20.0.0/25", "    no vale: la subred LAN y la de gestión se solapan"),
        7: ("10.20.0.300", "    no vale: no es una dirección IPv4 válida (valor: '10.20.0.300')"),
    }
    script = []
    for i, answer in enumerate(OPENING):
        if i in wrong:
            script.append(wrong[i][0])
        script.append(answer)
    script += ["", "", "10.20.0.100", "10.20.0.255", "10.20.0.11", "10.30.0.11", "", "lb1", "lb2",
               "10.20.0.11", "10.20.0.12", "10.30.0.11", "10.30.0.12", "110", "100", *REST[9:]]
    terminal = Script(script)
    answers = Questions("mine", {}, terminal=Terminal(terminal.read, terminal.say)).ask_all()
    assert terminal.answers == []
    for _answer, said in wrong.values():
        assert said in terminal.said
    assert "    no vale: 10.20.0.100 ya es la IP virtual" in terminal.said
    assert ("    no vale: 10.20.0.255 es la dirección de difusión (broadcast) de 10.20.0.0/24, no la de un "
            "equipo") in terminal.said
    assert "    no vale: lb1 ya es otro balanceador" in terminal.said
    assert "    no vale: 10.20.0.11 ya es la dirección de lb1" in terminal.said
    assert "    no vale: 10.30.0.11 ya es la dirección de gestión de lb1" in terminal.said
    assert "    no vale: 110 ya es la prioridad de lb1" in terminal.said
    (data / "mine.yaml").write_text(site_text(ans.site_data("mine", answers), "#"))
    assert [n.priority for n in load_site("mine").nodes] == [110, 100]


def test_only_what_flags_left_open_is_asked(data):
    given = ans.from_flags({k: v for k, v in FLAGS.items() if k in ans.SCALARS},
                           {"nodes": FLAGS["node"], "servers": FLAGS["server"], "services": FLAGS["service"]})
    terminal = Script([""] * 10)
    answers = Questions("mine", given, terminal=Terminal(terminal.read, terminal.say)).ask_all()
    assert [p.split(" [")[0].split(":")[0].strip() for p in terminal.asked] == [
        "Título del sitio", "Puerta de enlace de la LAN (opcional)", "Servidores DNS, separados por comas (opcional)",
        "virtual_router_id de VRRP (1-255, distinto de otros grupos de la LAN)", "Usuario", "Puerto",
        "Clave privada (opcional; p. ej. ~/.ssh/id_ed25519)", "Fichero ssh_config (opcional)",
        "Variable de entorno", "Fichero (fuera del repositorio, permisos 0600)"]
    assert terminal.answers == []
    assert answers["vip"] == "10.20.0.100"


def test_ctrl_d_writes_nothing(data):
    terminal = Script(["Mis balanceadores"])
    with pytest.raises(Exception) as info:
        Questions("mine", {}, terminal=Terminal(terminal.read, terminal.say)).ask_all()
    assert str(info.value) == "respuestas interrumpidas: no se ha escrito nada"
    assert listing(data) == {"procedure.yaml": (REPO / "site_data" / "procedure.yaml").read_bytes()}


def test_on_a_real_terminal_it_asks_in_spanish(data):
    """`./rb new` in a pseudo-terminal: the questions, a wrong answer, the file written."""
    answers = OPENING[:7] + ["10.21.0.100", "10.20.0.100", ""] + REST
    master, slave = pty.openpty()
    env = {**os.environ, "RUNBOOK_DATA_DIR": str(data)}
    proc = subprocess.Popen([str(REPO / "rb"), "new", "mine"], stdin=slave, stdout=slave, stderr=slave,
                            cwd=REPO, env=env)
    os.close(slave)
    os.write(master, ("\n".join(answers) + "\n").encode())
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the program ended
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=10) == 0, output.decode()
    text = output.decode()
    assert "Sitio nuevo «mine». Intro acepta lo que va entre corchetes" in text
    assert "no vale: 10.21.0.100 no está en la subred LAN 10.20.0.0/24" in text
    assert f"Escrito {data}/mine.yaml: 2 balanceadores, 3 servidores, 1 servicio." in text
    assert str(load_site("mine", data).vip) == "10.20.0.100"


# ------------------------------------------------------------ --from-nodes


def node_output(hostname: str, os_id: str, version: str, reached: str, addresses: dict[str, list[str]]) -> str:
    links = [{"ifname": "lo", "link_type": "loopback",
              "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"}]}]
    for ifname, addrs in addresses.items():
        links.append({"ifname": ifname, "link_type": "ether", "addr_info": [
            {"family": "inet", "local": a.split("/")[0], "prefixlen": int(a.split("/")[1]), "scope": "global"}
            for a in addrs] + [{"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]})
    return (f"{hostname}\n{MARK}\nPRETTY_NAME=\"x\"\nID={os_id}\nVERSION_ID=\"{version}\"\n{MARK}\n"
            f"10.30.0.5 50000 {reached} 22\n{MARK}\n{json.dumps(links)}\n")


NODES = {
    "10.30.0.11": node_output("lb1.example.org", "debian", "12", "10.30.0.11",
                              {"ens19": ["10.30.0.11/24"], "ens18": ["10.20.0.11/24", "10.20.0.100/32"]}),
    "10.30.0.12": node_output("lb2", "debian", "12", "10.30.0.12",
                              {"ens18": ["10.20.0.12/24"], "ens19": ["10.30.0.12/24"]}),
}


def test_proposals_name_the_nics_addresses_subnets_and_os():
    facts = [parse(host, "admin", text) for host, text in NODES.items()]
    proposed, notes = propose(facts)
    assert notes == []
    assert proposed == {
        "nodes": [{"name": "lb1", "lan": "10.20.0.11", "management": "10.30.0.11"},
                  {"name": "lb2", "lan": "10.20.0.12", "management": "10.30.0.12"}],
        "lan_interface": "ens18", "lan_subnet": "10.20.0.0/24",
        "management_interface": "ens19", "management_subnet": "10.30.0.0/24",
        "os": "debian12", "ssh_user": "admin",
    }


def test_nodes_that_disagree_get_a_note():
    other = node_output("LB_2", "ubuntu", "22.04", "10.30.0.12", {"eth0": ["10.30.0.12/24"], "eth1": ["10.20.1.12/24"]})
    facts = [parse("a", None, NODES["10.30.0.11"]), parse("b", None, other)]
    proposed, notes = propose(facts)
    assert proposed["nodes"][1] == {"lan": "10.20.1.12", "management": "10.30.0.12"}  # LB_2 cannot be a name
    assert proposed["os"] == "debian12"
    assert notes == [
        "los nodos no llaman igual a la interfaz de la red LAN (ens18, eth1): se propone ens18",
        "los nodos no están en la misma subred LAN: se propone 10.20.0.0/24",
        "los nodos no llaman igual a la interfaz de la red de gestión (ens19, eth0): se propone ens19",
        "los nodos no tienen el mismo sistema (debian12, ubuntu2204)",
    ]


def test_a_lan_interface_without_an_address_is_proposed_by_name():
    """A balancer not yet set up: its LAN interface has no address until the runbook's first step."""
    fresh = {host: node_output(name, "debian", "12", host, {"eth0": [f"{host}/24"], "eth1": []})
             for host, name in (("192.0.2.10", "hera"), ("192.0.2.11", "afrodita"))}
    proposed, notes = propose([parse(f"root@{h}", "root", text) for h, text in fresh.items()])
    assert proposed == {
        "nodes": [{"name": "hera", "management": "192.0.2.10"}, {"name": "afrodita", "management": "192.0.2.11"}],
        "lan_interface": "eth1", "management_interface": "eth0", "management_subnet": "192.0.2.0/24",
        "os": "debian12", "ssh_user": "root",
    }
    assert notes == [f"root@{h}: eth1 no tiene dirección IPv4: se propone como interfaz de la LAN; di tú su "
                     "subred y la dirección de cada nodo" for h in fresh]


def test_given_nodes_are_completed_item_by_item_by_what_the_nodes_said():
    proposed = {"nodes": [{"name": "hera", "management": "192.0.2.10"}, {"name": "afrodita", "management": "192.0.2.11"}],
                "lan_interface": "eth1"}
    given = ans.from_flags({"lan_interface": "ens18"}, {"nodes": ["lan=198.51.100.110", "lan=198.51.100.111,name=otra"]})
    assert ans.over_proposals(given, proposed) == {
        "lan_interface": "ens18",
        "nodes": [{"name": "hera", "management": "192.0.2.10", "lan": "198.51.100.110"},
                  {"name": "otra", "management": "192.0.2.11", "lan": "198.51.100.111"}],
    }


class CannedNode(MuxConnection):
    """A node that answers the probe with canned text; nothing is dialled."""

    def open(self):
        return self

    def run(self, command, **_):
        from invoke.runners import Result

        assert command == COMMAND
        return Result(stdout=NODES[self.target.host], stderr="", command=command, exited=0)


def test_from_nodes_proposes_what_flags_do_not_say(data, monkeypatch, capsys):
    monkeypatch.setattr(probe_module, "MuxConnection", CannedNode)
    new(from_nodes="admin@10.30.0.11,admin@10.30.0.12", vip="10.20.0.100", server=FLAGS["server"],
        service=FLAGS["service"])
    out = capsys.readouterr().out
    assert out.startswith(
        "Leído de los nodos (solo lectura):\n"
        "  admin@10.30.0.11: lb1.example.org, debian12; ens19 10.30.0.11/24, ens18 10.20.0.11/24, "
        "ens18 10.20.0.100/32\n"
        "  admin@10.30.0.12: lb2, debian12; ens18 10.20.0.12/24, ens19 10.30.0.12/24\n")
    site = load_site("mine")
    assert [(n.name, str(n.lan_address), str(n.management_address)) for n in site.nodes] == [
        ("lb1", "10.20.0.11", "10.30.0.11"), ("lb2", "10.20.0.12", "10.30.0.12")]
    assert site.network.lan.interface == "ens18" and str(site.network.management.subnet) == "10.30.0.0/24"
    assert site.ssh.user == "admin" and site.os == "debian12"


def test_from_nodes_asks_ssh_strictly_and_only_reads(data, fake_ssh, monkeypatch):
    """Through the stand-in ssh (it runs the command here): strict options, the read-only command."""
    monkeypatch.setenv("SSH_CONNECTION", "10.30.0.5 50000 10.30.0.11 22")
    facts = probe_module.probe("admin", "10.30.0.11", "root", 2222, None, None)
    assert facts.hostname and facts.reached_at == "10.30.0.11"
    calls = fake_ssh()
    command_call = [c for c in calls if c["stdin"]][0]
    assert command_call["stdin"] == COMMAND
    for option in ("BatchMode=yes", "StrictHostKeyChecking=yes", "UpdateHostKeys=no"):
        assert option in command_call["argv"]
    assert command_call["argv"][command_call["argv"].index("-l") + 1] == "admin"
    assert command_call["argv"][command_call["argv"].index("-p") + 1] == "2222"
    for word in ("rm ", ">", "tee", "sed -i", "mkdir", "systemctl"):
        assert word not in COMMAND


def test_an_unreachable_node_is_one_line_and_nothing_is_written(data, fake_ssh, monkeypatch, tmp_path):
    stderr = tmp_path / "stderr"
    stderr.write_text("Host key verification failed.\r\n")
    monkeypatch.setenv("FAKE_SSH_MODE", "changed-key")
    monkeypatch.setenv("FAKE_SSH_STDERR", str(stderr))
    before = listing(data)
    assert refused(from_nodes="root@10.30.0.11,root@10.30.0.12", **FLAGS) == (
        "error: 10.30.0.11: 10.30.0.11 no está en known_hosts; no se acepta una clave desconocida")
    assert listing(data) == before


# ------------------------------------------------------------ end to end


def test_rb_new_then_plan_from_a_fresh_data_folder(data):
    args = ["new", "mine"]
    for key, value in FLAGS.items():
        for item in value if isinstance(value, list) else [value]:
            args += [f"--{key.replace('_', '-')}", item]
    result = run_cli(args, data)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"Escrito {data}/mine.yaml: 2 balanceadores, 3 servidores, 1 servicio.\n")
    plan = run_cli(["plan", "--site", "mine", "--json"], data)
    assert plan.code == 0, plan.stderr
    bad = run_cli([*args[:2], "--force", *[a if a != "10.20.0.100" else "10.21.0.100" for a in args[2:]]], data)
    assert bad.code == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: ") and "campo 'vip'" in bad.stderr and len(bad.stderr.splitlines()) == 1
