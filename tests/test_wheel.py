"""An installed wheel (not the source tree) must find its packaged Hydra configs."""

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from PIL import Image

from tests.conftest import REPO, paramart_cli


def test_wheel_in_fresh_venv_runs_from_anywhere(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist), str(REPO)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("paramart-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "paramart/conf/config.yaml" in names and "paramart/conf/param/pixel.yaml" in names
    assert {"paramart/conf/render.yaml", "paramart/conf/param/fourier_cppn.yaml",
            "paramart/outputs/export.py", "paramart/outputs/templates/gallery.html",
            "paramart/outputs/templates/preview.html"} <= set(names)
    # every module and template of the source tree ships (a package left out of pyproject's list
    # would otherwise surface only as an ImportError on a user's machine)
    source = {p.relative_to(REPO).as_posix() for p in (REPO / "paramart").rglob("*")
              if p.suffix in {".py", ".html"} and "__pycache__" not in p.parts}
    assert not source - set(names), f"missing from the wheel: {sorted(source - set(names))}"
    conf = {"paramart/conf/" + p.relative_to(REPO / "conf").as_posix() for p in (REPO / "conf").rglob("*.yaml")}
    assert not conf - set(names), f"configs missing from the wheel: {sorted(conf - set(names))}"

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())
    # Borrow the heavy dependencies (torch ...) from this environment; paramart itself comes
    # from the wheel only (a .pth line adds a directory but runs none of its .pth files,
    # so this environment's editable install stays out).
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, capture_output=True, timeout=300)

    where = subprocess.check_output([py, "-c", "import paramart.conf; print(paramart.conf.__file__)"],
                                    cwd=tmp_path, text=True).strip()
    assert where.startswith(str(site))

    run_dir = tmp_path / "run"
    res = paramart_cli("size=32", "steps=2", "progress=false", f"hydra.run.dir={run_dir}", cwd=tmp_path,
                       exe=str(env_dir / "bin" / "paramart"))
    assert res.returncode == 0, res.stderr
    with Image.open(run_dir / "final.png") as im:
        assert max(im.size) == 32
    res = paramart_cli(f"run={run_dir}", "width=40", "height=24", f"out={tmp_path / 'r.png'}", "progress=false",
                       cwd=tmp_path, exe=str(env_dir / "bin" / "paramart-render"))
    assert res.returncode == 0, res.stderr
    with Image.open(tmp_path / "r.png") as im:
        assert im.size == (40, 24)
    # the gallery's template is package data
    res = paramart_cli(f"runs={run_dir}", f"out={tmp_path / 'site'}", cwd=tmp_path,
                       exe=str(env_dir / "bin" / "paramart-gallery"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "site" / "index.html").read_text().count("<article") == 1
