"""Work orders, routing, deadlines, escalation and audit: domain and database, no HTTP."""
