"""Jobs: work the engine must do at a given time (BPMN timers now; deadline actions and retries build on it).

* ``timers.sync_timer_jobs`` runs after every step of a case (from ``save_case``): every waiting timer of the case
  has one PENDING job with its due time; a timer that stopped waiting (its task was completed, the case ended)
  has its job CANCELLED in the same transaction.
* ``executor.acquire`` leases due jobs to one caller (``lock_owner``/``lock_expires``, version bumped) in a short
  transaction (PostgreSQL ``FOR UPDATE SKIP LOCKED``; SQLite's single writer); ``executor.fire_batch`` then fires
  them — timers several per transaction, computed without the write lock — each only if still PENDING and leased by
  this caller, its completion a version-guarded UPDATE in the same transaction as its effect. A crash before the
  commit leaves the job leased until its lease expires, then it is fired again; a caller paused past its lease
  commits nothing; after the commit a job is never fired again.
* The rule for a completion racing an interrupting timer is Camunda's: the first committed transaction wins and
  the other gets a clear conflict (``TaskNotActive`` for the late completion; a cancelled job for the late timer).
"""
