"""The music library: tracks filed by genre, users, feedback and recommendations (the paper's 4.2)."""
