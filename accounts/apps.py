from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from accounts import receivers

        user_login_failed.connect(receivers.log_login_failed, dispatch_uid="accounts.log_login_failed")
