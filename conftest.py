"""Puts the repository root on sys.path so `pytest` finds vislib and ui from any folder."""
