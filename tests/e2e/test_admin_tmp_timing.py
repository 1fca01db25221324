import time
from tests.e2e.test_admin_isolation import CASES, CALLERS, world  # noqa
def test_timing(stack, world):
    out = []
    for case in CASES:
        for caller in CALLERS:
            t = time.perf_counter(); case.call(stack, world, world.keys[caller], "anthropic"); out.append((time.perf_counter()-t, case.name, caller))
    out.sort(reverse=True)
    for o in out[:15]: print(o)
    print("total", sum(o[0] for o in out))
