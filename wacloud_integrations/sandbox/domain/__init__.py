"""The sandbox's resources: one module per resource owns its tables' SQL and answers with the core's models.

Routes (``routes_*.py``) and the browser view (``ui/``) parse HTTP and call these; nothing above this
package writes SQL. A module here reads rows into the core's models through :mod:`._rows`, so a new
field of a model needs its column (and what fills it) or every answer of that resource fails loudly.
"""
