"""Which machine the numbers come from, since they mean nothing without it."""
from __future__ import annotations

import os
import platform

from .systems import load_optional, versions


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    torch = load_optional("torch")
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "machine": platform.machine(),
            "platform": platform.platform(), "python": platform.python_version(), "versions": versions(),
            "torch_num_threads": torch.get_num_threads() if torch else None,
            "ours_threads": _ours_threads(), "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _ours_threads() -> int:
    from runtime.threads import get_num_threads
    return get_num_threads()


def machine_line(info: dict) -> str:
    found = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    threads = f"; torch threads {info['torch_num_threads']}" if info["torch_num_threads"] else ""
    load = f"; load average {info['load_average_1min']:.2f} at the end" if info["load_average_1min"] is not None else ""
    return (f"machine: {info['cpu']}, {info['cpu_count']} cores, Python {info['python']}, {found}{threads}; "
            f"ours runs on {info['ours_threads']} threads (JITGRAD_NUM_THREADS), the others at their default "
            f"threads{load}")
