#!/usr/bin/env python
"""steernb's structure and style checks (issue #15's rules), over the notebooks and the exported package.

Reports, and with --strict fails on:
  - export cells with more than 2 top-level definitions or more than 60 lines;
  - code lines longer than 110 characters (in notebook code cells and tools/);
  - statements chained with semicolons;
  - private names (`_x`) imported from another steernb module, or read as `module._x`;
  - steernb modules imported inside a function (optional heavy third-party imports are fine);
  - modules other than steernb.steer that register forward hooks or write to a module's output/input.
Usage: python tools/check_style.py [--strict] [--quiet]
"""
import argparse, ast, io, json, re, sys, tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINE, MAX_DEFS, MAX_CELL_LINES = 110, 2, 60
ENGINE = 'steer'                      # the one module allowed to edit activations
EDIT_PATTERNS = [r'register_forward_hook', r'register_forward_pre_hook', r'\.output\s*=[^=]', r'\.input\s*=[^=]',
                 r'\.output\[[^\]]*\]\s*[+\-*/]?=[^=]']

def code_cells(nb_path):
    nb = json.loads(nb_path.read_text())
    for i, c in enumerate(nb['cells']):
        if c['cell_type'] == 'code': yield i, ''.join(c['source'])

def semicolon_chains(src: str) -> int:
    "Number of `;` tokens that separate statements (not inside strings or comments)."
    body = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('%', '!', '#|')))
    try: toks = list(tokenize.generate_tokens(io.StringIO(body).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError): return 0
    return sum(t.type == tokenize.OP and t.string == ';' and not (j + 1 < len(toks) and toks[j + 1].type in
               (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.COMMENT)) for j, t in enumerate(toks))

def top_defs(src: str) -> int:
    body = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('#|', '%', '!')))
    try: tree = ast.parse(body)
    except SyntaxError: return 0
    return sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in tree.body)

def check_notebooks(problems):
    stats = dict(lines=0, long=0, semis=0, export_cells=0)
    for nb in sorted((ROOT / 'nbs').rglob('*.ipynb')):
        if '.ipynb_checkpoints' in nb.parts or '_scratch' in nb.parts: continue
        rel = nb.relative_to(ROOT)
        for i, src in code_cells(nb):
            lines = src.splitlines()
            stats['lines'] += len(lines)
            for k, l in enumerate(lines):
                if len(l) > MAX_LINE:
                    stats['long'] += 1
                    problems.append(f'{rel} cell {i} line {k + 1}: {len(l)} characters (max {MAX_LINE})')
            n = semicolon_chains(src)
            stats['semis'] += n
            if n: problems.append(f'{rel} cell {i}: {n} semicolon-chained statement(s)')
            if src.lstrip().startswith('#| export'):
                stats['export_cells'] += 1
                d = top_defs(src)
                if d > MAX_DEFS: problems.append(f'{rel} cell {i}: export cell with {d} definitions (max {MAX_DEFS})')
                if len(lines) > MAX_CELL_LINES:
                    problems.append(f'{rel} cell {i}: export cell of {len(lines)} lines (max {MAX_CELL_LINES})')
    return stats

def module_names():
    return {p.stem for p in (ROOT / 'steernb').glob('*.py') if not p.stem.startswith('_')}

def check_package(problems):
    mods, stats = module_names(), dict(private_imports=0, inner_imports=0, editing_modules=[])
    for p in sorted((ROOT / 'steernb').glob('*.py')):
        if p.stem.startswith('_'): continue
        src = p.read_text(); tree = ast.parse(src)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                m = node.module.split('.')[-1] if (node.level or node.module.startswith('steernb')) else None
                if m in mods and m != p.stem:
                    for a in node.names:
                        if a.name.startswith('_'):
                            stats['private_imports'] += 1
                            problems.append(f'steernb/{p.name}: imports private {m}.{a.name}')
            if isinstance(node, ast.Attribute) and node.attr.startswith('_') and not node.attr.startswith('__') \
                    and isinstance(node.value, ast.Name) and node.value.id in mods | {'S', 'M', 'R'} \
                    and node.value.id != p.stem:
                stats['private_imports'] += 1
                problems.append(f'steernb/{p.name}:{node.lineno}: reads private {node.value.id}.{node.attr}')
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [node.module or ''] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                    rel = isinstance(node, ast.ImportFrom) and node.level
                    if rel or any(n == 'steernb' or n.startswith('steernb.') for n in names):
                        stats['inner_imports'] += 1
                        problems.append(f'steernb/{p.name}:{node.lineno}: package import inside {fn.name}()')
        if p.stem != ENGINE and any(re.search(pat, src) for pat in EDIT_PATTERNS):
            stats['editing_modules'].append(p.stem)
            problems.append(f'steernb/{p.name}: edits activations (hooks or output writes); only steernb.{ENGINE} may')
    return stats

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--strict', action='store_true', help='exit 1 when any rule is broken')
    ap.add_argument('--quiet', action='store_true', help='print only the summary')
    a = ap.parse_args()
    problems = []
    nb, pkg = check_notebooks(problems), check_package(problems)
    if not a.quiet:
        for p in problems: print(p)
    share = 100 * nb['long'] / max(1, nb['lines'])
    print(json.dumps({'code_lines': nb['lines'], 'long_lines': nb['long'], 'long_line_pct': round(share, 2),
                      'semicolon_chains': nb['semis'], 'export_cells': nb['export_cells'],
                      'private_cross_module': pkg['private_imports'], 'imports_in_functions': pkg['inner_imports'],
                      'modules_editing_activations': pkg['editing_modules'], 'problems': len(problems)}))
    if a.strict and problems: sys.exit(1)

if __name__ == '__main__': main()
