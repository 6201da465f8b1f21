"""What every paper's claims are made of: a study's cells (:class:`Study`), the tests on them
(:class:`Test`), a claim with its criterion and decision (:class:`Claim`), and the verdict words."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from synthir.core.paths import HUMAN
from synthir.core.paths import NONE
from synthir.stats import (ALPHA, MIN_DRAWS, NOT_DETECTABLE, NOT_MEASURED, Contrast, Replicates, contrast_of_tables,
                           replicate_table, with_priors)
from synthir.generation.strategy import Strategy, strategy_class
from synthir.retrieval.report.scaling import PRIOR_FAMILY

METRIC = "ndcg_at_10"
#: nDCG@10 difference below which two arms count as "about equal" (equivalence-type claims).
MARGIN = 0.02

Verdict = tuple[str, str]


@dataclass
class Test:
    """One contrast of cells on the eval queries, with its adjusted p-values and power. An
    equivalence test (``margin``) adds the TOST p-value to the family beside the difference's."""

    label: str
    contrast: Contrast
    margin: float | None = None
    #: the training dataset and the bases whose cells it compares (the positive control's keys)
    dataset: str = ""
    bases: tuple[str, ...] = ()
    p_holm: float = float("nan")
    p_equivalent_holm: float = float("nan")
    mde: float = float("nan")

    @property
    def mean(self) -> float:
        return self.contrast.mean

    @property
    def p(self) -> float:
        return self.contrast.p()

    def p_values(self) -> list[float]:
        return [self.p] + ([self.contrast.p_equivalent(self.margin)] if self.margin is not None else [])

    def significant(self) -> bool:
        return self.p_holm < ALPHA

    def equivalent(self) -> bool:
        return self.p_equivalent_holm < ALPHA

    def cite(self) -> str:
        tost = (f", within +-{self.margin} by TOST: Holm p = {self.p_equivalent_holm:.3g}"
                if self.margin is not None else "")
        return (f"{self.label}: {self.mean:+.4f} (Holm p = {self.p_holm:.3g}, raw p = {self.p:.3g}{tost}; "
                f"80%-power minimum detectable effect {self.mde:.4f} at the family's level; "
                f"replicates {'/'.join(map(str, self.contrast.replicates))})")


@dataclass
class Claim:
    """A paper's claim: ``decide`` turns its tests, once adjusted, into a verdict; ``verdict`` is
    set directly where no test applies (too few draws, cells this study does not have)."""

    title: str
    claim: str
    criterion: str
    tests: list[Test] = field(default_factory=list)
    decide: Callable[[list[Test]], Verdict] | None = None  # after adjustment: (verdict, why)
    verdict: Verdict | None = None
    table: list[str] = field(default_factory=list)


def cite(ts: Iterable[Test]) -> str:
    return "; ".join(t.cite() for t in ts)


def sign_decision(ts: list[Test]) -> Verdict:
    """Supported when every test is significantly positive, contradicted when any is significantly
    negative."""
    if ts and all(t.significant() and t.mean > 0 for t in ts):
        return "supported", cite(ts)
    if any(t.significant() and t.mean < 0 for t in ts):
        return "contradicted", cite(ts)
    return NOT_DETECTABLE, cite(ts)


#: The keys of one cell of a study (a line of summary.csv).
CELL = ["train_dataset", "eval_dataset", "augmenter", "strategy", "scale", "base"]


class Cells:
    """Per-query scores of the study's cells: a replicates x queries table per cell
    (synthir.stats.replicate_table) with the variance prior of its family (PRIOR_FAMILY), and how many
    draws of the data each has."""

    def __init__(self, per_query: pd.DataFrame) -> None:
        d = per_query[per_query["metric"] == METRIC]
        groups = d.groupby(CELL)
        family = [CELL.index(k) for k in PRIOR_FAMILY]
        self.scores = with_priors({k: replicate_table(g) for k, g in groups}, lambda k: tuple(k[i] for i in family))
        self.draws = {k: int(g["draw"].nunique()) for k, g in groups}

    def get(self, dataset: str, ev: str, augmenter: str, strategy: str, scale: int, base: str) -> Replicates | None:
        return self.scores.get((dataset, ev, augmenter, strategy, scale, base))

    def baseline(self, ev: str, base: str) -> Replicates | None:
        return self.scores.get((NONE, ev, NONE, NONE, 0, base))

    def draws_of(self, *key: Any) -> int:
        return self.draws.get(tuple(key), 0)


def replicated_only(scaling: pd.DataFrame, per_query: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rule claims.md states: claims use only cells with at least MIN_DRAWS draws of the data.
    A study can hold trained cells of fewer beside them (draw 0's cells it shares with the default
    study, which stop at one draw): those are left out here, so they neither decide a claim nor
    make the study look unreplicated. A study none of whose trained cells has MIN_DRAWS draws is
    left whole: its claims say so (``Study.few``)."""
    d = per_query[(per_query["metric"] == METRIC) & (per_query["scale"] > 0)]
    draws = d.groupby(CELL)["draw"].nunique()
    if draws.empty or draws.max() < MIN_DRAWS:
        return scaling, per_query
    thin = set(draws[draws < MIN_DRAWS].index)

    def keep(df: pd.DataFrame) -> pd.Series:
        return ~pd.Series([tuple(r) in thin for r in df[CELL].itertuples(index=False)], index=df.index)

    return scaling[keep(scaling)], per_query[keep(per_query)]


class Study:
    """A study's cells and its aliases' roles (``roles``: each augmenter's parameter count, each
    strategy's kind, negative source and conditioning, human-label share, each base's
    pre-training: weak or retrieval), with the positive
    control: whether the human-label arm moves each base on each training dataset."""

    def __init__(self, scaling: pd.DataFrame, per_query: pd.DataFrame, roles: dict[str, Any]) -> None:
        scaling, per_query = replicated_only(scaling, per_query)
        self.cells = Cells(per_query)
        self.trained = scaling[(scaling["scale"] > 0)]
        self.datasets = sorted(set(self.trained["train_dataset"]))
        self.evals = sorted(set(scaling["eval_dataset"]))
        self.strategies: dict[str, dict[str, Any]] = roles.get("strategies", {})
        self.sizes: dict[str, int] = roles.get("augmenters", {})
        self.pretraining: dict[str, str] = roles.get("bases", {})
        self.control: dict[tuple[str, str], Test] = {}
        trained = self.trained
        for ds in self.datasets:
            for base in sorted(set(trained[trained["strategy"] == HUMAN]["base"])):
                scales = sorted(trained[(trained["strategy"] == HUMAN) & (trained["base"] == base)]["scale"].unique())
                top = self.cells.get(ds, ds, NONE, HUMAN, int(scales[-1]), base) if scales else None
                ref = self.cells.baseline(ds, base)
                if top is not None and ref is not None:
                    self.control[(ds, base)] = self.test(f"human labels x{int(scales[-1])} vs untouched {base} on {ds}",
                                                         top, ref)
        self.few = self.min_draws() < MIN_DRAWS
        self.draws_note = (f"this study's synthetic cells have {self.min_draws()} draw(s) of the data; claims need "
                           f"at least {MIN_DRAWS} (e.g. `--configfile configs/paper-shapes.yaml`)")

    def movable(self, ds: str, base: str) -> bool | None:
        t = self.control.get((ds, base))
        return None if t is None else (t.significant() and t.mean > 0)

    def draws_ok(self, *keys: tuple[Any, ...]) -> bool:
        return all(self.cells.draws_of(*k) >= MIN_DRAWS for k in keys)

    def min_draws(self) -> int:
        synthetic = [n for k, n in self.cells.draws.items() if k[4] > 0]
        return min(synthetic) if synthetic else 0

    @staticmethod
    def test(label: str, a: Replicates, b: Replicates, margin: float | None = None,
             on: tuple[str, tuple[str, ...]] = ("", ())) -> Test:
        """a - b, measured on training dataset and bases ``on``."""
        return Test(label, contrast_of_tables([(1.0, a), (-1.0, b)]), margin, *on)

    def is_kind(self, alias: str, kind: type[Strategy]) -> bool:
        st = self.strategies.get(alias, {})
        return "kind" in st and strategy_class(st["kind"]) is kind

    def lines(self, kind: type[Strategy]) -> list[tuple[str, str, str]]:
        """(training dataset, augmenter, strategy) of every trained line of this kind."""
        rows = self.trained[self.trained["strategy"].map(lambda a: self.is_kind(a, kind))]
        return sorted({(r.train_dataset, r.augmenter, r.strategy) for r in rows.itertuples()})

    def arms(self, predicate: Callable[[dict[str, Any]], bool], kind: type[Strategy] | None = None) -> list[str]:
        """Trained strategy aliases (of ``kind``, if given) whose roles satisfy ``predicate``."""
        return sorted(a for a, s in self.strategies.items()
                      if (kind is None or self.is_kind(a, kind)) and predicate(s) and a in set(self.trained["strategy"]))

    def compare(self, a_alias: str, b_alias: str, margin: float | None) -> list[Test]:
        """``a_alias`` vs ``b_alias`` in every cell they share (augmenter, scale, base, eval)."""
        out = []
        for ds in self.datasets:
            rows = self.trained[(self.trained["strategy"] == a_alias)]
            for r in rows[["augmenter", "scale", "base"]].drop_duplicates().itertuples():
                for ev in self.evals:
                    a = self.cells.get(ds, ev, r.augmenter, a_alias, int(r.scale), r.base)
                    # the human-label arm has no augmenter: its cell is the same for every augmenter's
                    b = self.cells.get(ds, ev, NONE if b_alias == HUMAN else r.augmenter, b_alias, int(r.scale),
                                       r.base)
                    if a is not None and b is not None and self.draws_ok((ds, ev, r.augmenter, a_alias, int(r.scale),
                                                                          r.base)):
                        out.append(self.test(f"{a_alias} vs {b_alias}, {r.augmenter} x{int(r.scale)} on {r.base}, "
                                             f"eval {ev}", a, b, margin, on=(ds, (r.base,))))
        return out

    def arms_claim(self, criterion: str, title: str, claim: str, a_arms: list[str], b_arms: list[str],
                   want: str) -> Claim:
        """Every arm of ``a_arms`` against every arm of ``b_arms`` in the cells they share, where the
        claim ``want``\\ s a to be ``equal`` (TOST within MARGIN), ``worse`` or ``better``."""
        c = Claim(title, claim, criterion)
        if self.few and a_arms and b_arms:
            c.verdict = (NOT_DETECTABLE, self.draws_note)
            return c
        if not (a_arms and b_arms):
            c.verdict = (NOT_MEASURED, "configs/strategies.yaml has these arms")
            return c
        c.tests = [t for a in a_arms for b in b_arms for t in self.compare(a, b, MARGIN if want == "equal" else None)]

        def decide(ts: list[Test]) -> Verdict:
            worse = any(t.significant() and t.mean < 0 for t in ts)
            better = any(t.significant() and t.mean > 0 for t in ts)
            if want == "equal":
                if worse:
                    return "contradicted", cite(ts)
                return ("supported", cite(ts)) if ts and all(t.equivalent() for t in ts) else (NOT_DETECTABLE, cite(ts))
            good, bad = (worse, better) if want == "worse" else (better, worse)
            if good and not bad:
                return "supported", cite(ts)
            return ("contradicted", cite(ts)) if bad and not good else (NOT_DETECTABLE, cite(ts))

        c.decide = decide if c.tests else None
        c.verdict = None if c.tests else (NOT_DETECTABLE, "no cells with enough draws")
        return c
