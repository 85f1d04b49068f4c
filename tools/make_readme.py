#!/usr/bin/env python
"""Write README.md from nbs/index.ipynb (nbdev_readme needs quarto, which is not on PyPI's path here).
Markdown cells as they are; code cells as python blocks without their `#|` directives; `#| hide` cells dropped.
`--check` exits 1 when README.md is out of date."""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def render(nb_path=ROOT / 'nbs' / 'index.ipynb') -> str:
    nb = json.loads(Path(nb_path).read_text())
    out = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        lines = src.splitlines()
        direcs = [l for l in lines if l.startswith('#|')]
        if any(d.split()[1:2] == ['hide'] for d in direcs): continue
        if c['cell_type'] == 'markdown':
            # nbdev's "> summary" line under the title
            out.append(src)
        elif c['cell_type'] == 'code':
            body = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
            if body: out.append(f'```python\n{body}\n```')
    text = '\n\n'.join(out) + '\n'
    return '<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->\n\n' + text

if __name__ == '__main__':
    text = render()
    readme = ROOT / 'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != text:
            print('FAIL: README.md is out of date with nbs/index.ipynb: run python tools/make_readme.py'); sys.exit(1)
        print('ok: README.md matches nbs/index.ipynb')
    else:
        readme.write_text(text); print('wrote', readme)
