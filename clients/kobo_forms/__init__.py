"""The three posyandu field XLSForms and their build (see `build.py` and README.md)."""
