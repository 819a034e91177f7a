import sys

from django.core.management.base import BaseCommand, CommandError

from sms import export as exports


class Command(BaseCommand):
    help = (
        "Export a list as CSV or XLSX, with the same filters as its page "
        "(e.g. export outbound -o sent.csv --filter state=delivered --filter created_after=2026-11-01)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="What to export; leave out to list them")
        parser.add_argument("-o", "--output", help="File to write (.csv or .xlsx); '-' or nothing: standard output")
        parser.add_argument("--format", choices=["csv", "xlsx"], help="Default: from the file name, else csv")
        parser.add_argument("--filter", action="append", default=[], metavar="NAME=VALUE", help="A list filter")
        parser.add_argument("--campaign", type=int, help="The campaign, for campaign-recipients / campaign-rejected")

    def handle(self, *args, name=None, output=None, format=None, filter=(), campaign=None, **options):
        if not name:
            for slug, export in sorted(exports.REGISTRY.items()):
                self.stdout.write(f"{slug:22} {export.title}")
            return
        export = exports.REGISTRY.get(name)
        if export is None:
            raise CommandError(f"No export named {name!r}; known: {', '.join(sorted(exports.REGISTRY))}")
        params = {}
        for item in filter:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--filter {item!r}: write NAME=VALUE")
            params.setdefault(key, []).append(value)
        kwargs = {"pk": campaign} if name.startswith("campaign-") else {}
        if name.startswith("campaign-") and campaign is None:
            raise CommandError(f"{name} needs --campaign PK")
        fmt = format or ("xlsx" if output and output.endswith(".xlsx") else "csv")
        from django.http import QueryDict

        query = QueryDict(mutable=True)
        for key, values in params.items():
            query.setlist(key, values)

        def progress(rows):
            self.stderr.write(f"  {rows:,} rows…")

        try:
            if not output or output == "-":
                if fmt == "xlsx":
                    raise CommandError("XLSX needs a file: give -o FILE.xlsx")
                rows = -1  # the header is a row too

                def counted():
                    nonlocal rows
                    for row in export.values(query, **kwargs):
                        rows += 1
                        yield row

                for chunk in exports.csv_lines(counted()):
                    sys.stdout.write(chunk)
                self.stderr.write(f"Done: {max(rows, 0):,} rows of {export.title.lower()}")
                return
            rows = exports.write_file(export, output, query, fmt=fmt, progress=progress, **kwargs)
        except exports.ExportError as exc:
            raise CommandError(f"Cannot export with these filters: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Done: {rows:,} rows of {export.title.lower()} written to {output}"))
