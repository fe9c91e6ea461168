"""Data models: domain types passed between steps (`domain`) and the database schema (`db`)."""
