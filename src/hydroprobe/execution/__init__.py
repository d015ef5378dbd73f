"""Where independent units of work run: in this process (default) or as Ray tasks."""
