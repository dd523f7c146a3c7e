from axes.apps import AppConfig as AxesAppConfig


class SignInAttemptsConfig(AxesAppConfig):
    """django-axes (the admin's sign-in lockout), under a name an operator recognises in
    the admin's index."""

    verbose_name = "Admin sign-in attempts"
