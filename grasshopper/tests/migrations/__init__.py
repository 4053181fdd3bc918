"""Test-only migration modules (see grasshopper/settings/test.py, MIGRATION_MODULES)."""
