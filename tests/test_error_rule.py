"""One error rule for every executor (:func:`resnet_ode.util.calls.run_calls`): the same failing calls end the same way.

The calls run here (``LocalPool(1)``), in local processes (``LocalPool(2)``)
and, where ``dask.distributed`` is installed, on a Dask cluster of two worker
processes on the loopback interface:

- a call that raises stops no other: every other value is handed over, then
  the first failed call's own exception (in the order of the calls) is raised,
  with a note naming the call and counting the failures;
- an exception raised by ``on_result`` stops at once and is raised as it is.
"""

import pytest

from resnet_ode.book.executors import LocalPool
from resnet_ode.util.calls import failure_note, run_calls

NAMES = ["a", "b", "c", "d", "e"]


def _square_unless_odd(i: int) -> int:
    if i % 2:
        raise ValueError(f"call {i} fails")
    return i * i


CALLS = [(_square_unless_odd, (i,), {}) for i in range(5)]


@pytest.fixture(params=["here", "local", pytest.param("dask", marks=pytest.mark.processes)])
def executor(request):
    if request.param == "here":
        yield LocalPool(1)
    elif request.param == "local":
        yield LocalPool(2)
    else:
        pytest.importorskip("distributed")
        from resnet_ode.training.cluster import connect

        cluster = request.getfixturevalue("cluster")
        with connect(cluster.scheduler_address) as dask:
            yield dask


def test_a_failing_call_stops_no_other_and_the_first_failure_is_raised_naming_it(executor):
    got = {}
    with pytest.raises(ValueError) as info:
        executor.map(CALLS, "squares", on_result=got.__setitem__, names=NAMES)
    assert str(info.value) == "call 1 fails"  # the call's own exception
    assert got == {0: 0, 2: 4, 4: 16}  # every other call ran to its end and was handed over
    desc = "squares" + (f" on {executor.address}" if executor.name == "dask" else "")
    assert info.value.__notes__ == [f"{desc}: call 2 of 5 (b) raised this; 2 of 5 calls raised; every other call "
                                    "ran to its end and its result was kept"]


def test_an_error_in_on_result_stops_at_once(executor):
    got = []

    def refuse(i, value):
        got.append(i)
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError) as info:
        executor.map([(_square_unless_odd, (0,), {})] * 4, "refused", on_result=refuse)
    assert str(info.value) == "refused" and len(got) == 1 and not getattr(info.value, "__notes__", None)


def test_the_note_without_a_name_and_with_one_failure():
    assert failure_note("training runs", 0, 1, 1) == ("training runs: call 1 of 1 raised this; every other call ran to "
                                                      "its end and its result was kept")
    with pytest.raises(ZeroDivisionError) as info:
        run_calls([(divmod, (1, 0), {}), (divmod, (4, 2), {})], "divisions")
    assert info.value.__notes__ == [failure_note("divisions", 0, 2, 1)]
