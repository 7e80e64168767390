"""The questions of `./rb new` on a terminal, in Spanish, each answer checked as it is given.

Only what the flags and the answers file left open is asked. Every question
offers a default between brackets (what --from-nodes read, else a usual
value): Enter takes it, «-» leaves an optional answer empty. A wrong answer
is explained with the model's own message and asked again; nothing is
written until the whole file has passed the loader (write.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from ..data import model as m
from ..data.fields import host_problem
from . import answers as ans
from .checks import field_problem, model_problem, number, outside, taken

NONE = "-"  # the answer that leaves an optional value empty
Check = Callable[[Any], "str | None"]


@dataclass
class Terminal:
    """Where questions go and answers come from (a test gives its own)."""

    read: Callable[[str], str] = input
    say: Callable[[str], None] = print


class InterruptedAnswersError(ans.AnswerError):
    """The answers ended (Ctrl-D) before the last question: nothing is written."""

    code = 1


@dataclass
class Questions:
    name: str
    answers: ans.Answers  # given by flags or a file: never asked again
    proposed: ans.Answers = field(default_factory=dict)  # what the nodes suggest: offered as defaults
    terminal: Terminal = field(default_factory=Terminal)

    def ask_all(self) -> ans.Answers:
        """The answers with every open one asked."""
        a = self.out = dict(self.answers)
        t = self.terminal
        t.say(f"Sitio nuevo «{self.name}». Intro acepta lo que va entre corchetes; «{NONE}» deja vacío "
              "lo opcional.")
        self._ask("title", "Título del sitio", f"Sitio {self.name}", _field(m.Site, "title"))
        t.say("La LAN: la red de los clientes, donde vivirá la IP virtual.")
        self._ask("lan_interface", "  Interfaz de la LAN en los balanceadores", "eth1",
                  _field(m.Lan, "interface"))
        self._ask("lan_subnet", "  Subred de la LAN (p. ej. 10.20.0.0/24)", None, _field(m.Lan, "subnet"))
        self._ask("gateway", "  Puerta de enlace de la LAN (opcional)", None, self._gateway, optional=True)
        self._ask("dns", "  Servidores DNS, separados por comas (opcional)", None, _field(m.Lan, "dns"),
                  optional=True, kind=ans.LIST)
        t.say("La red de gestión: por la que entra SSH en los balanceadores.")
        self._ask("management_interface", "  Interfaz de gestión", "eth0", self._management_interface)
        self._ask("management_subnet", "  Subred de gestión (p. ej. 10.30.0.0/24)", None,
                  self._management_subnet)
        self._ask("vip", "IP virtual (en la LAN)", None, self._vip)
        self._ask("router_id", "virtual_router_id de VRRP (1-255, distinto de otros grupos de la LAN)",
                  ans.DEFAULT_ROUTER_ID, _field(m.Vrrp, "router_id"), kind=ans.INT)
        self._nodes()
        self._servers()
        self._services()
        t.say("SSH: cómo entra ./rb en los balanceadores.")
        self._ask("ssh_user", "  Usuario", "root", _field(m.Ssh, "user"))
        self._ask("ssh_port", "  Puerto", ans.DEFAULT_PORTS["ssh_port"], _field(m.Ssh, "port"), kind=ans.INT)
        self._ask("ssh_identity", "  Clave privada (opcional; p. ej. ~/.ssh/id_ed25519)", None,
                  _field(m.Ssh, "identity"), optional=True)
        self._ask("ssh_config", "  Fichero ssh_config (opcional)", None, _field(m.Ssh, "config"),
                  optional=True)
        t.say("La contraseña de la página de estadísticas no se escribe aquí: di de dónde se leerá.")
        self._ask("secret_env", "  Variable de entorno", ans.secret_env(self.name),
                  _field(m.SecretSource, "env"), optional=True)
        self._ask("secret_file", "  Fichero (fuera del repositorio, permisos 0600)",
                  ans.secret_file(self.name), self._secret_file, optional=True)
        return a

    # ------------------------------------------------------------ groups

    def _nodes(self) -> None:
        if "nodes" in self.answers:
            return
        proposed = self.proposed.get("nodes", [])
        count = self._count("Balanceadores: ¿cuántos?", len(proposed) or 2, 2, 64)
        nodes: list[dict[str, Any]] = []
        self.out["nodes"] = nodes
        for i in range(count):
            p = proposed[i] if i < len(proposed) else {}
            node: dict[str, Any] = {}
            self.terminal.say(f"Balanceador {i + 1}:")
            node["name"] = self._value("  Nombre", p.get("name") or f"lb{i + 1}", _field(
                m.Node, "name", {n["name"]: "otro balanceador" for n in nodes}))
            node["lan"] = self._value("  Dirección en la LAN", p.get("lan"),
                                      partial(self._node_lan, nodes=nodes))
            node["management"] = self._value("  Dirección de gestión", p.get("management"),
                                             partial(self._node_management, nodes=nodes))
            node["priority"] = self._value(
                "  Prioridad VRRP (la mayor tiene la IP virtual)", ans.default_priority(i),
                _field(m.Node, "priority", {n["priority"]: "la prioridad de " + n["name"] for n in nodes}),
                kind=ans.INT)
            nodes.append(node)

    def _servers(self) -> None:
        if "servers" in self.answers:
            return
        count = self._count("Servidores detrás de la IP virtual: ¿cuántos?", 2, 1, 64)
        servers: list[dict[str, Any]] = []
        self.out["servers"] = servers
        for i in range(count):
            server: dict[str, Any] = {}
            self.terminal.say(f"Servidor {i + 1}:")
            server["name"] = self._value("  Nombre", f"web{i + 1}", _field(
                m.Server, "name", {s["name"]: "otro servidor" for s in servers}))
            server["lan"] = self._value("  Dirección en la LAN", None, self._server_lan)
            servers.append(server)

    def _services(self) -> None:
        if "services" in self.answers:
            return
        count = self._count("Servicios publicados en la IP virtual: ¿cuántos?", 1, 1, 64)
        services: list[dict[str, Any]] = []
        self.out["services"] = services
        for i in range(count):
            s: dict[str, Any] = {}
            self.terminal.say(f"Servicio {i + 1}:")
            s["name"] = self._value("  Nombre", "web" if i == 0 else f"servicio{i + 1}", _field(
                m.Service, "name", {x["name"]: "otro servicio" for x in services}))
            s["mode"] = self._value("  Modo (http o tcp)", "http", _field(m.Service, "mode"))
            used = {x["port"]: f"el puerto de {x['name']}" for x in services}
            used |= {self.out.get("ssh_port", 22): "el puerto de SSH",
                     self.out.get("stats_port", ans.DEFAULT_PORTS["stats_port"]): "el puerto de estadísticas"}
            s["port"] = self._value("  Puerto en la IP virtual", 80 if i == 0 else None,
                                    _field(m.Service, "port", used), kind=ans.INT)
            s["backend_port"] = self._value("  Puerto en los servidores", s["port"],
                                            _field(m.Backend, "port"), kind=ans.INT)
            s["balance"] = self._value("  Reparto (roundrobin, leastconn o source)", "roundrobin",
                                       _field(m.Service, "balance"))
            if s["mode"] == "http":
                s["check_path"] = self._value("  Ruta de la comprobación de salud", "/",
                                              _field(m.HealthCheck, "path"), optional=True)
                if s["check_path"]:
                    s["expect_status"] = self._value(
                        "  Códigos que cuentan como sano (p. ej. 200, 200-399, 200,302)", "200-399",
                        _field(m.HealthCheck, "expect_status"), kind=ans.STATUS)
            names = [x["name"] for x in self.out.get("servers", [])]
            if len(names) > 1:
                chosen = self._value(f"  Servidores del servicio, separados por comas ({', '.join(names)})",
                                     names, partial(_known_servers, names=names), kind=ans.LIST)
                if chosen != names:
                    s["servers"] = chosen
            services.append(s)

    # ------------------------------------------------- checks with context

    def _gateway(self, value: Any) -> str | None:
        lan = {"interface": self.out.get("lan_interface"), "subnet": self.out.get("lan_subnet"),
               "gateway": value}
        return field_problem(m.Lan, "gateway", value) or model_problem(m.Lan, lan)

    def _management_interface(self, value: Any) -> str | None:
        problem = field_problem(m.Management, "interface", value)
        if problem is None and value == self.out.get("lan_interface"):
            return "la red LAN y la de gestión deben usar interfaces distintas"
        return problem

    def _management_subnet(self, value: Any) -> str | None:
        return field_problem(m.Management, "subnet", value) or model_problem(m.Network, {
            "lan": {"interface": self.out.get("lan_interface"), "subnet": self.out.get("lan_subnet")},
            "management": {"interface": self.out.get("management_interface"), "subnet": value}})

    def _subnets(self) -> tuple[IPv4Network, ...]:
        """The subnets answered so far (a value a flag gave wrong is left for the loader to name)."""
        found = []
        for key in ("lan_subnet", "management_subnet"):
            try:
                found.append(IPv4Network(str(self.out.get(key))))
            except ValueError:
                continue
        return tuple(found)

    def _vip(self, value: Any) -> str | None:
        return (field_problem(m.Site, "vip", value)
                or outside(value, self.out.get("lan_subnet"), "la subred LAN")
                or host_problem(_ip(value), self._subnets()))

    def _node_lan(self, value: Any, *, nodes: list[dict[str, Any]]) -> str | None:
        used = {n["lan"]: f"la dirección de {n['name']}" for n in nodes}
        used[self.out.get("vip")] = "la IP virtual"
        return (field_problem(m.Node, "lan_address", value)
                or outside(value, self.out.get("lan_subnet"), "la subred LAN")
                or host_problem(_ip(value), self._subnets()) or taken(value, used))

    def _node_management(self, value: Any, *, nodes: list[dict[str, Any]]) -> str | None:
        used = {n["management"]: f"la dirección de gestión de {n['name']}" for n in nodes}
        return (field_problem(m.Node, "management_address", value)
                or outside(value, self.out.get("management_subnet"), "la red de gestión")
                or host_problem(_ip(value), self._subnets()) or taken(value, used))

    def _server_lan(self, value: Any) -> str | None:
        used = {n["lan"]: f"el balanceador {n['name']}" for n in self.out.get("nodes", [])}
        used |= {n["management"]: f"el balanceador {n['name']}" for n in self.out.get("nodes", [])}
        used[self.out.get("vip")] = "la IP virtual"
        return (field_problem(m.Server, "lan_address", value) or host_problem(_ip(value), self._subnets())
                or taken(value, used))

    def _secret_file(self, value: Any) -> str | None:
        return field_problem(m.SecretSource, "file", value) or model_problem(
            m.SecretSource, {"env": self.out.get("secret_env"), "file": value})

    # ------------------------------------------------------------ asking

    def _ask(self, key: str, prompt: str, default: Any, check: Check, optional: bool = False,
             kind: str = ans.TEXT) -> None:
        if key in self.answers:
            return
        value = self._value(prompt, self.proposed.get(key, default), check, optional, kind)
        self.out[key] = value if value is not None else ""  # "": answered empty, not a default

    def _count(self, prompt: str, default: int, low: int, high: int) -> int:
        def check(value: Any) -> str | None:
            if not isinstance(value, int) or not low <= value <= high:
                return f"escribe un número entre {low} y {high}"
            return None

        return self._value(prompt, default, check, kind=ans.INT)

    def _value(self, prompt: str, default: Any, check: Check, optional: bool = False,
               kind: str = ans.TEXT) -> Any:
        shown_default = _shown(default)
        question = f"{prompt} [{shown_default}]: " if shown_default else f"{prompt}: "
        while True:
            try:
                text = self.terminal.read(question).strip()
            except EOFError:
                raise InterruptedAnswersError("respuestas interrumpidas: no se ha escrito nada") from None
            if text == "" and default is not None and shown_default:
                value = default
            elif text == NONE and optional:
                return None
            elif text == "":
                if optional:
                    return None
                self.terminal.say("    falta la respuesta")
                continue
            else:
                value = _typed(kind, text)
            problem = check(value)
            if problem is None:
                return value
            self.terminal.say(f"    no vale: {problem.removesuffix('; escríbelo sin comillas')}")


def _field(model: type, name: str, used: dict[Any, str] | None = None) -> Check:
    """The check of one field: its model's rules, and not a value already `used` (value -> by what)."""
    return lambda value: field_problem(model, name, value) or taken(value, used or {})


def _known_servers(value: list[str], names: list[str]) -> str | None:
    if not value:
        return "nombra al menos un servidor"
    unknown = [v for v in value if v not in names]
    return f"{unknown[0]} no es uno de los servidores ({', '.join(names)})" if unknown else None


def _typed(kind: str, text: str) -> Any:
    if kind in (ans.INT, ans.STATUS):  # a status may also be a range or a list: then it stays text
        return number(text)
    if kind == ans.LIST:
        return [v.strip() for v in text.replace(";", ",").split(",") if v.strip()]
    return text


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _ip(value: Any) -> IPv4Address:
    return IPv4Address(str(value))
