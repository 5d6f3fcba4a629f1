"""Regenerate `sleap141_flow_tracks_centered_pair_0-499.npz` (tests/nn/tracking).

SLEAP 1.4.1 itself (pip, numpy 1.26.4, on an AVX-512 machine of this project's kind)
ran:

    sleap-track centered_pair_low_quality.mp4 --frames 0-499 \\
        -m minimal_instance.UNet.bottomup --tracking.tracker flow --batch_size 16 \\
        -o sleap_flow.slp

The tracker sees instances in prediction order (its output frames are reordered),
so this stores sleapish's untracked predictions of the same frames, in prediction
order (points equal SLEAP's to 3e-5 px), with the track SLEAP gave each instance.

Usage: .venv/bin/python tests/data/make_flow_tracks_reference.py sleap_flow.slp
"""

import pathlib
import sys

import numpy as np
import sleap_io as sio

HERE = pathlib.Path(__file__).resolve().parent


def main(path):
    import sleapish
    from sleapish.nn.data.providers import VideoReader

    data = HERE.parents[1].parent / "shared" / "data"
    ref = sio.load_slp(path, open_videos=False)
    ref_frames = {lf.frame_idx: lf.instances for lf in ref.labeled_frames}
    predictor = sleapish.load_model(str(data / "models" / "minimal_instance.UNet.bottomup"),
                                    batch_size=16, progress_reporting="none")
    video = sleapish.load_video(data / "videos" / "centered_pair_low_quality.mp4")
    preds = predictor.predict(VideoReader(video, example_indices=range(500)))
    frame_idx, points, point_scores, scores, tracks, tracking = [], [], [], [], [], []
    names = sorted({i.track.name for lf in ref for i in lf.instances},
                   key=lambda n: int(n.split("_")[1]))
    for lf in sorted(preds.labeled_frames, key=lambda lf: lf.frame_idx):
        for inst in lf.instances:
            match = min(ref_frames[lf.frame_idx],
                        key=lambda r: np.nanmax(np.abs(r.numpy() - inst.numpy())))
            assert np.nanmax(np.abs(match.numpy() - inst.numpy())) < 1e-3
            frame_idx.append(lf.frame_idx)
            points.append(inst.numpy())
            point_scores.append(inst.points["score"])
            scores.append(inst.score)
            tracks.append(names.index(match.track.name))
            tracking.append(match.tracking_score)
    np.savez_compressed(
        HERE / "sleap141_flow_tracks_centered_pair_0-499.npz",
        frame_idx=np.array(frame_idx, np.int32), points=np.array(points, np.float32),
        point_scores=np.array(point_scores, np.float32),
        scores=np.array(scores, np.float32), track=np.array(tracks, np.int32),
        tracking_score=np.array(tracking, np.float32), track_names=np.array(names))


if __name__ == "__main__":
    main(sys.argv[1])
