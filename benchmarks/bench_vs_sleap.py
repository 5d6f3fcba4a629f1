"""sleapish against SLEAP 1.4.1 itself: the same jobs, on this machine, in one run.

SLEAP 1.4.1 runs in a scratch venv outside the repository (default `../sleap141_venv`
beside the checkout), built here on first use: `sleap==1.4.1` from PyPI with
`--no-deps`, then SLEAP's runtime dependencies pinned exactly (TensorFlow-cpu 2.15.1,
numpy 1.26.4, OpenCV 4.11, attrs 23.2, cattrs 1.1.1, networkx 3.2.1, ...: `SLEAP_PINS`),
also with `--no-deps`. Two things are stubbed, and only these (a `sitecustomize.py` in
that venv): `qtpy`, which SLEAP's data modules import for GUI dialogs at module level
(dummy classes; no Qt is used by `sleap-track` or `sleap-train`), and the module name
`keras.utils.tf_utils`, which SLEAP imports and Keras 2.15 moved to
`keras.src.utils.tf_utils` (an import alias).

Each job runs as the user would run it: `sleap-track` / `sleap-train` against
`sleapish-track` / `sleapish-train`, whole process, batch 16, on SLEAP's own test
models and videos (`../shared/data`). The two tools alternate (A B, then B A, ...) so
that both see the same machine load; the report gives medians over the pairs, the
sleapish/SLEAP wall-time ratio, CPU-seconds, peak memory, and whether the predictions
agree (instances per frame, matched point distance). Training jobs run each tool for
2 epochs of 20 batches on `clip.slp` with SLEAP's reference configs, through
`batch_timer.py`: a Keras callback added to `Model.fit` (both tools train with Keras 2
`fit`) records when each batch ends, and the median interval between two batch ends of
an epoch is the steady-state s/batch (input wait, step and per-batch Python; no
start-up, tracing, validation, checkpoints or evaluation).

The report also says whether TensorFlow's oneDNN kernels were on in each tool
(sleapish turns them on on x86-64, `sleapish.nn._backend`; TensorFlow's default is off
on many non-Intel CPUs). `--sleap-env TF_ENABLE_ONEDNN_OPTS=1` runs SLEAP with them on
too, to separate what oneDNN gives from the rest.

Usage:
    python benchmarks/bench_vs_sleap.py                 # every job: 3 pairs, training 1
    python benchmarks/bench_vs_sleap.py --pairs 1 --jobs single,bottomup
    make bench-vs-sleap BENCH_ARGS="--pairs 5"
    make bench-vs-sleap BENCH_ARGS="--pairs 1 --jobs train_bottomup --update"
    python benchmarks/bench_vs_sleap.py --jobs bottomup --sleap-env TF_ENABLE_ONEDNN_OPTS=1
Writes benchmarks/reports/vs_sleap.md (and vs_sleap.json with every run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
REPORT = REPO / "benchmarks" / "reports" / "vs_sleap.md"
BATCH_TIMER = Path(__file__).resolve().parent / "batch_timer.py"
SLEAPISH_BIN = Path(sys.executable).parent

#: SLEAP 1.4.1's runtime dependencies, pinned (a set that runs it on Python 3.11 here).
SLEAP_PINS = """
absl-py==2.5.1 albumentations==1.3.1 astunparse==1.6.3 attrs==23.2.0 cattrs==1.1.1
certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.3 cloudpickle==3.1.3
contourpy==1.3.3 cryptography==50.0.2 cycler==0.12.1 efficientnet==1.0.0
flatbuffers==25.12.19 fonttools==4.68.0 gast==0.7.0 google-auth==2.63.0
google-auth-oauthlib==1.5.0 google-pasta==0.2.0 grpcio==1.85.3 h5py==3.16.0 hdmf==3.14.6
idna==3.20 image-classifiers==1.0.0 ImageIO==2.38.2 imageio-ffmpeg==0.8.1 imgaug==0.4.0
imgstore==0.2.9 joblib==1.6.0 jsmin==3.0.1 jsonpickle==1.2 jsonschema==4.26.0
jsonschema-specifications==2025.9.1 keras==2.15.0 Keras-Applications==1.0.8
kiwisolver==1.5.1 lazy-loader==0.6 libclang==18.1.1 Markdown==3.11.3 markdown-it-py==4.3.0
MarkupSafe==3.0.4 matplotlib==3.11.2 mdurl==0.1.2 ml-dtypes==0.3.2 ndx-pose==0.1.1
networkx==3.2.1 numpy==1.26.4 oauthlib==4.0.1 opencv-python==4.11.0.86
opencv-python-headless==4.11.0.86 opt_einsum==3.4.0 packaging==26.4 pandas==3.0.6
pillow==13.0.0 protobuf==4.25.9 psutil==7.2.2 pyasn1==0.6.5 pyasn1_modules==0.4.2
pycparser==3.12 Pygments==2.21.0 pykalman==0.9.5 pynwb==2.8.3 pyparsing==3.3.3
python-dateutil==4.0.0 python-rapidjson==1.25 pytz==2026.6 PyYAML==6.0.4 pyzmq==27.3.0
qudida==0.0.4 referencing==0.37.0 requests==2.34.2 requests-oauthlib==2.0.0 rich==15.0.0
rpds-py==2026.9.1 ruamel.yaml==0.19.1 scikit-image==0.26.0 scikit-learn==1.3.2
scikit-video==1.1.11 scipy==1.11.4 seaborn==0.13.2 segmentation-models==1.0.1
shapely==2.2.0 six==1.17.0 tensorboard==2.15.2 tensorboard-data-server==0.7.2
tensorflow-cpu==2.15.1 tensorflow-estimator==2.15.0 tensorflow-hub==0.14.0
tensorflow-io-gcs-filesystem==0.37.1 termcolor==3.3.0 threadpoolctl==3.8.0
tifffile==2026.3.3 typing_extensions==4.16.0 tzdata==2026.6 tzlocal==5.4.5
urllib3==2.8.0 Werkzeug==3.1.9 wrapt==1.14.2
""".split()

QTPY_STUB = '''"""Headless stand-in for qtpy (written by sleapish's bench_vs_sleap.py): SLEAP's
data modules import GUI dialogs at module level; every attribute is a dummy class."""
import sys
import types


class _Meta(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _make(name)

    def __or__(cls, other):
        return cls


def _make(name):
    return _Meta(name, (object,), {"__init__": lambda self, *a, **k: None})


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _make(name)


qtpy = _StubModule("qtpy")
qtpy.__path__ = []
qtpy.API_NAME = "stub"
for sub in ("QtCore", "QtGui", "QtWidgets", "QtSvg", "QtOpenGL", "QtPrintSupport"):
    mod = _StubModule(f"qtpy.{sub}")
    setattr(qtpy, sub, mod)
    sys.modules[f"qtpy.{sub}"] = mod
sys.modules["qtpy"] = qtpy
'''

SITECUSTOMIZE = '''# Written by sleapish's benchmarks/bench_vs_sleap.py to run SLEAP 1.4.1 headless.
import importlib
import importlib.abc
import importlib.util
import sys

import _sleap141_qtpy_stub  # noqa: F401  (qtpy -> dummy classes; no Qt is used)


class _KerasTfUtilsAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """SLEAP 1.4.1 imports keras.utils.tf_utils; Keras 2.15 keeps it in keras.src."""

    def find_spec(self, name, path=None, target=None):
        if name == "keras.utils.tf_utils":
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module("keras.src.utils.tf_utils")

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _KerasTfUtilsAlias())
'''

STUBBED = ["`qtpy` (dummy classes: SLEAP's data modules import GUI dialogs)",
           "`keras.utils.tf_utils` -> `keras.src.utils.tf_utils` (moved in Keras 2.15)"]


# ----------------------------------------------------------------- SLEAP's venv
def sleap_venv(path: Path, python: str = "python3.11") -> Path:
    """The `bin/` of a venv running SLEAP 1.4.1, built at `path` if needed.

    Raises:
        RuntimeError: If the venv cannot be built or does not import SLEAP.
    """
    bin_dir = path / "bin"
    check = [str(bin_dir / "python"), "-c", "import sleap, sleap.nn.inference, "
             "sleap.nn.training; print(sleap.__version__)"]
    if (bin_dir / "python").exists():
        out = subprocess.run(check, capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip().endswith("1.4.1"):
            return bin_dir
    if path.resolve().is_relative_to(REPO):
        raise RuntimeError(f"SLEAP's venv must be outside the repository. Received: {path}")
    print(f"Building SLEAP 1.4.1 in {path} (about 3 minutes)...", flush=True)
    shutil.rmtree(path, ignore_errors=True)
    py = shutil.which(python) or sys.executable
    subprocess.run([py, "-m", "venv", str(path)], check=True)
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run(pip + ["sleap==1.4.1"], check=True)
    subprocess.run(pip + SLEAP_PINS, check=True)
    site = Path(subprocess.run(
        [str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()"
         "['purelib'])"], capture_output=True, text=True, check=True).stdout.strip())
    (site / "_sleap141_qtpy_stub.py").write_text(QTPY_STUB)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    out = subprocess.run(check, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"SLEAP 1.4.1 does not import in {path}: "
                           f"{out.stderr.strip().splitlines()[-1:]}")
    return bin_dir


# ---------------------------------------------------------------------- running
def timed(cmd: List[str], cwd: Path, env: Optional[Dict[str, str]] = None) -> Dict:
    """Run `cmd`; wall seconds, CPU seconds (user + system) and peak RSS (MiB)."""
    stats = cwd / f".time.{time.monotonic_ns()}"
    full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(stats)] + cmd
    t0 = time.perf_counter()
    out = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed ({out.returncode}): {tail}")
    e, u, s, m = stats.read_text().split()[-4:]
    stats.unlink()
    return {"wall": wall, "cpu": float(u) + float(s), "rss_mib": int(m) / 1024,
            "cores": (float(u) + float(s)) / max(float(e), 1e-9)}


def _env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONWARNINGS="ignore")
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    return env


def onednn_on(bin_dir: Path, env: Dict[str, str], sleapish: bool) -> bool:
    """Whether TensorFlow's oneDNN kernels are on in that tool's processes."""
    pre = "import sleapish.nn._backend; " if sleapish else ""
    code = (pre + "from tensorflow.python.util import _pywrap_util_port as p; "
            "print(p.IsMklEnabled())")
    out = subprocess.run([str(bin_dir / "python"), "-c", code], env=env,
                         capture_output=True, text=True)
    return out.stdout.strip().endswith("True")


PREDICT_JOBS = {
    "bottomup": dict(models=["minimal_instance.UNet.bottomup"],
                     video="centered_pair_low_quality.mp4", frames=None, tracker=None,
                     what="bottom-up, `centered_pair_low_quality.mp4`, 1100 frames"),
    "topdown": dict(models=["minimal_instance.UNet.centroid",
                            "minimal_instance.UNet.centered_instance"],
                    video="centered_pair_low_quality.mp4", frames=None, tracker=None,
                    what="top-down centroid + centered instance, same video"),
    "single": dict(models=["minimal_robot.UNet.single_instance"], video="small_robot.mp4",
                   frames=None, tracker=None,
                   what="single instance, `small_robot.mp4`, 166 frames"),
    "multiclass": dict(models=["min_tracks_2node.UNet.bottomup_multiclass"],
                       video="clip.mp4", frames="0-299", tracker=None,
                       what="multi-class bottom-up, `clip.mp4` frames 0-299"),
    "flow": dict(models=["minimal_instance.UNet.bottomup"],
                 video="centered_pair_low_quality.mp4", frames="0-499", tracker="flow",
                 what="bottom-up + flow tracker, 500 frames"),
    "startup": dict(models=["minimal_instance.UNet.bottomup"],
                    video="centered_pair_low_quality.mp4", frames="0", tracker=None,
                    what="start-up: bottom-up on one frame (import, model load, write)"),
}

TRAIN_JOBS = {
    "train_centered_instance": dict(config="clip_centered_instance.training_config.json",
                                    what="clip.slp centered-instance training"),
    "train_bottomup": dict(config="clip_bottomup.training_config.json",
                           what="clip.slp bottom-up training"),
}


def predict_cmd(tool: str, bin_dir: Path, job: Dict, out: Path) -> List[str]:
    """The `sleap-track` / `sleapish-track` command of a prediction job."""
    exe = "sleap-track" if tool == "sleap" else "sleapish-track"
    cmd = [str(bin_dir / exe), str(DATA / "videos" / job["video"])]
    for m in job["models"]:
        cmd += ["-m", str(DATA / "models" / m)]
    cmd += ["--batch_size", "16", "-o", str(out), "--verbosity", "none"]
    if job["frames"] is not None:
        cmd += ["--frames", job["frames"]]
    if job["tracker"] is not None:
        cmd += ["--tracking.tracker", job["tracker"]]
    return cmd


def train_cmd(tool: str, bin_dir: Path, job: Dict, work: Path, epochs: int,
              times: Optional[Path] = None) -> List[str]:
    """The `sleap-train` / `sleapish-train` command: SLEAP's reference config, `epochs`
    of 20 batches (2 validation batches), outputs in `work`; with `times`, run through
    `batch_timer.py`, which writes the batch-end intervals there."""
    cfg = json.loads((SHARED / "reference_runs" / job["config"]).read_text())
    opt = cfg["optimization"]
    opt.update(epochs=epochs, batches_per_epoch=20, val_batches_per_epoch=2,
               min_batches_per_epoch=20, min_val_batches_per_epoch=2)
    opt["early_stopping"]["stop_training_on_plateau"] = False
    out = cfg["outputs"]
    out.update(runs_folder=str(work / "runs"), run_name=f"{tool}_{epochs}",
               run_name_prefix="", run_name_suffix="", save_visualizations=False,
               zip_outputs=False)
    out["tensorboard"]["write_logs"] = False
    path = work / f"{tool}_{epochs}.json"
    path.write_text(json.dumps(cfg))
    labels = str(DATA / "labels" / "clip.slp")
    exe = "sleap-train" if tool == "sleap" else "sleapish-train"
    args = [str(path), labels, "--video-paths", str(DATA / "videos")]
    if tool != "sleap":
        args += ["--verbosity", "none", "--no-report"]
    if times is None:
        return [str(bin_dir / exe)] + args
    return [str(bin_dir / "python"), str(BATCH_TIMER), str(times), exe] + args


# ------------------------------------------------------------------ agreement
def agreement(path_a: Path, path_b: Path) -> Dict:
    """How far two predictions of the same frames agree.

    Returns:
        `frames`, `same_count` (fraction of frames with as many instances in both),
        and `dist_p50` / `dist_p95` (px) of matched points: each instance of `a` is
        matched to the closest instance of `b` in the same frame (mean point
        distance), over the points both have.
    """
    import sleap_io as sio

    a, b = sio.load_slp(str(path_a)), sio.load_slp(str(path_b))
    fb = {lf.frame_idx: lf for lf in b}
    same, dists, n = 0, [], 0
    for lf in a:
        n += 1
        other = fb.get(lf.frame_idx)
        insts_b = [i.numpy() for i in other.instances] if other else []
        insts_a = [i.numpy() for i in lf.instances]
        same += len(insts_a) == len(insts_b)
        for pa in insts_a:
            best = None
            for pb in insts_b:
                d = np.linalg.norm(pa - pb, axis=-1)
                d = d[~np.isnan(d)]
                if len(d) and (best is None or d.mean() < best.mean()):
                    best = d
            if best is not None:
                dists.extend(best.tolist())
    n += sum(1 for f in fb if f not in {lf.frame_idx for lf in a})
    return {"frames": n, "same_count": same / max(n, 1),
            "dist_p50": float(np.percentile(dists, 50)) if dists else float("nan"),
            "dist_p95": float(np.percentile(dists, 95)) if dists else float("nan")}


# ------------------------------------------------------------------------ main
def run_predict(name: str, pairs: int, sleap_bin: Path, work: Path,
                sleap_env: Dict[str, str]) -> Dict:
    job = PREDICT_JOBS[name]
    runs: Dict[str, List[Dict]] = {"sleap": [], "sleapish": []}
    outs = {}
    for k in range(pairs):
        order = ("sleap", "sleapish") if k % 2 == 0 else ("sleapish", "sleap")
        for tool in order:
            out = work / f"{name}.{tool}.{k}.slp"
            bin_dir = sleap_bin if tool == "sleap" else SLEAPISH_BIN
            env = _env(sleap_env if tool == "sleap" else None)
            r = timed(predict_cmd(tool, bin_dir, job, out), work, env)
            runs[tool].append(r)
            outs[tool] = out
            print(f"  {name} {tool} pair {k + 1}: {r['wall']:.1f} s", flush=True)
    return {"runs": runs, "agreement": agreement(outs["sleap"], outs["sleapish"])}


def run_train(name: str, pairs: int, sleap_bin: Path, work: Path,
              sleap_env: Dict[str, str]) -> Dict:
    job = TRAIN_JOBS[name]
    runs: Dict[str, List[Dict]] = {"sleap": [], "sleapish": []}
    batches: Dict[str, List[float]] = {"sleap": [], "sleapish": []}
    for k in range(pairs):
        order = ("sleap", "sleapish") if k % 2 == 0 else ("sleapish", "sleap")
        for tool in order:
            bin_dir = sleap_bin if tool == "sleap" else SLEAPISH_BIN
            shutil.rmtree(work / "runs", ignore_errors=True)
            times = work / f"{name}.{tool}.{k}.batches.json"
            env = _env(sleap_env if tool == "sleap" else None)
            r = timed(train_cmd(tool, bin_dir, job, work, 2, times), work, env)
            intervals = [t for epoch in json.loads(times.read_text())["epochs"]
                         for t in epoch]
            if not intervals:
                raise RuntimeError(f"{tool} {name}: the batch timer saw no batches")
            runs[tool].append(dict(r, s_per_batch=_med(intervals)))
            batches[tool] += intervals
            print(f"  {name} {tool} pair {k + 1}: 2 epochs {r['wall']:.1f} s, "
                  f"{_med(intervals):.3f} s/batch", flush=True)
    return {"runs": runs, "batch_seconds": batches}


def _med(values):
    return statistics.median(values) if values else float("nan")


def _commit() -> str:
    """This checkout's commit (short), with "+changes" when the tree is dirty."""
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no",
                                "--", ".", ":(exclude)benchmarks/reports"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("+changes" if dirty else "")


def write_report(results: Dict, pairs: int, sleap_bin: Path, seconds: float,
                 report: Path = REPORT) -> str:
    """The Markdown report of `results` (also written to `report`, and the runs to
    its `.json` beside it)."""
    import platform

    job_pairs = sorted({int(r.get("pairs", pairs)) for r in results.values()})
    commits = sorted({r.get("commit", "unknown") for r in results.values()})
    pairs_text = (f"medians of {job_pairs[0]} pair(s)" if len(job_pairs) == 1 else
                  "medians of " + "/".join(map(str, job_pairs)) + " pairs (per job: "
                  + ", ".join(f"{n} {int(r.get('pairs', pairs))}"
                              for n, r in results.items()) + ")")

    lines = [
        "# sleapish vs SLEAP 1.4.1, side by side",
        "",
        f"Same machine, same run ({platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, CPU only), alternating runs, whole process, batch 16; "
        f"{pairs_text}. SLEAP 1.4.1 in `{sleap_bin.parent}` (TF-cpu "
        "2.15.1); sleapish in this checkout's venv (TF 2.21), commit "
        + ", ".join(commits) + ". Stubbed for SLEAP: "
        + "; ".join(STUBBED) + f". Benchmark time {seconds / 60:.0f} min.",
        "",
        _onednn_text(results),
        "",
        "| job | SLEAP 1.4.1 wall | sleapish wall | sleapish/SLEAP | CPU-s SLEAP / sleapish "
        "| cores busy SLEAP / sleapish | peak MiB SLEAP / sleapish | outputs agree |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, res in results.items():
        job = PREDICT_JOBS.get(name) or TRAIN_JOBS[name]
        s, p = res["runs"]["sleap"], res["runs"]["sleapish"]
        ws, wp = _med([r["wall"] for r in s]), _med([r["wall"] for r in p])
        agree = "-"
        if "agreement" in res:
            a = res["agreement"]
            agree = (f"{a['same_count']:.1%} of {a['frames']} frames same count; "
                     f"points p50 {a['dist_p50']:.3f} px, p95 {a['dist_p95']:.3f} px")
        lines.append(
            f"| {job['what']} | {ws:.1f} s | {wp:.1f} s | **{wp / ws:.2f}** | "
            f"{_med([r['cpu'] for r in s]):.0f} / {_med([r['cpu'] for r in p]):.0f} | "
            f"{_med([r['cores'] for r in s]):.2f} / {_med([r['cores'] for r in p]):.2f} | "
            f"{_med([r['rss_mib'] for r in s]):.0f} / {_med([r['rss_mib'] for r in p]):.0f} "
            f"| {agree} |")
        if "batch_seconds" in res:
            bs, bp = res["batch_seconds"]["sleap"], res["batch_seconds"]["sleapish"]
            lines.append(
                f"| same, steady-state s/batch (median of {len(bs)} / {len(bp)} "
                f"batch intervals, timer in Keras `fit`) | {_med(bs):.3f} s | "
                f"{_med(bp):.3f} s | **{_med(bp) / _med(bs):.2f}** | | | | |")
    lines += ["", "Ratios below 1 mean sleapish is faster (the goal of issue 20: at most "
              "0.67 on every prediction job, 0.8 on training s/batch). Training wall "
              "time includes set-up and each tool's evaluation of every split after "
              "training.", ""]
    text = "\n".join(lines)
    report.write_text(text)
    report.with_suffix(".json").write_text(json.dumps(results, indent=1, default=float))
    return text


def _onednn_text(results: Dict) -> str:
    """One sentence: oneDNN in each tool and SLEAP's extra environment, per job."""
    seen = {}
    for name, r in results.items():
        key = (r.get("onednn_sleap"), r.get("onednn_sleapish"),
               " ".join(f"{k}={v}" for k, v in sorted(r.get("sleap_env", {}).items())))
        seen.setdefault(key, []).append(name)

    def on(flag):
        return "unknown" if flag is None else ("on" if flag else "off")

    parts = []
    for (s, p, extra), names in seen.items():
        env = f", SLEAP run with `{extra}`" if extra else ""
        jobs = "" if len(seen) == 1 else f" ({', '.join(names)})"
        parts.append(f"TensorFlow's oneDNN kernels: SLEAP {on(s)}, sleapish {on(p)}{env}"
                     f"{jobs}")
    return "; ".join(parts) + "."


def rewrite_report(pairs: int, sleap_venv: Path, report: Path = REPORT) -> str:
    """Write the report again from its `.json` (the runs of the last benchmark)."""
    results = json.loads(report.with_suffix(".json").read_text())
    return write_report(results, pairs, Path(sleap_venv) / "bin", float("nan"), report)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=3,
                   help="alternating pairs per prediction job")
    p.add_argument("--train-pairs", type=int, default=1,
                   help="alternating pairs per training job (each run is minutes)")
    p.add_argument("--jobs", default=",".join([*PREDICT_JOBS, *TRAIN_JOBS]),
                   help="comma-separated job names")
    p.add_argument("--sleap-venv", default=str(REPO.parent / "sleap141_venv"),
                   help="SLEAP 1.4.1's venv (built there if missing; outside the repo)")
    p.add_argument("--update", action="store_true",
                   help="keep the other jobs of the last report (vs_sleap.json) and "
                        "replace only the jobs run now")
    p.add_argument("--sleap-env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment variable for SLEAP's runs only (repeatable), e.g. "
                        "TF_ENABLE_ONEDNN_OPTS=1")
    p.add_argument("--report", default=str(REPORT),
                   help="the Markdown report to write (its .json beside it)")
    args = p.parse_args(argv)
    report = Path(args.report)
    bad = [e for e in args.sleap_env if "=" not in e or not e.split("=", 1)[0]]
    if bad:
        print(f"bench_vs_sleap: error: --sleap-env takes KEY=VALUE. Received: {bad}",
              file=sys.stderr)
        return 2
    sleap_env = dict(e.split("=", 1) for e in args.sleap_env)
    names = [n.strip() for n in args.jobs.split(",") if n.strip()]
    unknown = [n for n in names if n not in PREDICT_JOBS and n not in TRAIN_JOBS]
    if unknown:
        print(f"bench_vs_sleap: error: unknown job(s) {unknown}; choose from "
              f"{[*PREDICT_JOBS, *TRAIN_JOBS]}", file=sys.stderr)
        return 2
    if not (DATA / "models").is_dir():
        print(f"bench_vs_sleap: error: SLEAP's data not found at {DATA}", file=sys.stderr)
        return 2
    sleap_bin = sleap_venv(Path(args.sleap_venv))
    t0 = time.perf_counter()
    results = {}
    if args.update and report.with_suffix(".json").is_file():
        results = json.loads(report.with_suffix(".json").read_text())
    commit = _commit()
    onednn = {"onednn_sleap": onednn_on(sleap_bin, _env(sleap_env), sleapish=False),
              "onednn_sleapish": onednn_on(SLEAPISH_BIN, _env(), sleapish=True)}
    with tempfile.TemporaryDirectory(prefix="vs_sleap.") as d:
        work = Path(d)
        for name in names:
            print(f"{name}:", flush=True)
            run = run_predict if name in PREDICT_JOBS else run_train
            pairs = args.pairs if name in PREDICT_JOBS else args.train_pairs
            results[name] = dict(run(name, pairs, sleap_bin, work, sleap_env),
                                 pairs=pairs, commit=commit, sleap_env=sleap_env,
                                 **onednn)
            # Written after every job: an interrupted run keeps what it measured.
            write_report(results, args.pairs, sleap_bin, time.perf_counter() - t0, report)
    print(write_report(results, args.pairs, sleap_bin, time.perf_counter() - t0, report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
