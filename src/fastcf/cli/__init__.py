"""The ``fastcf`` command line."""
