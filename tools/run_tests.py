#!/usr/bin/env python
"""steernb's test command (`make test`, CI).

1. Fails when `nbdev_export`, `nbdev_clean` or `tools/make_readme.py` would change a file (steernb/ out of sync,
   an unclean notebook, a README.md behind nbs/index.ipynb).
2. Runs every library notebook with nbdev's test runner, `slow` cells included (the embedded real model),
   `gpu` cells too when CUDA is present. Report templates (nbs/reports) are smoke-run separately by their tests.
3. Ends with a plain `N passed, M failed, K skipped` line, naming each skip's reason. Tests record skips through
   `steernb.testing.record_skip` / `data_path` into a per-notebook log (`STEERNB_SKIP_LOG`); under CI (`CI=true`)
   a test that lacks its evaluation data fails instead of skipping.
4. The full run (no --fast, no notebooks named, no --no-wheel) ends with tools/check_wheel.py: the sdist and wheel
   built and twine-checked, the wheel installed in a fresh venv and used from an empty folder (README quick
   start, `steernb demo`, a manifest on a copied and edited template).
"""
import argparse, json, os, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LONGEST = ('16_reports.ipynb',)   # the report smoke runs: one papermill run of every template

def git_state() -> dict:
    "Content hash of every file that nbdev_export / nbdev_clean / make_readme may write."
    import hashlib
    files = [ROOT / 'README.md', *ROOT.glob('nbs/**/*.ipynb'), *ROOT.glob('steernb/**/*.py')]
    return {str(f.relative_to(ROOT)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}

def check_sync():
    before = git_state()
    for cmd in ('nbdev_export', 'nbdev_clean'):
        r = subprocess.run([str(BIN / cmd)], cwd=ROOT, capture_output=True, text=True)
        if r.returncode: print(r.stdout, r.stderr); return False
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'make_readme.py')], cwd=ROOT, capture_output=True, text=True)
    if r.returncode: print(r.stdout, r.stderr); return False
    after = git_state()
    if before != after:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        print('FAIL: nbdev_export / nbdev_clean / make_readme changed files: notebooks unclean, or steernb/ or README.md out of sync with nbs/.')
        print('  Run nbdev_export && nbdev_clean and commit the result. Changed:'); print('   ', '\n    '.join(changed[:20]))
        return False
    print('ok: notebooks are clean and steernb/ is in sync with nbs/')
    return True

def run_nb(path, flags, threads, bin_dir=BIN):
    "Run one notebook's tests in its own process (bin_dir's nbdev_test); returns (ok, seconds, output, skips)."
    t = time.time()
    fd, skip_log = tempfile.mkstemp(prefix='steernb-skips-', suffix='.jsonl'); os.close(fd)
    env = {**os.environ, 'HF_HUB_OFFLINE': os.environ.get('HF_HUB_OFFLINE', '1'), 'STEERNB_SKIP_LOG': skip_log}
    # notebooks run side by side: one BLAS/OpenMP thread each, or small linear algebra slows down many-fold
    env.setdefault('OMP_NUM_THREADS', str(threads)); env.setdefault('MKL_NUM_THREADS', str(threads))
    r = subprocess.run([str(bin_dir / 'nbdev_test'), '--path', str(path), '--flags', ' '.join(flags)],
                       cwd=ROOT, capture_output=True, text=True, env=env)
    skips = [json.loads(l)['reason'] for l in Path(skip_log).read_text().splitlines() if l.strip()]
    os.unlink(skip_log)
    return r.returncode == 0, time.time() - t, (r.stdout + r.stderr)[-6000:], skips

VLLM_NB = ROOT / 'nbs' / '05b_vllm.ipynb'      # its `#| vllm` cells run in the vLLM venv (make vllm-env)
VLLM_BIN = ROOT / '.venv-vllm' / 'bin'

def run_vllm(nbs, flags):
    "05b_vllm's `vllm` cells in .venv-vllm: (ran, ok, seconds, output, skips); None if 05b_vllm is not selected."
    if VLLM_NB not in nbs: return None
    ci = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')
    if 'slow' not in flags: return False, True, 0, '', ['its vLLM cells need the slow cells (run without --fast)']
    if (VLLM_BIN / 'nbdev_test').exists():
        return (True, *run_nb(VLLM_NB, flags + ['vllm'], os.cpu_count() or 1, VLLM_BIN))
    why = 'its vLLM cells did not run: no vLLM venv at .venv-vllm (build it with `make vllm-env`)'
    if ci: return True, False, 0, f'FAIL: {why}; under CI the vLLM tests must run', []
    return False, True, 0, '', [why]

def run_wheel_check():
    "tools/check_wheel.py: the wheel in a fresh venv, from an empty folder (quick start, demo, a copied template)."
    t = time.time()
    r = subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_wheel.py')], cwd=ROOT, capture_output=True,
                       text=True)
    return r.returncode == 0, time.time() - t, (r.stdout + r.stderr)[-6000:]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fast', action='store_true', help='skip `slow` cells (the embedded model)')
    ap.add_argument('--check-only', action='store_true')
    ap.add_argument('--workers', type=int, default=int(os.environ.get('STEERNB_TEST_WORKERS', 2)))
    ap.add_argument('--no-wheel', action='store_true', help='leave out the installed-wheel check (tools/check_wheel.py)')
    ap.add_argument('notebooks', nargs='*', help='run only these notebooks')
    a = ap.parse_args()
    t0 = time.time()
    if not check_sync(): print('0 passed, 1 failed, 0 skipped'); sys.exit(1)
    if a.check_only: return
    flags = [] if a.fast else ['slow']
    import torch
    if torch.cuda.is_available(): flags.append('gpu')
    nbs = [Path(p).resolve() for p in a.notebooks] or sorted(p for p in (ROOT / 'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    nbs.sort(key=lambda p: p.name not in LONGEST)     # start the longest first, so the others fill the other worker
    print(f'testing {len(nbs)} notebooks with flags {flags or "(none)"}, {a.workers} workers', flush=True)
    passed, failed, skipped = [], [], []
    with ThreadPoolExecutor(a.workers) as ex:
        threads = max(1, (os.cpu_count() or 1) // a.workers)
        futs = {ex.submit(run_nb, p, flags, threads): p for p in nbs}
        for f in as_completed(futs):
            p = futs[f]
            ok, secs, out, skips = f.result()
            (passed if ok else failed).append(p.name)
            skipped += [(p.name, why) for why in skips]
            note = f', {len(skips)} skipped' if skips else ''
            print(f"  {'ok  ' if ok else 'FAIL'} {p.name} ({secs:.0f}s{note})", flush=True)
            if not ok: print(out, flush=True)
    vl = run_vllm(nbs, flags)                       # after the others: vLLM binds every core
    if vl is not None:
        ran, ok, secs, out, skips = vl
        name = f'{VLLM_NB.name} [vllm]'
        skipped += [(name, why) for why in skips]
        if ran:
            (passed if ok else failed).append(name)
            print(f"  {'ok  ' if ok else 'FAIL'} {name} ({secs:.0f}s)", flush=True)
        if not ok: print(out, flush=True)
    if not (a.fast or a.notebooks or a.no_wheel):   # the full suite also tests what a wheel's user gets
        ok, secs, out = run_wheel_check()
        (passed if ok else failed).append('tools/check_wheel.py')
        print(f"  {'ok  ' if ok else 'FAIL'} tools/check_wheel.py ({secs:.0f}s)", flush=True)
        print('   ', out.strip().splitlines()[-1] if out.strip() else '', flush=True)
        if not ok: print(out, flush=True)
    print(f'total {time.time() - t0:.0f}s')
    if failed: print('failed notebooks:', ', '.join(sorted(failed)))
    for name, why in skipped: print(f'skipped in {name}: {why}')
    print(f'{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
