"""Order confirmation: read an order from a database, send the stored confirmation template.

The "database" is an in-memory SQLite table standing in for your warehouse; the template's
placeholders (``name``, ``order_id``, ``amount``) come straight from the query's columns.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.wacloud import WACloudSendTemplateOperator

ORDER_TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"  # the sandbox's seeded "Order Confirmation"
ORDERS = [
    ("INV-1001", "Budi Santoso", "0812-3456-7001", 250_000),
    ("INV-1002", "Siti Aminah", "0812-3456-7011", 99_500),
]

with DAG(
    dag_id="wacloud_order_confirmation",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"order_id": Param("INV-1001", type="string")},
    tags=["wacloud", "example"],
) as dag:
    # The row (number, name) goes to the send task through XCom, not through the log: a task's return
    # value is logged unless show_return_value_in_logs=False.
    @task(multiple_outputs=True, show_return_value_in_logs=False)
    def load_order(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The order and its customer, as one query row."""
        db = sqlite3.connect(":memory:")
        db.execute("CREATE TABLE orders (order_id TEXT, name TEXT, phone TEXT, amount INTEGER)")
        db.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
        row = db.execute(
            "SELECT order_id, name, phone, amount FROM orders WHERE order_id = ?",
            ((params or {})["order_id"],),
        ).fetchone()
        if row is None:
            raise ValueError(f"no order {(params or {})['order_id']!r}")
        order_id, name, phone, amount = row
        return {"phone": phone, "variables": {"name": name, "order_id": order_id, "amount": f"{amount:,}"}}

    order = load_order()
    WACloudSendTemplateOperator(
        task_id="send_confirmation",
        to=order["phone"],
        template_id=ORDER_TEMPLATE_ID,
        variables=order["variables"],
        retries=2,
    )
