"""The course's autograder (``python -m autograder``).

Grades a submission folder of either project, running the student's code only
in isolated child processes, and writes Gradescope's ``results.json`` plus an
HTML feedback page. Layout: ``cli`` (commands), ``grader`` (one submission),
``checks/`` (what is checked and scored, in this process), ``probes/`` and
``worker`` (what runs in the child), ``isolation`` and ``sandbox`` (the child's
limits and folder), ``confinement`` / ``bubblewrap`` / ``detection`` (how the child
is isolated, and which level this machine allows), ``reaper`` (kills whatever the
child leaves running), ``heldout_seed`` (the instructor's secret), ``errors``,
``report`` / ``html_report`` / ``summary`` (output),
``variants`` (a held-out seed per student), ``batch``, ``cohort`` (the class page),
``similarity`` and ``gradebook`` (its similarity report and LMS files), ``gradescope``,
``scorecard`` and ``lessons`` (the other commands).
See README.md, "Grading", for what it promises and how.
"""
