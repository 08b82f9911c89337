"""manage.py config schema | apply FILE [--check] [--prune] [--json] | export [--tenant N] [-o FILE]

Exit status: 0 applied (or nothing to do), 1 the document has errors (nothing changed),
2 a usage error (unknown subcommand or option, unreadable file, unknown tenant).
"""

import getpass
import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.configuration import document, exporter, report
from portal.configuration.planner import run
from portal.configuration.registry import Context
from portal.configuration.schema import schema


class Command(BaseCommand):
    help = "Configuration as code: print the schema, apply a document, or export one."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="{schema,apply,export}"
        )
        sub.add_parser("schema", help="print the JSON Schema of the document")
        apply = sub.add_parser("apply", help="validate a document and apply it")
        apply.add_argument("file", help="the YAML document, or - for standard input")
        apply.add_argument("--check", action="store_true", help="print the plan, change nothing")
        apply.add_argument(
            "--prune", action="store_true",
            help="also delete records of the tables in the file that the file no longer names",
        )  # fmt: skip
        apply.add_argument("--json", action="store_true", help="print one JSON object")
        export = sub.add_parser("export", help="write the configuration as a document")
        export.add_argument("--tenant", help="only this tenant and what belongs to it")
        export.add_argument("-o", "--output", help="write to this file instead of standard output")

    def handle(self, *args, subcommand, **options):
        if subcommand == "schema":
            self.stdout.write(json.dumps(schema(), indent=2, ensure_ascii=False))
        elif subcommand == "export":
            self._export(options["tenant"], options["output"])
        else:
            self._apply(options["file"], options["check"], options["prune"], options["json"])

    def _export(self, tenant, output):
        try:
            text = exporter.export(tenant)
        except exporter.UnknownTenant:
            raise CommandError(f"No tenant named {tenant!r}.", returncode=2)
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(
                    f"Cannot write {output}: {_reason(exc)}. Choose a file in a folder that "
                    "exists and that you may write to.",
                    returncode=2,
                )
        else:
            self.stdout.write(text, ending="")

    def _apply(self, path, check, prune, as_json):
        data = self._read(path)
        ctx = Context(base_dir=os.path.dirname(os.path.abspath(path)) if path != "-" else None,
                      prune=prune)  # fmt: skip
        source = {"via": "cli", "os_user": _os_user()}
        plan = run(data, ctx, apply=not check, source=source)
        if as_json:
            self.stdout.write(json.dumps(plan.as_json(), ensure_ascii=False))
        elif plan.valid:
            for line in report.plan_lines(plan):
                self.stdout.write(line)
            self.stdout.write(report.summary_line(plan))
            if check:
                self.stdout.write("Nothing was changed (--check).")
        else:
            for line in report.error_lines(plan):
                self.stderr.write(line)
            self.stderr.write(f"{len(plan.errors)} error(s): nothing was changed.")
        if not plan.valid:
            sys.exit(1)

    def _read(self, path) -> bytes:
        try:
            if path == "-":
                return document.read_limited(sys.stdin.buffer)
            with open(path, "rb") as handle:
                return document.read_limited(handle)
        except OSError as exc:
            raise CommandError(
                f"Cannot read {path}: {_reason(exc)}. Give the path of a readable YAML file, "
                "or - for standard input.",
                returncode=2,
            )


def _reason(exc: OSError) -> str:
    """The operating system's words for a file error ("No such file or directory")."""
    return (exc.strerror or exc.__class__.__name__).rstrip(".")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"
