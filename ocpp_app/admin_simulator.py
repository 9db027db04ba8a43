"""Admin for simulated charge points (filled by the simulator work)."""
