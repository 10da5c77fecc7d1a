"""The roles: one folder each, with its tasks (operations per host) and, where it has settings, defaults.yml."""
