"""Sphinx configuration of steernb's documentation site (built by `tools/build_docs.py`, `make docs`).

The source tree is staged by tools/build_docs.py from the notebooks (nbdev directives applied) and
docs/*.md; this file only configures Sphinx. The site is built offline: no intersphinx, no web fonts or
scripts from a CDN, math rendered to plain HTML here, notebooks rendered from their stored outputs and never
executed.
"""
import html
import json
import os
import re
from configparser import ConfigParser
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parent.parent
_ini = ConfigParser(delimiters=['='])
_ini.read(ROOT / 'settings.ini', encoding='utf-8')
_cfg = _ini['DEFAULT']

project = _cfg['title']
author = _cfg['author']
copyright = _cfg['copyright']
release = version = _cfg['version']

extensions = ['myst_nb', 'sphinx.ext.autodoc', 'sphinx.ext.viewcode']
exclude_patterns = ['_build', '**.ipynb_checkpoints']
root_doc = 'index'

# notebooks: rendered as stored (outputs included), never executed
nb_execution_mode = 'off'
nb_output_stderr = 'show'
nb_merge_streams = True
# prefer static images over HTML/JS outputs, and drop outputs that need scripts from the web (widgets, raw JS)
nb_mime_priority_overrides = [
    ('html', 'image/svg+xml', 25), ('html', 'image/png', 26), ('html', 'image/jpeg', 27),
    ('html', 'application/javascript', None), ('html', 'application/vnd.jupyter.widget-view+json', None),
]
nb_ipywidgets_js = {}
myst_enable_extensions = ['colon_fence', 'dollarmath', 'deflist']
myst_heading_anchors = 3
suppress_warnings = ['myst.header']

# API reference: signatures as written, members in source order, parameter descriptions from docments
autodoc_member_order = 'bysource'
autodoc_preserve_defaults = False   # True failed on some docments signatures ('pop from empty list')
autodoc_typehints = 'signature'
autodoc_class_signature = 'mixed'
add_module_names = False
default_role = 'literal'      # docstrings are written like markdown: `x` means code
smartquotes = False          # 'raw' | 'unit' stays as typed, as in the code

html_theme = 'pydata_sphinx_theme'
html_title = 'steernb'
html_favicon = '_static/favicon.svg'
html_context = {'default_mode': 'auto'}   # else a fresh browser logs 'invalid theme mode'
html_static_path = ['_static']
html_css_files = ['steernb.css']
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    'header_links_before_dropdown': 8,
    'navigation_depth': 3,
    'show_toc_level': 2,
    'navbar_align': 'left',
    'secondary_sidebar_items': ['page-toc'],
    'footer_start': ['copyright'],
    'footer_end': [],
    'icon_links': [],
}

# hand-written pages (docs/*.md, staged at the top level): their unresolved references are recorded in the
# file named by $STEERNB_DOCS_MISSING_REFS, which tools/build_docs.py reports
HANDWRITTEN = sorted(p.stem for p in Path(__file__).resolve().parent.glob('*.md'))
_MISSING = os.environ.get('STEERNB_DOCS_MISSING_REFS')
# pages with no section navigation get no left sidebar (the article takes the room)
html_sidebars = {p: [] for p in HANDWRITTEN + ['index', 'search', 'genindex', 'py-modindex']}


# --- math without MathJax (which would come from a CDN): a few TeX commands as HTML entities
_TEX = {r'\dots': '&hellip;', r'\ldots': '&hellip;', r'\cdots': '&ctdot;', r'\cdot': '&middot;',
        r'\times': '&times;', r'\le': '&le;', r'\leq': '&le;', r'\ge': '&ge;', r'\geq': '&ge;',
        r'\ne': '&ne;', r'\neq': '&ne;', r'\approx': '&asymp;', r'\to': '&rarr;', r'\in': '&isin;',
        r'\infty': '&infin;', r'\sum': '&sum;', r'\prod': '&prod;', r'\pm': '&plusmn;', r'\sqrt': '&radic;',
        r'\alpha': '&alpha;', r'\beta': '&beta;', r'\gamma': '&gamma;', r'\delta': '&delta;',
        r'\epsilon': '&epsilon;', r'\theta': '&theta;', r'\lambda': '&lambda;', r'\mu': '&mu;',
        r'\sigma': '&sigma;', r'\pi': '&pi;', r'\Delta': '&Delta;', r'\log': 'log', r'\exp': 'exp',
        r'\quad': '&emsp;', r'\mid': ' | ', r'\left': '', r'\right': '', r'\,': '&thinsp;', r'\;': '&ensp;',
        r'\|': '&Vert;'}


def tex_to_html(tex: str) -> str:
    "Simple TeX (letters, sub/superscripts, symbols, \\frac, \\text) as HTML; unknown commands stay as typed."
    s = html.escape(tex.strip(), quote=False)
    s = re.sub(r'\\(?:text|mathrm|mathbf|operatorname)\{([^{}]*)\}', r'\1', s)
    s = re.sub(r'\\frac\{([^{}]*)\}\{([^{}]*)\}', r'(\1)/(\2)', s)
    for cmd in sorted(_TEX, key=len, reverse=True):
        s = re.sub(re.escape(cmd) + r'(?![A-Za-z])', lambda m, c=cmd: _TEX[c], s)
    s = re.sub(r'_\{([^{}]*)\}', r'<sub>\1</sub>', s)
    s = re.sub(r'\^\{([^{}]*)\}', r'<sup>\1</sup>', s)
    s = re.sub(r'_([A-Za-z0-9])', r'<sub>\1</sub>', s)
    s = re.sub(r'\^([A-Za-z0-9])', r'<sup>\1</sup>', s)
    return re.sub(r'(?<![&\w])([A-Za-z])(?![\w;])', r'<var>\1</var>', s)


def _visit_inline_math(self, node):
    self.body.append(f'<span class="math steernb-math">{tex_to_html(node.astext())}</span>')
    raise nodes.SkipNode


def _visit_block_math(self, node):
    self.body.append(f'<div class="math steernb-math">{tex_to_html(node.astext())}</div>')
    raise nodes.SkipNode


html_math_renderer = 'steernb_plain'


# --- docments: the inline `# comment` after each parameter becomes its description in the API reference
def _rst_escape(text: str) -> str:
    "Escape RST markup outside `code` spans; markdown links become RST links."
    parts = re.split(r'(`[^`]+`)', text)
    out = []
    for i, p in enumerate(parts):
        if i % 2:       # a code span; RST needs a break before a letter glued to its end (`Result`s)
            glued = i + 1 < len(parts) and re.match(r'\w', parts[i + 1])
            out.append(p + ('\\ ' if glued else ''))
            continue
        p = re.sub(r'([\\*|_])', r'\\\1', p)
        out.append(re.sub(r'\[([^\]]+)\]\((https?://[^)\s]+)\)', r'`\1 <\2>`__', p))
    return ''.join(out)


def _fix_var_keyword(obj, docs: dict) -> None:
    """fastcore 1.x drops the comment on a `**kw,` (or `*args,`) line, or gives it to 'return': read it from the
    signature's source instead, and take it from 'return' when it landed there."""
    import inspect
    try:
        src = inspect.getsource(obj)
        params = inspect.signature(obj).parameters.values()
    except (TypeError, OSError, ValueError):
        return
    for p in params:
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or (docs.get(p.name) or {}).get('docment'):
            continue
        m = re.search(r'^\s*\*{1,2}' + p.name + r'\b\s*,?\s*#\s*(.+?)\s*$', src, re.M)
        if not m:
            continue
        docs[p.name] = {**(docs.get(p.name) or {}), 'docment': m.group(1)}
        ret = docs.get('return') or {}
        if ret.get('docment') and ' '.join(ret['docment'].split()) == ' '.join(m.group(1).split()):
            docs['return'] = {**ret, 'docment': None}


def _add_docments(app, what, name, obj, options, lines):
    "Append `:param name: <docment>` (and `:returns:`) for every documented parameter the docstring lacks."
    lines[:] = [_rst_escape(l) for l in lines]
    if what not in ('function', 'method', 'class', 'exception'):
        return
    try:
        from fastcore.docments import docments
        docs = docments(obj, full=True)
    except Exception:       # builtins, C extensions, objects without source: nothing to add
        return
    _fix_var_keyword(obj, docs)
    have = {m.group(1) for l in lines if (m := re.match(r':param (?:\S+ )?(\w+):', l))}
    fields = []
    for pname, d in docs.items():
        text = (d or {}).get('docment')
        if not text or pname in have or pname in ('self', 'cls'):
            continue
        text = _rst_escape(' '.join(text.split()))
        fields.append(f':returns: {text}' if pname == 'return' else f':param {pname}: {text}')
    if fields:
        if lines and lines[-1].strip():
            lines.append('')
        lines.extend(fields)


def _record_missing(app, env, node, contnode):
    "Remember unresolved references of hand-written pages (docs/*.md), for tools/build_docs.py to report."
    if _MISSING and env.docname in HANDWRITTEN:
        with open(_MISSING, 'a', encoding='utf-8') as f:
            f.write(json.dumps({'page': env.docname, 'target': node.get('reftarget'),
                                'type': f"{node.get('refdomain')}:{node.get('reftype')}"}) + '\n')
    return None


def _no_source_link_when_unindexed(app, doctree):
    """An API entry shown inline on a notebook page (`:no-index:`) gets no [source] link: viewcode would make
    its source page link back to that entry, which has no anchor, instead of to the API reference."""
    from sphinx import addnodes
    for desc in doctree.findall(addnodes.desc):
        if desc.get('no-index') or desc.get('noindex'):
            for sig in desc.findall(addnodes.desc_signature):
                sig['module'] = None


def _patch_myst_rst_padding():
    """Make `{eval-rst}` blocks in notebooks fast.

    myst-parser pads each such block with one blank line per source line before it, so that docutils reports
    the right line; myst-nb numbers notebook lines as (cell index + 1) * 10000 + line, so a block in cell 40
    is parsed after 410,000 blank lines (15 s per notebook page). Pad only to the line within the cell
    instead.
    """
    import inspect
    from myst_parser.mdit_to_docutils import base
    from myst_parser.mocking import MockRSTParser
    original = base.DocutilsRenderer.render_restructuredtext
    if 'pseudosource' not in inspect.getsource(original):      # myst-parser changed: leave it as it is
        return

    def render_restructuredtext(self, token) -> None:
        newdoc = base.make_document()
        newdoc['source'] = self.document['source']
        newdoc.settings = self.document.settings
        newdoc.reporter = self.reporter
        MockRSTParser().parse('\n' * (base.token_line(token) % 10000) + token.content, newdoc)
        for node in newdoc:
            if node['names']:
                self.document.note_explicit_target(node, node)
        self.current_node.extend(newdoc.children)

    base.DocutilsRenderer.render_restructuredtext = render_restructuredtext


def setup(app):
    _patch_myst_rst_padding()
    app.add_html_math_renderer('steernb_plain', (_visit_inline_math, None), (_visit_block_math, None))
    app.connect('autodoc-process-docstring', _add_docments)
    app.connect('missing-reference', _record_missing)
    app.connect('doctree-read', _no_source_link_when_unindexed, priority=400)     # before viewcode's (500)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
