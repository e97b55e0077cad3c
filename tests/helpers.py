"""Small shared builders for the core tests."""

from __future__ import annotations

import torch

from leo_core.config import TrainConfig

TINY = dict(hidden=(8, 8), meta_batch=4, shots=5, query=5, iterations=10, device="cpu")


def tiny_config(**overrides) -> TrainConfig:
    return TrainConfig(**{**TINY, **overrides})


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def no_errors(at) -> None:
    """An AppTest run showed neither an exception nor an ``st.error``."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def join_jobs(at, timeout: float = 120) -> None:
    """Wait for every background job and race thread of an AppTest session, then rerun the page."""
    jobs = at.session_state["leo_jobs"] if "leo_jobs" in at.session_state else None
    if jobs is not None:
        for thread in jobs.threads():
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} still running after {timeout} s"
    at.run()
