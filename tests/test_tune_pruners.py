"""minigrad.tune pruners on scripted intermediate values."""

import pytest

from minigrad import tune
from minigrad.tune.trial import FrozenTrial, StudyView


def finished(number, curve, state="complete"):
    """A finished trial whose intermediate values are ``curve`` at steps 1, 2, ..."""
    values = {step: v for step, v in enumerate(curve, start=1)}
    return FrozenTrial(number, state, value=curve[-1] if state == "complete" else None,
                       intermediate_values=values)


def running(number, curve):
    trial = tune.FixedTrial({}, number=number)
    for step, v in enumerate(curve, start=1):
        trial.report(v, step)
    return trial


def test_median_pruner():
    done = [finished(0, [1.0, 2.0, 3.0]), finished(1, [3.0, 4.0, 5.0]),
            finished(2, [5.0, 6.0, 7.0]), finished(3, [0.0], state="pruned")]
    view = StudyView("maximize", tuple(done))
    pruner = tune.MedianPruner(n_startup_trials=3)
    # median at step 2 over the complete trials: 4.0 (the pruned one does not count)
    assert pruner.prune(view, running(9, [0.5, 3.9]))
    assert not pruner.prune(view, running(9, [0.5, 4.0]))
    # the trial's best so far counts, not its last value
    assert not pruner.prune(view, running(9, [4.5, 1.0]))
    minimize = StudyView("minimize", tuple(done))
    assert not pruner.prune(minimize, running(9, [0.5, 3.9]))
    assert pruner.prune(minimize, running(9, [9.0, 4.1]))
    assert pruner.prune(view, running(9, [float("nan"), float("nan")]))   # all NaN: pruned
    # the gates: startup trials, warm-up steps, interval, values at the step
    assert not tune.MedianPruner(n_startup_trials=4).prune(view, running(9, [0.5, 0.5]))
    assert not tune.MedianPruner(3, n_warmup_steps=3).prune(view, running(9, [0.5, 0.5]))
    assert not tune.MedianPruner(3, interval_steps=2).prune(view, running(9, [0.5, 0.5, 0.5]))
    assert tune.MedianPruner(3, interval_steps=2).prune(view, running(9, [0.5, 0.5]))
    assert not pruner.prune(view, running(9, [0.5, 0.5, 0.5, 0.5]))   # nobody reached step 4
    assert not tune.MedianPruner(3, n_min_trials=4).prune(view, running(9, [0.5]))
    with pytest.raises(ValueError, match="MedianPruner: interval_steps must be an int >= 1"):
        tune.MedianPruner(interval_steps=0)


def test_successive_halving_rungs_and_promotion():
    pruner = tune.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    assert [pruner.rung_resource(k) for k in range(4)] == [1, 2, 4, 8]
    # rung 0 (step 1) values of earlier trials: 1..6 (maximize)
    done = tuple(finished(i, [float(i + 1)]) for i in range(6))
    view = StudyView("maximize", done)
    # with its own value, 7 values at rung 0: it must be at least the ⌊7/2⌋ = 3rd best
    assert not pruner.prune(view, running(9, [5.0]))      # 6, 5, [5]: 3rd
    assert not pruner.prune(view, running(9, [4.5]))      # 6, 5, [4.5]: 3rd
    assert pruner.prune(view, running(9, [3.5]))          # 6, 5, 4, [3.5]: 4th
    # alone at a rung, a trial goes on; rung 1 (step 2) here has only its own value
    assert not pruner.prune(view, running(9, [6.0, 0.1]))
    # reports between rungs: a rung takes the value at the first step >= its resource
    sparse = StudyView("maximize", (
        FrozenTrial(0, "complete", 9.0, intermediate_values={1: 1.0, 3: 9.0}),
        FrozenTrial(1, "pruned", None, intermediate_values={1: 1.0, 3: 8.0})))

    def reporting_at_1_and_3(last):
        trial = tune.FixedTrial({}, number=9)
        trial.report(1.0, 1)
        trial.report(last, 3)
        return trial

    # rung 1 (resource 2) holds 9, 8 and its own value: m = 3, so it must be the best
    assert pruner.prune(sparse, reporting_at_1_and_3(8.5))
    assert not pruner.prune(sparse, reporting_at_1_and_3(9.5))
    minimize = StudyView("minimize", done)
    assert not pruner.prune(minimize, running(9, [2.5]))  # ⌊7/2⌋-th lowest of 1..6, 2.5 is 3
    assert pruner.prune(minimize, running(9, [3.5]))
    # the early-stopping rate moves the first rung
    assert tune.SuccessiveHalvingPruner(1, 2, min_early_stopping_rate=2).rung_resource(0) == 4
    assert not tune.SuccessiveHalvingPruner(1, 2, 2).prune(view, running(9, [0.0, 0.0, 0.0]))


def test_hyperband_brackets():
    hb = tune.Hyperband(min_resource=1, max_resource=9, reduction_factor=3)
    assert hb.n_brackets == 3                               # s_max = ⌊log_3 9⌋ = 2
    assert [b.rung_resource(0) for b in hb.brackets] == [1, 3, 9]
    # Li et al.'s shares for s_max = 2, η = 3: ⌈3·9/3⌉ = 9, ⌈3·3/2⌉ = 5, ⌈3·1/1⌉ = 3 trials
    cycle = [hb.bracket_of(n) for n in range(17)]
    assert [cycle.count(b) for b in range(3)] == [9, 5, 3]
    # the entries sit at (i + ½)/n_b: 0.056 (b0), 0.1 (b1), 0.167 (b0), 0.167 (b2), 0.278 (b0)...
    assert cycle[:6] == [0, 1, 0, 2, 0, 1] and [hb.bracket_of(n) for n in range(17, 23)] == \
        cycle[:6]
    # bracket 0 (trials 0, 2, 4, ...) compares with its own trials only
    done = (finished(0, [5.0]), finished(1, [9.0]), finished(2, [6.0]), finished(3, [9.0]))
    view = StudyView("maximize", done)
    assert hb.prune(view, running(4, [4.0]))                # 3 values at rung 0: 6 is the best
    assert not hb.prune(view, running(4, [7.0]))
    assert not hb.prune(view, running(1, [4.0, 4.0]))       # bracket 1: first rung at step 3
    assert not hb.prune(view, running(3, [0.0] * 9))        # bracket 2 (rung 9 = R) never
    late = StudyView("maximize", (finished(0, [9.0, 9.0, 9.0]),))
    assert hb.prune(late, running(2, [1.0, 1.0, 1.0]))      # bracket 0
    capped = tune.SuccessiveHalvingPruner(1, 3, max_resource=3)
    assert not capped.prune(late, running(3, [9.0, 9.0, 1.0]))   # rung 3 = R: not checked
    with pytest.raises(ValueError, match="max_resource .* must be >= min_resource"):
        tune.Hyperband(min_resource=4, max_resource=2)


def test_pruner_in_a_study_saves_steps():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(1, 10):
            trial.report(x * step, step)
            if trial.should_prune():
                raise tune.TrialPruned()
        return x * 9

    study = tune.Study("maximize", sampler=tune.RandomSampler(seed=0),
                       pruner=tune.SuccessiveHalvingPruner(1, 3))
    study.optimize(objective, 20)
    states = [t.state for t in study.trials]
    assert "pruned" in states and "complete" in states
    steps = sum(len(t.intermediate_values) for t in study.trials)
    assert steps < 0.6 * 20 * 9
    best_complete = study.best_value
    assert best_complete >= max(t.intermediate_values[1] for t in study.trials) * 9 * 0.9


def test_hyperband_bracket_count_is_an_exact_floor_of_the_log():
    """s_max = ⌊log_η(R / r_min)⌋ in integers: math.log(243, 3) is 4.999999999999999 in floats,
    which would lose a bracket at exact powers of η."""
    assert tune.Hyperband(1, 243, 3).n_brackets == 6
    assert tune.Hyperband(2, 486, 3).n_brackets == 6
    assert tune.Hyperband(1, 242, 3).n_brackets == 5
    assert tune.Hyperband(1, 1, 3).n_brackets == 1


def test_hyperband_at_eight_epochs_eta_three():
    """The setting of benchmarks/tune_mnist_hyperband.py: R = 8 is no power of 3, s_max = 1.
    Bracket 0 has rungs at 1 and 3, bracket 1 one rung at 3 (9 ≥ R is never checked); trials
    are dealt 3 : 2 (Optuna's budgets ⌈2·3/2⌉ and ⌈2·1/1⌉)."""
    hb = tune.Hyperband(min_resource=1, max_resource=8, reduction_factor=3)
    assert hb.n_brackets == 2
    rungs = [[r for k in range(4) if (r := b.rung_resource(k)) < 8] for b in hb.brackets]
    assert rungs == [[1, 3], [3]]
    cycle = [hb.bracket_of(n) for n in range(10)]
    assert cycle == [0, 1, 0, 1, 0] * 2
    # bracket 1 (trials 1, 3, 6, 8): its first rung is at step 3, whatever step 1 and 2 say
    done = (finished(1, [9.0] * 8), finished(3, [8.0] * 8), finished(0, [0.0] * 8))
    view = StudyView("maximize", done)
    assert not hb.prune(view, running(6, [0.0, 0.0]))
    # at rung 3 it meets 9 and 8 (bracket 1 only: trial 0's 0.0 does not count): m = 3, so only
    # the best goes on
    assert hb.prune(view, running(6, [0.0, 0.0, 8.5]))
    assert not hb.prune(view, running(6, [0.0, 0.0, 9.5]))
    # bracket 0 (trial 2) meets trial 0 alone at rung 1: m = 2 < η, the better one goes on
    assert not hb.prune(view, running(2, [0.5]))
    assert hb.prune(StudyView("maximize", (finished(0, [1.0] * 8),)), running(2, [0.5]))
