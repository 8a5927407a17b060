"""Third-party reports: a workplace supervisor completes a checklist about a learner through a
signed, expiring link, without an account.

- `services`: the link signer, requesting a report (which opens the learner's attempt), and
  completing it (which submits the attempt through the app's attempt services).
- `views`, `urls`: the learner's request and the supervisor's public page.
"""
