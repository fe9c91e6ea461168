"""The approvers' digest as a Prefect flow: one run of `arflow.notify.notify`.

Scheduled on weekday mornings by prefect.yaml (`approver-digest`). SMTP settings come from
`ARFLOW_SMTP_*` in the worker's environment; a lost connection or a timeout is retried, a
refused login or a missing setting fails at once."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from arflow.db import session_scope
from arflow.engines import engine_for
from arflow.errors import ConfigError
from arflow.mailer import MailerAuthError, MailerError, SmtpConfig
from arflow.notify import NotifyOptions, notify
from arflow.settings import load_settings
from flows.retries import transient_only
from models.approval_matrix import load_matrix


@task(name="send-digests", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=60,
      retry_condition_fn=transient_only(MailerError, (MailerAuthError, ConfigError)))
def digest_task(overdue_days: float) -> dict[str, Any]:
    settings = load_settings()
    engine = engine_for(settings.database_url)
    options = NotifyOptions(timedelta(days=overdue_days),
                            os.environ.get("ARFLOW_BASE_URL", "").rstrip("/") or None)
    report = notify(lambda: session_scope(engine), load_matrix(),
                    SmtpConfig.from_env(os.environ), options)
    return {"digests": {o.user: o.result for o in report.outcomes},
            "unassignable": [w.item_id for w in report.unassignable]}


@flow(name="arflow-approver-digest")
def approver_digest(overdue_days: float = 3.0) -> dict[str, Any]:
    """E-mail each approver the invoices waiting for them; log items nobody may approve."""
    result = digest_task(overdue_days)
    logger = get_run_logger()
    logger.info("digests: %s", result["digests"])
    if result["unassignable"]:
        logger.warning("no active user may approve items %s", result["unassignable"])
    return result
