"""Library code: the environment the project's imports resolve in, and models of
what libraries do to threads and forks, derived from their source."""
