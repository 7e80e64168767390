"""The plan's site is made of records: the models' values and methods, without pydantic.

A plan read from the cache must answer exactly as the plan just built, and
both must answer as the validated models did: these tests compare records
with the models they were made from, on both shipped sites.
"""

from __future__ import annotations

import pickle
import typing
from ipaddress import IPv4Address

import pytest
from pydantic import BaseModel

from runbook.data import model, records
from runbook.data.load import load_procedure, load_site
from runbook.data.records import DEFAULT_HEALTH_CHECK, RECORDS, Record, from_model
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


def behaviour(cls: type) -> set[type]:
    """The mixins a class takes its methods from (neither pydantic's nor the record's own base)."""
    return {base for base in cls.__mro__ if base.__module__ == "runbook.data.records"
            and base.__name__.endswith("Methods")}


def as_plain(value: object) -> object:
    """A model or a record as nested plain data, with the class name of each object."""
    if isinstance(value, BaseModel):
        return (type(value).__name__, {k: as_plain(getattr(value, k)) for k in type(value).model_fields})
    if isinstance(value, Record):
        return (type(value).__name__, {k: as_plain(v) for k, v in value.fields()})
    if isinstance(value, list | tuple):
        return [as_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: as_plain(v) for k, v in value.items()}
    return value


def no_model_inside(value: object) -> bool:
    if isinstance(value, BaseModel):
        return False
    if isinstance(value, Record):
        return all(no_model_inside(v) for _, v in value.fields())
    if isinstance(value, list | tuple):
        return all(no_model_inside(v) for v in value)
    if isinstance(value, dict):
        return all(no_model_inside(v) for v in value.values())
    return True


def test_every_model_a_site_holds_has_a_record_with_its_methods():
    classes = models_reachable_from(model.Site) | {model.Admonition}
    assert {c.__name__ for c in classes} == set(RECORDS)
    for cls in classes:
        assert behaviour(RECORDS[cls.__name__]) == behaviour(cls), cls.__name__
    # The methods are one definition: the models take them from the same mixins.
    assert behaviour(model.Site) == {records.SiteMethods}
    assert behaviour(model.HealthCheck) == {records.HealthCheckMethods}


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
    twin = records.Node(**dict(node.fields()))
    assert twin == node and hash(twin) == hash(node) and {node: 1}[twin] == 1
    assert records.Backend(**dict(node.fields())) != node  # another kind of record
    assert repr(node).startswith("Node(name='")
    moved = node.replace(priority=1)
    assert moved.priority == 1 and moved.name == node.name and node.priority != 1
    with pytest.raises(TypeError):
        node.replace(prio=1)


@pytest.mark.parametrize("name", SITES)
def test_a_plan_survives_the_cache_unchanged(name):
    plan = build_plan(load_site(name), load_procedure())
    assert no_model_inside(plan.site)
    assert all(no_model_inside(step.admonitions) for step in plan.steps)
    assert pickle.loads(pickle.dumps(plan)) == plan
