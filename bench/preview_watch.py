"""Watch a real run in headless Chromium from start to Stop and save, with screenshots.

    python bench/preview_watch.py OUT_DIR [paramart overrides ...]

Starts ``paramart preview.enabled=true ...``, opens the printed URL, takes a screenshot
every ``--every`` seconds (``OUT_DIR/shot_NN.png``, with the page's step and status in
``OUT_DIR/shots.txt``), clicks Stop and save after ``--stop-after`` seconds of painting,
takes one more screenshot once the run has exited, and prints the run's exit code and
last lines. Not a test: it is how the README's screenshot was made.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

URL = re.compile(r"watch at (http://\S+)")


def browser(width: int, height: int) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", "--hide-scrollbars"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--every", type=float, default=15)
    ap.add_argument("--stop-after", type=float, default=90)
    ap.add_argument("--size", default="1280x1000")
    args, overrides = ap.parse_known_args()
    args.out.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).with_name("paramart"))
    cmd = [exe, "preview.enabled=true", "preview.port=0", "progress=false", f"hydra.run.dir={args.out / 'run'}",
           *overrides]
    print(" ".join(cmd[1:]))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    while not any(URL.search(line) for line in lines):
        if proc.poll() is not None:
            sys.exit("".join(lines))
        time.sleep(0.2)
    url = next(URL.search(line).group(1) for line in lines if URL.search(line))
    w, h = map(int, args.size.split("x"))
    b = browser(w, h)
    log = []
    try:
        b.get(url)
        t0 = time.monotonic()
        n = 0

        def shot(note: str) -> None:
            nonlocal n
            path = args.out / f"shot_{n:02d}.png"
            b.save_screenshot(str(path))
            facts = b.execute_script("return [document.getElementById('status').textContent, "
                                     "document.getElementById('step').textContent, "
                                     "document.getElementById('caption').textContent]")
            log.append(f"{path.name}\tt={time.monotonic() - t0:.0f}s\t{note}\t" + "\t".join(facts))
            print(log[-1], flush=True)
            n += 1

        while time.monotonic() - t0 < args.stop_after and proc.poll() is None:
            shot("running")
            time.sleep(args.every)
        b.find_element("id", "stop").click()
        time.sleep(0.5)
        shot("Stop and save clicked")
        proc.wait(timeout=600)
        time.sleep(3)  # the page notices that the server is gone
        shot(f"run exited {proc.returncode}")
        errors = [e for e in b.get_log("browser") if e["level"] == "SEVERE"]
        log.append(f"console errors: {len(errors)} " + "; ".join(e["message"][:120] for e in errors))
    finally:
        b.quit()
        if proc.poll() is None:
            proc.kill()
    (args.out / "shots.txt").write_text("\n".join(log) + "\n")
    print(f"exit code {proc.returncode}")
    print("".join(lines[-6:]))


if __name__ == "__main__":
    main()
