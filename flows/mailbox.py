"""The mailbox poll as a Prefect flow: one pass of `ingest.mailbox.fetch_mailbox`.

Connection settings come from `ARFLOW_IMAP_*` in the worker's environment; the password may
instead come from a Prefect Secret block (`password_block`). Only transient IMAP failures
(timeouts, dropped connections) are retried; a refused login or a bad setting fails at once.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from arflow.errors import ConfigError
from arflow.settings import load_settings
from flows.retries import transient_only
from ingest.documents import open_context
from ingest.imap import ImapConfig, MailboxAuthError, MailboxError
from ingest.mailbox import fetch_mailbox


def imap_config(password_block: str | None = None) -> ImapConfig:
    env = dict(os.environ)
    if password_block:
        from prefect.blocks.system import Secret  # noqa: PLC0415 (needs an API)

        secret: Any = Secret.load(password_block)  # sync call: returns the block
        env["ARFLOW_IMAP_PASSWORD"] = str(secret.get())
    return ImapConfig.from_env(env)


@task(name="fetch-mailbox", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30,
      retry_condition_fn=transient_only(MailboxError, (MailboxAuthError, ConfigError)))
def fetch_task(password_block: str | None, database_url: str | None) -> dict[str, int]:
    settings = load_settings()
    if database_url:
        settings = replace(settings, database_url=database_url)
    config = imap_config(password_block)
    summary = fetch_mailbox(open_context(settings, f"mail:{config.mailbox}"), config)
    return {**summary.outcomes, "acknowledged": summary.acknowledged}


@flow(name="arflow-mailbox-poll")
def poll_mailbox(password_block: str | None = None,
                 database_url: str | None = None) -> dict[str, int]:
    """Read every new message of the configured folder once (ledger: mail_messages)."""
    counts = fetch_task(password_block, database_url)
    get_run_logger().info("mailbox: %s", counts)
    return counts
