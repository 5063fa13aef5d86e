"""A rollout in progress: its state, and the pure transitions a release manager drives.

A rollout is a plan being stepped through its waves, one reviewed commit per step. Its state
(`Rollout`, written to `waves/<name>/rollout.yaml` in the fleet repository) records what was
planned (base, head, the policy and inventory digests, every cluster's wave, the ordered
steps) and what happened (each step's state, release time, approver, forced reason, and an
append-only history). This package owns the rules, and nothing else: each transition takes a
state and the time (always from the caller) and returns a new state or a `Refused` that says
why and how long to wait. Rules:

- `advance` releases the next step (the first one not released, in plan order). It refuses
  while the rollout is paused, while the bake time of the most recently released step has
  not passed, when the step's wave needs approval and no approver is named, and after a
  rollback (the rollout is halted). `force` (with a reason, recorded) overrides the bake time
  and the halt, never the pause nor a required approval.
- `rollback` turns released steps (all, or one) into `rolled-back`: their clusters go back
  to the base revision.
- The pinning rule (`pins`): a cluster runs `head` unless the change affects it and its step
  is not released; the emitters apply the same rule to the released step names (`released`).
- `drift` says what changed when the repository no longer matches the plan (inventory or
  policy digests, clusters removed or added, steps recomputed differently); `conflicts`
  finds other active rollouts touching the same clusters.

Times are UTC ISO 8601 strings (`2024-01-02T10:00:00Z`). Pure: no clock, no files.

Modules: `model` (the state file's models and validators, and what a state says at a
glance: `state_of`, `released`, `pins`), `times` (UTC times and durations), `transitions`
(start, advance, rollback, pause, resume and the gates that hold a step), `drift` (drift and
conflicts), `messages` (the state file's bytes and the commit messages), `statetext` (the
state file's text read fast, in the layout its writer writes) and `view` (a rollout as a
command reports it).
"""
