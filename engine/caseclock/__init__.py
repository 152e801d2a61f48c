"""The case clock (办理时限): acceptance, promised and legal limits, suspensions (挂起), extensions (延期), the
yellow/red signals of cases and tasks, and the timeout policies of tasks (WARN_ONLY, DEEMED_APPROVED, ESCALATE).

* ``config``: what designers write in diagrams (parsed and checked at deploy time);
* ``clock``: the clock of a case — started, stopped, suspended, resumed, extended — and its warning/overdue jobs;
* ``policies``: the deadline jobs of human tasks and what happens when they fall due.

docs/deadlines.md states the rules.
"""
