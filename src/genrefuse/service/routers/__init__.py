"""One router per resource: tracks, genres, listeners (users and me), health."""
