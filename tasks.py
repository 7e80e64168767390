"""Invoke entry point: thin tasks, the work lives in the runbook package."""

from invoke import Collection

from runbook.cli import (
    deploy_tasks,
    dev_tasks,
    docs_tasks,
    drill_tasks,
    export_tasks,
    lab_tasks,
    new_tasks,
    plan_tasks,
    rehearse_tasks,
    soak_tasks,
    verify_tasks,
)

ns = Collection()
ns.add_task(plan_tasks.plan)
ns.add_task(verify_tasks.verify)
ns.add_task(deploy_tasks.deploy)
ns.add_task(drill_tasks.drill)
ns.add_task(rehearse_tasks.rehearse)
ns.add_task(soak_tasks.soak)
ns.add_task(export_tasks.export)
ns.add_task(new_tasks.new)
ns.add_task(new_tasks.schema)
ns.add_task(dev_tasks.test)
ns.add_task(dev_tasks.demo)
ns.add_task(dev_tasks.lint)
ns.add_collection(Collection.from_module(lab_tasks, name="lab"))
ns.add_collection(Collection.from_module(docs_tasks, name="docs"))
