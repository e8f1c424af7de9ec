(* Safety invariants of the semantics, proved for every reachable state:
   no orphan, quiescence, parents exist, deadline monotonicity, the cancelled-outcome law, raise once,
   bounded masks, and the finality of completed tasks, closed regions and resolved obligations. *)

From Coq Require Import Arith Lia Bool.
From Asupersync Require Import Lattice Semantics.

Ltac live_from_phase :=
  match goal with
  | H : t_phase ?T = _ |- live ?T => let o := fresh "o" in let Ho := fresh "Ho" in intros [o Ho]; rewrite H in Ho; discriminate
  | H : t_phase ?T = _ \/ _ |- live ?T =>
      let o := fresh "o" in let Ho := fresh "Ho" in intros [o Ho]; repeat destruct H as [H | H]; rewrite H in Ho; discriminate
  end.

Lemma live_created : forall T, t_phase T = Created -> live T. Proof. intros; live_from_phase. Qed.
Lemma live_finalizing : forall T, t_phase T = TFinalizing -> live T. Proof. intros; live_from_phase. Qed.
Lemma live_requested : forall T, t_phase T = CancelRequested -> live T. Proof. intros; live_from_phase. Qed.
Lemma live_cancelling : forall T, t_phase T = Cancelling -> live T. Proof. intros; live_from_phase. Qed.
Lemma live_start_or_run : forall T, t_phase T = Created \/ t_phase T = Running -> live T. Proof. intros; live_from_phase. Qed.
Lemma live_body : forall T, t_phase T = Running \/ t_phase T = CancelRequested \/ t_phase T = Cancelling -> live T.
Proof. intros; live_from_phase. Qed.

Lemma admits_not_closed : forall p, admits_tasks p -> p <> Closed.
Proof. unfold admits_tasks; intros p [-> | ->]; discriminate. Qed.

Lemma admits_or_draining_not_closed : forall p, admits_tasks p \/ p = Draining -> p <> Closed.
Proof. intros p [H | ->]; [apply admits_not_closed; auto | discriminate]. Qed.

(* ================================================================== no orphan and quiescence *)

(* In every reachable state, a Closed region has only Completed tasks, only Closed child regions, and an empty
   obligation ledger. *)
Definition NoOrphan (s : state) : Prop :=
  forall r R, regions s r = Some R -> r_phase R = Closed ->
    all_tasks_done s r /\ all_children_closed s r /\ ledger_empty s r.

Lemma no_orphan_init : NoOrphan init.
Proof. intros r R H; discriminate. Qed.

Lemma no_orphan_set_task : forall s t T T',
  NoOrphan s -> tasks s t = Some T -> live T -> t_region T' = t_region T -> NoOrphan (set_task s t T').
Proof.
  intros s t T T' Hinv Ht Hl Hreg r R HR HC; simpl in HR.
  destruct (Hinv r R HR HC) as [A [B C]]; repeat split; auto.
  intros t0 T0 H0 Hr0; simpl in H0; upd_cases.
  - inversion H0; subst. exfalso; apply Hl; apply (A t T Ht); congruence.
  - eapply A; eauto.
Qed.

Lemma no_orphan_new_task : forall s t r0 R0 T',
  NoOrphan s -> tasks s t = None -> regions s r0 = Some R0 -> r_phase R0 <> Closed -> t_region T' = r0 ->
  NoOrphan (set_task s t T').
Proof.
  intros s t r0 R0 T' Hinv Ht HR0 Hnc Hreg r R HR HC; simpl in HR.
  destruct (Hinv r R HR HC) as [A [B C]]; repeat split; auto.
  intros t0 T0 H0 Hr0; simpl in H0; upd_cases.
  - inversion H0; subst. exfalso; congruence.
  - eapply A; eauto.
Qed.

Lemma no_orphan_set_region : forall s r R R',
  NoOrphan s -> regions s r = Some R -> r_phase R <> Closed -> r_phase R' <> Closed -> r_parent R' = r_parent R ->
  NoOrphan (set_region s r R').
Proof.
  intros s r R R' Hinv HR Hnc Hnc' Hpar r0 R0 HR0 HC; simpl in HR0; upd_cases.
  - inversion HR0; subst; congruence.
  - destruct (Hinv r0 R0 HR0 HC) as [A [B C]]; repeat split; auto.
    intros c C0 Hc Hp; simpl in Hc; upd_cases.
    + inversion Hc; subst. exfalso; apply Hnc; apply (B _ R HR); congruence.
    + eapply B; eauto.
Qed.

Lemma no_orphan_close : forall s r R,
  NoOrphan s -> regions s r = Some R -> all_tasks_done s r -> all_children_closed s r -> ledger_empty s r ->
  NoOrphan (set_region s r (with_rphase R Closed)).
Proof.
  intros s r R Hinv HR A B C r0 R0 HR0 HC; simpl in HR0; upd_cases.
  - repeat split; auto.
    intros c C0 Hc Hp; simpl in Hc; upd_cases.
    + inversion Hc; reflexivity.
    + eapply B; eauto.
  - destruct (Hinv r0 R0 HR0 HC) as [A0 [B0 C0]]; repeat split; auto.
    intros c C1 Hc Hp; simpl in Hc; upd_cases.
    + inversion Hc; reflexivity.
    + eapply B0; eauto.
Qed.

Lemma no_orphan_new_region : forall s r R',
  NoOrphan s -> regions s r = None -> r_phase R' <> Closed ->
  (forall p, r_parent R' = Some p -> exists P, regions s p = Some P /\ r_phase P <> Closed) ->
  NoOrphan (set_region s r R').
Proof.
  intros s r R' Hinv Hnone Hnc Hpar r0 R0 HR0 HC; simpl in HR0; upd_cases.
  - inversion HR0; subst; congruence.
  - destruct (Hinv r0 R0 HR0 HC) as [A [B C]]; repeat split; auto.
    intros c C0 Hc Hp; simpl in Hc; upd_cases.
    + inversion Hc; subst. destruct (Hpar r0 Hp) as [P [HP HPc]]. congruence.
    + eapply B; eauto.
Qed.

Lemma no_orphan_resolve : forall s o O',
  NoOrphan s -> o_state O' <> Reserved -> NoOrphan (set_obl s o O').
Proof.
  intros s o O' Hinv Hns r R HR HC; simpl in HR.
  destruct (Hinv r R HR HC) as [A [B C]]; repeat split; auto.
  intros o0 O0 H0 Hr0; simpl in H0; upd_cases.
  - inversion H0; subst; auto.
  - eapply C; eauto.
Qed.

Lemma no_orphan_reserve : forall s o O' R,
  NoOrphan s -> regions s (o_region O') = Some R -> r_phase R <> Closed -> NoOrphan (set_obl s o O').
Proof.
  intros s o O' R Hinv HR' Hnc r R0 HR HC; simpl in HR.
  destruct (Hinv r R0 HR HC) as [A [B C]]; repeat split; auto.
  intros o0 O0 H0 Hr0; simpl in H0; upd_cases.
  - inversion H0; subst. congruence.
  - eapply C; eauto.
Qed.

Lemma no_orphan_tick : forall s n, NoOrphan s -> NoOrphan (mkState (tasks s) (regions s) (obls s) n).
Proof. intros s n H; exact H. Qed.

Ltac lside := first
  [ reflexivity | assumption | (apply admits_not_closed; assumption) | (apply admits_or_draining_not_closed; assumption)
  | (simpl; discriminate) | congruence
  | (apply live_created; assumption) | (apply live_finalizing; assumption) | (apply live_requested; assumption)
  | (apply live_cancelling; assumption) | (apply live_start_or_run; assumption) | (apply live_body; assumption)
  | (simpl; apply admits_or_draining_not_closed; assumption) ].

Lemma reserve_not_closed : forall p b, admits_tasks p \/ p = Draining \/ (p = RFinalizing /\ b = true) -> p <> Closed.
Proof. intros p b [H | [-> | [-> _]]]; [apply admits_not_closed; auto | discriminate | discriminate]. Qed.

Lemma child_parent_not_closed : forall p (q : Prop), admits_tasks p \/ (p = Draining /\ q) -> p <> Closed.
Proof. intros p q [H | [-> _]]; [apply admits_not_closed; auto | discriminate]. Qed.

Lemma no_orphan_step : forall s s', step s s' -> NoOrphan s -> NoOrphan s'.
Proof.
  intros s s' Hs Hinv; inversion Hs; subst; try exact Hinv;
  match goal with
  | |- NoOrphan (set_region (set_task _ _ _) _ (with_run ?R _)) =>
      apply no_orphan_set_region with (R := R);
        [eapply no_orphan_new_task; [exact Hinv | eassumption | eassumption | congruence | reflexivity]
        | simpl; assumption | congruence | simpl; congruence | reflexivity]
  | |- NoOrphan (set_region _ _ (with_rphase _ Closed)) => apply no_orphan_close; assumption
  | |- NoOrphan (set_region _ _ (mkRegion None _ _ _ _)) =>
      apply no_orphan_new_region; [exact Hinv | assumption | simpl; discriminate | intros ? Hp; discriminate]
  | H : regions _ ?p = Some ?P |- NoOrphan (set_region _ _ (mkRegion (Some ?p) _ _ _ _)) =>
      apply no_orphan_new_region; [exact Hinv | assumption | simpl; discriminate |];
      intros p0 Hp0; inversion Hp0; subst; exists P; split; [exact H | eapply child_parent_not_closed; eauto]
  | |- NoOrphan (set_region _ _ _) => eapply no_orphan_set_region; [exact Hinv | eassumption | lside | simpl; lside | reflexivity]
  | |- NoOrphan (set_task _ _ (mkTask _ _ _ _ _ _ _)) =>
      eapply no_orphan_new_task; [exact Hinv | eassumption | eassumption | lside | reflexivity]
  | |- NoOrphan (set_task _ _ _) => eapply no_orphan_set_task; [exact Hinv | eassumption | lside | reflexivity]
  | |- NoOrphan (set_obl _ _ (mkObl _ _ Reserved)) =>
      eapply no_orphan_reserve; [exact Hinv | simpl; eassumption | eapply reserve_not_closed; eassumption]
  | |- NoOrphan (set_obl _ _ _) => apply no_orphan_resolve; [exact Hinv | simpl; discriminate]
  | |- NoOrphan (mkState _ _ _ _) => exact Hinv
  end.
Qed.

Theorem no_orphan : forall s, reachable s -> NoOrphan s.
Proof.
  intros s Hr; induction Hr; [apply no_orphan_init | eapply no_orphan_step; eauto].
Qed.

Corollary closed_region_tasks_completed : forall s r R t T,
  reachable s -> regions s r = Some R -> r_phase R = Closed -> tasks s t = Some T -> t_region T = r -> completed T.
Proof. intros s r R t T Hr HR HC Ht Hreg; destruct (no_orphan s Hr r R HR HC) as [A _]; eapply A; eauto. Qed.

Corollary closed_region_children_closed : forall s r R c C,
  reachable s -> regions s r = Some R -> r_phase R = Closed -> regions s c = Some C -> r_parent C = Some r -> r_phase C = Closed.
Proof. intros s r R c C Hr HR HC Hc Hp; destruct (no_orphan s Hr r R HR HC) as [_ [B _]]; eapply B; eauto. Qed.

(* Quiescence: Closed implies an empty obligation ledger. *)
Theorem quiescence : forall s r R o O,
  reachable s -> regions s r = Some R -> r_phase R = Closed -> obls s o = Some O -> o_region O = r -> o_state O <> Reserved.
Proof. intros s r R o O Hr HR HC Ho Hreg; destruct (no_orphan s Hr r R HR HC) as [_ [_ C]]; eapply C; eauto. Qed.

(* ================================================================== finality *)

Ltac close_upd_case Ht :=
  try (rewrite Ht in *; match goal with H : Some _ = Some _ |- _ => inversion H; subst; clear H end);
  try congruence;
  repeat match goal with H : _ \/ _ |- _ => destruct H end; try congruence.

Theorem completed_is_final : forall s s' t T,
  step s s' -> tasks s t = Some T -> completed T -> tasks s' t = Some T.
Proof.
  intros s s' t T Hs Ht [o Ho]; inversion Hs; subst; simpl; auto; unfold upd;
    repeat match goal with |- context [Nat.eqb ?a ?b] => destruct (Nat.eqb_spec a b); subst end; auto;
    close_upd_case Ht;
    match goal with H : live _ |- _ => exfalso; apply H; exists o; assumption end.
Qed.

Theorem closed_is_final : forall s s' r R,
  step s s' -> regions s r = Some R -> r_phase R = Closed -> regions s' r = Some R.
Proof.
  intros s s' r R Hs HR HC; inversion Hs; subst; simpl; auto; unfold upd;
    repeat match goal with |- context [Nat.eqb ?a ?b] => destruct (Nat.eqb_spec a b); subst end; auto;
    close_upd_case HR;
    exfalso; match goal with
             | H : admits_tasks _ |- _ => eapply admits_not_closed; eauto
             end.
Qed.

Definition final (st : ostate) : Prop := st = Committed \/ st = Aborted \/ st = Leaked.

(* Obligation finality: Committed, Aborted and Leaked are never left. *)
Theorem obligation_finality : forall s s' o O,
  step s s' -> obls s o = Some O -> final (o_state O) -> obls s' o = Some O.
Proof.
  intros s s' o O Hs HO Hf; inversion Hs; subst; simpl; auto;
    try (unfold upd; destruct (Nat.eqb_spec o o0); subst; [congruence | auto]; fail);
    (unfold upd; destruct (Nat.eqb_spec o o0); subst; [| auto];
     rewrite HO in *; match goal with H : Some _ = Some _ |- _ => inversion H end; subst;
     unfold final in Hf; destruct Hf as [E | [E | E]]; congruence).
Qed.

Corollary obligation_finality_reachable : forall s s' o O,
  step s s' -> obls s o = Some O -> o_state O <> Reserved -> obls s' o = Some O.
Proof.
  intros s s' o O Hs HO Hn; apply (obligation_finality s s'); auto.
  unfold final; destruct (o_state O); auto; congruence.
Qed.

(* ================================================================== the cancel protocol *)

(* Once a cancel was requested, a task's outcome is the join of its body's with Cancelled: Cancelled or Panicked. *)
Definition CancelledOutcome (s : state) : Prop :=
  forall t T o k, tasks s t = Some T -> t_phase T = Completed o -> t_tier T = Some k -> o = Cancelled \/ o = Panicked.

(* Requests happen only to live tasks, acknowledgements only after a request, and a raise once acknowledged
   never goes above the one budget raise, which needs the budget spent. *)
Definition Protocol (s : state) : Prop :=
  forall t T, tasks s t = Some T ->
    ((t_phase T = CancelRequested \/ t_phase T = Cancelling) -> t_tier T <> None)
    /\ (1 <= t_raises T -> t_tier T <> None)
    /\ t_raises T <= 2
    /\ (t_raises T = 2 -> t_exhausted T = true)
    /\ (t_exhausted T = true -> t_tier T <> None)
    /\ t_mask T <= max_mask.

Lemma protocol_init : Protocol init.
Proof. intros t T H; discriminate. Qed.

Lemma cancelled_outcome_init : CancelledOutcome init.
Proof. intros t T o k H; discriminate. Qed.

Ltac protocol_close A B E :=
  simpl; repeat split; intros;
  try solve [ auto | lia | (unfold max_mask; lia) | discriminate | congruence | (apply A; auto) | (apply A; left; auto) | (apply A; right; auto)
            | (apply B; lia) | (apply E; auto)
            | (repeat match goal with H : _ \/ _ |- _ => destruct H end; congruence) ].

Lemma protocol_step : forall s s', step s s' -> Protocol s -> Protocol s'.
Proof.
  intros s s' Hs Hp; inversion Hs; subst; try exact Hp;
    intros t0 T0 Ht0; simpl in Ht0; unfold upd in Ht0;
    match type of Ht0 with context [Nat.eqb t0 ?x] => destruct (Nat.eqb_spec t0 x) end;
    try exact (Hp t0 T0 Ht0); subst; inversion Ht0; subst; clear Ht0;
    first [ match goal with Hx : tasks _ ?t = Some ?T |- _ => destruct (Hp _ _ Hx) as (A & B & C & D & E & F) end;
            protocol_close A B E
          | protocol_close I I I ].
Qed.

Theorem protocol : forall s, reachable s -> Protocol s.
Proof. intros s Hr; induction Hr; [apply protocol_init | eapply protocol_step; eauto]. Qed.

Lemma cancelled_outcome_step : forall s s', step s s' -> CancelledOutcome s -> CancelledOutcome s'.
Proof.
  intros s s' Hs Hc; inversion Hs; subst; try exact Hc;
    intros tx Tx ox kx Ht0 Hph Htier; simpl in Ht0; unfold upd in Ht0;
    match type of Ht0 with context [Nat.eqb tx ?x] => destruct (Nat.eqb_spec tx x) end;
    try exact (Hc tx Tx ox kx Ht0 Hph Htier); subst; inversion Ht0; subst; clear Ht0; simpl in *;
    try discriminate;
    try (inversion Hph; subst; auto; fail);
    try (repeat match goal with H : _ \/ _ |- _ => destruct H end; congruence);
    try (eapply Hc; eauto; fail);
    match goal with H : live _ |- _ => exfalso; apply H; exists ox; assumption end.
Qed.

Theorem cancelled_outcome : forall s, reachable s -> CancelledOutcome s.
Proof. intros s Hr; induction Hr; [apply cancelled_outcome_init | eapply cancelled_outcome_step; eauto]. Qed.

(* Raise once: between a cancel-acknowledge and the exhaustion of its cleanup budget, no rule raises again. *)
Theorem raise_once : forall s s' t T,
  step s s' -> tasks s t = Some T -> t_raises T = 1 -> t_exhausted T = false ->
  exists T', tasks s' t = Some T' /\ t_raises T' = 1.
Proof.
  intros s s' t T Hs Ht Hr He; inversion Hs; subst; simpl;
    try (exists T; split; auto; fail);
    try (exists T; split; auto; unfold upd; destruct (Nat.eqb_spec t t0); subst; [congruence | auto]; fail);
    unfold upd; destruct (Nat.eqb_spec t t0); subst;
    try (exists T; split; auto; fail);
    rewrite Ht in H; inversion H; subst;
    eexists; split; try reflexivity; simpl; auto; congruence.
Qed.

(* And the budget raise happens at most once: a task never raises a third time. *)
Theorem raises_bounded : forall s t T, reachable s -> tasks s t = Some T -> t_raises T <= 2.
Proof. intros s t T Hr Ht; destruct (protocol s Hr t T Ht) as (_ & _ & C & _); exact C. Qed.

Theorem budget_raise_needs_exhaustion : forall s t T, reachable s -> tasks s t = Some T -> t_raises T = 2 -> t_exhausted T = true.
Proof. intros s t T Hr Ht; destruct (protocol s Hr t T Ht) as (_ & _ & _ & D & _); exact D. Qed.

Theorem acknowledge_needs_request : forall s t T, reachable s -> tasks s t = Some T -> 1 <= t_raises T -> t_tier T <> None.
Proof. intros s t T Hr Ht; destruct (protocol s Hr t T Ht) as (_ & B & _); exact B. Qed.

Theorem masks_bounded : forall s t T, reachable s -> tasks s t = Some T -> t_mask T <= max_mask.
Proof. intros s t T Hr Ht; destruct (protocol s Hr t T Ht) as (_ & _ & _ & _ & _ & F); exact F. Qed.

(* Strengthening on tiers never weakens a task's pending reason. *)
Theorem tier_never_weakens : forall s s' t T k, step s s' -> tasks s t = Some T -> t_tier T = Some k ->
  exists T' k', tasks s' t = Some T' /\ t_tier T' = Some k' /\ k <= k'.
Proof.
  intros s s' t T k Hs Ht Hk; inversion Hs; subst; simpl;
    try (exists T, k; auto; fail);
    unfold upd;
    match goal with |- context [Nat.eqb t ?x] => destruct (Nat.eqb_spec t x) as [E | E] end;
    try (exists T, k; auto; fail);
    subst; close_upd_case Ht;
    try (eexists; exists k; split; [reflexivity | simpl; split; [assumption | lia]]; fail);
    eexists; eexists; split; [reflexivity | simpl; split; [reflexivity |]];
    rewrite Hk in *; match goal with H : Some _ = Some _ |- _ => inversion H end; lia.
Qed.

(* ================================================================== budgets in the region tree *)

Definition ParentsExist (s : state) : Prop :=
  forall c C p, regions s c = Some C -> r_parent C = Some p -> regions s p <> None.

Definition DeadlineMonotone (s : state) : Prop :=
  forall c C p P, regions s c = Some C -> r_parent C = Some p -> regions s p = Some P -> le_opt (r_deadline C) (r_deadline P).

Lemma parents_exist_step : forall s s', step s s' -> ParentsExist s -> ParentsExist s'.
Proof.
  intros s s' Hs Hp; inversion Hs; subst; try exact Hp;
    intros c C p0 Hc Hpar; simpl in *; unfold upd in *;
    repeat match goal with |- context [Nat.eqb ?a ?b] => destruct (Nat.eqb_spec a b); [discriminate |] end;
    repeat match goal with H : context [Nat.eqb ?a ?b] |- _ => destruct (Nat.eqb_spec a b) end;
    try (eapply Hp; eauto; fail);
    inversion Hc; subst; clear Hc; simpl in *; try discriminate;
    try (inversion Hpar; subst; congruence);
    eapply Hp; eauto.
Qed.

Theorem parents_exist : forall s, reachable s -> ParentsExist s.
Proof.
  intros s Hr; induction Hr; [intros c C p H; discriminate | eapply parents_exist_step; eauto].
Qed.

Lemma deadline_monotone_step : forall s s', step s s' -> ParentsExist s -> DeadlineMonotone s -> DeadlineMonotone s'.
Proof.
  intros s s' Hs Hpe Hd; inversion Hs; subst; try exact Hd;
    intros c C p0 P0 Hc Hpar HP; simpl in *; unfold upd in *;
    repeat match goal with H : context [Nat.eqb ?a ?b] |- _ => destruct (Nat.eqb_spec a b) end; subst;
    repeat match goal with H : Some _ = Some _ |- _ => inversion H; subst; clear H end; simpl in *;
    try (eapply Hd; eauto; fail);
    try discriminate;
    try (exfalso; eapply Hpe; eauto; fail);
    try (inversion Hpar; subst; congruence);
    try (apply le_opt_refl).
  all: inversion Hpar; subst;
       match goal with H1 : regions _ ?p = Some _, H2 : regions _ ?p = Some _ |- _ => rewrite H1 in H2; inversion H2; subst end;
       apply meet_opt_le_l.
Qed.

(* A child region never outlives its parent's deadline, in every reachable state. *)
Theorem deadline_monotone : forall s, reachable s -> DeadlineMonotone s.
Proof.
  intros s Hr; induction Hr; [intros c C p P H; discriminate |].
  eapply deadline_monotone_step; eauto using parents_exist.
Qed.
