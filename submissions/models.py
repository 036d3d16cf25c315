"""Sequence entries, their versions and attached files (the sequence-entries capability)."""
