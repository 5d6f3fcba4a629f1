"""Predict and track many videos on a Ray cluster, resumably (`sleapish-track --cluster`).

One Ray actor per worker slot loads the model once and predicts videos one after
another; tracking stays sequential within a video. Each output is written atomically
by the worker that made it and records a job key (model paths and options) in its
provenance, so a rerun skips complete outputs and redoes changed ones. A video that
fails, or whose worker dies, is retried on another worker up to `retries` times; the
others finish either way. With `split_frames`, long videos are cut into chunks
predicted on different workers, then merged and tracked on the driver.

Ray is the optional extra `sleapish[cluster]`; it is imported only here.
"""

from __future__ import annotations

import collections
import json
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import attrs

from sleapish.errors import InvalidTypeError
from sleapish.nn.inference.checkpoint import job_key

FAULT_ENV = "SLEAPISH_FAULT_KILL_WORKER_ON"  # fault injection for the tests


@attrs.define
class VideoResult:
    """The outcome of one video.

    Attributes:
        video: Input video path.
        output: Output `.slp` path.
        frames: Frames predicted (0 when skipped or failed).
        seconds: Wall time of the prediction (summed over chunks).
        status: "done", "skipped" (complete output found) or "failed".
        error: The last error, for failed videos.
        attempts: Attempts made.
    """

    video: str
    output: str
    frames: int = 0
    seconds: float = 0.0
    status: str = "done"
    error: str = ""
    attempts: int = 0

    @property
    def fps(self) -> float:
        """Frames per second (0 when nothing was predicted)."""
        return self.frames / self.seconds if self.seconds else 0.0


@attrs.define
class _Job:
    index: int  # of its video
    frames: Optional[List[int]]  # None: the whole video
    chunk: Optional[Path] = None  # temporary output of a chunk
    attempts: int = 0
    last_worker: int = -1


def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError("--cluster needs Ray: pip install 'sleapish[cluster]'") from None
    return ray


# ------------------------------------------------------------------------ outputs
def output_is_complete(output: Path, key: str) -> bool:
    """Whether `output` exists and was written for the same job key."""
    if not output.is_file():
        return False
    try:
        import h5py

        with h5py.File(output, "r") as f:
            meta = json.loads(f["metadata"].attrs["json"])
        return meta.get("provenance", {}).get("sleapish_job_key") == key
    except (OSError, KeyError, ValueError):
        return False


def output_paths(videos: Sequence[Path], output_dir: Optional[Path]) -> List[Path]:
    """`<video>.predictions.slp` next to each video, or under `output_dir` with the
    videos' layout relative to their common folder."""
    if output_dir is None:
        return [v.with_name(v.name + ".predictions.slp") for v in videos]
    parents = [str(v.resolve().parent) for v in videos]
    root = Path(os.path.commonpath(parents)) if parents else Path(".")
    return [output_dir / v.resolve().relative_to(root).with_name(
        v.name + ".predictions.slp") for v in videos]


# ------------------------------------------------------------------------- worker
class _Worker:
    """Ray actor body: one loaded predictor, videos predicted one after another."""

    def __init__(self, args):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from sleapish.nn.inference.cli_parser import make_predictor_from_args

        self.args = args
        self.predictor = make_predictor_from_args(args)
        self.predictor.verbosity = "none"

    def pid(self) -> int:
        """The worker's process id."""
        return os.getpid()

    def run(self, video: str, output: str, frames: Optional[List[int]], track: bool,
            provenance: Dict[str, Any], progress) -> Dict[str, Any]:
        """Predict (and track) one video or chunk; write `output` atomically."""
        import sleapish
        from sleapish.nn.data.providers import VideoReader
        from sleapish.nn.inference.cli_parser import make_tracker_from_args

        vid = sleapish.load_video(video)
        tracker = make_tracker_from_args(self.args, warn=False) if track else None
        self.predictor.tracker = tracker if getattr(tracker, "is_valid", False) else None

        def report(n: int) -> None:
            if progress is not None:
                progress.add.remote(n)
            _maybe_fault(video)

        self.predictor.progress_callback = report
        t0 = time.perf_counter()
        labels = self.predictor.predict(VideoReader(vid, example_indices=frames))
        seconds = time.perf_counter() - t0
        if self.args.no_empty_frames:
            labels.labeled_frames = [lf for lf in labels.labeled_frames if lf.instances]
        labels.provenance.update(provenance)
        labels.provenance["skipped_frames"] = list(self.predictor.skipped_frames)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        sleapish.save_file(labels, output)
        n = len(frames) if frames is not None else int(vid.shape[0])
        return {"frames": n, "seconds": seconds}


def _maybe_fault(video: str) -> None:
    """Fault injection (tests): `SLEAPISH_FAULT_KILL_WORKER_ON=<video name>:<marker>`
    makes the worker SIGKILL itself after its first batch of that video, once."""
    fault = os.environ.get(FAULT_ENV)
    if fault and Path(video).name == fault.split(":", 1)[0]:
        marker = Path(fault.split(":", 1)[1])
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), 9)


# ------------------------------------------------------------------------- driver
def _chunks(n_frames: int, size: Optional[int]) -> List[Optional[List[int]]]:
    if not size or n_frames <= size:
        return [None]
    return [list(range(s, min(s + size, n_frames))) for s in range(0, n_frames, size)]


def _merge_chunks(chunks: List[Path], output: Path, args, provenance) -> None:
    """Concatenate chunk predictions in frame order, track them, write `output`."""
    import sleap_io as sio

    import sleapish
    from sleapish.nn.inference.cli_parser import make_tracker_from_args
    from sleapish.nn.tracking import retrack

    parts = [sleapish.load_file(c) for c in chunks]
    video = parts[0].video
    frames = []
    for part in parts:
        for lf in part.labeled_frames:
            lf.video = video
            frames.append(lf)
    labels = sio.Labels(labeled_frames=frames, videos=[video], skeletons=parts[0].skeletons)
    tracker = make_tracker_from_args(args, warn=False)
    if getattr(tracker, "is_valid", False):
        labels = retrack(labels, tracker, progress=False)
    labels.provenance.update(provenance)
    sleapish.save_file(labels, output)
    for c in chunks:
        c.unlink(missing_ok=True)


def _summary(results: List[VideoResult]) -> str:
    rows = [("video", "frames", "fps", "status", "error")]
    rows += [(r.video, str(r.frames), f"{r.fps:.1f}", r.status, r.error[:80])
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in rows)


def run_cluster(args, videos: Sequence[Path], say=print) -> List[VideoResult]:
    """Predict `videos` with the options of parsed `sleapish-track` `args`.

    `args.cluster` is None/"local" (start a local Ray instance), "auto" (join a running
    cluster) or "ray://host:port"; `args.workers`, `args.gpus_per_worker`,
    `args.retries`, `args.split_frames`, `args.overwrite` and `args.output` (a folder)
    apply.

    Returns:
        One :class:`VideoResult` per video, in input order.
    """
    ray = _ray()
    import sleapish
    from sleapish.nn.inference.results import ProgressReporter

    videos = [Path(v) for v in videos]
    outputs = output_paths(videos, Path(args.output) if args.output else None)
    key = job_key(args)
    results = [VideoResult(video=str(v), output=str(o)) for v, o in zip(videos, outputs)]
    todo = []
    for i, out in enumerate(outputs):
        if not getattr(args, "overwrite", False) and output_is_complete(out, key):
            results[i].status = "skipped"
        else:
            todo.append(i)
    if not todo:
        say(f"All {len(videos)} outputs are complete; nothing to do (--overwrite redoes "
            "them).")
        return results

    address = args.cluster if args.cluster not in (None, "local") else None
    started = time.perf_counter()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False,
                 **({"num_cpus": os.cpu_count()} if address is None else {}))
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    gpus_per = (args.gpus_per_worker if args.gpus_per_worker is not None
                else (1 if gpus else 0))
    n_workers = args.workers or (max(1, gpus // max(gpus_per, 1)) if gpus_per
                                 else max(1, int(resources.get("CPU", 1)) // 2))
    cpus_per = max(1, int(resources.get("CPU", 1)) // n_workers) if not gpus_per else 1
    actor_cls = ray.remote(num_cpus=cpus_per, num_gpus=gpus_per, max_restarts=0)(_Worker)
    from sleapish._ray_progress import FrameCounter

    progress = ray.remote(num_cpus=0)(FrameCounter).remote()

    def new_worker():
        return actor_cls.options(runtime_env={"env_vars": _worker_env()}).remote(args)

    workers = [new_worker() for _ in range(n_workers)]
    say(f"Ray: {n_workers} worker(s) ({cpus_per} CPU, {gpus_per} GPU each), started in "
        f"{time.perf_counter() - started:.1f} s")

    jobs = collections.deque()
    chunk_files: Dict[int, List[Path]] = {}
    total = 0
    for i in todo:
        try:
            n = int(sleapish.load_video(videos[i]).shape[0])
        except Exception as e:  # undecodable: reported, the others go on
            results[i].status, results[i].error = "failed", _one_line(e)
            continue
        total += n
        for c, frames in enumerate(_chunks(n, getattr(args, "split_frames", None))):
            chunk = None
            if frames is not None:
                chunk = outputs[i].with_name(f".{outputs[i].name}.chunk{c:05d}.slp")
                chunk_files.setdefault(i, []).append(chunk)
            jobs.append(_Job(index=i, frames=frames, chunk=chunk))
    pending_chunks = {i: len(c) for i, c in chunk_files.items()}
    reporter = ProgressReporter(total, args.verbosity, getattr(args, "report_period", 2.0))
    provenance = {"sleapish_job_key": key, "model_paths": [str(m) for m in args.models],
                  "sleapish_version": sleapish.__version__, "cluster": True}
    in_flight: Dict[Any, tuple] = {}
    idle = list(range(n_workers))
    retries = int(getattr(args, "retries", 2))
    reported = 0
    try:
        while jobs or in_flight:
            while jobs and idle:
                job = jobs.popleft()
                # Prefer a worker other than the one that failed this job.
                w = next((k for k in idle if k != job.last_worker), idle[0])
                idle.remove(w)
                i = job.index
                ref = workers[w].run.remote(
                    str(videos[i]), str(job.chunk or outputs[i]), job.frames,
                    job.chunk is None, provenance, progress)
                in_flight[ref] = (job, w)
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
            done = ray.get(progress.get.remote())
            if done > reported:
                reporter.update(done - reported)
                reported = done
            for ref in ready:
                job, w = in_flight.pop(ref)
                i = job.index
                try:
                    out = ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                        ray.exceptions.RayTaskError) as e:
                    if not isinstance(e, ray.exceptions.RayTaskError):
                        workers[w] = new_worker()  # the worker died: replace it
                    job.attempts += 1
                    job.last_worker = w
                    results[i].attempts = max(results[i].attempts, job.attempts)
                    results[i].error = _one_line(e)
                    if job.attempts <= retries:
                        jobs.append(job)
                    else:
                        results[i].status = "failed"
                    idle.append(w)
                    continue
                idle.append(w)
                results[i].frames += out["frames"]
                results[i].seconds += out["seconds"]
                results[i].attempts = max(results[i].attempts, job.attempts + 1)
                if job.chunk is not None:
                    pending_chunks[i] -= 1
                    if pending_chunks[i] == 0 and results[i].status != "failed":
                        _merge_chunks(chunk_files[i], outputs[i], args, provenance)
                if results[i].status != "failed":
                    results[i].error = ""
    finally:
        reporter.close()
        for c in [c for cs in chunk_files.values() for c in cs]:
            c.unlink(missing_ok=True)
    for r in results:
        if r.status == "done" and r.error:
            r.status = "failed"
    say(_summary(results))
    return results


def _worker_env() -> Dict[str, str]:
    env = {"TF_CPP_MIN_LOG_LEVEL": "3"}
    if os.environ.get(FAULT_ENV):
        env[FAULT_ENV] = os.environ[FAULT_ENV]
    return env


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    # Ray wraps the worker's traceback: keep its last line (the error itself).
    return (lines[-1] if lines else type(e).__name__)[:300]


def track_many(videos, model_paths, address: Optional[str] = None,
               workers: Optional[int] = None, gpus_per_worker: Optional[int] = None,
               output_dir=None, overwrite: bool = False, retries: int = 2,
               split_frames: Optional[int] = None, verbosity: str = "none",
               **predict_options) -> List[VideoResult]:
    """Predict (and track) many videos on Ray, resumably.

    Args:
        videos: Video files, folders of videos, or `.txt` / `.csv` lists (or a list
            of those).
        model_paths: A model folder or a list of them (as `load_model`).
        address: None (start a local Ray instance), "auto" (join a running cluster)
            or "ray://host:port".
        workers: Worker actors (default: one per GPU, else one per 2 CPUs).
        gpus_per_worker: GPUs per worker (default 1 on a GPU cluster, else 0).
        output_dir: Write outputs under this folder (the inputs' relative layout);
            default next to each video as `<video>.predictions.slp`.
        overwrite: Redo complete outputs too.
        retries: Attempts after the first for a failing video.
        split_frames: Cut videos longer than this into chunks on different workers.
        verbosity: "rich", "json" or "none".
        **predict_options: `sleapish-track` options by their argument names, e.g.
            `batch_size=8`, `peak_threshold=0.3`, `**{"tracking.tracker": "simple"}`.

    Returns:
        One :class:`VideoResult` per video.

    Raises:
        TypeError: For an unknown option.
        ValueError: For bad inputs (as `sleapish-track`).
    """
    from sleapish.nn.inference.cli_inputs import collect_inputs
    from sleapish.nn.inference.cli_parser import make_parser

    models = [model_paths] if isinstance(model_paths, (str, os.PathLike)) else model_paths
    argv = []
    for m in models:
        argv += ["-m", os.fspath(m)]
    args = make_parser().parse_args(argv)
    for k, v in predict_options.items():
        if not hasattr(args, k):
            raise InvalidTypeError(f"track_many got an unknown option {k!r}")
        setattr(args, k, v)
    args.cluster, args.workers, args.gpus_per_worker = address or "local", workers, \
        gpus_per_worker
    args.output = None if output_dir is None else os.fspath(output_dir)
    args.overwrite, args.retries, args.split_frames = overwrite, retries, split_frames
    args.verbosity = verbosity
    paths = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    items = collect_inputs([os.fspath(p) for p in paths], [])
    return run_cluster(args, [it.path for it in items if not it.is_labels],
                       say=(print if verbosity != "none" else (lambda *a: None)))


__all__ = ["track_many", "run_cluster", "VideoResult", "job_key", "output_is_complete",
           "output_paths"]
