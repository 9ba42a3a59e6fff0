"""The course's autograder (``python -m autograder``).

Grades a submission folder of either project in an isolated child process and
writes Gradescope's ``results.json``. See ``shared/design.md`` ("The grader");
the checks arrive with the two projects.
"""
