from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Hook point for allauth; security logging of auth failures is wired in accounts.receivers."""
