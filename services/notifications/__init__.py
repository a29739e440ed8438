"""Everything about telling people what happened to their jobs.

- `rules`: who hears about what, decided in the transaction that records the cause (in-app
  notifications and one outbox row per email or Slack message);
- `inbox`: a user reading and clearing their own in-app notifications;
- `outbox`: claiming due outbox rows and recording each attempt's result;
- `sender`: the worker that sends claimed rows through `integrations/channels/` (email, Slack).
"""
