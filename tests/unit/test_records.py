"""The plan's site is made of records: the models' values and methods, without pydantic.

A plan read from the cache must answer exactly as the plan just built, and
both must answer as the validated models did: these tests compare records
with the models they were made from, on both shipped sites.
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import pickle
import types
import typing
from ipaddress import IPv4Address

import pytest
from pydantic import BaseModel

from runbook.data import model, records
from runbook.data.load import load_procedure, load_site
from runbook.data.records import DEFAULT_HEALTH_CHECK, RECORDS, from_model
from runbook.plan.build import build_plan

SITES = ["lab", "olimpo"]


def models_reachable_from(root: type[BaseModel]) -> set[type[BaseModel]]:
    """Every model class a value of `root` can hold, found through the field annotations."""
    found: set[type[BaseModel]] = set()

    def walk(annotation: object) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.add(annotation)
                for info in annotation.model_fields.values():
                    walk(info.annotation)
        for arg in typing.get_args(annotation):
            walk(arg)

    walk(root)
    return found


def site_models() -> set[type[BaseModel]]:
    """Every model a site can hold, and the admonitions a plan's steps keep."""
    return models_reachable_from(model.Site) | {model.Admonition}


def as_record_type(annotation: object) -> object:
    """A model field's type as its record declares it: without pydantic's rules, records for models."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return as_record_type(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return RECORDS[annotation.__name__]
    if origin in (list, dict):
        return origin[tuple(as_record_type(a) for a in args)]
    if origin in (typing.Union, types.UnionType):
        return functools.reduce(operator.or_, (as_record_type(a) for a in args))
    return annotation  # str, int, IPv4Address, a Literal


def is_record(value: object) -> bool:
    return dataclasses.is_dataclass(value) and type(value).__module__ == "runbook.data.records"


def behaviour(cls: type) -> set[type]:
    """The mixins a class takes its methods from (neither pydantic's nor the record's own base)."""
    return {base for base in cls.__mro__ if base.__module__ == "runbook.data.records"
            and base.__name__.endswith("Methods")}


def as_plain(value: object) -> object:
    """A model or a record as nested plain data, with the class name of each object."""
    if isinstance(value, BaseModel):
        return (type(value).__name__, {k: as_plain(getattr(value, k)) for k in type(value).model_fields})
    if is_record(value):
        return (type(value).__name__, {f.name: as_plain(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, list | tuple):
        return [as_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    return value


def no_model_inside(value: object) -> bool:
    if isinstance(value, BaseModel):
        return False
    if is_record(value):
        return all(no_model_inside(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, list | tuple):
        return all(no_model_inside(v) for v in value)
    if isinstance(value, dict):
        return all(no_model_inside(v) for v in value.values())
    return True


def test_every_model_a_site_holds_has_a_record_with_its_methods():
    classes = site_models()
    assert {c.__name__ for c in classes} == set(RECORDS)
    for cls in classes:
        assert behaviour(RECORDS[cls.__name__]) == behaviour(cls), cls.__name__
    # The methods are one definition: the models take them from the same mixins.
    assert behaviour(model.Site) == {records.SiteMethods}
    assert behaviour(model.HealthCheck) == {records.HealthCheckMethods}


def test_every_record_declares_its_models_fields_in_order_with_their_types():
    for cls in site_models():
        record = RECORDS[cls.__name__]
        assert [f.name for f in dataclasses.fields(record)] == list(cls.model_fields), cls.__name__
        declared = typing.get_type_hints(record)
        assert {name: declared[name] for name in cls.model_fields} == {
            name: as_record_type(info.annotation) for name, info in cls.model_fields.items()}, cls.__name__


def test_the_site_model_keeps_its_own_field_order():
    # The mixins' field annotations are for type checkers only: at run time
    # pydantic would put them first (and ask the YAML's keys in that order).
    assert list(model.Site.model_fields)[:3] == ["name", "title", "description"]
    assert list(model.HealthCheck.model_fields) == ["path", "expect_status", "host"]


@pytest.mark.parametrize("name", SITES)
def test_a_site_as_records_holds_the_same_values_and_no_model(name):
    site = load_site(name)
    record = from_model(site)
    assert isinstance(record, records.Site)
    assert no_model_inside(record)
    assert as_plain(record) == as_plain(site)
    assert isinstance(record.vip, IPv4Address)


@pytest.mark.parametrize("name", SITES)
def test_records_answer_as_the_models(name):
    site = load_site(name)
    record = from_model(site)
    assert record.addresses() == site.addresses()
    assert [n.name for n in record.nodes_by_priority] == [n.name for n in site.nodes_by_priority]
    assert record.vip_owner.name == site.vip_owner.name
    for node in site.nodes:
        assert record.node(node.name).lan_address == node.lan_address
    with pytest.raises(KeyError):
        record.node("no-such-node")
    for svc, rec_svc in zip(site.services, record.services, strict=True):
        assert record.check_host(rec_svc) == site.check_host(svc)
        if svc.health_check is not None:
            check, rec_check = svc.health_check, rec_svc.health_check
            assert rec_check.expect_description == check.expect_description
            assert [rec_check.accepts(s) for s in range(100, 600)] == [check.accepts(s) for s in range(100, 600)]


def test_the_default_health_check_is_the_models_default():
    assert DEFAULT_HEALTH_CHECK == from_model(model.HealthCheck())
    assert DEFAULT_HEALTH_CHECK.accepts(302) and not DEFAULT_HEALTH_CHECK.accepts(404)


def test_records_are_frozen_hashable_and_compare_by_value():
    node = from_model(load_site("lab").nodes[0])
    with pytest.raises(AttributeError):
        node.priority = 1
    with pytest.raises(AttributeError):
        del node.name
    twin = records.Node(**dataclasses.asdict(node))
    assert twin == node and hash(twin) == hash(node) and {node: 1}[twin] == 1
    assert node != dataclasses.astuple(node)  # its values, but not a record of its kind
    assert repr(node).startswith("Node(name='")
    for site in (load_site("lab"), from_model(load_site("lab"))):
        with pytest.raises(TypeError):
            hash(site)  # model and record alike: a site holds lists
    moved = dataclasses.replace(node, priority=1)
    assert moved.priority == 1 and moved.name == node.name and node.priority != 1
    with pytest.raises(TypeError):
        dataclasses.replace(node, prio=1)


@pytest.mark.parametrize("name", SITES)
def test_a_plan_survives_the_cache_unchanged(name):
    plan = build_plan(load_site(name), load_procedure())
    assert no_model_inside(plan.site)
    assert all(no_model_inside(step.admonitions) for step in plan.steps)
    assert pickle.loads(pickle.dumps(plan)) == plan
