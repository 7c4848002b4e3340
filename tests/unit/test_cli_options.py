"""Numbers from the command line and the control plane's params: finite and in range,
or refused as bad usage before anything runs (docs/control.md)."""

from __future__ import annotations

import pytest

from argo_proxy.control import cli
from argo_proxy.control.periods import parse_time
from argo_proxy.control.server import _requests_query
from argo_proxy.daemon.errors import ControlRequestError


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--port", "70000"],
        ["simulate", "--port", "-1"],
        ["simulate", "--chunk-delay-ms", "nan"],
        ["simulate", "--chunk-delay-ms", "inf"],
        ["simulate", "--chunk-delay-ms", "-5"],
        ["ctl", "requests", "-n", "0"],
        ["ctl", "requests", "-n", "1" + "0" * 30],
        ["serve", "--port", "nan"],
    ],
)
def test_a_bad_number_on_the_command_line_is_bad_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == cli.EXIT_USAGE
    assert "argument" in capsys.readouterr().err  # argparse names the option


def test_good_numbers_on_the_command_line_parse() -> None:
    args = cli._parser().parse_args(["simulate", "--port", "0", "--chunk-delay-ms", "2.5"])
    assert (args.port, args.chunk_delay_ms) == (0, 2.5)
    assert cli._parser().parse_args(["ctl", "requests", "-n", "1000000"]).limit == 1_000_000


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), "9" * 400 + "d", "9999-12-31T23:59"]
)
def test_times_must_be_finite(value: object) -> None:
    try:
        moment = parse_time(value, "since", now=1_767_225_600.0)
    except ControlRequestError as exc:
        assert "`since` must be a Unix time" in exc.message
    else:  # a far date is a time all the same, when the platform can hold it
        assert value == "9999-12-31T23:59" and moment > 1_767_225_600.0


@pytest.mark.parametrize("limit", [0, 1_000_001, 10**30, True, 2.5])
def test_requests_list_limit_is_bounded(limit: object) -> None:
    with pytest.raises(ControlRequestError, match="from 1 to 1000000"):
        _requests_query({"limit": limit})
