#!/usr/bin/python3
"""Check that the includes of lib/ follow the layers written in lib/layers.txt.

    scripts/check_layers.py [--root DIR]   check DIR/lib (default: the repository)
    scripts/check_layers.py --self-test    prove that the check fails on each kind of violation

A violation is reported as file:line, the include, and which layers are involved, e.g.

    lib/eval/metrics.c:9: includes "tsflow/rnn_model.h" of layer model (upward), but layer eval
    uses only core, io, prep, nn (lib/layers.txt)

Kinds: an include of a layer that the file's layer does not use (upward, or a lower layer left
out on purpose, as prep for nn), an include of another folder's private header, a public header
assigned to no layer, an include that names no file, and a cycle among files.
Exit status 0 when clean, 1 on a violation, 2 when lib/layers.txt itself is malformed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCES = ('.c', '.h', '.c.in')
SHARED = 'core.h'  # lib/core/core.h: internals every layer may include


class LayersError(Exception):
    pass


def read_layers(path):
    """lib/layers.txt -> (order, uses: layer -> set, header -> layer)."""
    order, uses, owner = [], {}, {}
    for n, line in enumerate(open(path), 1):
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r'(\w+):\s*uses\s+(.*?)\s*\|\s*headers\s+(.*)', line)
        if not m:
            raise LayersError(f'{path}:{n}: expected "<layer>: uses <layers> | headers <files>"')
        layer, used, headers = m.group(1), m.group(2).split(), m.group(3).split()
        if used == ['-']:
            used = []
        for u in used:
            if u not in uses:
                raise LayersError(f'{path}:{n}: layer {layer} uses "{u}", which is not a layer '
                                  'listed above it (a layer may only use lower layers)')
        if layer in uses:
            raise LayersError(f'{path}:{n}: layer {layer} is listed twice')
        order.append(layer)
        uses[layer] = set(used)
        for h in headers:
            if h in owner:
                raise LayersError(f'{path}:{n}: header {h} is already in layer {owner[h]}')
            owner[h] = layer
    return order, uses, owner


def lib_files(lib):
    for d, _, names in os.walk(lib):
        for name in sorted(names):
            if name.endswith(SOURCES):
                yield os.path.join(d, name)


def check(root):
    """Violation messages (strings) for root/lib; raises LayersError for a bad layers.txt."""
    lib = os.path.join(root, 'lib')
    pub = os.path.join(lib, 'include', 'tsflow')
    order, uses, owner = read_layers(os.path.join(lib, 'layers.txt'))
    rel = lambda p: os.path.relpath(p, root)
    problems, edges = [], {}

    def layer_of(path):
        parts = os.path.relpath(path, lib).split(os.sep)
        if parts[:2] == ['include', 'tsflow']:
            return owner.get(parts[2])
        return parts[0] if parts[0] in uses else None

    for h in sorted(os.listdir(pub)):
        if h.endswith('.h') and h not in owner:
            problems.append(f'{rel(os.path.join(pub, h))}: public header assigned to no layer '
                            '(add it to one in lib/layers.txt)')

    for path in lib_files(lib):
        layer = layer_of(path)
        if layer is None:
            if os.path.dirname(path) != pub:  # unassigned headers are reported above
                problems.append(f'{rel(path)}: in no layer (lib/layers.txt names the folders)')
            continue
        allowed = uses[layer] | {layer}
        edges[path] = []
        for n, line in enumerate(open(path, errors='replace'), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            bracket, name = m.groups()
            where = f'{rel(path)}:{n}: includes {bracket}{name}{">" if bracket == "<" else chr(34)}'
            if name.startswith('tsflow/'):
                target = os.path.join(pub, name[len('tsflow/'):])
                to = owner.get(name[len('tsflow/'):])
                if not os.path.exists(target):
                    problems.append(f'{where}, which is no public header')
                    continue
                if to is None:
                    continue  # reported as unassigned above
                if to not in allowed:
                    used = ', '.join(l for l in order if l in uses[layer])
                    used = f'uses only {used}' if used else 'uses no other layer'
                    up = 'upward' if order.index(to) > order.index(layer) else 'not used'
                    problems.append(f'{where} of layer {to} ({up}), but layer {layer} {used} '
                                    '(lib/layers.txt)')
                edges[path].append(target)
            elif bracket == '<':
                continue  # a system or third-party header
            elif '/' in name:
                problems.append(f'{where}: another folder\'s private header (layer {layer} may '
                                'include only public tsflow/ headers from other folders; give '
                                'what is shared a public name)')
            elif name == SHARED:
                edges[path].append(os.path.join(lib, 'core', SHARED))
            else:
                target = os.path.join(os.path.dirname(path), name)
                if not os.path.exists(target):
                    problems.append(f'{where}, which is not a header of its own folder')
                    continue
                edges[path].append(target)

    problems += [f'include cycle: {" -> ".join(rel(p) for p in c)}' for c in cycles(edges)]
    return problems


def cycles(edges):
    """One cycle (as a closed path of files) per strongly connected tangle, found by DFS."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour, stack, found = {}, [], []
    sys.setrecursionlimit(10000)

    def visit(u):
        colour[u] = GREY
        stack.append(u)
        for v in edges.get(u, []):
            c = colour.get(v, WHITE)
            if c == GREY:
                found.append(stack[stack.index(v):] + [v])
            elif c == WHITE:
                visit(v)
        stack.pop()
        colour[u] = BLACK

    for u in sorted(edges):
        if colour.get(u, WHITE) == WHITE:
            visit(u)
    return found


def self_test(root):
    """Inject one violation of each kind into a copy of lib/ and demand the matching failure."""
    cases = [
        ('lib/eval/metrics.c', '#include "tsflow/rnn_model.h"\n',
         ['lib/eval/metrics.c:{line}: includes "tsflow/rnn_model.h" of layer model (upward), '
          'but layer eval uses only core, io, prep, nn']),
        ('lib/nn/train.c', '#include "tsflow/window.h"\n',
         ['lib/nn/train.c:{line}: includes "tsflow/window.h" of layer prep (not used), '
          'but layer nn uses only core, io']),
        ('lib/eval/export.c', '#include "../io/csv_internal.h"\n',
         ['lib/eval/export.c:{line}: includes "../io/csv_internal.h": another folder\'s private '
          'header']),
        ('lib/model/source.c', '#include "nn.h"\n',
         ['lib/model/source.c:{line}: includes "nn.h", which is not a header of its own folder']),
        ('lib/include/tsflow/forecast.h', '#include "tsflow/metrics.h"\n',
         ['include cycle: lib/include/tsflow/forecast.h -> lib/include/tsflow/metrics.h -> '
          'lib/include/tsflow/forecast.h']),
        ('lib/include/tsflow/orphan.h', '/* a header in no layer */\n',
         ['lib/include/tsflow/orphan.h: public header assigned to no layer']),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        clean = os.path.join(tmp, 'clean')
        shutil.copytree(os.path.join(root, 'lib'), os.path.join(clean, 'lib'))
        base = check(clean)
        if base:
            print('self-test: the unmodified lib/ already fails:\n  ' + '\n  '.join(base))
            return 1
        for i, (target, text, expected) in enumerate(cases):
            copy = os.path.join(tmp, str(i))
            shutil.copytree(os.path.join(clean, 'lib'), os.path.join(copy, 'lib'))
            path = os.path.join(copy, target)
            line = sum(1 for _ in open(path)) + 1 if os.path.exists(path) else 1
            with open(path, 'a') as f:
                f.write(text)
            # Run the check as a program, as check.sh does: the exit status must say failure.
            r = subprocess.run([sys.executable, os.path.abspath(__file__), '--root', copy],
                               capture_output=True, text=True)
            want = [e.format(line=line) for e in expected]
            missing = [w for w in want if w not in r.stdout]
            if r.returncode != 1 or missing:
                failures += 1
                print(f'self-test: injecting {text.strip()!r} into {target}: exit {r.returncode}'
                      f', wanted 1 and the line\n  {missing or want}\ngot:\n{r.stdout}{r.stderr}')
            else:
                print(f'self-test ok: {target} + {text.strip()!r} fails as it should')
    return 1 if failures else 0


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if '--self-test' in argv:
        return self_test(root)
    if '--root' in argv:
        root = argv[argv.index('--root') + 1]
    try:
        problems = check(root)
    except LayersError as e:
        print(f'check_layers: {e}')
        return 2
    for p in problems:
        print(p)
    if problems:
        print(f'check_layers: {len(problems)} include(s) break the layers of lib/layers.txt')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
