(* The small-step semantics of Asupersync: tasks, regions, obligations, the cancel protocol, masks, budgets and
   the virtual clock. One constructor of [step] per rule of the executable model (src/Asupersync.Model,
   ModelRule); docs/FORMAL.md maps them one to one. Only Coq's standard library; no axioms, nothing admitted. *)

From Coq Require Import Arith Lia Bool.
From Asupersync Require Import Lattice.

Inductive tphase : Type := Created | Running | CancelRequested | Cancelling | TFinalizing | Completed (o : outcome).
Inductive rphase : Type := Open | Closing | Draining | RFinalizing | Closed.
Inductive ostate : Type := Reserved | Committed | Aborted | Leaked.

Definition max_mask : nat := 32.

Record task := mkTask {
  t_region : nat;
  t_phase : tphase;
  t_tier : option nat;     (* the tier of the pending cancel's reason; None: no cancel requested *)
  t_raises : nat;          (* 0, 1 (acknowledged), 2 (the budget raise) *)
  t_exhausted : bool;      (* the cleanup budget is spent *)
  t_mask : nat;
  t_internal : bool        (* a region's finalizer task *)
}.

Record region := mkRegion {
  r_parent : option nat;
  r_phase : rphase;
  r_fins : nat;            (* finalizers registered *)
  r_run : nat;             (* finalizers started *)
  r_deadline : option nat
}.

Record obligation := mkObl { o_holder : nat; o_region : nat; o_state : ostate }.

Record state := mkState {
  tasks : nat -> option task;
  regions : nat -> option region;
  obls : nat -> option obligation;
  now : nat
}.

Definition upd {A} (f : nat -> option A) (k : nat) (v : A) : nat -> option A :=
  fun x => if Nat.eqb x k then Some v else f x.

Definition set_task (s : state) t T := mkState (upd (tasks s) t T) (regions s) (obls s) (now s).
Definition set_region (s : state) r R := mkState (tasks s) (upd (regions s) r R) (obls s) (now s).
Definition set_obl (s : state) o O := mkState (tasks s) (regions s) (upd (obls s) o O) (now s).

(* Record updates. *)
Definition with_phase T p := mkTask (t_region T) p (t_tier T) (t_raises T) (t_exhausted T) (t_mask T) (t_internal T).
Definition with_tier T k := mkTask (t_region T) (t_phase T) k (t_raises T) (t_exhausted T) (t_mask T) (t_internal T).
Definition with_raises T n := mkTask (t_region T) (t_phase T) (t_tier T) n (t_exhausted T) (t_mask T) (t_internal T).
Definition with_exhausted T := mkTask (t_region T) (t_phase T) (t_tier T) (t_raises T) true (t_mask T) (t_internal T).
Definition with_mask T m := mkTask (t_region T) (t_phase T) (t_tier T) (t_raises T) (t_exhausted T) m (t_internal T).
Definition with_rphase R p := mkRegion (r_parent R) p (r_fins R) (r_run R) (r_deadline R).
Definition with_fins R n := mkRegion (r_parent R) (r_phase R) n (r_run R) (r_deadline R).
Definition with_run R n := mkRegion (r_parent R) (r_phase R) (r_fins R) n (r_deadline R).
Definition with_ostate O st := mkObl (o_holder O) (o_region O) st.

Definition completed (T : task) : Prop := exists o, t_phase T = Completed o.
Definition live (T : task) : Prop := ~ completed T.

Definition all_tasks_done (s : state) (r : nat) : Prop :=
  forall t T, tasks s t = Some T -> t_region T = r -> completed T.
Definition all_children_closed (s : state) (r : nat) : Prop :=
  forall c C, regions s c = Some C -> r_parent C = Some r -> r_phase C = Closed.
Definition ledger_empty (s : state) (r : nat) : Prop :=
  forall o O, obls s o = Some O -> o_region O = r -> o_state O <> Reserved.
Definition holds_none (s : state) (t : nat) : Prop :=
  forall o O, obls s o = Some O -> o_holder O = t -> o_state O <> Reserved.

Definition admits_tasks (p : rphase) : Prop := p = Open \/ p = Closing.

Inductive step : state -> state -> Prop :=
(* ---- tasks *)
| s_spawn : forall s r R t,
    regions s r = Some R -> admits_tasks (r_phase R) -> tasks s t = None ->
    step s (set_task s t (mkTask r Created None 0 false 0 false))
| s_spawn_finalizer : forall s r R t,
    regions s r = Some R -> r_phase R = RFinalizing -> r_run R < r_fins R -> all_tasks_done s r -> tasks s t = None ->
    step s (set_region (set_task s t (mkTask r Running None 0 false 1 true)) r (with_run R (S (r_run R))))
| s_start : forall s t T,
    tasks s t = Some T -> t_phase T = Created -> step s (set_task s t (with_phase T Running))
| s_step : forall s t T, tasks s t = Some T -> live T -> step s s
| s_wait : forall s t T, tasks s t = Some T -> live T -> step s s
| s_join_block : forall s t T u U,
    tasks s t = Some T -> live T -> tasks s u = Some U -> live U -> step s s
| s_join_ready : forall s t T u U,
    tasks s t = Some T -> live T -> tasks s u = Some U -> completed U -> step s s
| s_wait_interrupt : forall s t T k,
    tasks s t = Some T -> live T -> t_tier T = Some k -> step s s
(* ---- the cancel protocol *)
| s_cancel_request : forall s t T k,
    tasks s t = Some T -> (t_phase T = Created \/ t_phase T = Running) -> t_tier T = None ->
    step s (set_task s t (with_tier (with_phase T CancelRequested) (Some k)))
| s_cancel_late : forall s t T k,        (* the body already ended: the reason is recorded, the phase stays *)
    tasks s t = Some T -> t_phase T = TFinalizing -> t_tier T = None ->
    step s (set_task s t (with_tier T (Some k)))
| s_cancel_strengthen : forall s t T k0 k,
    tasks s t = Some T -> live T -> t_tier T = Some k0 ->
    step s (set_task s t (with_tier T (Some (Nat.max k0 k))))
| s_cancel_ack : forall s t T,
    tasks s t = Some T -> t_phase T = CancelRequested -> (t_mask T = 0 \/ t_exhausted T = true) ->
    step s (set_task s t (with_raises (with_phase T Cancelling) 1))
| s_masked_checkpoint : forall s t T,
    tasks s t = Some T -> t_phase T = CancelRequested -> 0 < t_mask T -> t_exhausted T = false -> step s s
| s_mask_enter : forall s t T,
    tasks s t = Some T -> live T -> t_mask T < max_mask -> step s (set_task s t (with_mask T (S (t_mask T))))
| s_mask_exit : forall s t T,
    tasks s t = Some T -> live T -> 0 < t_mask T -> step s (set_task s t (with_mask T (pred (t_mask T))))
| s_exhaust : forall s t T k,            (* the cleanup deadline passed, or the cleanup poll quota ran out *)
    tasks s t = Some T -> live T -> t_tier T = Some k -> step s (set_task s t (with_exhausted T))
| s_exhausted_raise : forall s t T,
    tasks s t = Some T -> t_phase T = Cancelling -> t_raises T = 1 -> t_exhausted T = true ->
    step s (set_task s t (with_raises T 2))
| s_overrun : forall s t T k,
    tasks s t = Some T -> live T -> t_tier T = Some k -> t_exhausted T = true -> step s s
| s_body_end : forall s t T,
    tasks s t = Some T -> (t_phase T = Running \/ t_phase T = CancelRequested \/ t_phase T = Cancelling) ->
    step s (set_task s t (with_phase T TFinalizing))
| s_complete_ok : forall s t T,
    tasks s t = Some T -> t_phase T = TFinalizing -> t_tier T = None -> holds_none s t ->
    step s (set_task s t (with_phase T (Completed Ok)))
| s_complete_err : forall s t T,
    tasks s t = Some T -> t_phase T = TFinalizing -> t_tier T = None -> holds_none s t ->
    step s (set_task s t (with_phase T (Completed Err)))
| s_complete_cancelled : forall s t T k,
    tasks s t = Some T -> t_phase T = TFinalizing -> t_tier T = Some k -> holds_none s t ->
    step s (set_task s t (with_phase T (Completed Cancelled)))
| s_complete_panicked : forall s t T,
    tasks s t = Some T -> t_phase T = TFinalizing -> holds_none s t ->
    step s (set_task s t (with_phase T (Completed Panicked)))
(* ---- regions *)
| s_open_root : forall s r d,
    regions s r = None -> step s (set_region s r (mkRegion None Open 0 0 d))
| s_open_child : forall s r p P t T d,
    regions s r = None -> regions s p = Some P -> tasks s t = Some T -> t_region T = p -> live T ->
    (admits_tasks (r_phase P) \/ (r_phase P = Draining /\ t_tier T <> None)) ->
    step s (set_region s r (mkRegion (Some p) Open 0 0 (meet_opt (r_deadline P) d)))
| s_body_done : forall s r R,
    regions s r = Some R -> r_phase R = Open -> step s (set_region s r (with_rphase R Closing))
| s_region_cancel : forall s r R,
    regions s r = Some R -> admits_tasks (r_phase R) -> step s (set_region s r (with_rphase R Draining))
| s_region_cancel_again : forall s r R,
    regions s r = Some R -> r_phase R = Draining -> step s s
| s_region_finalize : forall s r R,
    regions s r = Some R -> (admits_tasks (r_phase R) \/ r_phase R = Draining) ->
    all_tasks_done s r -> all_children_closed s r ->
    step s (set_region s r (with_rphase R RFinalizing))
| s_register_finalizer : forall s r R,
    regions s r = Some R -> (admits_tasks (r_phase R) \/ r_phase R = Draining) ->
    step s (set_region s r (with_fins R (S (r_fins R))))
| s_region_close : forall s r R,
    regions s r = Some R -> r_phase R = RFinalizing -> r_run R = r_fins R ->
    all_tasks_done s r -> all_children_closed s r -> ledger_empty s r ->
    step s (set_region s r (with_rphase R Closed))
(* ---- obligations *)
| s_reserve : forall s o t T r R,
    obls s o = None -> tasks s t = Some T -> live T -> regions s r = Some R ->
    (admits_tasks (r_phase R) \/ r_phase R = Draining \/ (r_phase R = RFinalizing /\ t_internal T = true)) ->
    step s (set_obl s o (mkObl t r Reserved))
| s_commit : forall s o O T,
    obls s o = Some O -> o_state O = Reserved -> tasks s (o_holder O) = Some T -> live T ->
    step s (set_obl s o (with_ostate O Committed))
| s_abort : forall s o O T,
    obls s o = Some O -> o_state O = Reserved -> tasks s (o_holder O) = Some T -> live T ->
    step s (set_obl s o (with_ostate O Aborted))
| s_abort_on_cancel : forall s o O T k,  (* the holder ends Cancelled (or Panicked): the runtime aborts what is left *)
    obls s o = Some O -> o_state O = Reserved -> tasks s (o_holder O) = Some T -> t_phase T = TFinalizing ->
    t_tier T = Some k -> step s (set_obl s o (with_ostate O Aborted))
| s_leak : forall s o O T,               (* the holder ends Ok or Err: recorded as a leak, and aborted *)
    obls s o = Some O -> o_state O = Reserved -> tasks s (o_holder O) = Some T -> t_phase T = TFinalizing ->
    step s (set_obl s o (with_ostate O Leaked))
(* ---- the clock *)
| s_tick : forall s n, now s <= n -> step s (mkState (tasks s) (regions s) (obls s) n).

Definition init : state := mkState (fun _ => None) (fun _ => None) (fun _ => None) 0.

Inductive reachable : state -> Prop :=
| reach_init : reachable init
| reach_step : forall s s', reachable s -> step s s' -> reachable s'.

(* ------------------------------------------------------------------ basic lemmas *)

Lemma upd_eq : forall A (f : nat -> option A) k v, upd f k v k = Some v.
Proof. intros; unfold upd; rewrite Nat.eqb_refl; reflexivity. Qed.

Lemma upd_neq : forall A (f : nat -> option A) k v x, x <> k -> upd f k v x = f x.
Proof. intros; unfold upd; destruct (Nat.eqb_spec x k); congruence. Qed.

Lemma completed_dec_phase : forall T p, t_phase T = p -> (forall o, p <> Completed o) -> live T.
Proof. intros T p H Hp [o Ho]; rewrite H in Ho; exact (Hp o Ho). Qed.

Lemma with_phase_completed : forall T o, completed (with_phase T (Completed o)).
Proof. intros; exists o; reflexivity. Qed.

Ltac upd_cases :=
  repeat match goal with
  | H : context [upd _ ?k _ ?x] |- _ => unfold upd in H; destruct (Nat.eqb_spec x k); subst
  | |- context [upd _ ?k _ ?x] => unfold upd; destruct (Nat.eqb_spec x k); subst
  end.

(* Every task rule but completion keeps a live task live and in its region. *)
Lemma live_phase : forall T p, (forall o, p <> Completed o) -> live (with_phase T p).
Proof. intros T p Hp [o Ho]; simpl in Ho; exact (Hp o Ho). Qed.
