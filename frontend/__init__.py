"""Frontend app: server-rendered pages of the desk."""
