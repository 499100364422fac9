"""Floor 2: verify the signature, then commit one PostgreSQL transaction of three inserts, answer 200.

This is the least a durable callback endpoint can do: a delivery record, an approval and an audit
row in one transaction (psycopg directly, one connection per worker thread, made after the fork).
cardpay's first-delivery path does this and more, so this floor is the bar its ratio is taken to.
"""

import json
import os
import threading

import psycopg
from flask import Flask, jsonify, request
from floor_verify import PATH, verified

SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_deliveries (id bigserial PRIMARY KEY, paylink_id text NOT NULL,
    status text NOT NULL, body text NOT NULL, received_at timestamp NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS floor_approvals (id bigserial PRIMARY KEY, delivery_id bigint NOT NULL,
    paylink_id text NOT NULL, approved_at timestamp NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS floor_audit (id bigserial PRIMARY KEY, action text NOT NULL, target text NOT NULL,
    at timestamp NOT NULL DEFAULT now());
"""

app = Flask(__name__)
_local = threading.local()  # one connection per thread: the shipped config runs threaded (gthread) workers


def create_tables(database_url):
    """Create the floor's three tables (the bench does this once, before the workers start)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA)


def connection():
    """Return this thread's connection, opening it on first use (after gunicorn forked us)."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)  # BEGIN..COMMIT below
    return conn


@app.post(PATH)
def callback():
    """Verify, then record delivery, approval and audit row in one committed transaction."""
    if not verified():
        return jsonify(error="invalid_signature"), 401
    raw = request.get_data(as_text=True)
    body = json.loads(raw)
    conn = connection()
    with conn.transaction():
        delivery_id = conn.execute(
            "INSERT INTO floor_deliveries (paylink_id, status, body) VALUES (%s, %s, %s) RETURNING id",
            (body["paylinkID"], body["status"], raw)).fetchone()[0]
        conn.execute("INSERT INTO floor_approvals (delivery_id, paylink_id) VALUES (%s, %s)",
                     (delivery_id, body["paylinkID"]))
        conn.execute("INSERT INTO floor_audit (action, target) VALUES ('approve', %s)", (body["paylinkID"],))
    return jsonify(status="ok")
