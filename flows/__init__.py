"""Prefect flows: orchestration only; every step calls a plain function in `arflow.pipeline`."""
