"""How "Create a task" reads the portal's answer to REST 3.0 `tasks.task.add`: only an
answer saying the method is not there means a portal without REST 3.0 (remembered, the
classic API from then on); a failure for a moment is a failed try, retried."""

from __future__ import annotations

import pytest

from connector.rest.errors import NotFound, make_error
from connector.sync.robots import rest_v3_not_offered


@pytest.mark.parametrize("status, code, not_offered", [
    # A portal without REST 3.0: its classic REST does not know the method.
    (404, "ERROR_METHOD_NOT_FOUND", True),
    # A front end that does not route /rest/api/: a 404 page, not JSON.
    (404, "", True),
    (404, "NOT_FOUND", True),
    # REST 3.0 is there and refused what was asked: not a reason to go classic.
    (400, "ERROR_NOT_FOUND", False),
    (404, "BITRIX_REST_V3_EXCEPTION_ENTITYNOTFOUNDEXCEPTION", False),
])
def test_which_answers_mean_the_portal_has_no_rest_3(status: int, code: str,
                                                     not_offered: bool) -> None:
    error = make_error("tasks.task.add", status, code, "")
    assert isinstance(error, NotFound)
    assert rest_v3_not_offered(error) is not_offered


@pytest.mark.parametrize("status, code", [(500, "INTERNAL_SERVER_ERROR"), (502, ""),
                                          (503, "QUERY_LIMIT_EXCEEDED"), (504, "")])
def test_a_portal_failing_for_a_moment_is_never_read_as_one_without_rest_3(
        status: int, code: str) -> None:
    # Only a NotFound reaches the check; these are retried as failed tries.
    error = make_error("tasks.task.add", status, code, "")
    assert not isinstance(error, NotFound)
    assert not error.refused_input
