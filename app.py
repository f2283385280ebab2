"""Entry point: `python app.py COMMAND …` runs the command line (dashboard/cli.py); gunicorn serves `app:server`."""
from dashboard import create_app
from dashboard.cli import main

if __name__ == "__main__":
    main()
else:
    # Imported by gunicorn: building has no side effects (`app.py serve` ran the start-up steps before the workers).
    app = create_app()
    server = app.server
