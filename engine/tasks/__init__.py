"""Human tasks: commands (claim, complete, delegate, ...) and inbox queries."""
