"""`posyandu-sync forms build [--out DIR]`: build the field XLSForms.

Writes `<form_id>.xml` (the XForm this server serves to ODK Collect) and
`<form_id>.xlsx` (the XLSForm to upload to KoboToolbox) for every form in
`clients/kobo_forms/`. Any pyxform error or warning fails the build with exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = Path("build") / "forms"


def register(subparsers: argparse._SubParsersAction) -> None:
    forms = subparsers.add_parser(
        "forms",
        help="build the field XLSForms (XForm + .xlsx)",
        description="Field XLSForms for ODK Collect / KoboCollect.",
    )
    forms.set_defaults(func=lambda args: _print_help(forms))
    sub = forms.add_subparsers(dest="forms_command", metavar="SUBCOMMAND")

    build = sub.add_parser(
        "build",
        help="build <form_id>.xml and <form_id>.xlsx",
        description=(
            "Build every form's XForm (for this server) and .xlsx (for KoboToolbox). "
            "Fails on any pyxform error or warning."
        ),
    )
    build.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"output directory (default: ./{DEFAULT_OUT})",
    )
    build.add_argument(
        "--form",
        action="append",
        dest="forms",
        metavar="FORM_ID",
        help="build only this form (repeatable); default: all",
    )
    build.add_argument(
        "--validate",
        action="store_true",
        help="also run ODK Validate (JavaRosa; needs java on PATH)",
    )
    build.set_defaults(func=run)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run(args: argparse.Namespace) -> int:
    from clients.kobo_forms.build import (
        FORM_IDS,
        MEDIA_COLUMNS,
        FormBuildError,
        build_all,
        media_template_path,
    )

    unknown = [f for f in args.forms or () if f not in FORM_IDS]
    if unknown:
        print(
            f"error: unknown form(s) {', '.join(unknown)}; expected {', '.join(FORM_IDS)}",
            file=sys.stderr,
        )
        return 1
    out = args.out
    try:
        built = build_all(out, args.forms, validate=args.validate)
    except FormBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: cannot write to {out}: {exc}", file=sys.stderr)
        return 1
    for form in built:
        print(f"{form.form_id} (version {form.version}): {form.title}")
        print(f"  wrote {out / (form.form_id + '.xml')}")
        print(f"  wrote {out / (form.form_id + '.xlsx')}")
        for name in form.media:
            hint = ""
            if name in MEDIA_COLUMNS:
                hint = f" (KoboToolbox template: {media_template_path(name)})"
            print(f"  needs media {name}{hint}")
    return 0
