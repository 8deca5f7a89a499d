#!/usr/bin/python3
"""List the C functions longer than a limit, longest first; with --fail, fail on new ones.

    scripts/long_functions.py [--max N] [--fail] [--allow FILE] [--root DIR] [DIR_OR_FILE ...]
    scripts/long_functions.py --self-test

N defaults to 100 lines, the directories to DIR/lib and DIR/pipeline (DIR: the repository,
whose paths the output and the allow list are relative to). A function's length runs from
the first line of its signature to its closing brace. The house style (clang-format, Linux
braces) puts a function's opening and closing braces alone in column 0 and no other brace
there, which is what this relies on. Prints "file:line: name: N lines" and a summary.

--allow FILE names the long functions still to be split, one "path name lines" a line
(# starts a comment): such a function may stay over the limit as long as it grows no longer
than the lines written there. An entry whose function is no longer over the limit is reported,
to be removed, without failing.

Exit status 0, or 1 with --fail when a function is over the limit and not allowed (or longer
than allowed); 2 when the allow list is malformed. --self-test proves the --fail mode on
functions written into a temporary directory.
"""
import os
import re
import subprocess
import sys
import tempfile


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


class AllowError(Exception):
    pass


def read_allow(path):
    """{(file, name): lines} from an allow list."""
    allowed = {}
    for no, raw in enumerate(open(path), 1):
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 3 or not parts[2].isdigit():
            raise AllowError(f'{path}:{no}: expected "path name lines", got "{raw.strip()}"')
        allowed[(parts[0], parts[1])] = int(parts[2])
    return allowed


def main(argv):
    limit, fail, paths, allow_path = 100, False, [], None
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    args = iter(argv)
    for a in args:
        if a == '--max':
            limit = int(next(args))
        elif a == '--fail':
            fail = True
        elif a == '--allow':
            allow_path = next(args)
        elif a == '--root':
            root = next(args)
        elif a == '--self-test':
            return self_test()
        else:
            paths.append(a)
    try:
        allowed = read_allow(allow_path) if allow_path else {}
    except AllowError as e:
        print(f'long_functions: {e}')
        return 2
    if not paths:
        paths = [os.path.join(root, 'lib'), os.path.join(root, 'pipeline')]
    files = []
    for p in paths:
        if os.path.isfile(p):
            files.append(p)
        for d, _, names in os.walk(p):
            files += [os.path.join(d, n) for n in sorted(names) if n.endswith('.c')]
    found, total, bad = [], 0, 0
    for f in files:
        for name, line, n in functions(f):
            total += 1
            if n > limit:
                found.append((n, os.path.relpath(f, root), line, name))
    long_now = set()
    for n, f, line, name in sorted(found, key=lambda x: (-x[0], x[1], x[2])):
        long_now.add((f, name))
        note = ''
        if allow_path:
            cap = allowed.get((f, name))
            if cap is None:
                note, bad = f' (not in {allow_path}: split it)', bad + 1
            elif n > cap:
                note, bad = f' (grew past the {cap} lines {allow_path} allows: split it)', bad + 1
            else:
                note = ' (allowed: still to split)'
        print(f'{f}:{line}: {name}: {n} lines{note}')
    print(f'{len(found)} of {total} functions are over {limit} lines')
    for f, name in sorted(set(allowed) - long_now):
        print(f'{allow_path}: {f} {name} is no longer over {limit} lines: remove its line')
    if allow_path and bad:
        print(f'long_functions: {bad} function(s) over {limit} lines that {allow_path} does '
              f'not allow')
    if not fail:
        return 0
    return 1 if (bad if allow_path else found) else 0


def self_test():
    """Write a short, a long and a longer function; --fail must pass and fail as documented."""
    def fn(name, n_lines):  # a function of n_lines lines in all
        return f'int {name}(void)\n{{\n' + '    x++;\n' * (n_lines - 3) + '}\n'

    cases = [  # (allow list, expected exit status, text the output must hold)
        ('', 1, 'src.c:5: long_one: 120 lines (not in'),
        ('src.c long_one 120\n', 0, 'long_one: 120 lines (allowed: still to split)'),
        ('src.c long_one 110\n', 1, '(grew past the 110 lines'),
        ('src.c long_one 120\nsrc.c gone 200\n', 0, 'src.c gone is no longer over 100 lines'),
        ('src.c long_one\n', 2, 'expected "path name lines"'),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, 'src.c'), 'w') as f:
            f.write('/* test */\n' + fn('short_one', 3)[:-1] + '\n' + fn('long_one', 120))
        allow = os.path.join(tmp, 'allow')
        for text, status, want in cases:
            with open(allow, 'w') as f:
                f.write(text)
            r = subprocess.run([sys.executable, os.path.abspath(__file__), '--fail', '--allow',
                                allow, '--root', tmp, os.path.join(tmp, 'src.c')],
                               capture_output=True, text=True)
            if r.returncode != status or want not in r.stdout:
                failures += 1
                print(f'self-test: allow list {text!r}: exit {r.returncode} (expected {status}), '
                      f'output lacks {want!r}:\n{r.stdout}{r.stderr}')
    print(f'self-test: {len(cases) - failures} of {len(cases)} cases as expected')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
