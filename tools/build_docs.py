#!/usr/bin/env python
"""Build steernb's documentation site into _docs/ with Sphinx, myst-nb and pydata-sphinx-theme (`make docs`).

No Quarto and no network: notebooks are rendered from their stored outputs (never executed), the API reference
comes from the exported modules with each parameter described by its docments comment, math is plain HTML.
The Sphinx source tree is staged under _proc/sphinx/src from whatever is there now:

    index             nbs/index.ipynb, the README's source (set-up and quick start)
    concepts, seeds, contributing, ...   the hand-written pages docs/*.md
    lib/<notebook>    every numbered notebook of nbs/, nbdev directives applied: `#| hide` cells dropped, each
                      `#| export` cell replaced by the API entry of what it defines (as nbdev's show_doc does)
    reports/<name>    every template of nbs/reports/, then its smoke-run figures (docs/images/reports/<name>/)
    api/<module>      one page per module of steernb/ (autodoc)

Navigation follows the order data flows (FLOW). Nothing here names a steernb function, so the build works
whatever the notebooks define. `python tools/build_docs.py --help` for options.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / 'docs'
NBS = ROOT / 'nbs'
PKG = ROOT / 'steernb'
OUT = ROOT / '_docs'
WORK = ROOT / '_proc' / 'sphinx'

# Sections of the library pages, in the order data flows; a notebook belongs to the first section that names
# its module (`#| default_exp`, or the file name without its number), or whose name its module starts with
# (`judge_api` -> judge). Notebooks no section names go last, under "More".
FLOW = [
    ('Load a model and data', ['models', 'data']),
    ('Extract vectors', ['vectors', 'extract']),
    ('Steer', ['steer']),
    ('Measure and generate', ['metrics', 'generate', 'vllm']),
    ('Judge', ['api', 'judge']),
    ('Sweep and analyse', ['sweep', 'stats', 'plots']),
    ('Train vectors', ['train']),
    ('Run reports at scale', ['runs', 'cli', 'reports']),
    ('Explore interactively', ['explore']),
    ('Foundations and tooling', ['core', 'testing', 'bench', 'docs']),
]
# The top navigation bar, in order: (page, title). Hand-written pages not listed come before "Contributing".
TOP = [('concepts', None), ('lib/index', 'Library'), ('reports/index', 'Reports'),
       ('api/index', 'API reference'), ('seeds', None), ('contributing', None)]


def write_if_changed(path: Path, text: str) -> None:
    "Write `text` unless the file holds it already (unchanged files keep their time: Sphinx skips them)."
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding='utf-8') != text:
        path.write_text(text, encoding='utf-8')


def copy_if_changed(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)


# ---------------------------------------------------------------------------------------------- the package
def module_names() -> list[str]:
    "The public modules of the package (steernb/*.py without a leading underscore), sorted."
    return sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_'))


def public_names(module: str) -> set[str]:
    "The names in a module's `__all__` (nbdev writes it), read from the source without importing it."
    path = PKG / f'{module}.py'
    if not path.exists():
        return set()
    for node in ast.parse(path.read_text(encoding='utf-8')).body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in node.targets):
            try:
                return set(ast.literal_eval(node.value))
            except ValueError:
                return set()
    return set()


# ---------------------------------------------------------------------------------------------- notebooks
def directives(src: str) -> dict[str, str]:
    "nbdev's `#| name args` lines of a cell as {name: args}."
    out = {}
    for line in src.splitlines():
        if line.startswith('#|'):
            words = line[2:].strip().split(None, 1)
            if words:
                out[words[0].rstrip(':')] = words[1] if len(words) > 1 else ''
    return out


def strip_directives(src: str) -> str:
    return '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip('\n')


def notebook_module(nb: dict, path: Path) -> str:
    "The module a notebook exports to, or its file name without the number prefix when it exports nothing."
    for c in nb['cells']:
        d = directives(''.join(c['source'])) if c['cell_type'] == 'code' else {}
        if 'default_exp' in d:
            return d['default_exp'].split()[0]
    return re.sub(r'^\d+[a-z]?_', '', path.stem)


def notebook_title(nb: dict, path: Path) -> str:
    for c in nb['cells']:
        if c['cell_type'] == 'markdown':
            m = re.match(r'#\s+(.+)', ''.join(c['source']).strip())
            if m:
                return m.group(1).strip()
    return path.stem


def defined_names(src: str) -> list[tuple[str, str]]:
    "(kind, name) of the top-level classes and functions a code cell defines."
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return []
    out = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out.append(('class', node.name))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            patched = any(getattr(d, 'id', getattr(d, 'attr', None)) == 'patch' for d in node.decorator_list)
            if not patched:
                out.append(('function', node.name))
    return out


def api_entry(module: str, kind: str, name: str) -> str:
    "A markdown cell body rendering one API entry in place (the canonical one lives on the API page)."
    directive = 'autoclass' if kind == 'class' else 'autofunction'
    return f'```{{eval-rst}}\n.. {directive}:: steernb.{module}.{name}\n   :no-index:\n```'


class Linker:
    "Turns `name` code spans in markdown into links to the API reference when they name a public object."
    def __init__(self, names: dict[str, set[str]] | None = None):   # {module: names}; default: steernb
        self.where: dict[str, list[str]] = {}
        self.names = names if names is not None else {m: public_names(m) for m in module_names()}
        for m, names in self.names.items():
            for n in names:
                self.where.setdefault(n, []).append(m)

    def target(self, text: str, module: str | None, bare: bool = True) -> str | None:
        name = text[:-2] if text.endswith('()') else text
        parts = name.split('.')
        if parts[0] == 'steernb' and len(parts) == 2 and parts[1] in self.names:
            return name                                             # a module
        if parts[0] == 'steernb':
            parts = parts[1:]
        if len(parts) == 2 and parts[1] in self.names.get(parts[0], ()):
            return f'steernb.{parts[0]}.{parts[1]}'
        if not bare or len(parts) != 1 or not re.fullmatch(r'[A-Za-z_]\w*', name):
            return None
        if module and name in self.names.get(module, ()):
            return f'steernb.{module}.{name}'
        homes = self.where.get(name, [])
        if len(homes) == 1 and ('_' in name or name[0].isupper()):
            return f'steernb.{homes[0]}.{name}'
        return None

    def link(self, md: str, module: str | None, bare: bool = True) -> str:
        "Link code spans outside code blocks and link texts (bare names only when `bare`)."
        out, fenced = [], False
        for line in md.split('\n'):
            if line.lstrip().startswith(('```', '~~~')):
                fenced = not fenced
            indented_code = line.startswith('    ') and not re.match(r'\s*(?:[-*+] |\d+\. )', line)
            if fenced or indented_code or line.lstrip().startswith(('```', '~~~')):
                out.append(line)
                continue
            def repl(m):
                t = self.target(m.group(2), module, bare)
                if t is None or m.group(1) == '[':
                    return m.group(0)
                role = 'py:mod' if t.count('.') == 1 else 'py:obj'
                return f'{m.group(1)}{{{role}}}`{m.group(2)} <{t}>`'
            out.append(re.sub(r'(^|[^`\[{}])`([^`\n]+)`(?!`)', repl, line))
        return '\n'.join(out)


def md_cell(text: str) -> dict:
    return {'cell_type': 'markdown', 'metadata': {}, 'source': text}


def with_ids(nb: dict) -> dict:
    "Give every cell a unique id (nbformat 4.5 wants one): the source's where it had one, else its index."
    seen = set()
    for i, c in enumerate(nb['cells']):
        cid = c.get('id')
        if not cid or cid in seen:
            cid = f'cell-{i}'
        c['id'] = cid
        seen.add(cid)
    return nb


def convert_notebook(nb: dict, module: str | None, linker: Linker, depth: int = 1, bare: bool = True) -> dict:
    """A notebook as the site shows it: nbdev directives applied, exported definitions as API entries,
    code spans naming package objects linked, images under docs/images/ pointing at their staged copies
    (`depth`: how many folders below the site root the page is; `bare`: link unqualified names too)."""
    public = linker.names.get(module, set()) if module else set()
    cells = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown':
            src = re.sub(r'(\]\(|src=["\'])(?:\.\./)*docs/images/',
                         lambda m: m.group(1) + '../' * depth + 'images/', src)
            cid = {'id': c['id']} if c.get('id') else {}
            cells.append({**md_cell(linker.link(src, module, bare)), **cid})
            continue
        if c['cell_type'] != 'code':
            continue
        d = directives(src)
        body = strip_directives(src)
        dropped = 'hide' in d or 'exporti' in d or d.get('include') == 'false'
        if dropped or ('default_exp' in d and not body.strip()):
            continue
        entries = [api_entry(module, kind, name) for kind, name in defined_names(body)
                   if module and name in public] if ('export' in d or 'exports' in d) else []
        if 'export' in d:
            cells.extend(md_cell(e) for e in entries)
            continue
        cid = {'id': c['id']} if c.get('id') else {}
        meta = {k: v for k, v in c.get('metadata', {}).items() if k == 'tags'}
        tags = list(meta.get('tags', []))
        if d.get('echo') == 'false':
            tags.append('remove-input')
        if d.get('output') == 'false':
            tags.append('remove-output')
        if tags:
            meta['tags'] = tags
        if body.strip():
            cells.append({**cid, 'cell_type': 'code', 'execution_count': c.get('execution_count'),
                          'metadata': meta, 'outputs': c.get('outputs', []), 'source': body})
        cells.extend(md_cell(e) for e in entries)
    meta = {k: v for k, v in nb.get('metadata', {}).items() if k in ('kernelspec', 'language_info')}
    return {'cells': cells, 'metadata': meta, 'nbformat': 4, 'nbformat_minor': 5}


def read_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding='utf-8'))


def write_nb(path: Path, nb: dict) -> None:
    write_if_changed(path, json.dumps(with_ids(nb), indent=1, ensure_ascii=False) + '\n')


def flow_section(module: str) -> int:
    for i, (_, keys) in enumerate(FLOW):
        if module in keys or any(module.startswith(k + '_') for k in keys):
            return i
    return len(FLOW)


# ---------------------------------------------------------------------------------------------- pages
def toctree(entries: list[str], caption: str | None = None, hidden: bool = False, maxdepth: int = 1) -> str:
    opts = [f':maxdepth: {maxdepth}'] + ([f':caption: {caption}'] if caption else [])
    opts += [':hidden:'] if hidden else []
    return '```{toctree}\n' + '\n'.join(opts) + '\n\n' + '\n'.join(entries) + '\n```'


def stage_library(src: Path, linker: Linker) -> list[dict]:
    "lib/<notebook> for every numbered notebook, and lib/index grouped by FLOW; returns the pages."
    pages = []
    for p in sorted(NBS.glob('[0-9]*.ipynb')):
        nb = read_nb(p)
        module = notebook_module(nb, p)
        exported = module if module in linker.names else None
        write_nb(src / 'lib' / p.name, convert_notebook(nb, exported, linker))
        pages.append({'page': f'lib/{p.stem}', 'module': module, 'exported': exported, 'source': p,
                      'title': notebook_title(nb, p), 'section': flow_section(module)})
    pages.sort(key=lambda d: (d['section'], d['source'].name))
    parts = ['# Library', '',
             'Every library notebook of `nbs/` as a page: its prose, its examples (which are the tests) and '
             'their stored outputs, with the API entry of each exported function where the notebook '
             'defines it. '
             'The sections follow the order data flows: load a model and data, extract vectors, steer, '
             'measure, judge, sweep and analyse, train, run reports, explore.', '']
    names = [n for n, _ in FLOW] + ['More']
    for i, name in enumerate(names):
        group = [d for d in pages if d['section'] == i]
        if group:
            parts += [toctree([Path(d['page']).name for d in group], caption=name), '']
    write_if_changed(src / 'lib' / 'index.md', '\n'.join(parts))
    return pages


def stage_reports(src: Path, linker: Linker) -> list[str]:
    "reports/<name> for every template, each followed by its figures from the smoke run; reports/index."
    names = []
    for p in sorted((NBS / 'reports').glob('*.ipynb')):
        nb = convert_notebook(read_nb(p), None, linker, bare=False)   # a section named `log_odds` is no link
        figs = sorted((DOCS / 'images' / 'reports' / p.stem).glob('*.png'))
        run = (f'A manifest stage with `report: {p.stem}` runs it (`steernb run run MANIFEST`); '
               f'papermill runs it alone: `papermill nbs/reports/{p.name} out.ipynb -p <name> <value>`.')
        if figs:
            md = ['## Figures from the smoke run', '',
                  'What this template drew when `papermill_runs/manifests/smoke.yaml` ran it on the embedded '
                  'SmolLM2-135M with tiny settings (a test of the plumbing: the numbers mean nothing).', '']
            for f in figs:
                md += [f'```{{figure}} ../images/reports/{p.stem}/{f.name}',
                       f':alt: {f.stem} ({p.stem} report)', ':width: 100%', '', f'`{f.stem}`', '```', '']
            nb['cells'].append(md_cell('\n'.join(md)))
        first = next((i for i, c in enumerate(nb['cells']) if c['cell_type'] == 'markdown'), -1)
        nb['cells'].insert(first + 1, md_cell(run + (' Its figures from the smoke run are at the end of '
                                                     'this page.' if figs else '')))
        write_nb(src / 'reports' / p.name, nb)
        names.append(p.stem)
    parts = ['# Reports', '',
             'Report templates are parameterized notebooks (`nbs/reports/`). A manifest expands a parameter '
             'grid into runs; papermill executes each run into its own folder of `papermill_runs/`, with '
             '`results.parquet`, `figures/` and, last, `metrics.json`. Each template declares what it '
             'promises in a `contract` cell. The pages below show each template as written, then the figures '
             'it drew in the smoke run.', '', toctree(names)]
    write_if_changed(src / 'reports' / 'index.md', '\n'.join(parts))
    return names


def stage_api(src: Path, pages: list[dict]) -> list[str]:
    "api/steernb.<module> for every module, linked to the notebook it comes from; api/index."
    by_module = {d['exported']: d for d in pages if d['exported']}
    mods = module_names()
    for m in mods:
        title = f'steernb.{m}'
        lines = [title, '=' * len(title), '']
        if m in by_module:
            d = by_module[m]
            lines += [f'From the notebook :doc:`{d["title"]} </{d["page"]}>` (``nbs/{d["source"].name}``).',
                      '']
        lines += [f'.. automodule:: steernb.{m}', '   :members:', '']
        write_if_changed(src / 'api' / f'steernb.{m}.rst', '\n'.join(lines))
    flow = sorted(mods, key=lambda m: (flow_section(m), by_module[m]['source'].name if m in by_module else m))
    parts = ['# API reference', '',
             'One page per module of the `steernb` package, generated from the code: each entry gives the '
             'signature, the docstring and, for every parameter, the description written beside it in the '
             'notebook (its docments comment). Modules are listed in the order data flows.', '',
             toctree([f'steernb.{m}' for m in flow])]
    write_if_changed(src / 'api' / 'index.md', '\n'.join(parts))
    return [f'steernb.{m}' for m in flow]


def stage_home(src: Path, linker: Linker, handwritten: list[str]) -> None:
    "index: nbs/index.ipynb (the README) followed by this site's contents, in TOP's order."
    nb = convert_notebook(read_nb(NBS / 'index.ipynb'), None, linker, depth=0)
    titles = dict(TOP)
    order = [p for p, _ in TOP if '/' in p or p in handwritten]
    extra = [p for p in handwritten if p not in titles]
    at = order.index('contributing') if 'contributing' in order else len(order)
    order[at:at] = extra
    entries = [f'{titles[p]} <{p}>' if titles.get(p) else p for p in order]
    nb['cells'].append(md_cell('## This site\n\n' + toctree(entries)))
    write_nb(src / 'index.ipynb', nb)


def stage(src: Path) -> dict:
    "Stage the whole source tree; returns what was staged."
    linker = Linker()
    handwritten = sorted(p.stem for p in DOCS.glob('*.md'))
    for p in DOCS.glob('*.md'):
        write_if_changed(src / p.name, p.read_text(encoding='utf-8'))
    for p in (DOCS / 'images').rglob('*'):
        if p.is_file():
            copy_if_changed(p, src / 'images' / p.relative_to(DOCS / 'images'))
    pages = stage_library(src, linker)
    reports = stage_reports(src, linker)
    api = stage_api(src, pages)
    stage_home(src, linker, handwritten)
    return {'library': [d['page'] for d in pages], 'reports': reports, 'api': api, 'handwritten': handwritten}


def stage_fresh(src: Path) -> dict:
    "Stage into `src`, deleting files left from notebooks or pages that no longer exist."
    staged = stage(src)
    images = [p for p in (DOCS / 'images').rglob('*') if p.is_file()]
    expected = ({src / 'index.ipynb', src / 'lib' / 'index.md', src / 'reports' / 'index.md',
                 src / 'api' / 'index.md'}
                | {src / f'{p}.ipynb' for p in staged['library']}
                | {src / 'reports' / f'{r}.ipynb' for r in staged['reports']}
                | {src / 'api' / f'{a}.rst' for a in staged['api']}
                | {src / f'{h}.md' for h in staged['handwritten']}
                | {src / 'images' / p.relative_to(DOCS / 'images') for p in images})
    for p in [p for p in src.rglob('*') if p.is_file()]:
        if p not in expected:
            p.unlink()
    return staged


# ---------------------------------------------------------------------------------------------- build
def build(out: Path = OUT, clean: bool = False, jobs: str = '1', quiet: bool = True) -> dict:
    "Stage the sources and run sphinx-build into `out`; returns pages, warnings and seconds."
    t0 = time.time()
    # Sphinx builds into _proc/sphinx/html (myst-nb writes its jupyter_execute/ beside the build folder, so
    # that must not be the project root), then the site is copied to `out`
    src, doctrees, html = WORK / 'src', WORK / 'doctrees', WORK / 'html'
    if Path(out).resolve() in (ROOT, *ROOT.parents):
        raise SystemExit(f'refusing to build into {out}: it would replace the project; pick a new folder')
    if clean:
        shutil.rmtree(WORK, ignore_errors=True)
    staged = stage_fresh(src)
    missing = WORK / 'missing_refs.jsonl'
    missing.unlink(missing_ok=True)
    warn_file = WORK / 'warnings.txt'
    env = {**os.environ, 'STEERNB_DOCS_MISSING_REFS': str(missing), 'HF_HUB_OFFLINE': '1',
           'PYDEVD_DISABLE_FILE_VALIDATION': '1'}
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-c', str(DOCS), '-d', str(doctrees), '-j', jobs,
           '-w', str(warn_file), '--keep-going', str(src), str(html)] + (['-q'] if quiet else [])
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=quiet, text=True)
    if r.returncode:
        sys.stderr.write((r.stdout or '') + (r.stderr or '') if quiet else '')
        raise SystemExit(f'sphinx-build failed (exit {r.returncode}): its log is above, '
                         f'its warnings in {warn_file}')
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(html, out, ignore=shutil.ignore_patterns('.buildinfo', '.doctrees'))
    log = warn_file.read_text(encoding='utf-8').splitlines()
    warnings = [l for l in log if 'WARNING' in l or 'ERROR' in l]
    refs = missing.read_text(encoding='utf-8').splitlines() if missing.exists() else []
    refs = [json.loads(l) for l in refs]
    pages = sorted(str(p.relative_to(out)) for p in out.rglob('*.html')
                   if p.relative_to(out).parts[0] not in ('_static', '_sources', '_images'))
    return {'out': out, 'pages': pages, 'warnings': warnings, 'missing_refs': refs, 'staged': staged,
            'seconds': time.time() - t0}


def import_figures(runs_root: Path, scale: float = 1.0) -> dict[str, list[Path]]:
    """Copy the figures of finished report runs under `runs_root` (e.g. a smoke run's --out folder) into
    docs/images/reports/<report>/, as PNGs rendered from their SVGs at `scale` (small files to commit)."""
    import vl_convert
    done: dict[str, list[Path]] = {}
    for run_json in sorted(Path(runs_root).rglob('run.json')):
        run_dir = run_json.parent
        metrics = run_dir / 'metrics.json'
        if not metrics.exists() or json.loads(metrics.read_text()).get('status', 'done') != 'done':
            print(f'skipped {run_dir}: not done')
            continue
        report = json.loads(run_json.read_text())['report']
        dest = DOCS / 'images' / 'reports' / report
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for fig in sorted((run_dir / 'figures').glob('*.png')):
            svg = fig.with_suffix('.svg')
            out = dest / fig.name
            if svg.exists():
                out.write_bytes(vl_convert.svg_to_png(svg.read_text(encoding='utf-8'), scale=scale))
            else:
                shutil.copyfile(fig, out)
            done.setdefault(report, []).append(out)
    return done


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', type=Path, default=OUT, help='output folder (default: _docs/)')
    ap.add_argument('--clean', action='store_true', help='rebuild everything (default: only what changed)')
    ap.add_argument('-j', '--jobs', default='1', help="sphinx-build's parallel jobs ('auto' = one per core)")
    ap.add_argument('-v', '--verbose', action='store_true', help="show sphinx-build's log")
    ap.add_argument('--figures-from', type=Path, metavar='RUNS',
                    help='first copy the figures of the finished runs under RUNS into docs/images/reports/ '
                         '(e.g. after steernb run run papermill_runs/manifests/smoke.yaml --out RUNS)')
    a = ap.parse_args(argv)
    if a.figures_from:
        for report, figs in import_figures(a.figures_from).items():
            kb = sum(f.stat().st_size for f in figs) / 1024
            print(f'{report}: {len(figs)} figures ({kb:.0f} kB) -> docs/images/reports/{report}/')
    res = build(a.out, clean=a.clean, jobs=a.jobs, quiet=not a.verbose)
    for w in res['warnings']:
        print(w)
    for m in res['missing_refs']:
        print(f"unresolved reference on {m['page']}: {m['type']} {m['target']}")
    print(f"built {len(res['pages'])} pages into {res['out']} in {res['seconds']:.0f}s "
          f"({len(res['warnings'])} warnings); open {res['out'] / 'index.html'}")


if __name__ == '__main__':
    main()
