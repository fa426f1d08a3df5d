"""The sentinel: is the truth still flowing?

Pure checks, one module each, judged every engine tick:
    freshness.py   service_silent / rate_collapse against a per-service rolling baseline
    heartbeats.py  heartbeat_missed / pipeline_stalled from declared pipeline heartbeats
    liveness.py    sentinel_stale when no engine ticked for three intervals (raised late)
    latency.py     tail-latency spikes per (service, step), from duration histograms
    traffic.py     traffic surges and drops per service
    reconcile.py   findings + active alerts -> health alerts raised and cleared
`hook.py` reads the store, runs the checks and adds their writes to the engine's tick;
`actions.py` runs an operator's safe action when a person asks for it.
"""
