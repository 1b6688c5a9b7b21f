"""Edge-side model run time, tracking, zones, rules and events: pure code, testable on arrays."""
