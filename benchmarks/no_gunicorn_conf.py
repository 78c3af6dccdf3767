"""An empty gunicorn configuration: the machine-reference server of decide_load.py runs with
gunicorn's defaults, not with Lexecon's gunicorn.conf.py (whose hooks need Lexecon's settings)."""
