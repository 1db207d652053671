"""Real PostgreSQL and Redis for the tests: a database of its own per test session, a Redis key prefix."""

import uuid

import pytest

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"


def postgres_database():
    """A fresh database (dropped after), its URL as a user writes it; skips when no server runs here."""
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{POSTGRES}/postgres".replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    name = f"smallrag_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {e}")
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_timeout=2).ping()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"no Redis at {REDIS}: {e}")
    return REDIS
