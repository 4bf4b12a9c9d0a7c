"""What the user sees: text and JSON renderings of results."""
