"""nbdev 2 setup.py: every setting lives in settings.ini; edit there, not here."""
from configparser import ConfigParser
from pathlib import Path
import setuptools, shlex, shutil
from setuptools.command.build_py import build_py

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

cfg_keys = 'version description keywords author author_email'.split()
expected = cfg_keys + 'lib_name user branch license status min_python audience language'.split()
for o in expected: assert o in cfg, f'missing expected setting: {o}'
setup_cfg = {o: cfg[o] for o in cfg_keys}

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()

requirements = shlex.split(cfg.get('requirements', ''))
# extras: every `<name>_requirements` key of settings.ini is `pip install "steernb[<name>]"` (dev, docs, gpu, vllm, ...)
extras = {k[:-len('_requirements')]: shlex.split(v) for k, v in cfg.items()
          if k.endswith('_requirements') and k != 'requirements' and v.strip()}
lic = licenses.get(cfg['license'].lower(), (cfg['license'], None))
min_python = cfg['min_python']
# Shipped data (concept prompt sets, contexts, rubrics) for non-editable installs: share/steernb/data/...
data_files = {}
for p in Path('data').rglob('*'):
    if p.is_file(): data_files.setdefault(str(Path('share/steernb') / p.parent), []).append(str(p))

# Report templates and run manifests ship inside the package (steernb/reports, steernb/manifests), copied from their
# one place in the repository when the wheel is built; steernb.core.resource_dir finds them with importlib.resources.
PACKAGED = {'reports': 'nbs/reports/*.ipynb', 'manifests': 'papermill_runs/manifests/*.yaml'}

class BuildWithResources(build_py):
    "build_py, plus the report templates and manifests copied into the built package."
    def run(self):
        super().run()
        for dest, pattern in PACKAGED.items():
            target = Path(self.build_lib) / cfg['lib_path'] / dest
            target.mkdir(parents=True, exist_ok=True)
            for f in sorted(Path('.').glob(pattern)): shutil.copy2(f, target / f.name)

setuptools.setup(
    name=cfg['lib_name'],
    license=lic[0],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title()] +
                ['Programming Language :: Python :: ' + o for o in py_versions[py_versions.index(min_python):]] +
                (['License :: ' + lic[1]] if lic[1] else []),
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=[cfg['lib_path'], cfg['lib_path'] + '.*']),
    include_package_data=True,
    install_requires=requirements,
    extras_require=extras,
    data_files=list(data_files.items()),
    python_requires='>=' + min_python,
    long_description=open('README.md', encoding='utf-8').read() if Path('README.md').exists() else '',
    long_description_content_type='text/markdown',
    zip_safe=False,
    cmdclass={'build_py': BuildWithResources},
    entry_points={
        'console_scripts': cfg.get('console_scripts', '').split(),
        'nbdev': [f'{cfg.get("lib_path")}={cfg.get("lib_path")}._modidx:d'],
    },
    **setup_cfg)
