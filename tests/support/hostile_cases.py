"""A corpus of hostile site data, by class: each case is one broken (or valid) data directory.

A case starts from the shipped `site_data/` and replaces one file (lab.yaml,
olimpo.yaml or procedure.yaml) with a hostile version: bytes that are not
clean UTF-8 YAML, values of the wrong type, sites that cannot work, Jinja
that fails at render time. `materialize(case, directory)` writes the whole
data directory, so the real CLI can be pointed at it with RUNBOOK_DATA_DIR.

Each case says what a user must see: exit code 2 and the field the one
Spanish line must name (or exit 0 for inputs that are valid).
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "site_data"


@dataclass(frozen=True)
class Case:
    id: str
    klass: str  # "fichero", "tipos", "sitio", "plantilla", "erratas", "valido"
    target: str  # the file replaced: lab.yaml, olimpo.yaml or procedure.yaml
    make: Callable[[bytes], bytes] | None  # shipped bytes -> hostile bytes
    field: str | None = None  # the field the message must name (None: not checked)
    phrase: str = ""  # a Spanish phrase the message must contain
    code: int = 2
    place: Callable[[Path], None] | None = None  # puts something other than a file there

    @property
    def site(self) -> str:
        return "olimpo" if self.target == "olimpo.yaml" else "lab"


def materialize(case: Case, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for source in DATA.glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    target = directory / case.target
    if case.place is not None:
        target.unlink()
        case.place(target)
    else:
        target.write_bytes(case.make((DATA / case.target).read_bytes()))
    return target


def _fifo(path: Path) -> None:
    os.mkfifo(path)  # reading it would block for ever


def _symlink_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")  # reading it would never end


def _missing(path: Path) -> None:
    pass


# ------------------------------------------------------------------ edits


def sub(old: str, new: str) -> Callable[[bytes], bytes]:
    def make(raw: bytes) -> bytes:
        text = raw.decode("utf-8")
        assert old in text, f"{old!r} ya no está en los datos: actualizar el corpus"
        return text.replace(old, new, 1).encode("utf-8")

    return make


def sub_bytes(old: str, new: bytes) -> Callable[[bytes], bytes]:
    def make(raw: bytes) -> bytes:
        assert old.encode() in raw, old
        return raw.replace(old.encode(), new, 1)

    return make


def data(mutate: Callable[[dict], None]) -> Callable[[bytes], bytes]:
    """Mutate the parsed data and write it back as block YAML."""

    def make(raw: bytes) -> bytes:
        value = copy.deepcopy(yaml.safe_load(raw))
        mutate(value)
        return yaml.safe_dump(value, allow_unicode=True, sort_keys=False).encode("utf-8")

    return make


def whole(content: bytes | str) -> Callable[[bytes], bytes]:
    return lambda raw: content.encode("utf-8") if isinstance(content, str) else content


def encoded(codec: str, bom: bytes = b"") -> Callable[[bytes], bytes]:
    return lambda raw: bom + raw.decode("utf-8").encode(codec)


def setter(path: str, value) -> Callable[[dict], None]:
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]

    def mutate(d: dict) -> None:
        target = d
        for part in parts[:-1]:
            target = target[part]
        target[parts[-1]] = value

    return mutate


def set_(path: str, value) -> Callable[[bytes], bytes]:
    return data(setter(path, value))


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def deep_block(depth: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}x: 1\n"


PROC_RUN = "- run: ifdown --force {{ lan.interface | q }}; ifup {{ lan.interface | q }}"
HAPROXY_FILE = "- file: /etc/haproxy/haproxy.cfg"

# ------------------------------------------------------------------ the corpus

FILES = [
    Case("latin1-title", "fichero", "lab.yaml", sub_bytes("title: Laboratorio local", "title: Laboratorio ñoño".encode("latin-1")), "title", "no es UTF-8"),
    Case("latin1-procedure", "fichero", "procedure.yaml", sub_bytes("title: Interfaz de red en modo puente", "title: Interfaz de red en modo puente (versión)".encode("latin-1")), "steps[0].title", "Latin-1"),
    Case("cp1252-quotes", "fichero", "olimpo.yaml", sub_bytes("title: Olimpo (sitio publicado)", b"title: \x93Olimpo\x94"), "title", "UTF-8"),
    Case("utf16-le-bom", "fichero", "lab.yaml", encoded("utf-16-le", b"\xff\xfe"), "(raíz)", "UTF-16"),
    Case("utf16-be-bom", "fichero", "lab.yaml", encoded("utf-16-be", b"\xfe\xff"), "(raíz)", "UTF-16"),
    Case("utf16-le-no-bom", "fichero", "lab.yaml", encoded("utf-16-le"), None, "NUL"),
    Case("utf16-be-no-bom", "fichero", "procedure.yaml", encoded("utf-16-be"), None, "NUL"),
    Case("utf32-bom", "fichero", "lab.yaml", encoded("utf-32-le", b"\xff\xfe\x00\x00"), "(raíz)", "UTF-32"),
    Case("nul-in-value", "fichero", "lab.yaml", sub_bytes("user: admin", b"user: ad\x00min"), "stats.user", "NUL"),
    Case("bell-in-value", "fichero", "lab.yaml", sub_bytes("title: Laboratorio local", b"title: Labo\x07ratorio"), "title", "U+0007"),
    Case("escape-in-quoted-title", "fichero", "lab.yaml", sub('title: Laboratorio local', 'title: "\\e[31mrojo\\e[0m"'), "title", "U+001B"),
    Case("nul-escape-in-command", "fichero", "procedure.yaml", sub(PROC_RUN, '- run: "ifup eth1\\0; reboot"'), "steps[0].actions[1].run", "U+0000"),
    Case("bidi-override", "fichero", "procedure.yaml", sub(PROC_RUN, "- run: ifup eth1 \u202e# hsab"), "steps[0].actions[1].run", "U+202E"),
    Case("c1-control", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: Labo\u0085ratorio"), "title", "U+0085"),
    Case("tag-python-object", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: !!python/object/apply:os.system ['touch /tmp/pwned']"), "title", "etiqueta"),
    Case("tag-python-name", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: !!python/name:os.system ''"), "title", "etiqueta"),
    Case("tag-local", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: !foo Laboratorio"), "title", "etiqueta"),
    Case("tag-int-on-text", "fichero", "lab.yaml", sub("priority: 110", 'priority: !!int "110"'), "nodes[0].priority", "etiqueta"),
    Case("tag-binary", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: !!binary aGVsbG8="), "title", "etiqueta"),
    Case("tag-set", "fichero", "lab.yaml", sub("dns: [198.51.100.1]", "dns: !!set {198.51.100.1}"), "network.lan.dns", "etiqueta"),
    Case("tag-timestamp", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: !!timestamp 2024-01-01"), "title", "etiqueta"),
    Case("tag-float", "fichero", "lab.yaml", sub("router_id: 50", "router_id: !!float 50"), "vrrp.router_id", "etiqueta"),
    Case("tag-map", "fichero", "lab.yaml", sub("vrrp:\n", "vrrp: !!map\n"), "vrrp", "etiqueta"),
    Case("tag-directive", "fichero", "lab.yaml", lambda raw: b"%TAG !e! tag:example.com,2000:\n---\n" + raw.replace(b"title: Laboratorio local", b"title: !e!x Laboratorio"), "title", "etiqueta"),
    Case("key-sequence", "fichero", "lab.yaml", sub("vrrp:\n", "? [a, b]\n: 1\nvrrp:\n"), None, "clave"),
    Case("key-mapping", "fichero", "lab.yaml", sub("vrrp:\n", "? {a: 1}\n: 1\nvrrp:\n"), None, "clave"),
    Case("key-null", "fichero", "lab.yaml", sub("vrrp:\n", "~: 1\nvrrp:\n"), None, "clave no válida"),
    Case("key-bool", "fichero", "lab.yaml", sub("  router_id: 50", "  yes: 1\n  router_id: 50"), "vrrp", "clave no válida"),
    Case("key-number", "fichero", "lab.yaml", sub("  router_id: 50", "  1: 1\n  router_id: 50"), "vrrp", "clave no válida"),
    Case("key-empty", "fichero", "lab.yaml", sub("  router_id: 50", '  "": 1\n  router_id: 50'), "vrrp", "clave no válida"),
    Case("anchor-alias", "fichero", "lab.yaml", sub("dns: [198.51.100.1]", "dns: &d [198.51.100.1]\n    x: *d"), "network.lan.dns", "ancla"),
    Case("alias-only", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: *nada"), "title", "alias"),
    Case("recursive-alias", "fichero", "lab.yaml", whole("a: &a [*a]\n"), "a", "ancla"),
    Case("billion-laughs", "fichero", "lab.yaml", whole(billion_laughs()), "a", "ancla"),
    Case("merge-key", "fichero", "lab.yaml", sub("vrrp:\n", "vrrp:\n  <<: {advert_int: 1}\n"), "vrrp", "fusión"),
    Case("deep-flow", "fichero", "lab.yaml", whole("a: " + "[" * 20000 + "]" * 20000 + "\n"), None, "anidamiento"),
    Case("deep-block", "fichero", "procedure.yaml", whole(deep_block(200)), None, "anidamiento"),
    Case("deep-flow-maps", "fichero", "lab.yaml", whole("a: " + "{b: " * 5000 + "1" + "}" * 5000 + "\n"), None, "anidamiento"),
    Case("too-big-comment", "fichero", "lab.yaml", lambda raw: raw + b"#" + b"x" * (300 * 1024) + b"\n", "(raíz)", "KiB"),
    Case("too-big-value", "fichero", "procedure.yaml", lambda raw: raw.replace(b"steps:", b"x: '" + b"y" * (400 * 1024) + b"'\nsteps:", 1), "(raíz)", "KiB"),
    Case("empty", "fichero", "lab.yaml", whole(b""), "(raíz)", "vacío"),
    Case("whitespace-only", "fichero", "procedure.yaml", whole(" \n\t\n  \n"), None, ""),
    Case("comments-only", "fichero", "lab.yaml", whole("# nada\n# más\n"), "(raíz)", "vacío"),
    Case("document-marker-only", "fichero", "lab.yaml", whole("---\n"), "(raíz)", "vacío"),
    Case("top-list", "fichero", "lab.yaml", whole("- name: lab\n- title: x\n"), "(raíz)", "no una lista"),
    Case("top-scalar", "fichero", "procedure.yaml", whole("solo un texto\n"), "(raíz)", "valor suelto"),
    Case("top-null", "fichero", "lab.yaml", whole("~\n"), "(raíz)", "vacío"),
    Case("two-documents", "fichero", "lab.yaml", lambda raw: raw + b"---\nname: otro\n", "(raíz)", "más de un documento"),
    Case("tab-indent", "fichero", "lab.yaml", sub("  router_id: 50", "\trouter_id: 50"), None, "tabulador"),
    Case("unclosed-bracket", "fichero", "lab.yaml", sub("dns: [198.51.100.1]", "dns: [198.51.100.1"), None, "YAML no válido"),
    Case("unclosed-quote", "fichero", "procedure.yaml", sub(PROC_RUN, "- run: 'ifup eth1"), None, "YAML no válido"),
    Case("bad-indent", "fichero", "lab.yaml", sub("  advert_int: 1", "   advert_int: 1"), None, "YAML no válido"),
    Case("duplicate-key", "fichero", "lab.yaml", sub("vip: 198.51.100.150", "vip: 198.51.100.150\nvip: 198.51.100.151"), "vip", "repetida"),
    Case("octal-priority", "fichero", "lab.yaml", sub("priority: 110", "priority: 0110"), "nodes[0].priority", "ambiguo"),
    Case("sexagesimal-port", "fichero", "lab.yaml", sub("port: 8404", "port: 84:04"), "stats.port", "ambiguo"),
    Case("hex-router-id", "fichero", "lab.yaml", sub("router_id: 50", "router_id: 0x32"), "vrrp.router_id", "ambiguo"),
    Case("huge-int", "fichero", "lab.yaml", sub("router_id: 50", "router_id: " + "9" * 5000), "vrrp.router_id", "demasiado grande"),
    Case("bad-date", "fichero", "lab.yaml", sub("title: Laboratorio local", "title: 2024-13-45"), "title", "fecha"),
    Case("fifo", "fichero", "lab.yaml", None, "(raíz)", "no es un fichero normal", place=_fifo),
    Case("dev-zero", "fichero", "procedure.yaml", None, "(raíz)", "no es un fichero normal", place=_symlink_to_dev_zero),
    Case("directory", "fichero", "procedure.yaml", None, "(raíz)", "no es un fichero normal", place=Path.mkdir),
    Case("missing-procedure", "fichero", "procedure.yaml", None, "(raíz)", "no existe", place=_missing),
]

TYPES = [
    Case("priority-yes", "tipos", "lab.yaml", sub("priority: 110", "priority: yes"), "nodes[0].priority", "booleano"),
    Case("priority-true", "tipos", "lab.yaml", sub("priority: 110", "priority: true"), "nodes[0].priority", "entero"),
    Case("priority-quoted", "tipos", "lab.yaml", sub("priority: 110", 'priority: "110"'), "nodes[0].priority", "sin comillas"),
    Case("priority-float", "tipos", "lab.yaml", sub("priority: 110", "priority: 110.0"), "nodes[0].priority", "entero"),
    Case("priority-fraction", "tipos", "lab.yaml", sub("priority: 110", "priority: 1.5"), "nodes[0].priority", "entero"),
    Case("vip-int", "tipos", "lab.yaml", sub("vip: 198.51.100.150", "vip: 3325256854"), "vip", "como texto"),
    Case("vip-list", "tipos", "lab.yaml", sub("vip: 198.51.100.150", "vip: [198.51.100.150]"), "vip", "como texto"),
    Case("vip-null", "tipos", "lab.yaml", sub("vip: 198.51.100.150", "vip:"), "vip", "IPv4"),
    Case("subnet-int", "tipos", "lab.yaml", sub("subnet: 198.51.100.0/24", "subnet: 3325256704"), "network.lan.subnet", "como texto"),
    Case("port-quoted", "tipos", "lab.yaml", sub("port: 8404", 'port: "8404"'), "stats.port", "entero"),
    Case("port-null", "tipos", "lab.yaml", sub("port: 8404", "port: null"), "stats.port", "entero"),
    Case("router-id-float", "tipos", "lab.yaml", sub("router_id: 50", "router_id: 50.0"), "vrrp.router_id", "entero"),
    Case("advert-int-bool", "tipos", "lab.yaml", sub("advert_int: 1", "advert_int: on"), "vrrp.advert_int", "booleano"),
    Case("name-int", "tipos", "lab.yaml", sub("  - name: hera", "  - name: 123"), "nodes[0].name", "texto"),
    Case("title-date", "tipos", "lab.yaml", sub("title: Laboratorio local", "title: 2024-01-01"), "title", "fecha"),
    Case("title-bool", "tipos", "lab.yaml", sub("title: Laboratorio local", "title: no"), "title", "booleano"),
    Case("dns-scalar", "tipos", "lab.yaml", sub("dns: [198.51.100.1]", "dns: 198.51.100.1"), "network.lan.dns", "lista"),
    Case("nodes-mapping", "tipos", "lab.yaml", set_("nodes", {"hera": {}}), "nodes", "lista"),
    Case("client-addresses-scalar", "tipos", "lab.yaml", set_("lab.client.addresses", "198.51.100.200"), "lab.client.addresses", "lista"),
    Case("backend-port-float", "tipos", "lab.yaml", set_("services.0.backends.0.port", 80.5), "services[0].backends[0].port", "entero"),
    Case("maxconn-bool", "tipos", "lab.yaml", set_("services.1.maxconn", True), "services[1].maxconn", "booleano"),
    Case("expect-status-words", "tipos", "lab.yaml", set_("services.0.health_check.expect_status", "2xx"), "services[0].health_check.expect_status", "códigos de estado no válidos"),
    Case("expect-status-bool", "tipos", "lab.yaml", set_("services.0.health_check.expect_status", True), "services[0].health_check.expect_status", "códigos de estado no válidos"),
    Case("exit-code-quoted", "tipos", "procedure.yaml", sub("exit_code: 1", 'exit_code: "1"'), "steps[1].checks[0].expect.exit_code", "entero"),
    Case("mode-unquoted", "tipos", "procedure.yaml", sub('mode: "0640"', "mode: 0640"), "steps[7].actions[0].mode", "ambiguo"),
    Case("mode-int", "tipos", "procedure.yaml", sub('mode: "0640"', "mode: 640"), "steps[7].actions[0].mode", "texto"),
    Case("run-list", "tipos", "procedure.yaml", sub(PROC_RUN, "- run: [ifup, eth1]"), "steps[0].actions[1].run", "texto"),
]

SITES = [
    Case("vip-network", "sitio", "lab.yaml", sub("vip: 198.51.100.150", "vip: 198.51.100.0"), "vip", "dirección de red"),
    Case("vip-broadcast", "sitio", "lab.yaml", sub("vip: 198.51.100.150", "vip: 198.51.100.255"), "vip", "difusión"),
    Case("node-network", "sitio", "lab.yaml", sub("lan_address: 198.51.100.110", "lan_address: 198.51.100.0"), "nodes[0].lan_address", "dirección de red"),
    Case("node-broadcast", "sitio", "olimpo.yaml", sub("lan_address: 192.168.1.111", "lan_address: 192.168.1.255"), "nodes[1].lan_address", "difusión"),
    Case("node-mgmt-broadcast", "sitio", "lab.yaml", sub("management_address: 192.0.2.11", "management_address: 192.0.2.255"), "nodes[1].management_address", "difusión"),
    Case("gateway-network", "sitio", "lab.yaml", sub("gateway: 198.51.100.1", "gateway: 198.51.100.0"), "network.lan.gateway", "dirección de red"),
    Case("gateway-broadcast", "sitio", "olimpo.yaml", sub("gateway: 192.168.1.1", "gateway: 192.168.1.255"), "network.lan.gateway", "difusión"),
    Case("backend-is-vip", "sitio", "lab.yaml", set_("services.0.backends.0.address", "198.51.100.150"), "services[0].backends[0].address", "IP virtual"),
    Case("backend-is-node", "sitio", "olimpo.yaml", set_("services.1.backends.1.address", "192.168.1.110"), "services[1].backends[1].address", "balanceador hera"),
    Case("backend-is-node-mgmt", "sitio", "lab.yaml", set_("services.0.backends.1.address", "192.0.2.11"), "services[0].backends[1].address", "balanceador afrodita"),
    Case("backend-duplicate", "sitio", "lab.yaml", data(lambda d: d["services"][0]["backends"].append(dict(d["services"][0]["backends"][0], name="otro"))), "services[0].backends[2].address", "ya es otro backend"),
    Case("interface-too-long", "sitio", "lab.yaml", sub("interface: eth1", "interface: enp0s31f6abcdefgh"), "network.lan.interface", "15 bytes"),
    Case("interface-multibyte", "sitio", "lab.yaml", sub("interface: eth1", "interface: eth0ñññññññ"), "network.lan.interface", "15 bytes"),
    Case("interface-space", "sitio", "lab.yaml", sub("interface: eth1", "interface: 'eth 1'"), "network.lan.interface", "interfaz"),
    Case("interface-slash", "sitio", "olimpo.yaml", sub("interface: eth0", "interface: eth0/1"), "network.management.interface", "interfaz"),
    Case("interface-colon", "sitio", "lab.yaml", sub("interface: eth1", "interface: 'eth1:0'"), "network.lan.interface", "interfaz"),
    Case("interface-dash", "sitio", "lab.yaml", sub("interface: eth1", "interface: -eth1"), "network.lan.interface", "interfaz"),
    Case("interface-dotdot", "sitio", "lab.yaml", sub("interface: eth1", "interface: '..'"), "network.lan.interface", "interfaz"),
    Case("subnet-host-bits", "sitio", "lab.yaml", sub("subnet: 198.51.100.0/24", "subnet: 198.51.100.5/24"), "network.lan.subnet", "bits"),
    Case("subnet-slash-32", "sitio", "lab.yaml", sub("subnet: 198.51.100.0/24", "subnet: 198.51.100.150/32"), "network.lan.subnet", "prefijo"),
    Case("subnet-slash-0", "sitio", "olimpo.yaml", sub("subnet: 192.168.100.0/24", "subnet: 0.0.0.0/0"), "network.management.subnet", "solapa"),
    Case("dns-multicast", "sitio", "olimpo.yaml", sub("dns: [8.8.8.8]", "dns: [224.0.0.18]"), "network.lan.dns[0]", "multidifusión"),
    Case("dns-too-many", "sitio", "olimpo.yaml", sub("dns: [8.8.8.8]", "dns: [8.8.8.8, 8.8.4.4, 1.1.1.1, 9.9.9.9]"), "network.lan.dns", "como mucho 3"),
    Case("stats-port-ssh", "sitio", "lab.yaml", sub("port: 8404", "port: 22"), "stats.port", "SSH"),
    Case("service-port-ssh", "sitio", "lab.yaml", set_("services.0.port", 22), "services[0].port", "SSH"),
    Case("client-is-vip", "sitio", "lab.yaml", set_("lab.client.addresses.0", "198.51.100.150"), "lab.client.addresses[0]", "IP virtual"),
    Case("mgmt-gateway-outside", "sitio", "lab.yaml", set_("lab.management_gateway", "198.51.100.1"), "lab.management_gateway", "fuera de la red de gestión"),
    Case("path-dotdot", "sitio", "procedure.yaml", sub(HAPROXY_FILE, "- file: /etc/haproxy/../shadow"), "steps[7].actions[0].file", "«..»"),
    Case("path-dotdot-rendered", "sitio", "procedure.yaml", sub(HAPROXY_FILE, "- file: /etc/{{ '..' }}/shadow"), "steps[7].actions[0].file", "«..»"),
    Case("path-dot", "sitio", "procedure.yaml", sub(HAPROXY_FILE, "- file: /etc/./haproxy.cfg"), "steps[7].actions[0].file", "«.»"),
    Case("path-double-slash", "sitio", "procedure.yaml", sub(HAPROXY_FILE, "- file: /etc//haproxy.cfg"), "steps[7].actions[0].file", "//"),
    Case("path-relative-rendered", "sitio", "procedure.yaml", sub(HAPROXY_FILE, "- file: /{{ '' }}etc/{{ 'x/../..' }}"), "steps[7].actions[0].file", "«..»"),
    Case("path-duplicate", "sitio", "procedure.yaml", sub(HAPROXY_FILE, "- file: /etc/keepalived/keepalived.conf"), "steps[7].actions[0].file", "ya lo gestiona"),
    Case("secret-world-readable", "sitio", "procedure.yaml", sub('mode: "0640"', 'mode: "0644"'), "steps[7].actions[0].mode", "secretos"),
    Case("secret-in-command", "sitio", "procedure.yaml", sub(PROC_RUN, "- run: echo {{ secret('stats_password') }}"), "steps[0].actions[1].run", "secreto"),
    Case("exit-code-256", "sitio", "procedure.yaml", sub("exit_code: 1", "exit_code: 256"), "steps[1].checks[0].expect.exit_code", "menor o igual que 255"),
    Case("empty-command", "sitio", "procedure.yaml", sub(PROC_RUN, "- run: '  '"), "steps[0].actions[1].run", "vacío"),
    Case("title-two-lines", "sitio", "procedure.yaml", sub("title: Interfaz de red en modo puente", 'title: "Interfaz\\nde red"'), "steps[0].title", "una sola línea"),
]

TEMPLATES = [
    Case("jinja-type-error", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ 1 + 'a' }}"), "steps[0].actions[1].run", "tipos incompatibles"),
    Case("jinja-zero-division", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ 1 / 0 }}"), "steps[0].actions[1].run", "división por cero"),
    Case("jinja-undefined", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ lan.interfaz }}"), "steps[0].actions[1].run", "variable no definida"),
    Case("jinja-syntax", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ lan.interface "), "steps[0].actions[1].run", "sintaxis"),
    Case("jinja-unknown-filter", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ lan.interface | nada }}"), "steps[0].actions[1].run", "filtro desconocido"),
    Case("jinja-sandbox", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ lan.__class__.__mro__ }}"), "steps[0].actions[1].run", "no permitida"),
    Case("jinja-int-error", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ [1][5] }}"), "steps[0].actions[1].run", "no tiene el elemento"),
    Case("jinja-value-error", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ '%d' % 'x' }}"), "steps[0].actions[1].run", "tipos incompatibles"),
    Case("jinja-huge-range", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ range(10**9) | list | length }}"), "steps[0].actions[1].run", "demasiado"),
    Case("jinja-string-bomb", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ 'x' * 10**9 }}"), "steps[0].actions[1].run", "demasiado grande"),
    Case("jinja-power-bomb", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ 7 ** 999999 }}"), "steps[0].actions[1].run", "demasiado grande"),
    Case("jinja-center-bomb", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {{ 'x' | center(10**9) }}"), "steps[0].actions[1].run", "demasiado grande"),
    Case("jinja-nested-loops", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"), "steps[0].actions[1].run", "tarda demasiado"),
    Case("jinja-output-bomb", "plantilla", "procedure.yaml", sub(PROC_RUN, "- run: ifup {% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"), "steps[0].actions[1].run", "KiB"),
    Case("jinja-in-explanation", "plantilla", "procedure.yaml", sub("la levantamos con `ifup`.", "la levantamos con {{ 1 // 0 }}."), "steps[0].explanation", "división por cero"),
    Case("jinja-in-check", "plantilla", "procedure.yaml", sub("command: ip -4 -o addr show dev {{ lan.interface | q }}", "command: ip {{ none.x }}"), "steps[0].checks[0].command", "variable no definida"),
    Case("jinja-in-admonition", "plantilla", "procedure.yaml", sub("configure la red (aunque tengan una IP estática)", "configure la red {{ 'a' - 1 }}"), "steps[1].admonitions[0].text", "tipos incompatibles"),
    Case("jinja-in-description", "plantilla", "procedure.yaml", sub('description: "`1`."', 'description: "{{ {}.x.y }}"'), "steps[3].checks[0].expect.description", "variable no definida"),
    Case("regex-rendered-invalid", "plantilla", "procedure.yaml", sub('stdout_regex: "^1$"', 'stdout_regex: "{{ \'(\' }}"'), "steps[3].checks[0].expect.stdout_regex", "expresión"),
    Case("template-missing", "plantilla", "procedure.yaml", sub("template: haproxy.cfg.j2", "template: no-existe.j2"), "steps[7].actions[0].template", "no existe la plantilla"),
]

TYPOS = [
    Case("typo-priorty", "erratas", "lab.yaml", sub("priority: 110", "priorty: 110"), "nodes[0].priorty", "¿quería decir 'priority'?"),
    Case("typo-vipp", "erratas", "lab.yaml", sub("vip: 198.51.100.150", "vipp: 198.51.100.150"), "vipp", "¿quería decir 'vip'?"),
    Case("typo-advert", "erratas", "olimpo.yaml", sub("advert_int: 1", "advert_intt: 1"), "vrrp.advert_intt", "¿quería decir 'advert_int'?"),
    Case("typo-balanse", "erratas", "lab.yaml", set_("services.0.balanse", "source"), "services[0].balanse", "¿quería decir 'balance'?"),
    Case("typo-gatway", "erratas", "lab.yaml", sub("gateway: 198.51.100.1", "gatway: 198.51.100.1"), "network.lan.gatway", "¿quería decir 'gateway'?"),
    Case("typo-run", "erratas", "procedure.yaml", sub(PROC_RUN, "- rn: ifup eth1"), "steps[0].actions[1].rn", "¿quería decir 'run'?"),
    Case("typo-validate", "erratas", "procedure.yaml", sub("validate: haproxy", "validat: haproxy"), "steps[7].actions[0].validat", "¿quería decir 'validate'?"),
    Case("typo-explanation", "erratas", "procedure.yaml", sub("    explanation: |\n      Cada balanceador", "    explanaton: |\n      Cada balanceador"), "steps[0].explanaton", "¿quería decir 'explanation'?"),
    Case("typo-unknown-far", "erratas", "lab.yaml", sub("vip: 198.51.100.150", "vip: 198.51.100.150\nzzzzzz: 1"), "zzzzzz", "los admitidos aquí son"),
]

VALID = [
    Case("crlf", "valido", "lab.yaml", lambda raw: raw.replace(b"\n", b"\r\n"), code=0),
    Case("utf8-bom", "valido", "procedure.yaml", lambda raw: b"\xef\xbb\xbf" + raw, code=0),
    Case("vlan-interface", "valido", "lab.yaml", sub("interface: eth1", "interface: eth1.100"), code=0),
    Case("predictable-interface", "valido", "olimpo.yaml", sub("interface: eth0", "interface: enp0s3"), code=0),
    Case("bond-interface", "valido", "lab.yaml", sub("interface: eth1", "interface: bond0"), code=0),
    Case("bridge-interface-15-bytes", "valido", "lab.yaml", sub("interface: eth1", "interface: br-lan-01234567"), code=0),
    Case("quoted-strings", "valido", "lab.yaml", sub("title: Laboratorio local", "title: 'Laboratorio local: «réplica» [a-z] [/]'"), code=0),
    Case("priority-254", "valido", "lab.yaml", sub("priority: 110", "priority: 254"), code=0),
]

CORPUS = FILES + TYPES + SITES + TEMPLATES + TYPOS + VALID


# ------------------------------------------------------------------ running the real CLI


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float  # wall clock
    cpu_seconds: float  # user + system: what the command itself costs, whatever else the machine runs
    max_rss_mb: float


def run_cli(args: list[str], data_dir: Path, env: dict | None = None, timeout: float = 60) -> CliRun:
    """`./rb ARGS` with RUNBOOK_DATA_DIR=data_dir; wall time and peak memory (wait4's ru_maxrss)."""
    full_env = {**os.environ, "RUNBOOK_DATA_DIR": str(data_dir), **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen([str(REPO / "rb"), *args], cwd=REPO, env=full_env, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # reaped here, so the usage is this run's alone
        finally:
            timer.cancel()
        seconds = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return CliRun(proc.returncode, out.read().decode("utf-8", "replace"),
                      err.read().decode("utf-8", "replace"), seconds, usage.ru_utime + usage.ru_stime,
                      usage.ru_maxrss / 1024)
