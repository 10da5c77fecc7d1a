"""The budget guard: what would run, against max_hourly_usd."""

from __future__ import annotations

import pytest

from fpgaops.aws.budget import BudgetPolicy, CostLine, check_budget
from fpgaops.aws.errors import BudgetExceeded

DEV = CostLine("dev-a", "z1d.2xlarge", "on-demand", 0.744, "running")
FPGA = CostLine("f1-a", "f2.6xlarge", "on-demand", 1.98, "launch")


def test_within_the_budget_passes_with_the_total() -> None:
    check = check_budget([DEV, FPGA], BudgetPolicy(max_hourly_usd=3.0))

    assert check.within and check.hourly_usd == 2.724


def test_over_the_budget_is_refused_with_every_line() -> None:
    with pytest.raises(BudgetExceeded) as raised:
        check_budget([DEV, FPGA, FPGA], BudgetPolicy(max_hourly_usd=3.0))

    assert "$4.70/h, over the budget of $3.00/h" in str(raised.value)
    assert "f1-a f2.6xlarge on-demand $1.980/h (launch)" in str(raised.value) and "override" in raised.value.fix


def test_an_override_lets_it_go_and_no_limit_never_refuses() -> None:
    assert not check_budget([DEV, FPGA], BudgetPolicy(1.0, override=True)).within
    assert check_budget([DEV, FPGA], BudgetPolicy()).within


def test_an_unknown_price_cannot_be_checked() -> None:
    unknown = CostLine("f1-a", "f9.huge", "on-demand", None, "launch")

    with pytest.raises(BudgetExceeded) as raised:
        check_budget([DEV, unknown], BudgetPolicy(100.0))

    assert raised.value.code == "BudgetUnknownPrice" and "f9.huge" in str(raised.value)
