"""The budget guard: refuse to launch or start when what would then run costs more per hour than allowed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpgaops.aws.errors import BudgetExceeded


@dataclass(frozen=True)
class BudgetPolicy:
    """``max_hourly_usd`` (None: no limit); ``override`` lets a launch over the limit go ahead."""

    max_hourly_usd: float | None = None
    override: bool = False


@dataclass(frozen=True)
class CostLine:
    """One instance that would run: ``why`` is ``"running"``, ``"start"`` or ``"launch"``."""

    name: str
    instance_type: str
    market: str  # "on-demand" | "spot"
    usd_per_hour: float | None  # None: no price known
    why: str


@dataclass(frozen=True)
class BudgetCheck:
    """The hourly cost of what would run, against the limit."""

    lines: tuple[CostLine, ...]
    max_hourly_usd: float | None
    overridden: bool

    @property
    def hourly_usd(self) -> float:
        """The sum of the known prices."""
        return round(sum(line.usd_per_hour or 0.0 for line in self.lines), 4)

    @property
    def unpriced(self) -> list[CostLine]:
        """Lines whose instance type has no known price."""
        return [line for line in self.lines if line.usd_per_hour is None]

    @property
    def within(self) -> bool:
        """True when there is no limit, or every price is known and the sum is within it."""
        if self.max_hourly_usd is None:
            return True
        return not self.unpriced and self.hourly_usd <= self.max_hourly_usd


def check_budget(lines: Sequence[CostLine], policy: BudgetPolicy) -> BudgetCheck:
    """The check of ``lines`` against ``policy``; ``BudgetExceeded`` when over it and not overridden.

    Args:
        lines: every instance that would run: those running and staying, those to start or launch.
        policy: the limit and whether it is overridden.

    Example: ``check_budget([CostLine("f1-a", "f2.6xlarge", "on-demand", 1.98, "launch")], BudgetPolicy(1.0))``
    raises BudgetExceeded.
    """
    check = BudgetCheck(tuple(lines), policy.max_hourly_usd, policy.override)
    if check.within or policy.override:
        return check
    detail = ", ".join(f"{line.name} {line.instance_type} {line.market} "
                       f"{'?' if line.usd_per_hour is None else f'${line.usd_per_hour:.3f}'}/h ({line.why})"
                       for line in check.lines)
    if check.unpriced:
        names = ", ".join(sorted({line.instance_type for line in check.unpriced}))
        raise BudgetExceeded(f"no known price for {names}: cannot check the budget of ${policy.max_hourly_usd:.2f}/h "
                             f"({detail})", code="BudgetUnknownPrice",
                             fix="add the price to the config's on-demand price table, or override the budget")
    raise BudgetExceeded(f"what would run costs ${check.hourly_usd:.2f}/h, over the budget of "
                         f"${policy.max_hourly_usd:.2f}/h ({detail})", code="BudgetExceeded",
                         fix="run fewer or smaller instances, use spot, raise max_hourly_usd, or override the "
                             "budget for this run")
