"""Jobs: work the engine must do at a given time (BPMN timers now; deadline actions and retries build on it).

* ``timers.sync_timer_jobs`` runs after every step of a case (from ``save_case``): every waiting timer of the case
  has one PENDING job with its due time; a timer that stopped waiting (its task was completed, the case ended)
  has its job CANCELLED in the same transaction.
* ``executor.fire_job`` fires one job: it locks the job row (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite's single
  writer), checks it is still PENDING and due, lets SpiffWorkflow fire the timer with the engine clock at the due
  time, runs the case on, saves it and marks the job DONE — all in one transaction. A crash before the commit
  leaves the job PENDING and it is fired again; after the commit it is never fired again.
* The rule for a completion racing an interrupting timer is Camunda's: the first committed transaction wins and
  the other gets a clear conflict (``TaskNotActive`` for the late completion; a cancelled job for the late timer).
"""
