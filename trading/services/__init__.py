"""Use cases of the desk (services write; selectors read). Keyword-only, typed."""
