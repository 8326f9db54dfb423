"""Tracker implementations; each is a config dataclass plus a class."""
