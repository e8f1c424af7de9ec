(* Progress: the semantics never leaves a draining task or a finished region stuck.
   Assumptions (the "fair scheduler with finite bodies" of the issue), stated as hypotheses of each theorem:
   a task's body ends (the scheduler keeps running it and the body is finite), so [s_body_end] is taken;
   ids are fresh when needed (true of every reachable state: they have finite support, [fresh_task_id]).
   What is proved: every live task can complete; a cancelled task is acknowledged within two steps even inside
   a mask (the cleanup budget bounds the mask); a region whose tasks and children are done always closes,
   running all its finalizers. The composition over a whole region tree (by induction on its height) is
   argued in docs/FORMAL.md, not mechanized. *)

From Coq Require Import Arith Lia Bool.
From Asupersync Require Import Lattice Semantics Invariants.

Inductive steps : state -> state -> Prop :=
| steps_refl : forall s, steps s s
| steps_cons : forall s s1 s2, step s s1 -> steps s1 s2 -> steps s s2.

Lemma steps_trans : forall a b c, steps a b -> steps b c -> steps a c.
Proof. intros a b c H1 H2; induction H1; auto; econstructor; eauto. Qed.

Lemma steps_one : forall a b, step a b -> steps a b.
Proof. intros; econstructor; eauto; constructor. Qed.

Lemma reachable_steps : forall s s', reachable s -> steps s s' -> reachable s'.
Proof. intros s s' Hr Hs; induction Hs; auto; apply IHHs; econstructor; eauto. Qed.

(* ------------------------------------------------------------------ finite support *)

Definition FiniteSupport (s : state) : Prop :=
  exists n, forall k, n <= k -> tasks s k = None /\ regions s k = None /\ obls s k = None.

Lemma finite_support : forall s, reachable s -> FiniteSupport s.
Proof.
  intros s Hr; induction Hr as [| s s' Hr IH Hs].
  - exists 0; intros; repeat split.
  - destruct IH as [n Hn]; inversion Hs; subst;
      match goal with
      | |- FiniteSupport (set_region (set_task _ ?t _) ?r _) =>
          exists (S (Nat.max n (Nat.max t r)))
      | |- FiniteSupport (set_task _ ?t _) => exists (S (Nat.max n t))
      | |- FiniteSupport (set_region _ ?r _) => exists (S (Nat.max n r))
      | |- FiniteSupport (set_obl _ ?o _) => exists (S (Nat.max n o))
      | |- _ => exists n
      end;
      intros kk Hkk; simpl; unfold upd;
      repeat match goal with |- context [Nat.eqb ?a ?b] => destruct (Nat.eqb_spec a b); [lia |] end;
      apply Hn; lia.
Qed.

Lemma fresh_task_id : forall s, reachable s -> exists t, tasks s t = None.
Proof. intros s Hr; destruct (finite_support s Hr) as [n Hn]; exists n; apply Hn; lia. Qed.

(* Holders exist: an obligation's holder is a known task (the ledger never points at nobody). *)
Definition HoldersExist (s : state) : Prop := forall o O, obls s o = Some O -> tasks s (o_holder O) <> None.

Lemma holders_exist : forall s, reachable s -> HoldersExist s.
Proof.
  intros s Hr; induction Hr as [| s s' Hr IH Hs]; [intros o O H; discriminate |].
  inversion Hs; subst; try exact IH; intros oo OO HOO; simpl in *; unfold upd in *;
    repeat match goal with H : context [Nat.eqb ?a ?b] |- _ => destruct (Nat.eqb_spec a b) end;
    repeat match goal with |- context [Nat.eqb ?a ?b] => destruct (Nat.eqb_spec a b); [discriminate |] end;
    try (eapply IH; eauto; fail);
    inversion HOO; subst; simpl in *; try congruence; eapply IH; eauto.
Qed.

(* ------------------------------------------------------------------ tasks *)

Theorem body_can_end : forall s t T,
  tasks s t = Some T -> (t_phase T = Running \/ t_phase T = CancelRequested \/ t_phase T = Cancelling) ->
  step s (set_task s t (with_phase T TFinalizing)).
Proof. intros; apply s_body_end; auto. Qed.

Theorem finalizing_task_can_complete : forall s t T,
  tasks s t = Some T -> t_phase T = TFinalizing -> holds_none s t ->
  exists s', step s s' /\ exists T', tasks s' t = Some T' /\ completed T'.
Proof.
  intros s t T Ht Hp Hn; destruct (t_tier T) as [k |] eqn:Hk.
  - eexists; split; [eapply s_complete_cancelled; eauto |]; eexists; split; [simpl; apply upd_eq | eexists; reflexivity].
  - eexists; split; [eapply s_complete_ok; eauto |]; eexists; split; [simpl; apply upd_eq | eexists; reflexivity].
Qed.

Theorem reserved_can_settle : forall s o O T,
  obls s o = Some O -> o_state O = Reserved -> tasks s (o_holder O) = Some T -> t_phase T = TFinalizing ->
  exists s', step s s' /\ exists O', obls s' o = Some O' /\ o_state O' <> Reserved.
Proof.
  intros s o O T Ho Hr Ht Hp.
  eexists; split; [eapply s_leak; eauto |]; eexists; split; [simpl; apply upd_eq | simpl; discriminate].
Qed.

(* A mask cannot defer a cancel forever: the cleanup budget runs out (s_exhaust), and then the checkpoint raises. *)
Theorem cancel_is_acknowledged : forall s t T k,
  tasks s t = Some T -> t_phase T = CancelRequested -> t_tier T = Some k ->
  exists s1 s2, steps s s1 /\ step s1 s2 /\ exists T2, tasks s2 t = Some T2 /\ t_phase T2 = Cancelling /\ t_raises T2 = 1.
Proof.
  intros s t T k Ht Hp Hk.
  assert (Hl : live T) by (apply live_requested; auto).
  exists (set_task s t (with_exhausted T)), (set_task (set_task s t (with_exhausted T)) t (with_raises (with_phase (with_exhausted T) Cancelling) 1)).
  split; [apply steps_one; eapply s_exhaust; eauto |]. split.
  - eapply s_cancel_ack; [simpl; apply upd_eq | simpl; auto | right; reflexivity].
  - eexists; split; [simpl; apply upd_eq | split; reflexivity].
Qed.

(* ------------------------------------------------------------------ regions *)

Lemma all_tasks_done_new_completed : forall s t T, all_tasks_done s (t_region T) -> completed T ->
  all_tasks_done (set_task s t T) (t_region T).
Proof.
  intros s t T Hd Hc t0 T0 H0 Hr; simpl in H0; unfold upd in H0; destruct (Nat.eqb_spec t0 t).
  - inversion H0; subst; auto.
  - eapply Hd; eauto.
Qed.

Definition RunBounded (s : state) : Prop := forall r R, regions s r = Some R -> r_run R <= r_fins R.

Lemma run_bounded : forall s, reachable s -> RunBounded s.
Proof.
  intros s Hr; induction Hr as [| s s' Hr IH Hs]; [intros r R H; discriminate |].
  inversion Hs; subst; try exact IH; intros rq Rq Hq; simpl in *; unfold upd in *;
    repeat match goal with H : context [Nat.eqb ?a ?b] |- _ => destruct (Nat.eqb_spec a b) end;
    try (eapply IH; eauto; fail);
    inversion Hq; subst; simpl; try lia;
    match goal with H : regions _ _ = Some ?R |- _ => specialize (IH _ _ H) end; lia.
Qed.

(* One finalizer, start to end: spawn it (fresh id), end its body, complete it. *)
Lemma run_one_finalizer : forall s r R t,
  regions s r = Some R -> r_phase R = RFinalizing -> r_run R < r_fins R -> all_tasks_done s r ->
  tasks s t = None -> HoldersExist s ->
  exists s', steps s s' /\ regions s' = upd (regions s) r (with_run R (S (r_run R))) /\ all_tasks_done s' r
             /\ obls s' = obls s.
Proof.
  intros s r R t HR Hp Hlt Hd Hfresh Hh.
  pose (T1 := mkTask r Running None 0 false 1 true).
  pose (s1 := set_region (set_task s t T1) r (with_run R (S (r_run R)))).
  pose (s2 := set_task s1 t (with_phase T1 TFinalizing)).
  pose (s3 := set_task s2 t (with_phase (with_phase T1 TFinalizing) (Completed Ok))).
  assert (Hholds : holds_none s2 t).
  { intros o O HO Hhold; simpl in HO. exfalso; apply (Hh o O HO); rewrite Hhold; exact Hfresh. }
  assert (A1 : step s s1) by (unfold s1, T1; apply s_spawn_finalizer with (R := R); auto).
  assert (A2 : step s1 s2).
  { unfold s2; apply (s_body_end s1 t T1); [unfold s1; simpl; apply upd_eq | left; reflexivity]. }
  assert (A3 : step s2 s3).
  { unfold s3; apply (s_complete_ok s2 t (with_phase T1 TFinalizing)); [unfold s2; simpl; apply upd_eq | reflexivity | reflexivity | exact Hholds]. }
  exists s3; split.
  - eapply steps_cons; [exact A1 |]; eapply steps_cons; [exact A2 |]; eapply steps_cons; [exact A3 | constructor].
  - split; [reflexivity |]. split; [| reflexivity].
    intros t0 T0 H0 Hr; simpl in H0; unfold upd in H0.
    destruct (Nat.eqb_spec t0 t); [injection H0 as E; rewrite <- E; eexists; reflexivity |].
    destruct (Nat.eqb_spec t0 t); [congruence |]. destruct (Nat.eqb_spec t0 t); [congruence |]. eapply Hd; eauto.
Qed.

(* A region whose tasks are all done and whose children are all closed, with an empty ledger, closes: it
   finalizes, runs every finalizer (each as its own task), and becomes Closed. *)
Theorem region_closes : forall s r R,
  reachable s -> regions s r = Some R -> (admits_tasks (r_phase R) \/ r_phase R = Draining) ->
  all_tasks_done s r -> all_children_closed s r -> ledger_empty s r ->
  exists s' R', steps s s' /\ regions s' r = Some R' /\ r_phase R' = Closed.
Proof.
  intros s r R Hr HR Hph Hd Hc Hl.
  assert (Hloop : forall n s0 R0, n = r_fins R0 - r_run R0 -> reachable s0 -> regions s0 r = Some R0 ->
            r_phase R0 = RFinalizing -> all_tasks_done s0 r -> all_children_closed s0 r -> ledger_empty s0 r ->
            exists s' R', steps s0 s' /\ regions s' r = Some R' /\ r_phase R' = Closed).
  { induction n as [| n IH]; intros s0 R0 Hn Hr0 HR0 Hp0 Hd0 Hc0 Hl0.
    - assert (Hb := run_bounded s0 Hr0 r R0 HR0).
      exists (set_region s0 r (with_rphase R0 Closed)), (with_rphase R0 Closed).
      split; [apply steps_one; apply s_region_close; auto; lia |]. split; [simpl; apply upd_eq | reflexivity].
    - destruct (fresh_task_id s0 Hr0) as [t Ht].
      destruct (run_one_finalizer s0 r R0 t HR0 Hp0 ltac:(lia) Hd0 Ht (holders_exist s0 Hr0)) as (s' & Hs' & Hreg & Hd' & Hob).
      destruct (IH s' (with_run R0 (S (r_run R0)))) as (s'' & R'' & H1 & H2 & H3); simpl; auto; try lia.
      + eapply reachable_steps; eauto.
      + rewrite Hreg; apply upd_eq.
      + intros c C HC Hpar; rewrite Hreg in HC; unfold upd in HC; destruct (Nat.eqb_spec c r).
        * inversion HC; subst; simpl in Hpar. rewrite (Hc0 r R0 HR0 Hpar) in Hp0; discriminate.
        * eapply Hc0; eauto.
      + intros o O HO; rewrite Hob in HO; eapply Hl0; eauto.
      + exists s'', R''; split; [eapply steps_trans; eauto | auto]. }
  destruct (Hloop (r_fins R - r_run R) (set_region s r (with_rphase R RFinalizing)) (with_rphase R RFinalizing))
    as (s' & R' & H1 & H2 & H3); simpl; auto.
  - econstructor; eauto. apply s_region_finalize; auto.
  - apply upd_eq.
  - intros c C HC Hpar; simpl in HC; unfold upd in HC; destruct (Nat.eqb_spec c r).
    + inversion HC; subst; simpl in Hpar. exfalso; apply (admits_or_draining_not_closed (r_phase R)); auto.
      exact (Hc r R HR Hpar).
    + eapply Hc; eauto.
  - exists s', R'; split; [eapply steps_cons; [apply s_region_finalize; eauto | exact H1] | auto].
Qed.
