(* Printed by check.sh: each main theorem must be "Closed under the global context" (no axiom, nothing admitted). *)
From Asupersync Require Import Lattice Semantics Invariants Progress.
Print Assumptions join_assoc.
Print Assumptions join_comm.
Print Assumptions join_idem.
Print Assumptions strengthen_assoc.
Print Assumptions strengthen_comm.
Print Assumptions strengthen_never_weakens.
Print Assumptions meet_assoc.
Print Assumptions child_never_outlives_parent.
Print Assumptions no_orphan.
Print Assumptions quiescence.
Print Assumptions obligation_finality.
Print Assumptions completed_is_final.
Print Assumptions closed_is_final.
Print Assumptions cancelled_outcome.
Print Assumptions raise_once.
Print Assumptions raises_bounded.
Print Assumptions tier_never_weakens.
Print Assumptions deadline_monotone.
Print Assumptions cancel_is_acknowledged.
Print Assumptions region_closes.
