"""Runnable Prefect examples. Each starts its own WACloud sandbox and uses *your* Prefect setup.

Importing this package changes nothing in the process: Prefect reads ``PREFECT_API_URL`` (and the rest
of your profile) as usual, so an example registers, runs and logs on your own server, or on Prefect's
ephemeral server when no API URL is set. Only the demo (``demo_act``) and the tests start a throwaway
Prefect server with a temporary home.
"""
