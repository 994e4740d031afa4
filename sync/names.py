"""Name keys and NIK checks for the write path: they live in the pure `matching` package
(matching.names, matching.nik); this module keeps the names sync has always used."""

from matching.names import is_placeholder_name, name_key
from matching.nik import nik_agrees

__all__ = ["is_placeholder_name", "name_key", "nik_agrees"]
