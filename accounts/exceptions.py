"""What the accounts services refuse, each with a stable ``code`` (see grasshopper.lib.exceptions)."""

from grasshopper.lib.exceptions import Conflict


class EmailAlreadyRegistered(Conflict):
    """Another account already uses this address (compared case-insensitively)."""

    code = "email_already_registered"
    default_message = "An account with this email address already exists."
