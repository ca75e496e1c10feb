"""The housing officers' dashboard: server-rendered pages (work without JavaScript,
on any council PC), from the same queries as the API."""
