"""The Flask web app (inbox, intake, supervision, REST API) arrives with the web issue; for now the console
script lives here so the entry point stays stable."""
