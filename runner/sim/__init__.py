"""The embedded vendor simulator (see `runner.sim.app`)."""
