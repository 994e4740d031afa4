"""Identity matching: pure functions, no database, no web (import-linter holds it to that).

`names` normalises Indonesian names, `nik` reads a NIK, `compare` scores a pair of
records Fellegi–Sunter style and puts it in a band, `blocking` says which records are
worth comparing, `evaluate` measures a linker against labelled pairs.
"""
