"""The reference models are trained for a fixed amount of work (epochs, steps), never for a time budget."""
from __future__ import annotations

import sys

from autograder.scorecard import TRAINING
from fk_project import SOLUTION_DIR, import_project
from ic_import import import_ic


def test_the_main_job_trains_by_epochs_and_steps():
    for project, command in TRAINING.items():
        assert "--time-budget" not in command, project
        assert {"--epochs", "--max-steps"} & set(command), project


def test_facial_keypoints_train_py_with_epochs_has_no_time_budget():
    train = import_project(SOLUTION_DIR, ("data_load", "models", "training", "train")).train
    fixed = train.train_config(train.parse_args(TRAINING["facial_keypoints"][1:]), on_cpu=True)
    assert fixed.time_budget_s is None and fixed.epochs == int(TRAINING["facial_keypoints"][2])
    assert train.train_config(train.parse_args([]), on_cpu=True).time_budget_s == 180.0  # the student's default
    sys.modules.pop("train", None)


def test_image_captioning_train_py_counts_steps():
    train = import_ic().train
    args = train.parse_args(TRAINING["image_captioning"][1:])
    assert args.time_budget is None and args.max_steps == train.RECIPE_STEPS
    assert train.parse_args([]).max_steps == train.RECIPE_STEPS  # the default is the recipe
