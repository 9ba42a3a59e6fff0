"""The reference models are trained for a fixed amount of work (epochs, steps), never for a time budget."""
from __future__ import annotations

import sys

from fk_project import SOLUTION_DIR, import_project
from ic_import import import_ic

from autograder.projects import PROJECTS


def test_the_main_job_trains_by_epochs_and_steps():
    for project, registration in PROJECTS.items():
        for command in registration.training:
            assert "--time-budget" not in command, project
            assert {"--epochs", "--max-steps"} & set(command), project


def test_facial_keypoints_train_py_with_epochs_has_no_time_budget():
    train = import_project(SOLUTION_DIR, ("data_load", "models", "training", "train")).train
    (command,) = PROJECTS["facial_keypoints"].training
    fixed = train.train_config(train.parse_args(command[1:]), on_cpu=True)
    assert fixed.time_budget_s is None and fixed.epochs == int(command[2])
    assert train.train_config(train.parse_args([]), on_cpu=True).time_budget_s == 180.0  # the student's default
    chosen = train.train_config(train.parse_args(["--loss", "mse", "--optimizer", "sgd", "--lr", "0.06"]), True)
    assert (chosen.loss, chosen.optimizer, chosen.lr) == ("mse", "sgd", 0.06)  # notebook 2's choices
    sys.modules.pop("train", None)


def test_image_captioning_train_py_counts_steps():
    train = import_ic().train
    show_and_tell, attention = (train.parse_args(command[1:]) for command in PROJECTS["image_captioning"].training)
    assert show_and_tell.time_budget is None and show_and_tell.max_steps == train.RECIPE_STEPS
    assert not show_and_tell.attention and str(show_and_tell.out) == "models"
    assert attention.attention and attention.time_budget is None and attention.max_steps == train.ATTENTION_STEPS
    assert str(attention.out) == train.ATTENTION_DIR  # where notebook 4 saves, and the grader reads
    assert train.parse_args([]).max_steps == train.RECIPE_STEPS  # the default is the recipe
