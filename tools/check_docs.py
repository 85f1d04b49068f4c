#!/usr/bin/env python
"""Check the built documentation site (_docs/) in headless Chromium, driven over the DevTools protocol.

Serves the site on 127.0.0.1 and visits every page. Fails (exit 1, one line per problem) when a page:
  - logs a console error, throws a JavaScript exception, or fails to load a resource;
  - asks for anything outside the site (the site must work offline: no CDN scripts or fonts);
  - has no title heading;
  - links to a page, file or anchor (#id) of the site that does not exist;
  - shows an image that does not load (naturalWidth 0);
or when the site search finds nothing for "BiPO". Saves screenshots of the home page and the steering page.

    python tools/check_docs.py [--site _docs] [--shots DIR]

Needs Debian's `chromium` (`make install` installs it) and websocket-client (a dev requirement).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--hide-scrollbars', '--remote-debugging-port=0']
SEARCH_TERM = 'BiPO'


class Chromium:
    "Headless Chromium over the DevTools protocol; records console errors, exceptions and requests per page."
    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60):
        exe = shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome')
        if not exe:
            raise RuntimeError('checking the docs needs Chromium: apt-get install chromium '
                               '(make install does it)')
        import websocket
        self.width, self.height, self.n, self.timeout = width, height, 0, timeout
        self.dir = tempfile.mkdtemp(prefix='steernb-docs-chromium-')
        self.events: list[dict] = []
        self.proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f'--user-data-dir={self.dir}',
                                      f'--window-size={width},{height}', 'about:blank'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file, t0 = Path(self.dir) / 'DevToolsActivePort', time.time()
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError(f'Chromium exited at start (code {self.proc.returncode}): '
                                   f'run {exe} --headless --no-sandbox about:blank to see why')
            if time.time() - t0 > timeout:
                raise RuntimeError(f'Chromium did not open its DevTools port within {timeout:.0f}s')
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = json.loads(urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=10).read())
        url = next(p['webSocketDebuggerUrl'] for p in pages if p['type'] == 'page')
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        for domain in ('Page', 'Runtime', 'Log', 'Network'):
            self.send(f'{domain}.enable')
        self.send('Emulation.setDeviceMetricsOverride', width=width, height=height, deviceScaleFactor=1,
                  mobile=False)

    def send(self, method: str, **params):
        "Call a DevTools method; events that arrive meanwhile are kept in `self.events`."
        self.n += 1
        self.ws.send(json.dumps({'id': self.n, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if 'method' in msg:
                self.events.append(msg)
            elif msg.get('id') == self.n:
                if 'error' in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get('result', {})

    def js(self, expr: str):
        "Evaluate `expr` in the page (promises awaited); returns its value."
        r = self.send('Runtime.evaluate', expression=expr, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r:
            raise RuntimeError(f"{expr[:80]}: {r['exceptionDetails'].get('text')}")
        return r['result'].get('value')

    def wait(self, expr: str, timeout: float | None = None) -> bool:
        t0 = time.time()
        while time.time() - t0 < (timeout or self.timeout):
            if self.js(expr):
                return True
            time.sleep(0.05)
        return False

    def goto(self, url: str) -> None:
        "Open `url` and wait until it and its resources have loaded."
        self.events.clear()
        self.send('Page.navigate', url=url)
        ok = self.wait(f"location.href === {json.dumps(url)} && document.readyState === 'complete'")
        if not ok:
            raise RuntimeError(f'{url} did not finish loading within {self.timeout:.0f}s')

    def problems(self, base: str) -> list[str]:
        "Console errors, exceptions, failed loads and requests outside `base` since the last `goto`."
        out = []
        for e in self.events:
            m, p = e['method'], e.get('params', {})
            if m == 'Runtime.exceptionThrown':
                d = p['exceptionDetails']
                what = d.get('exception', {}).get('description') or d.get('text')
                out.append(f'JavaScript exception: {what}')
            elif m == 'Runtime.consoleAPICalled' and p.get('type') in ('error', 'assert'):
                out.append('console error: ' + ' '.join(str(a.get('value', a.get('description', '')))
                                                        for a in p.get('args', [])))
            elif m == 'Log.entryAdded' and p['entry'].get('level') == 'error':
                out.append(f"console error: {p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
            elif m == 'Network.requestWillBeSent':
                u = p['request']['url']
                if not u.startswith((base, 'data:', 'blob:', 'about:')):
                    out.append(f'request outside the site (the site must work offline): {u}')
            elif m == 'Network.loadingFailed' and not p.get('canceled'):
                out.append(f"failed to load a resource: {p.get('errorText')}")
        return out

    def screenshot(self, path: Path) -> Path:
        "The visible part of the page (width x height) as a PNG."
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send('Page.captureScreenshot', format='png')['data']))
        return path

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(site: Path):
    "Serve `site` on a free port of 127.0.0.1 from a background thread; yields the base URL."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', port), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f'http://127.0.0.1:{port}/'
    finally:
        httpd.shutdown()
        httpd.server_close()


def site_pages(site: Path) -> list[str]:
    "Every HTML page of the site (relative paths), except Sphinx's internal folders (_static, _sources, ...)."
    return sorted(str(p.relative_to(site)) for p in site.rglob('*.html')
                  if not p.relative_to(site).parts[0] in ('_static', '_sources', '_images'))


_PAGE_FACTS = """(async () => {
  const imgs = [...document.images];
  const loaded = await Promise.all(imgs.map(async (i) => {
    i.loading = 'eager';
    try { await i.decode(); } catch (e) {}
    return [i.currentSrc || i.src, i.naturalWidth];
  }));
  return {
    title: (document.querySelector('main h1, article h1, h1') || {}).textContent || '',
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id)
         .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
    images: loaded,
  };
})()"""


def png_size(path) -> tuple[int, int]:
    "(width, height) of a PNG file, checking its signature."
    b = Path(path).read_bytes()[:24]
    if b[:8] != b'\x89PNG\r\n\x1a\n' or b[12:16] != b'IHDR':
        raise ValueError(f'{path} is not a PNG file')
    return int.from_bytes(b[16:20], 'big'), int.from_bytes(b[20:24], 'big')


def find_steer_page(pages: list[str]) -> str | None:
    "The library page of the steering notebook (lib/NN_steer.html), whatever its number."
    return next((p for p in pages if p.startswith('lib/') and p.split('_', 1)[-1] == 'steer.html'), None)


def check_site(site: str | Path = ROOT / '_docs', shots: str | Path | None = None,
               search_term: str = SEARCH_TERM, verbose: bool = False) -> dict:
    "Visit every page of `site` in headless Chromium: {pages, problems, search_hits, screenshots, ...}."
    site = Path(site).resolve()
    if not (site / 'index.html').is_file():
        raise FileNotFoundError(f'{site} has no index.html: build the site first (make docs)')
    shots = Path(shots) if shots else site / '_screenshots'
    pages = site_pages(site)
    problems: list[str] = []
    facts: dict[str, dict] = {}
    t0 = time.time()
    with serve(site) as base, Chromium() as br:
        for page in pages:
            br.goto(base + page)
            f = br.js(_PAGE_FACTS)
            facts[page] = f
            problems += [f'{page}: {p}' for p in br.problems(base)]
            if not f['title'].strip():
                problems.append(f'{page}: no title heading (h1)')
            problems += [f'{page}: image does not load: {src}' for src, w in f['images'] if not w]
            if verbose:
                print(f'  {page}: {len(f["links"])} links, {len(f["images"])} images', flush=True)
        # the site search: Sphinx's search page runs the query from ?q= in the browser
        br.goto(f'{base}search.html?q={urllib.parse.quote(search_term)}')
        found = br.wait("document.querySelectorAll('#search-results ul.search li').length > 0", 30)
        hits = br.js("[...document.querySelectorAll('#search-results ul.search li a')].map(a => "
                     "[a.textContent.trim(), a.getAttribute('href')])") if found else []
        problems += [f'search.html?q={search_term}: {p}' for p in br.problems(base)]
        if not hits:
            problems.append(f'the site search finds nothing for {search_term!r}')
        screenshots = {}
        steer = find_steer_page(pages)
        for name, page in (('home', 'index.html'), ('steer', steer)):
            if page is None:
                problems.append('no steering page (lib/NN_steer.html) to take a screenshot of')
                continue
            br.goto(base + page)
            br.wait('document.fonts.status === "loaded"', 10)
            screenshots[name] = str(br.screenshot(shots / f'docs_{name}.png'))
    problems += check_links(site, base, facts)
    return {'pages': pages, 'problems': problems, 'search_hits': hits, 'screenshots': screenshots,
            'n_links': sum(len(f['links']) for f in facts.values()),
            'n_images': sum(len(f['images']) for f in facts.values()), 'seconds': time.time() - t0}


def check_links(site: Path, base: str, facts: dict[str, dict]) -> list[str]:
    "Internal links whose file, or whose #anchor on a page of the site, does not exist."
    problems, checked = [], set()
    for page, f in facts.items():
        for href in f['links']:
            if not href.startswith(base) or (page, href) in checked:
                continue
            checked.add((page, href))
            url = urllib.parse.urlsplit(href)
            rel = urllib.parse.unquote(url.path[len(urllib.parse.urlsplit(base).path):])
            target = site / rel
            if target.is_dir():
                rel = (rel.rstrip('/') + '/index.html').lstrip('/')
                target = site / rel
            if not target.is_file():
                problems.append(f'{page}: broken link to {rel or "/"} (no such file)')
                continue
            anchor = urllib.parse.unquote(url.fragment)
            if anchor and rel in facts and anchor not in facts[rel]['ids']:
                problems.append(f'{page}: broken link to {rel}#{anchor} (no such anchor)')
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--site', type=Path, default=ROOT / '_docs', help='the built site (default: _docs/)')
    ap.add_argument('--shots', type=Path, default=None,
                    help='where screenshots go (default: <site>/_screenshots)')
    ap.add_argument('-v', '--verbose', action='store_true', help='print each page as it is checked')
    a = ap.parse_args(argv)
    res = check_site(a.site, a.shots, verbose=a.verbose)
    for p in res['problems']:
        print('FAIL', p)
    print(f"checked {len(res['pages'])} pages, {res['n_links']} links, {res['n_images']} images in "
          f"{res['seconds']:.0f}s; search {SEARCH_TERM!r}: {len(res['search_hits'])} results; screenshots: "
          + ', '.join(res['screenshots'].values()))
    raise SystemExit(1 if res['problems'] else 0)


if __name__ == '__main__':
    main()
