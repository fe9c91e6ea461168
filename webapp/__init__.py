"""arflow's web review UI: the approver's queue, item pages, decisions and the dashboard."""
