"""Training, evaluation and checkpoints of the facial keypoints solution, on the small data set."""
from __future__ import annotations

import math

import pytest
import torch
from fk_project import import_project

from cvdata.errors import DataError

project = import_project()
training, models = project.training, project.models


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny batches train faster on one thread, and do not fight other jobs on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny(**overrides):
    options = dict(epochs=3, batch_size=8, lr=3e-3, seed=0)
    options.update(overrides)
    return training.TrainConfig(**options)


def test_loaders_give_batches_of_tensors(faces_small):
    train_loader, val_loader, test_loader = training.make_loaders(faces_small, _tiny())
    batch = next(iter(train_loader))
    assert batch["image"].shape == (8, 1, 224, 224) and batch["keypoints"].shape == (8, 68, 2)
    assert (len(train_loader.dataset), len(val_loader.dataset), len(test_loader.dataset)) == (36, 4, 12)


def test_the_validation_faces_are_held_back_from_training(faces_small):
    train_rows, val_rows = training.split_rows(40, 0.1, seed=0)
    assert len(val_rows) == 4 and sorted(train_rows + val_rows) == list(range(40))
    assert training.split_rows(40, 0.1, seed=0) == (train_rows, val_rows) != training.split_rows(40, 0.1, seed=1)
    train_loader, val_loader, _ = training.make_loaders(faces_small, _tiny())
    seen = {tuple(s["keypoints"].ravel()[:4]) for s in train_loader.dataset.samples}
    held = {tuple(s["keypoints"].ravel()[:4]) for s in val_loader.dataset.samples}
    assert len(held) == 4 and not seen & held, "no validation face is a training face"
    _, none, _ = training.make_loaders(faces_small, _tiny(val_fraction=0.0))
    assert none is None
    with pytest.raises(ValueError, match="val_fraction"):
        _tiny(val_fraction=1.0)


def test_seeded_training_decreases_the_loss(faces_small):
    torch.manual_seed(0)
    net = models.Net()
    train_loader, val_loader, _ = training.make_loaders(faces_small, _tiny())
    history = training.train(net, train_loader, val_loader, _tiny(), device=torch.device("cpu"), progress=False)
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"], history
    assert all(math.isfinite(r["val_nme"]) and r["images"] == 32 for r in history)  # 36 faces, 4 full batches
    assert history[-1]["seconds"] >= history[0]["seconds"] > 0


@pytest.mark.parametrize("loss, optimizer", [("mse", "sgd"), ("smooth_l1", "adam")])
def test_the_chosen_loss_and_optimiser_are_the_ones_used(faces_small, loss, optimizer, monkeypatch):
    """Notebook 2's choices: ``train`` steps with the named optimiser and takes the named loss of every batch."""
    used = {"optimizers": [], "losses": 0}
    build, loss_fn = training.OPTIMIZERS[optimizer], training.LOSSES[loss]

    def spy_optimizer(params, cfg):
        used["optimizers"].append(type(opt := build(params, cfg)).__name__)
        return opt

    def spy_loss(pred, target):
        used["losses"] += 1
        return loss_fn(pred, target)

    monkeypatch.setitem(training.OPTIMIZERS, optimizer, spy_optimizer)
    monkeypatch.setitem(training.LOSSES, loss, spy_loss)
    config = _tiny(epochs=1, loss=loss, optimizer=optimizer, lr=1e-3)
    train_loader, _, _ = training.make_loaders(faces_small, config)
    history = training.train(models.Net(), train_loader, None, config, device=torch.device("cpu"), progress=False)
    assert used == {"optimizers": [{"sgd": "SGD", "adam": "Adam"}[optimizer]], "losses": len(train_loader)}
    assert math.isfinite(history[0]["train_loss"])
    for bad in ({"optimizer": "rmsprop"}, {"loss": "huber"}, {"lr": 0.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _tiny(**bad)


def test_time_budget_stops_training(faces_small):
    train_loader, _, _ = training.make_loaders(faces_small, _tiny())
    config = _tiny(epochs=50, time_budget_s=0.0)  # out of time after the first batch
    history = training.train(models.Net(), train_loader, None, config, device=torch.device("cpu"), progress=False)
    assert len(history) == 1 and history[0]["images"] == 8 and history[0]["val_nme"] is None


def test_evaluate_nme_matches_the_metric(faces_small):
    net = models.Net()
    _, _, test_loader = training.make_loaders(faces_small, _tiny())
    images = torch.cat([b["image"] for b in test_loader])
    truth = torch.cat([b["keypoints"] for b in test_loader])
    pred = training.predict_keypoints(net, images)
    assert pred.shape == (12, 68, 2)
    assert training.evaluate_nme(net, test_loader) == pytest.approx(training.nme(pred, truth), rel=1e-5)


def test_lr_factor_warms_up_then_anneals_to_zero():
    assert training.lr_factor(0.0) < training.lr_factor(0.1) == pytest.approx(1.0)
    assert training.lr_factor(0.5) < 1.0 and training.lr_factor(1.0) == pytest.approx(0.0)


def test_checkpoint_round_trip_with_config(tmp_path):
    net = models.Net(models.NetConfig(channels=(8, 16, 32), head_channels=8)).eval()
    path = training.save_checkpoint(net, tmp_path / "saved_models" / "m.pt", train_config=_tiny())
    data = torch.load(path, weights_only=True)
    assert data["net_config"]["channels"] == (8, 16, 32) and data["train_config"]["batch_size"] == 8
    loaded = training.load_checkpoint(path)
    assert loaded.config == net.config and not loaded.training
    x = torch.rand(2, 1, 224, 224)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net(x))


def test_checkpoint_bare_state_dict(tmp_path):
    net = models.Net().eval()
    torch.save(net.state_dict(), tmp_path / "plain.pt")  # what a student may save
    loaded = training.load_checkpoint(tmp_path / "plain.pt")
    x = torch.rand(1, 1, 224, 224)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net(x))


def test_checkpoint_errors(tmp_path):
    with pytest.raises(DataError, match="missing.pt: no saved model"):
        training.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="garbage.pt: not a saved model"):
        training.load_checkpoint(tmp_path / "garbage.pt")
    small = models.Net(models.NetConfig(channels=(8, 16, 32), head_channels=8))
    torch.save(small.state_dict(), tmp_path / "other.pt")  # not the default Net's shapes
    with pytest.raises(ValueError, match="do not fit"):
        training.load_checkpoint(tmp_path / "other.pt")
