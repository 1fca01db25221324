"""Event handlers that move money after the request: the release function and the sweeper."""
