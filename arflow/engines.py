"""One SQLAlchemy engine per database URL per process, migrated on first use."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine

from arflow.db import make_engine, upgrade


@cache
def engine_for(url: str) -> Engine:
    upgrade(url)
    return make_engine(url)
