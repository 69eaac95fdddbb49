"""Test-only code of the one-machine cloud (tools/cloud/).

Nothing here is loaded by the extension itself: these modules are the
pieces a real deployment has and a test cloud without hypervisors or
switches lacks (a fake virt driver that keeps its node identity across
restarts, an ML2 mechanism driver that binds ports on the fake host).
"""
