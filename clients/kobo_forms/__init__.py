"""The three posyandu field XLSForms and their build (see `build.py` and README.md)."""

from clients.kobo_forms.build import (
    FORM_IDS,
    FORM_MEDIA,
    MEDIA_COLUMNS,
    BuiltForm,
    FormBuildError,
    build_all,
    build_xform,
    build_xlsx,
)

__all__ = [
    "FORM_IDS",
    "FORM_MEDIA",
    "MEDIA_COLUMNS",
    "BuiltForm",
    "FormBuildError",
    "build_all",
    "build_xform",
    "build_xlsx",
]
