#!/usr/bin/env python3
"""Puts a generated CRD's printer columns in the order they are declared.

The Fabric8 CRD generator (7.5) sorts additionalPrinterColumns by their JSONPath, so
`kubectl get microapps` would show AGE first and READY last. kubectl shows them in list order;
this rewrites the list in the order given, which is the order of the @AdditionalPrinterColumn
annotations. Plain text, no YAML library: it runs in the build before any test dependency is
installed, and the generator's layout is fixed (one "    - jsonPath:" line starts each column).

  printer-columns.py DIR FILE=Name,Name,... [FILE=...]
"""
import pathlib
import sys


def reorder(text, order):
    lines = text.split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == "- additionalPrinterColumns:")
    item = "    - "
    end = start + 1
    while end < len(lines) and (lines[end].startswith(item) or lines[end].startswith("      ")):
        end += 1
    columns, current = [], None
    for line in lines[start + 1:end]:
        if line.startswith(item):
            current = [line]
            columns.append(current)
        else:
            current.append(line)
    by_name = {}
    for c in columns:
        name = next(l.split("name:", 1)[1].strip().strip('"') for l in c if l.strip().startswith("name:"))
        by_name[name] = c
    if sorted(by_name) != sorted(order):
        sys.exit("printer-columns.py: the CRD has columns %s, the order names %s" % (sorted(by_name), sorted(order)))
    body = [l for name in order for l in by_name[name]]
    return "\n".join(lines[:start + 1] + body + lines[end:])


def main(args):
    directory = pathlib.Path(args[0])
    for spec in args[1:]:
        file, names = spec.split("=", 1)
        path = directory / file
        path.write_text(reorder(path.read_text(), names.split(",")))


if __name__ == "__main__":
    main(sys.argv[1:])
