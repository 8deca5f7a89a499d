#!/usr/bin/python3
"""List the C functions longer than a limit, longest first.

    scripts/long_functions.py [--max N] [--fail] [DIR_OR_FILE ...]

N defaults to 100 lines, the directories to lib/ and pipeline/. A function's length runs from
the first line of its signature to its closing brace. The house style (clang-format, Linux
braces) puts a function's opening and closing braces alone in column 0 and no other brace
there, which is what this relies on. Prints "file:line: name: N lines" and a summary; exit
status 0, or 1 with --fail when any function is over the limit.
"""
import os
import re
import sys


def functions(path):
    """(name, first line, length) of every function definition in a C file."""
    lines = open(path, errors='replace').read().split('\n')
    out, i = [], 0
    while i < len(lines):
        if lines[i] != '{':
            i += 1
            continue
        start = i - 1  # the signature: up to the nearest line above that starts in column 0
        while start > 0 and lines[start][:1] in (' ', '\t'):
            start -= 1
        end = i + 1
        while end < len(lines) and lines[end] != '}':
            end += 1
        signature = ' '.join(lines[start:i])
        m = re.search(r'(\w+)\s*\(', signature)
        out.append((m.group(1) if m else '?', start + 1, end - start + 1))
        i = end + 1
    return out


def main(argv):
    limit, fail, paths = 100, False, []
    args = iter(argv)
    for a in args:
        if a == '--max':
            limit = int(next(args))
        elif a == '--fail':
            fail = True
        else:
            paths.append(a)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not paths:
        paths = [os.path.join(root, 'lib'), os.path.join(root, 'pipeline')]
    files = []
    for p in paths:
        if os.path.isfile(p):
            files.append(p)
        for d, _, names in os.walk(p):
            files += [os.path.join(d, n) for n in sorted(names) if n.endswith('.c')]
    found, total = [], 0
    for f in files:
        for name, line, n in functions(f):
            total += 1
            if n > limit:
                found.append((n, os.path.relpath(f, root), line, name))
    for n, f, line, name in sorted(found, key=lambda x: (-x[0], x[1], x[2])):
        print(f'{f}:{line}: {name}: {n} lines')
    print(f'{len(found)} of {total} functions are over {limit} lines')
    return 1 if fail and found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
