"""The demo data of `make run` (`manage.py seed_demo`), above every app: it drives the
services of all of them, so no app imports it. One module per area, seeded in dependency
order by the command: users, catalog (categories, tags, warehouses), merchants, products,
orders, settlements."""
