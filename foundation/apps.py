from django.apps import AppConfig


class FoundationConfig(AppConfig):
    name = "foundation"
    verbose_name = "Environments, API keys and audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from . import audit_actions  # noqa: F401  (declares the tenancy's audit actions)
        from .admin_login import count_failure

        # Django reports a refused password only by this signal (django-axes listens too).
        user_login_failed.connect(count_failure, dispatch_uid="kino-credential-failures")

        from django.db.models.signals import post_migrate

        from . import roles

        roles.grant(roles.SUPPORT, *roles.view_all(self))
        # Everyone at work reads the audit trail of what they look after.
        roles.grant(roles.EDITORS, "foundation.view_auditentry")
        roles.grant(roles.LIVE_OPERATORS, "foundation.view_auditentry")
        post_migrate.connect(roles.sync_roles, dispatch_uid="kino-roles")

        # A task's log lines carry the request id, environment and caller that queued it.
        from .tasks import carry_log_context
        carry_log_context()

        # Every task a worker runs is timed (GET /metrics).
        from . import metrics
        metrics.connect_task_signals()
