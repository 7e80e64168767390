"""The reference of the data cannot drift: every field of every model a site file holds is described,
listed on the page «Referencia de los datos» and present in the JSON Schema editors use.

The field paths are found here from the models themselves (pydantic's
model_fields, walked through lists and maps), not from the schema or the
page, so a field added to a model and forgotten anywhere fails these tests.
"""

from __future__ import annotations

import json
import typing

import jsonschema
import pytest
import yaml
from bs4 import BeautifulSoup
from pydantic import BaseModel
from support.hostile_cases import REPO, run_cli

from runbook.data.model import Site
from runbook.data.schema import schema_text, site_schema
from runbook.scaffold.checks import field_problem
from runbook.site.reference import MAP_KEY


def _models_in(annotation) -> list[tuple[str, type[BaseModel]]]:
    """("", Model) for a model field, ("[]", Model) for a list of them, (".NOMBRE", Model) for a map."""
    out = []
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    if origin is list and args:
        out += [("[]" + suffix, m) for suffix, m in _models_in(args[0])]
    elif origin is dict and len(args) == 2:
        out += [(f".{MAP_KEY}" + suffix, m) for suffix, m in _models_in(args[1])]
    else:
        for arg in args:
            out += _models_in(arg)
    return out


def model_fields(model: type[BaseModel] = Site, prefix: str = "") -> list[tuple[str, type[BaseModel], str]]:
    """(path, model, field name) of every field a site file may hold."""
    found = []
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        found.append((path, model, name))
        for suffix, inner in _models_in(info.annotation):
            found += model_fields(inner, path + suffix)
    return found


FIELDS = model_fields()


def test_the_walk_finds_every_kind_of_field():
    paths = {p for p, _m, _n in FIELDS}
    assert {"vip", "network.lan.dns", "nodes[].priority", "secrets.NOMBRE.env",
            "services[].health_check.expect_status", "services[].backends[].port", "lab.client.addresses",
            "servers[].lan_address"} <= paths
    assert len(paths) == len(FIELDS) >= 60


@pytest.mark.parametrize(("path", "model", "name"), FIELDS, ids=[p for p, _m, _n in FIELDS])
def test_every_field_has_a_spanish_description_and_a_valid_example(path, model, name):
    info = model.model_fields[name]
    assert info.description and len(info.description) > 20, path
    assert info.examples, path
    if not _models_in(info.annotation):  # a mapping's example may leave out what has a default
        for example in info.examples:
            assert field_problem(model, name, example) is None, (path, example)


def _schema_property(schema: dict, path: str) -> dict:
    node = schema
    for part in path.split("."):
        node = _resolve(schema, node)
        if part == MAP_KEY:
            node = next(iter(node["patternProperties"].values()))
            continue
        name, _, rest = part.partition("[]")
        node = _resolve(schema, node)["properties"][name]
        if part.endswith("[]"):
            node = _resolve(schema, node)["items"]
    return node


def _resolve(schema: dict, node: dict) -> dict:
    options = [o for o in node.get("anyOf", [node]) if o.get("type") != "null"]
    node = options[0] if len(options) == 1 else node
    if "$ref" in node:
        target = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return target
    return node


def test_every_field_is_in_the_json_schema_with_its_description():
    schema = site_schema()
    for path, model, name in FIELDS:
        prop = _schema_property(schema, path)
        assert prop.get("description") == model.model_fields[name].description, path
        assert prop.get("examples"), path


def test_every_field_is_on_the_reference_page(built_site):
    soup = BeautifulSoup(built_site.html("referencia.html"), "html.parser")
    entries = {}
    for dt in soup.select("article dl dt"):
        dd = dt.find_next_sibling("dd")
        description, facts = [p.get_text("", strip=False) for p in dd.find_all("p")]
        entries[dt.get_text(strip=True)] = (" ".join(description.split()), " ".join(facts.split()))
    for path, model, name in FIELDS:
        assert path in entries, path
        description, facts = entries[path]
        assert description == model.model_fields[name].description, path
        assert facts.startswith("Tipo: ") and " · Por defecto: " in facts and " · Reglas: " in facts, path
        assert " · Ejemplo: " in facts, path
    assert entries["nodes[].priority"][1] == \
        "Tipo: número entero · Por defecto: obligatorio · Reglas: de 1 a 254 · Ejemplo: priority: 110"
    assert "Reglas: uno de: roundrobin, leastconn, source" in entries["services[].balance"][1]
    assert "Por defecto: roundrobin" in entries["services[].balance"][1]
    assert "Reglas: uno de: debian12, debian13" in entries["os"][1]
    assert entries["network.lan.interface"][1].endswith("Ejemplo: interface: ens18")
    assert "Tipo: lista de mapas (sus campos)" in entries["nodes"][1]
    link = soup.find("dt", string="nodes").find_next_sibling("dd").find("a")["href"]
    assert link == "#campos-nodes" and soup.find(id="campos-nodes") is not None
    assert "referencia.html" in built_site.html("index.html")  # in the nav


def test_the_schema_accepts_the_shipped_sites_as_an_editor_would():
    validator = jsonschema.Draft202012Validator(site_schema(), format_checker=jsonschema.FormatChecker())
    for path in (REPO / "site_data").glob("*.yaml"):
        if path.stem == "procedure":
            continue
        assert [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))] == [], path.name
    bad = yaml.safe_load((REPO / "site_data" / "olimpo.yaml").read_text())
    bad["nodes"][0]["priority"] = 300
    bad["os"] = "ubuntu2204"
    bad["vipp"] = bad.pop("vip")
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert len(messages) == 4  # the priority, the os, the unknown key and the missing vip


def test_rb_schema_writes_the_schema(tmp_path):
    out = tmp_path / "esquema.json"
    result = run_cli(["schema", "--output", str(out)], REPO / "site_data")
    assert result.code == 0 and result.stdout == f"Esquema JSON de los datos de un sitio en {out}\n"
    assert out.read_text() == schema_text()
    assert "title" not in json.loads(out.read_text())["properties"]["vip"]  # no English titles
    to_stdout = run_cli(["schema", "--output", "-"], REPO / "site_data")
    assert to_stdout.code == 0 and to_stdout.stdout == schema_text()
    folder = run_cli(["schema", "--output", str(tmp_path)], REPO / "site_data")
    assert folder.code == 2 and folder.stderr == f"error: {tmp_path} es una carpeta: indica un fichero con --output\n"
