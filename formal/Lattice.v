(* The algebra of Asupersync: outcomes, cancel reasons, budgets.
   Mirrors src/Asupersync.Model/Lattice.cs and the kernel's Outcome.Join, CancelReason.Strengthen and Budget.Meet.
   Only Coq's standard library is used; there are no axioms and nothing is admitted. *)

From Coq Require Import Arith Lia Bool.

(* ------------------------------------------------------------------ outcomes *)

Inductive outcome : Type := Ok | Err | Cancelled | Panicked.

Definition rank (o : outcome) : nat :=
  match o with Ok => 0 | Err => 1 | Cancelled => 2 | Panicked => 3 end.

Definition join (a b : outcome) : outcome := if rank b <=? rank a then a else b.

Definition le_outcome (a b : outcome) : Prop := rank a <= rank b.

Lemma rank_inj : forall a b, rank a = rank b -> a = b.
Proof. destruct a, b; simpl; congruence. Qed.

Lemma rank_le_3 : forall a, rank a <= 3.
Proof. destruct a; simpl; lia. Qed.

Lemma join_rank : forall a b, rank (join a b) = Nat.max (rank a) (rank b).
Proof.
  intros a b; unfold join; destruct (Nat.leb_spec (rank b) (rank a)); lia.
Qed.

Theorem join_comm : forall a b, join a b = join b a.
Proof. intros; apply rank_inj; rewrite !join_rank; lia. Qed.

Theorem join_assoc : forall a b c, join a (join b c) = join (join a b) c.
Proof. intros; apply rank_inj; rewrite !join_rank; lia. Qed.

Theorem join_idem : forall a, join a a = a.
Proof. intros; apply rank_inj; rewrite !join_rank; lia. Qed.

Theorem join_ok_bottom : forall a, join Ok a = a /\ join a Ok = a.
Proof. destruct a; split; reflexivity. Qed.

Theorem join_panicked_top : forall a, join Panicked a = Panicked /\ join a Panicked = Panicked.
Proof. destruct a; split; reflexivity. Qed.

Theorem join_upper_l : forall a b, le_outcome a (join a b).
Proof. intros; unfold le_outcome; rewrite join_rank; lia. Qed.

Theorem join_upper_r : forall a b, le_outcome b (join a b).
Proof. intros; unfold le_outcome; rewrite join_rank; lia. Qed.

Theorem join_least : forall a b c, le_outcome a c -> le_outcome b c -> le_outcome (join a b) c.
Proof. unfold le_outcome; intros; rewrite join_rank; lia. Qed.

(* The order is total and antisymmetric: a chain of four, so the join is the maximum. *)
Theorem le_outcome_antisym : forall a b, le_outcome a b -> le_outcome b a -> a = b.
Proof. unfold le_outcome; intros; apply rank_inj; lia. Qed.

Theorem le_outcome_total : forall a b, le_outcome a b \/ le_outcome b a.
Proof. unfold le_outcome; intros; lia. Qed.

Theorem join_is_one_of : forall a b, join a b = a \/ join a b = b.
Proof. intros; unfold join; destruct (rank b <=? rank a); auto. Qed.

(* ------------------------------------------------------------------ cancel reasons *)

(* A reason is abstracted to what Strengthen compares: its severity tier, its time (earlier wins), and a
   tie-breaking key standing for the kernel's fixed total order on the remaining fields. *)
Record reason := mkReason { tier : nat; time : nat; key : nat }.

(* a wins over b: a higher tier, or the same tier and earlier, or the same tier and time and a key at least b's.
   (The kernel's CancelReason.Compare: tier, then earlier time, then a fixed order on the other fields.) *)
Definition wins (a b : reason) : Prop :=
  tier b < tier a \/ (tier a = tier b /\ (time a < time b \/ (time a = time b /\ key b <= key a))).

Definition wins_dec : forall a b, {wins a b} + {~ wins a b}.
Proof.
  intros a b; unfold wins.
  destruct (lt_dec (tier b) (tier a)); [left; auto |].
  destruct (Nat.eq_dec (tier a) (tier b)); [| right; lia].
  destruct (lt_dec (time a) (time b)); [left; auto |].
  destruct (Nat.eq_dec (time a) (time b)); [| right; lia].
  destruct (le_dec (key b) (key a)); [left; auto | right; lia].
Defined.

Definition stronger (a b : reason) : bool := if wins_dec a b then true else false.

Definition strengthen (a b : reason) : reason := if stronger a b then a else b.

Lemma stronger_true : forall a b, stronger a b = true <-> wins a b.
Proof. intros; unfold stronger; destruct (wins_dec a b); split; congruence || tauto. Qed.

Lemma stronger_total : forall a b, stronger a b = false -> stronger b a = true.
Proof.
  intros a b H; apply stronger_true; unfold stronger in H; destruct (wins_dec a b); [discriminate |].
  unfold wins in *; lia.
Qed.

Lemma stronger_antisym : forall a b, stronger a b = true -> stronger b a = true -> a = b.
Proof.
  intros [ta sa ka] [tb sb kb] H1 H2; apply stronger_true in H1; apply stronger_true in H2.
  unfold wins in *; simpl in *; f_equal; lia.
Qed.

Lemma stronger_trans : forall a b c, stronger a b = true -> stronger b c = true -> stronger a c = true.
Proof.
  intros a b c H1 H2; apply stronger_true in H1; apply stronger_true in H2; apply stronger_true.
  unfold wins in *; lia.
Qed.

Lemma stronger_refl : forall a, stronger a a = true.
Proof. intros; apply stronger_true; unfold wins; lia. Qed.

Theorem strengthen_idem : forall a, strengthen a a = a.
Proof. intros; unfold strengthen; rewrite stronger_refl; reflexivity. Qed.

Theorem strengthen_comm : forall a b, strengthen a b = strengthen b a.
Proof.
  intros a b; unfold strengthen.
  destruct (stronger a b) eqn:Hab, (stronger b a) eqn:Hba; auto.
  - apply stronger_antisym; auto.
  - apply stronger_total in Hab; congruence.
Qed.

Lemma strengthen_is_stronger_l : forall a b, stronger (strengthen a b) a = true.
Proof.
  intros a b; unfold strengthen; destruct (stronger a b) eqn:H.
  - apply stronger_refl.
  - apply stronger_total; auto.
Qed.

Lemma strengthen_is_stronger_r : forall a b, stronger (strengthen a b) b = true.
Proof.
  intros a b; unfold strengthen; destruct (stronger a b) eqn:H; auto using stronger_refl.
Qed.

Lemma strengthen_one_of : forall a b, strengthen a b = a \/ strengthen a b = b.
Proof. intros; unfold strengthen; destruct (stronger a b); auto. Qed.

Theorem strengthen_assoc : forall a b c, strengthen a (strengthen b c) = strengthen (strengthen a b) c.
Proof.
  intros a b c.
  (* Both sides are the strongest of the three, and the strongest element is unique. *)
  assert (Hmax : forall x, (x = a \/ x = b \/ x = c) ->
            stronger x a = true -> stronger x b = true -> stronger x c = true ->
            forall y, (y = a \/ y = b \/ y = c) ->
            stronger y a = true -> stronger y b = true -> stronger y c = true -> x = y).
  { intros x Hx Hxa Hxb Hxc y Hy Hya Hyb Hyc.
    apply stronger_antisym.
    - destruct Hy as [-> | [-> | ->]]; auto.
    - destruct Hx as [-> | [-> | ->]]; auto. }
  apply Hmax.
  - destruct (strengthen_one_of b c) as [E | E]; destruct (strengthen_one_of a (strengthen b c)) as [F | F];
      rewrite ?F, ?E; auto.
  - apply strengthen_is_stronger_l.
  - eapply stronger_trans; [apply strengthen_is_stronger_r | apply strengthen_is_stronger_l].
  - eapply stronger_trans; [apply strengthen_is_stronger_r | apply strengthen_is_stronger_r].
  - destruct (strengthen_one_of a b) as [E | E]; destruct (strengthen_one_of (strengthen a b) c) as [F | F];
      rewrite ?F, ?E; auto.
  - eapply stronger_trans; [apply strengthen_is_stronger_l | apply strengthen_is_stronger_l].
  - eapply stronger_trans; [apply strengthen_is_stronger_l | apply strengthen_is_stronger_r].
  - apply strengthen_is_stronger_r.
Qed.

(* Never weakens: the result's tier is at least each argument's. *)
Theorem strengthen_never_weakens : forall a b, tier a <= tier (strengthen a b) /\ tier b <= tier (strengthen a b).
Proof.
  intros a b; unfold strengthen; destruct (stronger a b) eqn:H.
  - apply stronger_true in H; unfold wins in H; lia.
  - apply stronger_total, stronger_true in H; unfold wins in H; lia.
Qed.

Theorem strengthen_monotone_tier : forall a b, tier a <= tier b -> tier a <= tier (strengthen b a).
Proof. intros a b _; apply strengthen_never_weakens. Qed.

(* Optional reasons, as the kernel holds them (no reason yet = None is the unit). *)
Definition strengthen_opt (a b : option reason) : option reason :=
  match a, b with
  | None, x => x
  | x, None => x
  | Some x, Some y => Some (strengthen x y)
  end.

Theorem strengthen_opt_unit : forall a, strengthen_opt None a = a /\ strengthen_opt a None = a.
Proof. destruct a; split; reflexivity. Qed.

Theorem strengthen_opt_comm : forall a b, strengthen_opt a b = strengthen_opt b a.
Proof. destruct a, b; simpl; f_equal; auto using strengthen_comm. Qed.

Theorem strengthen_opt_assoc : forall a b c, strengthen_opt a (strengthen_opt b c) = strengthen_opt (strengthen_opt a b) c.
Proof. destruct a, b, c; simpl; f_equal; auto using strengthen_assoc. Qed.

Theorem strengthen_opt_idem : forall a, strengthen_opt a a = a.
Proof. destruct a; simpl; f_equal; auto using strengthen_idem. Qed.

(* ------------------------------------------------------------------ budgets *)

(* A deadline or quota: None is "unlimited" (the top); meet takes the tighter. *)
Definition meet_opt (a b : option nat) : option nat :=
  match a, b with
  | None, x => x
  | x, None => x
  | Some x, Some y => Some (Nat.min x y)
  end.

Definition le_opt (a b : option nat) : Prop :=
  match a, b with
  | _, None => True
  | None, Some _ => False
  | Some x, Some y => x <= y
  end.

Record budget := mkBudget { deadline : option nat; polls : option nat; cost : option nat; priority : nat }.

Definition meet (a b : budget) : budget :=
  mkBudget (meet_opt (deadline a) (deadline b)) (meet_opt (polls a) (polls b)) (meet_opt (cost a) (cost b))
           (Nat.max (priority a) (priority b)).

Definition unlimited : budget := mkBudget None None None 0.

Lemma meet_opt_comm : forall a b, meet_opt a b = meet_opt b a.
Proof. destruct a, b; simpl; f_equal; lia. Qed.

Lemma meet_opt_assoc : forall a b c, meet_opt a (meet_opt b c) = meet_opt (meet_opt a b) c.
Proof. destruct a, b, c; simpl; f_equal; lia. Qed.

Lemma meet_opt_idem : forall a, meet_opt a a = a.
Proof. destruct a; simpl; f_equal; lia. Qed.

Lemma meet_opt_le_l : forall a b, le_opt (meet_opt a b) a.
Proof. destruct a, b; simpl; lia || exact I. Qed.

Lemma meet_opt_le_r : forall a b, le_opt (meet_opt a b) b.
Proof. destruct a, b; simpl; lia || exact I. Qed.

Lemma meet_opt_greatest : forall a b c, le_opt c a -> le_opt c b -> le_opt c (meet_opt a b).
Proof. destruct a, b, c; simpl; intros; try lia; tauto. Qed.

Lemma le_opt_trans : forall a b c, le_opt a b -> le_opt b c -> le_opt a c.
Proof. destruct a, b, c; simpl; intros; try lia; tauto. Qed.

Lemma le_opt_refl : forall a, le_opt a a.
Proof. destruct a; simpl; auto. Qed.

Theorem meet_comm : forall a b, meet a b = meet b a.
Proof. intros; unfold meet; f_equal; auto using meet_opt_comm; lia. Qed.

Theorem meet_assoc : forall a b c, meet a (meet b c) = meet (meet a b) c.
Proof. intros; unfold meet; simpl; f_equal; auto using meet_opt_assoc; lia. Qed.

Theorem meet_idem : forall a, meet a a = a.
Proof. intros [d p c pr]; unfold meet; simpl; rewrite !meet_opt_idem; f_equal; lia. Qed.

Theorem meet_unlimited : forall a, meet unlimited a = a /\ meet a unlimited = a.
Proof. intros [d p c pr]; unfold meet, unlimited; simpl; split; f_equal; destruct d, p, c; simpl; auto; lia. Qed.

(* A child's budget is parent ⊓ child: it never outlives its parent's deadline, nor gets a larger quota. *)
Theorem child_never_outlives_parent : forall parent own,
  le_opt (deadline (meet parent own)) (deadline parent) /\ le_opt (polls (meet parent own)) (polls parent)
  /\ le_opt (cost (meet parent own)) (cost parent) /\ priority parent <= priority (meet parent own).
Proof. intros; simpl; repeat split; auto using meet_opt_le_l; lia. Qed.

(* Meeting twice with the same parent changes nothing: a grandchild stays within every ancestor. *)
Theorem meet_chain_bounded : forall g p c,
  le_opt (deadline (meet (meet g p) c)) (deadline g).
Proof.
  intros; simpl; eapply le_opt_trans; [apply meet_opt_le_l | apply meet_opt_le_l].
Qed.
