"""``workmagic-provider``: validate and convert files, print paths, audit WorkMagic's folder.

Exit codes are a contract other tools rely on: 0 everything valid, 1 some rows invalid,
2 the input or the arguments are unusable, 3 an internal error (a bug: please report it).
``validate --format json``, ``convert`` and ``path`` write exactly their result to stdout;
everything else (logs, the error report, warnings) goes to stderr, so ``convert ... | jq``
works.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

from workmagic_provider.cli_setup_sql import add_setup_sql_parser, cmd_setup_sql

EXIT_OK, EXIT_INVALID_ROWS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3
#: Commands whose stdout is their result only (anything else printed goes to stderr).
RESULT_COMMANDS = frozenset({"validate", "convert", "path", "setup-sql"})
WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def _schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", help="CSV, Excel (.xlsx) or JSON Lines input (plain or gzip; format detected)"
    )
    parser.add_argument(
        "--input-format",
        choices=("auto", "csv", "excel", "jsonl"),
        default="auto",
        help="input format (default: detected from the content)",
    )
    parser.add_argument(
        "--day-first",
        action="store_true",
        help="imported CSV/Excel: read dates like 03/02/2026 as day/month (default month/day)",
    )
    parser.add_argument(
        "--schema", required=True, choices=("custom-site", "imported", "enrich"), help="row schema"
    )
    parser.add_argument(
        "--unknown-fields",
        choices=("allow", "reject", "ignore"),
        default=None,
        help="fields the schema does not know (default: allow for custom-site, else reject)",
    )
    parser.add_argument(
        "--week-start",
        default="MONDAY",
        type=str.upper,
        choices=(*WEEKDAYS, "ANY"),
        help="weekday WEEKLY imported rows must start on (default MONDAY; ANY = no check)",
    )
    parser.add_argument("--max-errors", type=int, default=1000, help="errors kept in the report")
    parser.add_argument(
        "--max-part-bytes",
        type=int,
        default=None,
        help="size cap of one compressed part (a row that cannot fit in one is invalid)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workmagic-provider",
        description="Deliver order data to WorkMagic: validate, convert, path, audit, setup-sql.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="validate a file against a WorkMagic schema")
    _schema_arguments(validate)
    validate.add_argument("--format", choices=("text", "json"), default="text")

    convert = commands.add_parser(
        "convert", help="validate and write size-capped .json.gz parts into an hour folder"
    )
    _schema_arguments(convert)
    _folder_arguments(convert)
    convert.add_argument("--out", required=True, help="local root folder of the parts")
    convert.add_argument("--flow", default="upload", help="flow name in part names")
    convert.add_argument(
        "--on-invalid",
        choices=("skip", "fail"),
        default="skip",
        help="skip: write valid rows and report the rest (exit 1); fail: write nothing",
    )
    convert.add_argument("--rejected", default=None, help="write rejected rows to this file")

    path = commands.add_parser("path", help="print the hour folder prefix")
    _folder_arguments(path)

    _audit_arguments(commands)

    add_setup_sql_parser(commands)

    return parser


def _folder_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True, help="WorkMagic account id (digits)")
    parser.add_argument("--category", required=True, help="data category, e.g. order-geo-date-data")
    parser.add_argument("--hour", required=True, help="UTC hour, e.g. 2026-03-08T02:00:00Z")


def _options(args: argparse.Namespace) -> Any:
    from workmagic_provider.schemas import SchemaOptions

    week_start = None if args.week_start == "ANY" else args.week_start
    return SchemaOptions(unknown_fields=args.unknown_fields, week_start=week_start)


def _reader(args: argparse.Namespace, report: Any, rejected: Any = None) -> Any:
    """The one format-detecting reader (CSV, Excel, JSON Lines) for ``validate``/``convert``."""
    from workmagic_provider.files.readers import InputReader

    return InputReader(
        args.schema,
        report,
        options=_options(args),
        input_format=args.input_format,
        day_first=args.day_first,
        rejected=rejected,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from workmagic_provider.files.part_writer import oversized_reason
    from workmagic_provider.files.unique_keys import validated_unique
    from workmagic_provider.schemas import ValidationReport
    from workmagic_provider.schemas.report import ROW
    from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES

    report = ValidationReport(args.schema, max_errors=args.max_errors)
    reader = _reader(args, report)
    max_part_bytes = args.max_part_bytes or DEFAULT_MAX_PART_BYTES
    valid = validated_unique(
        reader.read(args.file), args.schema, report=report, options=_options(args)
    )
    for row, line in valid:
        reason = oversized_reason(line, max_part_bytes)
        if reason is not None:  # what convert would refuse to write
            report.rows_valid -= 1
            report.add(row, ROW, reason)
    _sort_errors(report)
    cleaned = reader.cleaned
    out = args.stdout
    if args.format == "json":
        document = {"file": args.file, **report.to_dict(), "cleaned": cleaned}
        document["warnings"] = reader.warnings
        print(json.dumps(document, indent=2), file=out)
    else:
        print(f"{args.file}: {report.summary(max_lines=50)}", file=out)
        if cleaned:
            print("cleaned: " + ", ".join(f"{k} {v}" for k, v in cleaned.items()), file=out)
        for warning in reader.warnings:
            print(f"warning: {warning}", file=out)
    return EXIT_OK if report.ok else EXIT_INVALID_ROWS


def _sort_errors(report: Any) -> None:
    """Reader errors (ragged lines, duplicates) and validation errors in row order."""
    report.errors.sort(key=lambda error: error.row)


def cmd_convert(args: argparse.Namespace) -> int:
    from workmagic_provider.exceptions import WorkMagicValidationError
    from workmagic_provider.files.pipeline import upload_lines
    from workmagic_provider.files.sinks import LocalDirSink
    from workmagic_provider.schemas import ValidationReport
    from workmagic_provider.standards import DEFAULT_MAX_PART_BYTES, HourFolder, parse_hour

    folder = HourFolder(args.account, args.category, parse_hour(args.hour))
    report = ValidationReport(args.schema, max_errors=args.max_errors)
    rejected_file = open(args.rejected, "wb") if args.rejected else None  # noqa: SIM115
    try:

        def keep_rejected(row: int, raw: bytes | str) -> None:
            assert rejected_file is not None
            rejected_file.write((raw.encode() if isinstance(raw, str) else raw) + b"\n")

        reader = _reader(args, report, keep_rejected if rejected_file else None)
        result = upload_lines(
            reader.read(args.file),
            schema=args.schema,
            folder=folder,
            flow=args.flow,
            sink=LocalDirSink(args.out, folder.prefix),
            options=_options(args),
            on_invalid=args.on_invalid,
            max_part_bytes=args.max_part_bytes or DEFAULT_MAX_PART_BYTES,
            rejected=keep_rejected if rejected_file else None,
            report=report,
        )
        summary = result.summary()
    except WorkMagicValidationError:
        summary = {"rows": report.rows_total, "rows_written": 0, "rejected": report.rows_rejected}
        summary.update({"bytes": 0, "parts": [], "removed_stale": []})
    finally:
        if rejected_file:
            rejected_file.close()
    summary["cleaned"] = reader.cleaned
    summary["warnings"] = reader.warnings
    print(json.dumps({"prefix": folder.prefix, **summary}, indent=2), file=args.stdout)
    for warning in reader.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not report.ok:
        print(report.summary(max_lines=50), file=sys.stderr)
        return EXIT_INVALID_ROWS
    return EXIT_OK


def cmd_path(args: argparse.Namespace) -> int:
    from workmagic_provider.standards import HourFolder, parse_hour

    print(HourFolder(args.account, args.category, parse_hour(args.hour)).prefix, file=args.stdout)
    return EXIT_OK


def _audit_arguments(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="list what WorkMagic's folder holds per hour; name missing and unreadable hours",
        description="Read WorkMagic's bucket through a workmagic connection and, for every UTC "
        "hour from --from to --to (both included), list the files, their bytes and whether "
        "each is gzip JSON Lines under the size limit. Exit 0: every hour fine; 1: some hour "
        "is missing or holds files WorkMagic would skip; 2: unusable arguments or connection.",
    )
    audit.add_argument("--conn-id", default="workmagic_default", help="workmagic connection id")
    audit.add_argument(
        "--from", dest="first", required=True, help="first UTC hour, e.g. 2026-03-08T00:00:00Z"
    )
    audit.add_argument("--to", dest="last", required=True, help="last UTC hour (included)")
    audit.add_argument("--category", default=None, help="data category (default: the connection's)")
    audit.add_argument("--json", action="store_true", help="print one JSON object")


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit WorkMagic's folder; Airflow and the cloud hooks are imported only here."""
    from workmagic_provider.audit import hours_between
    from workmagic_provider.standards import parse_hour

    first, last = parse_hour(args.first), parse_hour(args.last)
    hours_between(first, last)  # a bad range is refused before any connection is read
    # Airflow and the cloud hooks log to stdout; the audit's stdout is its report.
    from contextlib import redirect_stdout

    restore = _root_logs_to_stderr()
    try:
        with redirect_stdout(sys.stderr):
            report = _audit(args, first, last)
    finally:
        restore()
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return EXIT_OK if report.ok else EXIT_INVALID_ROWS


def _audit(args: argparse.Namespace, first: Any, last: Any) -> Any:
    from workmagic_provider.audit import audit_range
    from workmagic_provider.exceptions import WorkMagicConfigError
    from workmagic_provider.hooks.workmagic import WorkMagicHook
    from workmagic_provider.operators.base import destination_store
    from workmagic_provider.standards import validate_data_category

    hook = WorkMagicHook(workmagic_conn_id=args.conn_id)
    try:
        settings = hook.settings
    except WorkMagicConfigError:
        raise
    except Exception as err:  # AirflowNotFoundException: no such connection
        raise WorkMagicConfigError(f"connection {args.conn_id!r}: {err}") from None
    category = args.category or settings.data_category
    if not category:
        raise WorkMagicConfigError(
            f"connection {args.conn_id!r}, field data_category: is not set; pass --category"
        )
    try:
        store = destination_store(hook)
        report = audit_range(
            store, settings.account_id, validate_data_category(category), first, last
        )
    except WorkMagicConfigError:
        raise
    except Exception as err:  # the bucket cannot be read: access, network, no such bucket
        from workmagic_provider.redaction import redact

        text = redact(f"{type(err).__name__}: {err}", settings.secrets)
        raise WorkMagicConfigError(f"could not read WorkMagic's bucket: {text}") from None
    return report


def _root_logs_to_stderr() -> Any:
    """Point the root logger's stdout handlers at stderr; returns the function undoing it."""
    import logging

    moved = [
        (handler, handler.stream)
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler)
        and handler.stream in (sys.stdout, sys.__stdout__)
    ]
    for handler, _ in moved:
        handler.setStream(sys.stderr)

    def restore() -> None:
        for handler, stream in moved:
            handler.setStream(stream)

    return restore


COMMANDS = {
    "validate": cmd_validate,
    "convert": cmd_convert,
    "path": cmd_path,
    "audit": cmd_audit,
    "setup-sql": cmd_setup_sql,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.stdout = sys.stdout
    with _stdout_to_stderr(args.command in RESULT_COMMANDS):
        return run_command(COMMANDS, args)


def run_command(
    commands: dict[str, Any], args: argparse.Namespace, prog: str = "workmagic-provider"
) -> int:
    """The command's exit code; our errors exit 2 with one line, anything else exits 3.

    Shared with the ``workmagic-sandbox`` CLI, so both exit the same way.
    """
    try:
        from workmagic_provider.exceptions import WorkMagicConfigError, WorkMagicInputError
    except Exception:  # cannot even load our errors: an installation problem
        traceback.print_exc()
        return EXIT_INTERNAL
    try:
        return int(commands[args.command](args))
    except (WorkMagicInputError, WorkMagicConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        raise
    except Exception:
        traceback.print_exc()
        print(
            f"internal error in {prog} {args.command} (exit {EXIT_INTERNAL}): this "
            "is a bug, not a problem with your input; please report it with the trace above",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """Send whatever else prints to stdout (logging set up by imports) to stderr."""
    if not active:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


if __name__ == "__main__":
    sys.exit(main())
