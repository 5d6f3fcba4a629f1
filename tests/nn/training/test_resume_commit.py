"""What a kill between the resume state and the epoch's other files leaves, and
what a resume makes of it: the state is always written first, and a resume
rewrites the log and models from it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from training_helpers import tiny_config

pytestmark = pytest.mark.slow  # trainings, subprocesses, notebooks, docs: see `make test-fast`


def _config(tmp_path, name, epochs=3):
    cfg = tiny_config("centroid", tmp_path, run_name=name, epochs=epochs, batches=2)
    ck = cfg.outputs.checkpointing
    ck.final_model = ck.latest_model = True
    return cfg


def _weights(path):
    with h5py.File(path, "r") as f:
        out = {}
        f["model_weights"].visititems(
            lambda n, o: out.__setitem__(n, o[()]) if hasattr(o, "shape") else None)
        return out


def _train(cfg, labels, **kwargs):
    from sleapish.nn.training import Trainer

    t = Trainer.from_config(cfg, training_labels=str(labels), seed=8, verbosity="none",
                            eval_max_frames=1, **kwargs)
    t.train()
    return t


def test_state_is_written_before_the_epochs_log_and_models(synthetic, tmp_path,
                                                           monkeypatch):
    from sleapish.nn.training import callbacks as C

    order = []
    real_text, real_h5 = C.atomic_write_text, C.save_model_h5
    monkeypatch.setattr(C, "atomic_write_text", lambda p, *a, **k: (
        order.append(str(p).rsplit("/", 1)[-1]), real_text(p, *a, **k)))
    monkeypatch.setattr(C, "save_model_h5", lambda m, p: (
        order.append(str(p).rsplit("/", 1)[-1]), real_h5(m, p)))
    _train(_config(tmp_path, "order", epochs=2), synthetic.labels_path)
    epoch_ends = [i for i, n in enumerate(order) if n == "state.json"]
    assert len(epoch_ends) == 3  # the epoch-0 state at train begin, then each epoch
    # Between two states: the later state first, then the epoch's files.
    for a, b in zip(epoch_ends[1:], epoch_ends[2:] + [len(order)]):
        files = order[a + 1:b]
        assert "training_log.csv" in files and "latest_model.h5" in files, order
    assert "training_log.csv" not in order[:epoch_ends[1]]
    assert order[-1] == "final_model.h5"


def test_resume_after_a_kill_before_fit_returned_writes_final_model_and_lost_files(
        synthetic, tmp_path):
    from sleapish.nn.training import resume
    from sleapish.nn.training.callbacks import load_resume_state

    _train(_config(tmp_path, "gap"), synthetic.labels_path, keep_resume_state=True)
    run = tmp_path / "gap"
    log = (run / "training_log.csv").read_text()
    final = _weights(run / "final_model.h5")
    state = load_resume_state(run)
    assert state["next_epoch"] == 3
    # A kill right after the last state: the epoch's files, final_model.h5 and the
    # evaluation are missing (best_model.h5 is an older epoch's, or the last's).
    best_before = (run / "best_model.h5").read_bytes()
    for name in ("final_model.h5", "training_log.csv", "latest_model.h5",
                 "metrics.val.npz"):
        (run / name).unlink()
    r = resume(run, verbosity="none", eval_max_frames=1)
    r.train()
    assert r.history is None  # nothing left to fit
    assert (run / "training_log.csv").read_text() == log
    for name in ("final_model.h5", "latest_model.h5"):
        got = _weights(run / name)
        assert sorted(got) == sorted(final)
        for k in final:
            np.testing.assert_array_equal(got[k], final[k], err_msg=f"{name} {k}")
    if state["callbacks"]["best_model"]["improved"]:  # rewritten from the state
        got = _weights(run / "best_model.h5")
        for k in final:
            np.testing.assert_array_equal(got[k], final[k])
    else:
        assert (run / "best_model.h5").read_bytes() == best_before
    assert (run / "metrics.val.npz").exists()
    assert not (run / "resume").exists()  # finished now: the state is removed


def test_seeded_runs_are_identical_and_a_resume_from_epoch_zero_starts_over(
        synthetic, tmp_path):
    from sleapish.nn.training import resume

    a = _train(_config(tmp_path, "a"), synthetic.labels_path)
    b = _train(_config(tmp_path, "b"), synthetic.labels_path, keep_resume_state=True)
    assert (tmp_path / "a" / "training_log.csv").read_text() == \
        (tmp_path / "b" / "training_log.csv").read_text()
    for x, y in zip(a.keras_model.get_weights(), b.keras_model.get_weights()):
        np.testing.assert_array_equal(x, y)
    # A run killed in its first epoch has only the epoch-0 state; resume restarts it.
    import json

    state_path = tmp_path / "b" / "resume" / "state.json"
    state = json.loads(state_path.read_text())
    state.update(next_epoch=0, checkpoint=None, callbacks={})
    state_path.write_text(json.dumps(state))
    (tmp_path / "b" / "training_log.csv").unlink()
    r = resume(tmp_path / "b", verbosity="none", eval_max_frames=1)
    r.train()
    assert r.initial_epoch == 0
    assert (tmp_path / "b" / "training_log.csv").read_text() == \
        (tmp_path / "a" / "training_log.csv").read_text()
    for x, y in zip(a.keras_model.get_weights(), r.keras_model.get_weights()):
        np.testing.assert_array_equal(x, y)
