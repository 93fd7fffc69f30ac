"""HTTP API: an app factory and one router per capability."""
