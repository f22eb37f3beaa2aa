#!/usr/bin/env python3
"""Reads and rewrites scalar values of the chart's YAML files, keeping every comment and line.

    chartvalues.py get FILE dotted.key            prints the value ("" for an empty string)
    chartvalues.py set FILE dotted.key VALUE      rewrites that one line in place

Only what the release needs: block mappings of `key: scalar` lines (values.yaml, Chart.yaml).
Flow collections and list items are never keys here; block scalars (| and >) are skipped. A key
that is missing, or present more than once, is an error rather than a guess, so a changed chart
layout fails the release loudly instead of publishing a chart pinned in the wrong place.
Standard library only, like e2e/images/imagetool.py.
"""
import json
import re
import sys

KEY = re.compile(r'^(?P<indent> *)(?P<key>[A-Za-z0-9_./-]+):(?P<rest>(?: .*)?)$')


def die(msg):
    print(f"chartvalues: ERROR: {msg}", file=sys.stderr)
    sys.exit(2)


def scalar(rest):
    """(value, trailing comment) of `key: rest`; value None when it is not a plain scalar."""
    text = rest.strip()
    if text.startswith('"'):
        m = re.match(r'"((?:[^"\\]|\\.)*)"(\s*#.*)?$', text)
        return (json.loads('"' + m.group(1) + '"'), m.group(2) or '') if m else (None, '')
    if text.startswith("'"):
        m = re.match(r"'((?:[^']|'')*)'(\s*#.*)?$", text)
        return (m.group(1).replace("''", "'"), m.group(2) or '') if m else (None, '')
    m = re.match(r'(.*?)(\s+#.*)?$', text)
    return m.group(1), m.group(2) or ''


def find(lines, dotted):
    """Index and match of the line holding `dotted`, by indentation."""
    want = dotted.split('.')
    stack = []  # (indent, key) of the enclosing mappings
    block_indent = None  # inside a block scalar started at this indent
    hits = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        indent = len(line) - len(line.lstrip(' '))
        if block_indent is not None:
            if indent > block_indent:
                continue
            block_indent = None
        m = KEY.match(line.rstrip('\n'))
        if not m:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = [k for _, k in stack] + [m.group('key')]
        if path == want:
            hits.append((i, m))
        value = m.group('rest').strip()
        if value == '' or value.startswith('#'):
            stack.append((indent, m.group('key')))
        elif re.match(r'^[|>][-+0-9]*\s*(#.*)?$', value):
            block_indent = indent
    if not hits:
        die(f"no key {dotted}")
    if len(hits) > 1:
        die(f"key {dotted} appears {len(hits)} times")
    return hits[0]


def main(argv):
    if len(argv) < 3 or argv[0] not in ('get', 'set') or (argv[0] == 'set') != (len(argv) == 4):
        die("usage: chartvalues.py get FILE KEY | set FILE KEY VALUE")
    cmd, path, dotted = argv[0], argv[1], argv[2]
    with open(path, encoding='utf-8') as f:
        lines = f.readlines()
    i, m = find(lines, dotted)
    value, comment = scalar(m.group('rest'))
    if value is None:
        die(f"{path}:{i + 1}: {dotted} is not a plain scalar")
    if cmd == 'get':
        print(value)
        return
    if value == argv[3]:
        return  # unchanged: keep the line exactly as written
    ending = '\n' if lines[i].endswith('\n') else ''
    lines[i] = f"{m.group('indent')}{m.group('key')}: {json.dumps(argv[3])}{comment}{ending}"
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(lines)


if __name__ == '__main__':
    main(sys.argv[1:])
