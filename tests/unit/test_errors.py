"""The error tree (daemon/errors.py): the class decides the status a client sees."""

from __future__ import annotations

import pytest

from argo_proxy.daemon.errors import (
    ClientRequestError,
    ModelNotFoundError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UpstreamAuthError,
    UpstreamBusyError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ClientRequestError("x"), 400),
        (UnauthorizedError("x"), 401),
        (NotFoundError("x"), 404),
        (ModelNotFoundError("x"), 404),
        (PayloadTooLargeError("x"), 413),
        (UpstreamError("x"), 502),
        (UpstreamTimeoutError("x"), 504),
        (UpstreamBusyError("x"), 503),
        (UpstreamAuthError("x"), 403),
    ],
)
def test_each_class_has_its_status(error: ClientRequestError | UpstreamError, status: int) -> None:
    assert error.status == status


@pytest.mark.parametrize(
    ("argo", "ours"),
    [
        (400, 400),
        (404, 404),
        (422, 422),
        (429, 429),
        (500, 502),
        (501, 502),
        (502, 502),
        (503, 503),
        (504, 504),
        (529, 529),
    ],
)
def test_argo_error_statuses_map_by_one_rule(argo: int, ours: int) -> None:
    assert UpstreamStatusError("x", argo).status == ours


def test_an_unknown_model_is_a_404_whatever_argo_said() -> None:
    error = UpstreamStatusError("x", 400, model_not_found=True)
    assert (error.status, error.upstream_status) == (404, 400)
